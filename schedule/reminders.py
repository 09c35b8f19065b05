"""Who gets which reminder for a slot, and what it says (pure: statuses and `now` in, texts out).

A reminder goes to a unit that has sent nothing or still has open errors, and lists
exactly what is missing, per nominee; a complete unit gets none. A unit that sent
something after the slot's time already has a fresh reply, so the slot skips it.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from bot.wecom_client import APP_TEXT_LIMIT
from config.campaign import Campaign
from nomdesk.report import group_findings
from schedule.slots import AFTER, Slot
from schedule.status import STATE_ZH, UnitState, UnitStatus
from validators.base import Finding, render


@dataclass(frozen=True)
class Message:
    subject: str
    text: str  # the mail's text part
    html: str
    chat: str  # the WeCom text (within the app's size limit)


def reminder_targets(slot: Slot, statuses: list[UnitStatus]) -> list[UnitStatus]:
    """The units a slot reminds: not complete, evaluated (or with nothing sent), not active since the slot."""
    targets = []
    for status in statuses:
        if not status.known or status.state == UnitState.COMPLETE:
            continue
        if status.submissions and status.dossier is None:
            continue  # its mail is being processed: the reply will tell it more than a reminder
        if status.last_arrival is not None and status.last_arrival >= slot.at:
            continue
        targets.append(status)
    return targets


def _when(slot: Slot, campaign: Campaign) -> str:
    deadline = f"{campaign.deadline:%Y年%m月%d日}"
    if slot.kind == AFTER:
        return f"报送截止时间（{deadline}）已过"
    if slot.days == 0:
        return f"今天（{deadline}）24 时报送截止"
    return f"报送截止时间为 {deadline}（当天 24 时前），还剩 {slot.days} 天"


def _subject(slot: Slot, status: UnitStatus) -> str:
    what = "尚未收到推荐材料" if status.state == UnitState.NOTHING else "推荐材料尚不完整"
    if slot.kind == AFTER:
        return f"【报送已截止】{status.name}：{what}"
    if slot.days == 0:
        return f"【今日截止提醒】{status.name}：{what}"
    return f"【截止前{slot.days}天提醒】{status.name}：{what}"


def checklist_lines(campaign: Campaign) -> list[str]:
    q = campaign.quotas
    return [
        f"1. 百姓学习之星 {q.stars.min}-{q.stars.max} 名：附表1推荐表（每人一份）、附表2登记表，"
        f"每人照片 {campaign.star.photos.min} 张（其中一张为 2 寸免冠彩色证件照）；",
        f"2. 终身学习品牌项目 {q.projects.min}-{q.projects.max} 个：附表3推荐表、附表4登记表、工作总结，"
        f"照片 {campaign.project.photos.min}-{campaign.project.photos.max} 张，视频 1 个；",
        "3. 盖章的纸质材料请按通知要求邮寄。",
    ]


def missing_groups(status: UnitStatus) -> list[tuple[str, list[Finding]]]:
    """The open errors, grouped per nominee (unit-level first, files last)."""
    assert status.dossier is not None
    return [(h, items) for h, items in group_findings(status.dossier, status.errors) if items]


def _footer(campaign: Campaign) -> list[str]:
    return [
        "补充或更正材料时，直接回复受理回执邮件并附上需要替换的文件即可。",
        "",
        campaign.office.name,
        f"联系人：{campaign.office.contact}　电话：{campaign.office.phone}",
        "（本邮件由材料受理系统自动发送）",
    ]


def compose_reminder(slot: Slot, status: UnitStatus, campaign: Campaign, now: dt.datetime) -> Message:
    local = now.astimezone(campaign.tz)
    head = [f"{status.name}：", "", f"您好！{campaign.name}，{_when(slot, campaign)}。"]
    body: list[str] = []
    chat = [_subject(slot, status), _when(slot, campaign) + "。"]
    if status.state == UnitState.NOTHING:
        body.append(f"截至 {local:%m月%d日 %H:%M}，系统尚未收到贵单位的推荐材料。请按以下清单报送：")
        body += checklist_lines(campaign)
        chat.append("尚未收到贵单位的推荐材料，请尽快报送（发送“清单”查看报送要求）。")
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
                chat.append(f"✗ {message}")
        if status.warnings:
            body.append(f"另有 {len(status.warnings)} 处请核实，详见受理回执。")
    text = "\n".join([*head, *body, "", *_footer(campaign)]) + "\n"
    html_text = "".join(
        f"<p>{html.escape(line)}</p>" if line else "<br>" for line in [*head, *body, "", *_footer(campaign)]
    )
    return Message(subject=_subject(slot, status), text=text, html=html_text, chat=fit_bytes(chat, APP_TEXT_LIMIT))


def compose_office_notice(slot: Slot, late: list[UnitStatus], campaign: Campaign) -> Message:
    """After the deadline: the office is told which units are still incomplete."""
    subject = f"【报送已截止】仍有 {len(late)} 个单位材料不完整"
    lines = [f"{campaign.name}：报送截止时间（{campaign.deadline:%Y年%m月%d日}）已过。", subject[7:] + "："]
    for status in late:
        people = "、".join(c.name for c in status.contacts) or "未登记联系人"
        if status.state == UnitState.NOTHING:
            lines.append(f"- {status.name}：{STATE_ZH[status.state]}（联系人：{people}）")
        else:
            lines.append(f"- {status.name}：需修改 {len(status.errors)} 项（联系人：{people}）")
    if not late:
        lines.append("（无）")
    lines.append("以上单位已收到系统发出的截止通知。")
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
