"""Replies to a unit, in Chinese, for a busy clerk: per nominee what is wrong and how to fix it.

Every reply describes the whole dossier as it now stands (RULES.md "Resubmissions"),
not only the last mail, and ends with a checklist of what is already fine.
"""

from __future__ import annotations

import datetime as dt
import html

from pydantic import BaseModel

from config.campaign import Campaign
from intake.models import WECOM_SUBJECT_PREFIX, Dossier, ProjectEntry, StarEntry
from nomdesk.report import group_findings
from validators.base import SEVERITY_ORDER, SEVERITY_ZH, Finding, Severity, render
from validators.measure import format_duration


class Reply(BaseModel):
    subject: str
    text: str
    html: str


# Which finding codes speak about which item of a nominee's checklist.
_FORM_CODES = {"STAR_FORM_MISSING", "STAR_FIELD_MISSING", "PROJECT_FORM_MISSING", "PROJECT_FIELD_MISSING"}
_PHOTO_CODES = {"STAR_PHOTO_COUNT", "STAR_ID_PHOTO", "PROJECT_PHOTO_COUNT", "EXEMPLAR_PHOTOS"}
_VIDEO_CODES = {
    "STAR_VIDEO_SPEC",
    "PROJECT_VIDEO_MISSING",
    "PROJECT_VIDEO_SPEC",
    "EXEMPLAR_VIDEO_MISSING",
    "EXEMPLAR_VIDEO_SPEC",
}
_SUMMARY_CODES = {"PROJECT_SUMMARY_MISSING", "PROJECT_SUMMARY_LENGTH"}


def _mark(codes: set[str], open_codes: dict[str, Severity]) -> str:
    """✓ nothing to do, ✗ must be fixed, ⚠ the office will look."""
    hits = [sev for code, sev in open_codes.items() if code in codes]
    if Severity.ERROR in hits:
        return "✗"
    return "⚠" if Severity.WARNING in hits else "✓"


def _videos(entry: StarEntry | ProjectEntry) -> str:
    durations = [v.video.duration for v in entry.videos if v.video is not None and v.video.duration]
    if not entry.videos:
        return "无视频"
    if len(durations) == len(entry.videos):
        return "视频 " + "、".join(format_duration(d) for d in durations)
    return f"视频{len(entry.videos)}个"


def _checklist(entry: StarEntry | ProjectEntry, findings: list[Finding]) -> str:
    """One line per nominee, each item marked by what its own findings say, with the measured value,
    so the clerk sees which item of a ✗ nominee is the trouble."""
    open_codes: dict[str, Severity] = {}
    for f in findings:
        if f.nominee == entry.name and f.severity != Severity.INFO:
            worst = open_codes.get(f.code)
            if worst is None or SEVERITY_ORDER[f.severity] < SEVERITY_ORDER[worst]:
                open_codes[f.code] = f.severity
    parts = ["推荐表" + (_mark(_FORM_CODES, open_codes) if entry.form else "✗（未收到）")]
    if isinstance(entry, ProjectEntry):
        summary = f"工作总结{entry.summary.chars}字" if entry.summary else "工作总结（未收到）"
        parts.append(summary + _mark(_SUMMARY_CODES, open_codes))
    parts.append(f"照片{len(entry.photos)}张" + _mark(_PHOTO_CODES, open_codes))
    video_mark = _mark(_VIDEO_CODES, open_codes)
    videos = _videos(entry)
    parts.append(videos + (video_mark if entry.videos or video_mark != "✓" else ""))
    return "，".join(parts)


def _days_left(campaign: Campaign, now: dt.datetime, *, complete: bool = False) -> str:
    remaining = campaign.deadline_end - now
    if remaining.total_seconds() <= 0:
        if complete:
            return f"报送截止时间（{campaign.deadline:%Y年%m月%d日}）已过。"
        return f"报送截止时间（{campaign.deadline:%Y年%m月%d日}）已过，请尽快补齐材料。"
    days = remaining.days
    return f"报送截止时间为 {campaign.deadline:%Y年%m月%d日}，还剩 {days} 天。"


def received_count(dossier: Dossier) -> str:
    """How many times the unit sent material, by the way it came: "共 2 封邮件、企业微信文件 1 批"."""
    wecom = sum(1 for sub in dossier.submissions if (sub.subject or "").startswith(WECOM_SUBJECT_PREFIX))
    mails = len(dossier.submissions) - wecom
    parts = [f"{mails} 封邮件"] if mails else []
    if wecom:
        parts.append(f"企业微信文件 {wecom} 批")
    return "共 " + "、".join(parts) if parts else "共 0 封邮件"


def compose_reply(dossier: Dossier, findings: list[Finding], campaign: Campaign, *, now: dt.datetime) -> Reply:
    errors = [f for f in findings if f.severity == Severity.ERROR]
    warnings = [f for f in findings if f.severity == Severity.WARNING]
    unit = dossier.unit or "贵单位"
    if errors:
        verdict = f"材料尚不完整：共有 {len(errors)} 处必须修改" + (
            f"，另有 {len(warnings)} 处请核实" if warnings else ""
        )
    elif warnings:
        verdict = f"材料已齐全，另有 {len(warnings)} 处请核实"
    else:
        verdict = "材料齐全，符合通知要求"
    subject = f"【材料受理回执】{unit}：{verdict}"

    groups = group_findings(dossier, findings)
    checklist: dict[str, str] = {}
    for star in dossier.stars:
        checklist[f"百姓学习之星 {star.name}" + ("（典范）" if star.exemplar else "")] = _checklist(star, findings)
    for project in dossier.projects:
        heading = f"终身学习品牌项目 {project.name}" + ("（典范）" if project.exemplar else "")
        checklist[heading] = _checklist(project, findings)

    text_lines = [
        f"{unit}：",
        "",
        f"您好！已收到贵单位报送的推荐材料（{received_count(dossier)}，以下按全部已收材料汇总）。",
        f"百姓学习之星 {len(dossier.stars)} 名，终身学习品牌项目 {len(dossier.projects)} 个。{verdict}。",
        "",
    ]
    html_parts = [
        f"<p>{html.escape(unit)}：</p>",
        f"<p>您好！已收到贵单位报送的推荐材料（{html.escape(received_count(dossier))}，以下按全部已收材料汇总）。<br>",
        f"百姓学习之星 {len(dossier.stars)} 名，终身学习品牌项目 {len(dossier.projects)} 个。"
        f"<b>{html.escape(verdict)}</b>。</p>",
    ]
    needs_work = [(h, items) for h, items in groups if items]
    if needs_work:
        text_lines.append("一、需要处理的问题")
        html_parts.append("<h3>一、需要处理的问题</h3>")
        for heading, items in needs_work:
            text_lines.append(f"【{heading}】")
            html_parts.append(f"<p><b>{html.escape(heading)}</b></p><ul>")
            for f in items:
                message, hint = render(f)
                label = SEVERITY_ZH[f.severity]
                text_lines.append(f"  - [{label}] {message}")
                if hint:
                    text_lines.append(f"    修改建议：{hint}")
                colour = {"error": "#c0392b", "warning": "#d68910", "info": "#555"}[f.severity.value]
                html_parts.append(
                    f'<li><span style="color:{colour}">[{label}]</span> {html.escape(message)}'
                    + (f"<br><small>修改建议：{html.escape(hint)}</small>" if hint else "")
                    + "</li>"
                )
            html_parts.append("</ul>")
            text_lines.append("")
    text_lines.append("二、已收材料清单")
    html_parts.append('<h3>二、已收材料清单</h3><table border="1" cellpadding="4" style="border-collapse:collapse">')
    for heading, line in checklist.items():
        fine = not any(items for h, items in groups if h == heading)
        mark = "✓" if fine else "✗"
        text_lines.append(f"  {mark} {heading}：{line}")
        html_parts.append(f"<tr><td>{mark}</td><td>{html.escape(heading)}</td><td>{html.escape(line)}</td></tr>")
    html_parts.append("</table>")
    footer = [
        "",
        _days_left(campaign, now, complete=not errors),
        "补充或更正材料时，直接回复本邮件并附上需要替换的文件即可（同一人员或项目的材料以最后一次报送为准）。",
        "盖章的纸质材料请按通知要求邮寄。",
        "",
        f"{campaign.office.name}",
        f"联系人：{campaign.office.contact}　电话：{campaign.office.phone}",
        "（本邮件由材料受理系统自动发送）",
    ]
    text_lines += footer
    html_parts.append("<p>" + "<br>".join(html.escape(line) for line in footer if line) + "</p>")
    return Reply(subject=subject, text="\n".join(text_lines) + "\n", html="\n".join(html_parts))


def compose_quarantine_ack(campaign: Campaign, *, now: dt.datetime) -> Reply:
    """The sender's answer when the desk could not process a mail: it is kept, a person looks at it."""
    text = (
        "您好！\n\n"
        "您的邮件已收到并完整保存，但系统在自动检查材料时遇到问题，已转省级办公室人工处理，"
        "处理后将另行回复检查结果。您无需重复发送。\n\n"
        f"{_days_left(campaign, now)}\n\n"
        f"{campaign.office.name}\n联系人：{campaign.office.contact}　电话：{campaign.office.phone}\n"
        "（本邮件由材料受理系统自动发送）\n"
    )
    body = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n"))
    return Reply(subject="【材料受理回执】已转人工处理", text=text, html=body)


def compose_unknown_sender_reply(campaign: Campaign, *, now: dt.datetime) -> Reply:
    """UNIT_UNKNOWN's polite reply: no data about anyone's dossier, just how to identify."""
    text = (
        "您好！\n\n"
        "已收到您的邮件，但您的邮箱尚未登记为任何推荐单位的联系人，系统暂时无法确认材料所属单位，"
        "因此未对材料进行反馈。省级办公室已收到通知，将尽快与您核实。\n"
        "请在回复中注明：推荐单位全称、联系人姓名和联系电话。\n\n"
        f"{_days_left(campaign, now)}\n\n"
        f"{campaign.office.name}\n联系人：{campaign.office.contact}　电话：{campaign.office.phone}\n"
        "（本邮件由材料受理系统自动发送）\n"
    )
    body = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n"))
    return Reply(subject="【材料受理回执】请确认推荐单位", text=text, html=body)
