"""Replies to a unit, in Chinese, for a busy clerk: per nominee what is wrong and how to fix it.

A reply is a receipt (RULES.md "Resubmissions"): it starts with what this submission (or, for a
reply the rate limit held back, every submission since the unit's last reply) did: its reference,
each file received and where it went, what was replaced, added, withdrawn or set aside, and how
many problems were resolved or are new since the last reply, and which of the unit's submissions
the office voided since then. Then the whole dossier as it now stands, and a checklist whose
marks come from `validators.checklist` (the one place they are decided).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

from pydantic import BaseModel

from config.campaign import Campaign
from config.masking import mask_text
from intake.models import (
    UNIT_PAGE_SUBJECT_PREFIX,
    WECOM_SUBJECT_PREFIX,
    Dossier,
    Outcome,
    Placement,
    SubmissionLog,
    SubmissionMeta,
)
from intake.withdrawal import withdrawn_by_unit
from notify.changes import change_lines, display_paths, file_name, nominee_label, where_filed
from notify.paper import paper_line
from notify.unit_page import link_lines, link_pending_line
from validators.base import Finding, Severity, label_of, render
from validators.checklist import (
    Comparison,
    checklist_rows,
    compare_findings,
)
from validators.report import group_findings


class Reply(BaseModel):
    subject: str
    text: str
    html: str


# The footer's one line on how resubmissions merge (RULES.md "Resubmissions").
RESUBMIT_RULE = (
    "补充或更正材料时，直接回复本邮件并附上需要补充或更正的文件即可："
    "照片可单独补发，会加入已收照片；推荐表、视频、总结以最新一次为准；如需撤回请写“撤回 姓名”。"
)
# A check that did not finish (a rule raised): the unit is told the office checks by hand, never "材料齐全".
MANUAL_CHECK_VERDICT = "材料已收到，正在由省级办公室人工核查"
MANUAL_CHECK_NOTE = (
    "说明：系统自动检查未能全部完成，省级办公室正在人工检查贵单位的材料，核查结果将另行告知；"
    "在此之前，本回执不代表材料已齐全。贵单位无需重复报送。"
)


def days_left(campaign: Campaign, now: dt.datetime, *, complete: bool = False) -> str:
    remaining = campaign.deadline_end - now
    if remaining.total_seconds() <= 0:
        if complete:
            return f"报送截止时间（{campaign.deadline:%Y年%m月%d日}）已过。"
        return f"报送截止时间（{campaign.deadline:%Y年%m月%d日}）已过，请尽快补齐材料。"
    days = remaining.days
    return f"报送截止时间为 {campaign.deadline:%Y年%m月%d日}，还剩 {days} 天。"


def received_count(dossier: Dossier) -> str:
    """How many times the unit sent material, by the way it came: "共 2 封邮件、企业微信文件 1 批".
    What the office recorded for the unit (a file it attached, a withdrawal; the desk writes those
    with a subject of "办公室…" or "企业微信撤回…"), nor what the unit did on its own page ("材料页面…")."""
    subjects = [sub.subject or "" for sub in dossier.submissions]
    wecom = sum(1 for s in subjects if s.startswith(WECOM_SUBJECT_PREFIX))
    office = sum(1 for s in subjects if s.startswith("办公室"))
    actions = sum(1 for s in subjects if s.startswith("企业微信") and not s.startswith(WECOM_SUBJECT_PREFIX))
    page = sum(1 for s in subjects if s.startswith(UNIT_PAGE_SUBJECT_PREFIX))
    mails = len(subjects) - wecom - office - actions - page
    parts = [f"{mails} 封邮件"] if mails else []
    if wecom:
        parts.append(f"企业微信文件 {wecom} 批")
    if actions:
        parts.append(f"企业微信操作 {actions} 次")
    if page:
        parts.append(f"材料页面上传或操作 {page} 次")
    if office:
        parts.append(f"办公室补充或操作 {office} 次")
    return "共 " + "、".join(parts) if parts else "共 0 封邮件"


# ---- the receipt: what these submissions did -------------------------------------------------


def _arrived(meta: SubmissionMeta, campaign: Campaign) -> str:
    return f"{meta.arrived_at.astimezone(campaign.tz):%m月%d日 %H:%M} 收到" if meta.arrived_at else ""


OUTCOME_ZH = {
    Outcome.FILED: "已归档",
    Outcome.ADDED: "新增照片",
    Outcome.REPLACED: "替换原文件",
    Outcome.SAME: "与已收文件相同",
    Outcome.REGISTER: "登记表",
    Outcome.UNIT_DOCUMENT: "单位文件",
    Outcome.WITHDRAWN_NOMINEE: "属已撤回对象",
    Outcome.UNPLACED: "未能归属",
    Outcome.UNUSABLE: "无法使用",
    Outcome.VOLUME: "分卷",
}


def _outcome_counts(placements: list[Placement]) -> str:
    counts: dict[Outcome, int] = {}
    for p in placements:
        counts[p.outcome] = counts.get(p.outcome, 0) + 1
    return "，".join(f"{OUTCOME_ZH[o]} {n} 个" for o, n in counts.items())


def receipt_blocks(
    dossier: Dossier,
    covers: Sequence[int],
    campaign: Campaign,
    comparison: Comparison | None,
    *,
    max_files: int | None = None,
) -> list[tuple[str, list[str]]]:
    """The receipt's head as (title, lines) blocks: per submission covered its reference, the files
    received and where each went (counted by where they went beyond `max_files`), what changed;
    then "与上次相比" (when there was a last reply)."""
    logs = {log.index: log for log in dossier.log}
    metas = [m for m in dossier.submissions if m.index in set(covers)]
    several = len(metas) > 1
    blocks: list[tuple[str, list[str]]] = []
    if several:
        refs = "、".join(m.ref for m in metas if m.ref)
        blocks.append((f"自上次回复以来共收到 {len(metas)} 次报送" + (f"（{refs}）" if refs else ""), []))
    for meta in metas:
        log = logs.get(meta.index) or SubmissionLog(index=meta.index)
        when = _arrived(meta, campaign)
        title = f"受理编号：{meta.ref}" if meta.ref else f"第 {meta.index + 1} 次报送"
        lines = [title + (f"（{when}）" if when and several else "")]
        noun = "收到" if several else "本次收到"
        if max_files is not None and len(log.placements) > max_files:
            lines.append(f"{noun} {len(log.placements)} 个文件（{_outcome_counts(log.placements)}）。")
        elif log.placements:
            shown = display_paths([p.path for p in log.placements])
            lines.append(f"{noun} {len(log.placements)} 个文件：")
            lines += [f"  {shown[p.path]}：{where_filed(p)}" for p in log.placements]
        elif not log.changes:
            lines.append(f"{noun} 0 个文件。")
        if log.ignored:
            lines.append(f"（另有 {len(log.ignored)} 个系统文件已忽略）")
        changes = change_lines(log)
        if changes:
            lines.append("本次变动：" if not several else "变动：")
            lines += [f"  {c}" for c in changes]
        blocks.append(("", lines))
    if comparison is not None:
        blocks.append(("", [f"{comparison}。"]))
    return blocks


def receipt_text(
    dossier: Dossier,
    covers: Sequence[int],
    campaign: Campaign,
    comparison: Comparison | None = None,
    *,
    max_files: int | None = None,
    voided: Sequence[VoidedNote] = (),
) -> str:
    """The receipt's head as plain text (for the WeCom answer); `voided`: see `voided_blocks`."""
    lines: list[str] = []
    blocks = receipt_blocks(dossier, covers, campaign, comparison, max_files=max_files)
    for title, block in [*blocks, *voided_blocks(voided, campaign)]:
        if title:
            lines.append(title + "：")
        lines += block
    return "\n".join(lines)


class VoidedNote(BaseModel):
    """A submission of the unit the office voided (作废), as a receipt names it."""

    ref: str  # "长春-03": the number it kept
    arrived_at: dt.datetime
    subject: str
    reason: str


VOIDED_TITLE = "办公室已作废的报送"
VOIDED_FOOTNOTE = "以上报送的材料不再计入贵单位材料（原邮件仍保存）；如有疑问，请联系省级办公室。"


def voided_blocks(voided: Sequence[VoidedNote], campaign: Campaign) -> list[tuple[str, list[str]]]:
    """The receipt's block on the submissions the office voided since the unit's last receipt
    (none: no block): each by the reference the unit knows it by, when it came, and why. A unit
    whose dossier shrank must be told why, and a forger's mail is named to the real contact."""
    if not voided:
        return []
    lines = [
        f"  {v.ref}（{v.arrived_at.astimezone(campaign.tz):%Y-%m-%d} 收到，"
        f"主题：{mask_text(v.subject) or '（无主题）'}）：原因：{v.reason}"
        for v in voided
    ]
    return [(VOIDED_TITLE, [*lines, VOIDED_FOOTNOTE])]


def _refs(dossier: Dossier, covers: Sequence[int]) -> list[str]:
    return [m.ref for m in dossier.submissions if m.index in set(covers) and m.ref]


def compose_receipt(
    dossier: Dossier,
    findings: list[Finding],
    campaign: Campaign,
    *,
    now: dt.datetime,
    covers: Sequence[int] | None = None,
    previous: list[Finding] | None = None,
    incomplete: bool = False,
    voided: Sequence[VoidedNote] = (),
    link: str | None = None,
) -> Reply:
    """The receipt of `covers` (indices of `dossier.submissions`; default: the last one) and the
    whole dossier. `previous`: the findings of the unit's last reply, None when there was none.
    `incomplete`: a rule raised, so the check did not finish: the receipt says what was received and
    that the office is checking it by hand, and marks nothing complete (no "材料齐全", no ✓).
    `voided`: the unit's submissions the office voided since its last receipt (`voided_blocks`).
    `link`: the recipient's own unit page URL (storage.unit_link_urls), None when she gets none; the
    receipt then also says a file behind a large-file link can be uploaded there (notify.unit_page)."""
    if covers is None:
        covers = [dossier.submissions[-1].index] if dossier.submissions else []
    # Incomplete: a problem of a rule that raised is not "resolved", so no comparison is made.
    comparison = compare_findings(previous, findings) if previous is not None and not incomplete else None
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
    if incomplete:  # what the rules that ran found stands; the rest is unknown until a person looks
        verdict = MANUAL_CHECK_VERDICT + (f"；已发现 {len(errors)} 处必须修改" if errors else "")
    refs = _refs(dossier, covers)
    subject = f"【材料受理回执】{unit}" + (f"（{'、'.join(refs)}）" if refs else "") + f"：{verdict}"

    e = html.escape
    covered = [m for m in dossier.submissions if m.index in set(covers)]
    if covered and all((m.subject or "").startswith("办公室") for m in covered):  # the office acted for the unit
        greeting = "您好！省级办公室已为贵单位登记以下材料或操作。"
    elif covered and all((m.subject or "").startswith(UNIT_PAGE_SUBJECT_PREFIX) for m in covered):
        greeting = "您好！已收到贵单位在本单位材料页面提交的以下材料或操作。"
    else:
        greeting = "您好！已收到贵单位报送的推荐材料。"
    text_lines = [f"{unit}：", "", greeting]
    html_parts = [f"<p>{e(unit)}：</p>", f"<p>{greeting}</p>"]
    for title, block in [*receipt_blocks(dossier, covers, campaign, comparison), *voided_blocks(voided, campaign)]:
        if title:
            text_lines.append(title + "：")
            html_parts.append(f"<p><b>{e(title)}</b></p>")
        text_lines += block
        html_parts.append(_html_block(block))
    text_lines.append("")

    summary = (
        f"以下按全部已收材料汇总（{received_count(dossier)}）："
        f"百姓学习之星 {len(dossier.stars)} 名，终身学习品牌项目 {len(dossier.projects)} 个。{verdict}。"
    )
    text_lines += [summary, ""]
    html_parts.append(
        f"<p>以下按全部已收材料汇总（{e(received_count(dossier))}）：百姓学习之星 {len(dossier.stars)} 名，"
        f"终身学习品牌项目 {len(dossier.projects)} 个。<b>{e(verdict)}</b>。</p>"
    )
    if link:
        line, paragraph = link_lines(link)
        text_lines += [line, ""]
        html_parts.append(paragraph)
    if incomplete:
        text_lines += [MANUAL_CHECK_NOTE, ""]
        html_parts.append(f"<p>{e(MANUAL_CHECK_NOTE)}</p>")

    groups = group_findings(dossier, findings)
    needs_work = [(h, items) for h, items in groups if items]
    if needs_work:
        title = "一、已发现的问题（人工核查后可能还有补充）" if incomplete else "一、需要处理的问题"
        text_lines.append(title)
        html_parts.append(f"<h3>{e(title)}</h3>")
        for heading, items in needs_work:
            text_lines.append(f"【{heading}】")
            html_parts.append(f"<p><b>{e(heading)}</b></p><ul>")
            for f in items:
                message, hint = render(f)
                hint = link_pending_line(f, hint, link)
                label = label_of(f)
                text_lines.append(f"  - [{label}] {message}")
                if hint:
                    text_lines.append(f"    修改建议：{hint}")
                colour = {"error": "#c0392b", "warning": "#d68910", "info": "#555"}[f.severity.value]
                html_parts.append(
                    f'<li><span style="color:{colour}">[{label}]</span> {e(message)}'
                    + (f"<br><small>修改建议：{e(hint)}</small>" if hint else "")
                    + "</li>"
                )
            html_parts.append("</ul>")
            text_lines.append("")
    text_lines.append("二、已收材料清单")
    html_parts.append('<h3>二、已收材料清单</h3><table border="1" cellpadding="4" style="border-collapse:collapse">')
    for row in checklist_rows(dossier, findings):
        if incomplete:  # what was received, unmarked: a ✓ would say a check passed that did not run
            received = "，".join(i.received for i in row.items)
            text_lines.append(f"  {row.heading}：{received}")
            html_parts.append(f"<tr><td>待核查</td><td>{e(row.heading)}</td><td>{e(received)}</td></tr>")
            continue
        text_lines.append(f"  {row}")
        html_parts.append(f"<tr><td>{row.mark}</td><td>{e(row.heading)}</td><td>{e(row.line)}</td></tr>")
    html_parts.append("</table>")
    extra = []
    if dossier.unit_documents:
        extra.append("单位文件：" + "、".join(file_name(f.path) for f in dossier.unit_documents))
    for w in dossier.withdrawn:
        how = "可在本单位材料页面恢复，或联系省办公室" if link and withdrawn_by_unit(w) else "请联系省办公室"
        extra.append(f"已撤回：{nominee_label(w.kind, w.name)}（材料仍保留，如需恢复{how}）")
    text_lines += [f"  {line}" for line in extra]
    if extra:
        html_parts.append("<p>" + "<br>".join(e(line) for line in extra) + "</p>")
    footer = [
        "",
        days_left(campaign, now, complete=not errors and not incomplete),
        RESUBMIT_RULE,
        *paper_line(dossier, findings, campaign),
        "",
        f"{campaign.office.name}",
        f"联系人：{campaign.office.contact}　电话：{campaign.office.phone}",
        "（本邮件由材料受理系统自动发送）",
    ]
    text_lines += footer
    html_parts.append("<p>" + "<br>".join(e(line) for line in footer if line) + "</p>")
    return Reply(subject=subject, text="\n".join(text_lines) + "\n", html="\n".join(html_parts))


def _html_block(block: list[str]) -> str:
    """A receipt block in HTML: its lines in order, the indented ones (files, changes) as lists."""
    out: list[str] = []
    open_list = False
    for line in block:
        if line.startswith("  "):
            if not open_list:
                out.append("<ul>")
                open_list = True
            out.append(f"<li>{html.escape(line.strip())}</li>")
        else:
            if open_list:
                out.append("</ul>")
                open_list = False
            out.append(f"<p>{html.escape(line)}</p>")
    if open_list:
        out.append("</ul>")
    return "".join(out)


def compose_reply(dossier: Dossier, findings: list[Finding], campaign: Campaign, *, now: dt.datetime, **kw) -> Reply:
    """The receipt (`compose_receipt`), under the name callers have used."""
    return compose_receipt(dossier, findings, campaign, now=now, **kw)
