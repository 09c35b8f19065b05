"""The bot's everyday how-to answers: how to send files, whom to call, where paper goes.

These are what a clerk asks most after "缺什么", and none of them needs the unit's dossier: the
office's mailbox, contact, phone and postal address come from the campaign config (`[office]`),
so a new year's call changes them there, never here.
"""

from __future__ import annotations

import datetime as dt

from bot.commands import suggest
from bot.withdraw_dialog import EXAMPLE_NAME
from config.campaign import Campaign

OFFICE_HELP = "办公室命令：汇总｜未交｜单位 <单位名>｜纸质 <单位名>（查询）｜纸质 <单位名> 已收（登记）"
COMMANDS_ZH = (
    "可发送：状态（材料审核进度）｜我的材料（本单位材料页面链接）｜缺什么（逐人列出问题）｜推荐对象姓名（只看此人）｜清单（报送要求）"
    "｜截止（截止时间）｜怎么补交｜人工（联系办公室）｜纸质材料寄到哪｜撤回 姓名（撤回推荐对象，需确认）｜帮助"
)

MEDIA_ZH = {"image": ("图片", "张", ".jpg", "照片"), "video": ("视频", "个", ".mp4", "视频")}


class Guide:
    def __init__(self, campaign: Campaign, *, naming_minutes: int) -> None:
        self.campaign = campaign
        self.naming_minutes = naming_minutes  # how long a nameless image waits for its nominee's name

    def contact_help(self) -> str:
        """What a unit's contact may ask, and that files can be sent right here."""
        return (
            COMMANDS_ZH
            + "\n补交材料：可直接在本对话中发送文件（文件名写明姓名或项目名称），"
            + f"也可发邮件至 {self.campaign.office.email}。"
        )

    def phone_line(self) -> str:
        office = self.campaign.office
        return f"如需人工帮助，请致电{office.name}（{office.contact}）：{office.phone}。"

    def how_to_send(self, example: str) -> str:
        """Both ways in, and what happens after: the clerk sends only what is missing or wrong."""
        office = self.campaign.office
        return "\n".join(
            [
                "补交材料有两种方式：",
                f"1. 直接在本对话中发送文件（点“+”选“文件”，可一次选多个），文件名写明姓名或项目名称，"
                f"如「{example}-照片1.jpg」；",
                f"2. 发邮件至 {office.email}，主题写明单位名称和“补充材料”，附件可以是压缩包。",
                "只需发送缺少或需修改的材料，已收到的不必重发；新发的推荐表、工作总结、视频替换原来的，照片则补充进去。",
                "收到后系统几分钟内自动检查，结果会发给您；发送“缺什么”可随时查看还需处理的问题。",
            ]
        )

    def contact(self) -> str:
        """The office's person and phone: what "人工客服" and "电话" want."""
        office = self.campaign.office
        return "\n".join(
            [
                f"人工咨询请联系{office.name}：",
                f"联系人：{office.contact}",
                f"电话：{office.phone}",
                f"邮箱：{office.email}",
                "材料情况也可直接发送“状态”“缺什么”查询。",
            ]
        )

    def paper_address(self) -> str:
        office = self.campaign.office
        return "\n".join(
            [
                f"盖章纸质材料请邮寄至：{office.address}",
                f"收件人：{office.contact}（{office.name}），电话：{office.phone}。",
                "办公室收到后会登记，之后发送“状态”可查看是否已收到。",
            ]
        )

    def attribute(self, nominee: str | None, example: str) -> str:
        """How a file is matched to a nominee: by the name in its file or folder name, or a reply
        naming the images just sent. `nominee`: the one the contact named, if any of the unit's."""
        who = nominee or example
        lines = [
            "材料按文件名（或所在文件夹名）中的姓名、项目名称归属到推荐对象。"
            + (f"要把照片归入“{nominee}”：" if nominee else "请这样说明文件属于谁："),
            f"1. 把文件改名为「{who}-照片1.jpg」这样的名字，在本对话中以“文件”方式重新发送，或发邮件报送；",
            f"2. 以图片方式发送后，{self.naming_minutes} 分钟内直接回复“{who}”，刚发的图片和视频即归入该对象。",
            "已收到但未能归属的文件，回复「未归属」查看。",
        ]
        return "\n".join(lines)

    def not_understood(self, text: str, *, office: bool) -> str:
        """The nearest commands to what was typed, and the phone: a clerk is never left with nothing."""
        near = "、".join(f"“{c}”" for c in suggest(text, office=office))
        return "\n".join(
            [
                f"没有听懂您的问题。您是不是想问：{near}？",
                "也可以直接发送推荐对象的姓名，查看此人的材料情况；发送“帮助”查看全部功能。",
                self.phone_line(),
            ]
        )

    def nameless_media(self, msg_type: str, names: list[str], window: dt.timedelta) -> str:
        """The receipt of an image/video: it has no file name, and files are matched to nominees by name,
        so the contact learns how to say whose it is (reply with the name, or send it as a named file).
        `names`: the unit's nominees (none yet: nothing to reply with, the file is not held)."""
        noun, measure, ext, example_kind = MEDIA_ZH.get(msg_type, MEDIA_ZH["image"])
        example = names[0] if names else EXAMPLE_NAME
        lines = [
            f"已收到{noun}。{noun}没有文件名，暂时无法归属到任何推荐对象（材料按文件名中的姓名归档）。",
        ]
        if names:
            minutes = max(int(window.total_seconds() // 60), 1)
            lines.append(
                f"请在 {minutes} 分钟内直接回复这{measure}{noun}所属的人员姓名或项目名称（如“{example}”），"
                f"系统即按该对象归档并检查；连续发送的多{measure}可一并回复一次。"
            )
        lines.append(
            f"{'也可以改用“文件”方式发送' if names else '请改用“文件”方式重新发送'}（不要以图片、视频方式发送），"
            f"并在文件名中写明姓名或项目名称，如「{example}-{example_kind}{ext}」。"
        )
        return "\n".join(lines)
