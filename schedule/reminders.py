"""Who gets which reminder for a slot, and what it says (pure: statuses and `now` in, texts out).

A reminder goes to a unit that has sent nothing or still has open errors, and lists
exactly what is missing, per nominee; a complete unit gets none. A unit that sent
something after the slot's time already has a fresh reply, so the slot skips it. The
office's notice after the deadline lists every unit that is not complete, reminded or not,
and says which of them the system could not reach; each earlier round that could not reach
a unit (no address, no WeCom id) ends with a shorter notice naming those units.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from bot.wecom_client import APP_TEXT_LIMIT
from config.campaign import Campaign, Range, VideoSpec
from schedule.slots import AFTER, Slot, slot_label
from schedule.status import STATE_ZH, UNREACHABLE_ZH, UnitState, UnitStatus
from storage.models import waiting_for_unit, waiting_note
from storage.unit_link_urls import LINK_LINE_ZH
from validators.base import render
from validators.report import SEVERITY_MARK, FindingGroup, group_findings
from validators.requirements import id_photo_words

NO_CONTACT_ZH = f"未能通知（{UNREACHABLE_ZH}）"
# The WeCom text goes to every contact of the unit: each asks the bot for her own link.
MY_MATERIALS_HINT_ZH = "发送“我的材料”可获取您本人的材料页面链接（可直接上传大视频）。"


@dataclass(frozen=True)
class Message:
    subject: str
    text: str  # the mail's text part
    html: str
    chat: str  # the WeCom text (within the app's size limit)


def incomplete_units(statuses: list[UnitStatus]) -> list[UnitStatus]:
    """The units not complete now: nothing received, open errors, or a first mail still being checked."""
    return [s for s in statuses if s.known and s.state != UnitState.COMPLETE]


def skip_reason(slot: Slot, status: UnitStatus) -> str | None:
    """Why a slot does not remind a unit that is not complete (None: it does), as the office reads it."""
    if status.submissions and status.dossier is None:
        return "材料正在检查，检查结果将直接回复该单位"  # the reply will tell it more than a reminder
    if status.state == UnitState.CHECK_FAILED:  # "尚不完整" might be false: the office checks by hand
        return f"检查未完成（{status.check_error}），请人工核查"
    if status.last_arrival is not None and status.last_arrival >= slot.at:
        return "截止通知时刻后有新来件，检查结果已另行回复该单位"
    return None


def reminder_targets(slot: Slot, statuses: list[UnitStatus]) -> list[UnitStatus]:
    """The units a slot reminds: not complete, evaluated (or with nothing sent), not active since the slot."""
    return [s for s in incomplete_units(statuses) if skip_reason(slot, s) is None]


def _days_left(campaign: Campaign, now: dt.datetime) -> int:
    """Whole days to the deadline day from `now` (a reminder sent late counts from when it is sent)."""
    return (campaign.deadline - now.astimezone(campaign.tz).date()).days


def _when(slot: Slot, campaign: Campaign, now: dt.datetime) -> str:
    deadline = f"{campaign.deadline:%Y年%m月%d日}"
    left = _days_left(campaign, now)
    if slot.kind == AFTER:
        return f"报送截止时间（{deadline}）已过"
    if left == 0:
        return f"今天（{deadline}）24 时报送截止"
    return f"报送截止时间为 {deadline}（当天 24 时前），还剩 {left} 天"


def _subject(slot: Slot, status: UnitStatus, campaign: Campaign, now: dt.datetime) -> str:
    what = "尚未收到推荐材料" if status.state == UnitState.NOTHING else "推荐材料尚不完整"
    left = _days_left(campaign, now)
    if slot.kind == AFTER:
        return f"【报送已截止】{status.name}：{what}"
    if left == 0:
        return f"【今日截止提醒】{status.name}：{what}"
    return f"【截止前{left}天提醒】{status.name}：{what}"


def _count(r: Range) -> str:
    return f"{r.min}" if r.min == r.max else f"{r.min}-{r.max}"


def _minutes(seconds: int) -> str:
    return f"{seconds / 60:g}"


def video_words(spec: VideoSpec) -> str:
    """A video requirement as the call words it: "视频（MP4，4-5 分钟）", "鼓励报送视频（…）" when optional."""
    formats = "/".join(c.upper() for c in spec.containers)
    words = f"视频（{formats}，{_minutes(spec.min_seconds)}-{_minutes(spec.max_seconds)} 分钟）"
    return words if spec.required else f"鼓励报送{words}"


def checklist_lines(campaign: Campaign) -> list[str]:
    """What to send, every number and the ID photo's size from the campaign config."""
    q, star, project = campaign.quotas, campaign.star, campaign.project
    return [
        f"1. 百姓学习之星 {_count(q.stars)} 名：附表1推荐表（每人一份）、附表2登记表，"
        f"每人照片 {_count(star.photos)} 张（其中一张为{id_photo_words(campaign)}），{video_words(star.video)}；",
        f"2. 终身学习品牌项目 {_count(q.projects)} 个：附表3推荐表、附表4登记表、工作总结，"
        f"照片 {_count(project.photos)} 张，{video_words(project.video)}；",
        "3. 盖章的纸质材料请按通知要求邮寄。",
    ]


def missing_groups(status: UnitStatus) -> list[FindingGroup]:
    """The open errors, grouped per nominee (unit-level first, files last)."""
    assert status.dossier is not None
    return [g for g in group_findings(status.dossier, status.errors) if g.findings]


def _footer(campaign: Campaign) -> list[str]:
    return [
        "补充或更正材料时，直接回复受理回执邮件并附上需要替换的文件即可。",
        "",
        campaign.office.name,
        f"联系人：{campaign.office.contact}　电话：{campaign.office.phone}",
        "（本邮件由材料受理系统自动发送）",
    ]


def compose_reminder(
    slot: Slot, status: UnitStatus, campaign: Campaign, now: dt.datetime, *, link: str | None = None
) -> Message:
    """The unit's reminder; `link`: its page URL for the mail (the WeCom text goes to each contact's
    own chat, where "我的材料" gives her own link), None: none."""
    local = now.astimezone(campaign.tz)
    when, subject = _when(slot, campaign, now), _subject(slot, status, campaign, now)
    head = [f"{status.name}：", "", f"您好！{campaign.name}，{when}。"]
    body: list[str] = []
    chat = [subject, when + "。"]
    if status.state == UnitState.NOTHING:
        body.append(f"截至 {local:%m月%d日 %H:%M}，系统尚未收到贵单位的推荐材料。请按以下清单报送：")
        body += checklist_lines(campaign)
        chat.append("尚未收到贵单位的推荐材料，请尽快报送（发送“清单”查看报送要求）。")
        if status.waiting:  # an unregistered sender's package may be this unit's: say so, not who sent it
            queue = waiting_for_unit(status.waiting)
            body.append(queue)
            chat.append(queue)
    else:
        errors = status.errors
        body.append(
            f"截至 {local:%m月%d日 %H:%M}，贵单位已报送 {status.submissions} 次，还有 {len(errors)} 处必须修改或补充："
        )
        chat.append(f"还有 {len(errors)} 处必须修改或补充：")
        for heading, items in missing_groups(status):
            body.append(f"【{heading}】")
            chat.append(f"【{heading}】")
            for f in items:
                message, hint = render(f)
                body.append(f"  - {message}" + (f" 修改建议：{hint}" if hint else ""))
                chat.append(f"{SEVERITY_MARK[f.severity]} {message}")
        if status.warnings:
            body.append(f"另有 {len(status.warnings)} 处请核实，详见受理回执。")
    if link:
        body += ["", f"{LINK_LINE_ZH}{link}"]
        chat.insert(2, MY_MATERIALS_HINT_ZH)  # after the subject and the day: a long list is cut at its end
    text = "\n".join([*head, *body, "", *_footer(campaign)]) + "\n"
    html_text = "".join(
        f"<p>{html.escape(line)}</p>" if line else "<br>" for line in [*head, *body, "", *_footer(campaign)]
    )
    return Message(subject=subject, text=text, html=html_text, chat=fit_bytes(chat, APP_TEXT_LIMIT))


def compose_office_notice(
    slot: Slot, incomplete: list[UnitStatus], unreachable: set[str], campaign: Campaign
) -> Message:
    """After the deadline: the office hears of every unit still not complete, and of each whether
    the system reminded it; `unreachable` are the units it could not (no address, no WeCom id)."""
    lead = f"仍有 {len(incomplete)} 个单位材料不完整"
    subject = f"【报送已截止】{lead}"
    lines = [f"{campaign.name}：报送截止时间（{campaign.deadline:%Y年%m月%d日}）已过。", lead + "："]
    notified, missed = 0, []
    for status in incomplete:
        people = "、".join(c.name for c in status.contacts) or "未登记联系人"
        if status.submissions and status.dossier is None:
            what = "已报送"
        elif status.state == UnitState.NOTHING:
            what = STATE_ZH[status.state] + (f"，{status.waiting_note}" if status.waiting else "")
        elif status.state == UnitState.CHECK_FAILED:
            what = STATE_ZH[status.state]
        else:
            what = f"需修改 {len(status.errors)} 项"
        reason = skip_reason(slot, status) or (NO_CONTACT_ZH if status.name in unreachable else None)
        notified += reason is None
        if reason == NO_CONTACT_ZH:
            missed.append(status.name)
        lines.append(f"- {status.name}：{what}（联系人：{people}）" + (f"——{reason}" if reason else ""))
    if not incomplete:
        lines.append("（无）")
    else:
        lines.append(f"其中 {notified} 个单位已收到系统发出的截止通知。")
    if missed:
        lines.append(f"{NO_CONTACT_ZH}：{'、'.join(missed)}，请电话联系。")
    text = "\n".join(lines) + "\n"
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return Message(subject=subject, text=text, html=body, chat=fit_bytes(lines, APP_TEXT_LIMIT))


def compose_unreachable_notice(
    slot: Slot, unreachable: list[UnitStatus], campaign: Campaign, now: dt.datetime
) -> Message:
    """A pre-deadline round could not reach these units (no address, no WeCom id): the office
    hears of them at the end of the round, so it can phone them or register a contact."""
    names = [s.name for s in unreachable]
    lead = f"以下 {len(names)} 个单位{UNREACHABLE_ZH}，未能提醒，请电话联系："
    subject = f"【{slot_label(slot.key)}】{len(names)} 个单位未能提醒"
    lines = [f"{campaign.name}：{slot_label(slot.key)}已发出（{_when(slot, campaign, now)}）。", lead]
    lines.append("、".join(names))
    for status in unreachable:
        details = []
        if status.contacts:  # a name (and phone) without an address or WeCom id
            details.append("联系人" + "、".join(c.name for c in status.contacts) + "未登记邮箱和企业微信账号")
        if status.waiting:
            details.append(waiting_note(status.waiting) + "，确认所属单位后发件人即登记为联系人")
        if details:
            lines.append(f"- {status.name}：{STATE_ZH[status.state]}，" + "；".join(details))
    lines.append(
        "在工作台“联系人”页面或用 `nomdesk contacts add`、`nomdesk contacts import` 登记联系人后，"
        "下一轮提醒即发给该单位。"
    )
    text = "\n".join(lines) + "\n"
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return Message(subject=subject, text=text, html=body, chat=fit_bytes(lines, APP_TEXT_LIMIT))


def fit_bytes(lines: list[str], limit: int) -> str:
    """The lines that fit in `limit` UTF-8 bytes; a cut is said so, never silent."""
    text = "\n".join(lines)
    if len(text.encode()) <= limit:
        return text
    tail = "……（内容较多，完整清单见邮件）"
    kept: list[str] = []
    size = len(tail.encode())
    for line in lines:
        cost = len(line.encode()) + 1
        if size + cost > limit:
            break
        kept.append(line)
        size += cost
    return "\n".join([*kept, tail])
