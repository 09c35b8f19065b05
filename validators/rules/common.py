"""What several rules share: the subjects they name, and reading a nominee's fields.

Subjects are a contract (DESIGN.md): a person or a test finds a finding by the
nominee's full name exactly as the registration table writes it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from config.campaign import Campaign
from intake.forms.fields import PROJECT_REGISTER_TITLE, REQUIRED_GROUPS, STAR_REGISTER_TITLE, FieldSpec
from intake.models import (
    WECOM_SUBJECT_PREFIX,
    Dossier,
    ProjectEntry,
    ProjectFields,
    StarEntry,
    StarFields,
    Submission,
)
from intake.names import name_key
from validators.base import E, Severity

STAR_PREFIX = "百姓学习之星"
PROJECT_PREFIX = "终身学习品牌项目"
STAR_REGISTER_SUBJECT = f"附表2 {STAR_REGISTER_TITLE}"
PROJECT_REGISTER_SUBJECT = f"附表4 {PROJECT_REGISTER_TITLE}"


def star_subject(name: str) -> str:
    return f"{STAR_PREFIX} {name}"


def project_subject(name: str) -> str:
    return f"{PROJECT_PREFIX} {name}"


def file_subject(path: str) -> str:
    return f"附件 {path}"


def unit_subject(dossier: Dossier) -> str:
    return f"推荐单位 {dossier.unit or _sender(dossier) or '（未识别）'}"


def _sender(dossier: Dossier) -> str | None:
    for sub in dossier.submissions:
        if sub.sender:
            return sub.sender
    return None


def filled(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def star_sources(entry: StarEntry) -> list[tuple[str, StarFields]]:
    """The places a star's fields are written, table first: [("附表2", row), ("附表1", form)]."""
    out: list[tuple[str, StarFields]] = []
    if entry.row is not None:
        out.append(("附表2", entry.row))
    if entry.form is not None:
        out.append(("附表1", entry.form.fields))
    return out


def project_sources(entry: ProjectEntry) -> list[tuple[str, ProjectFields]]:
    out: list[tuple[str, ProjectFields]] = []
    if entry.row is not None:
        out.append(("附表4", entry.row))
    if entry.form is not None:
        out.append(("附表3", entry.form.fields))
    return out


def first_value(sources: list[tuple[str, Any]], key: str) -> Any:
    """The first filled value of a field among the sources (table before form)."""
    for _, fields in sources:
        value = getattr(fields, key)
        if filled(value):
            return value
    return None


def names_list(names: list[str]) -> str:
    return "、".join(names)


def local_time(moment: dt.datetime, campaign: Campaign) -> dt.datetime:
    """A moment in the campaign's time zone; a naive time is taken as already local."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=campaign.tz)
    return moment.astimezone(campaign.tz)


def format_moment(moment: dt.datetime) -> str:
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment.hour:02d}:{moment.minute:02d}"


def missing_fields(
    sources: list[tuple[str, Any]],
    specs: tuple[FieldSpec, ...],
    register_label: str,
) -> dict[str, list[str]]:
    """Required fields left empty, per place ({"附表2": ["联系电话"], "附表1": [...]}).

    Each place is judged on its own: a field filled in the form but empty in the table
    is still missing in the table, because the table is what the experts read.
    """
    out: dict[str, list[str]] = {}
    for where, fields in sources:
        in_register = where == register_label
        labels: list[str] = []
        for spec in specs:
            required = spec.required_in_register if in_register else spec.required_in_form
            if required and not filled(getattr(fields, spec.key)):
                labels.append(spec.label)
        for keys in REQUIRED_GROUPS.values():
            members = [s for s in specs if s.key in keys and (s.in_register if in_register else s.in_form)]
            if members and not any(filled(getattr(fields, s.key)) for s in members):
                labels.append("或".join(s.label for s in members))
        if labels:
            out[where] = labels
    return out


def describe_missing(missing: dict[str, list[str]]) -> str:
    return "；".join(f"{where} 缺少：{'、'.join(labels)}" for where, labels in missing.items())


# The field-missing rules' two cases (their templates: "{name} 的{missing}", "请{advice}").
WRITTEN_GAPS = "必填项未填写（或表中找不到这一栏）：{gaps}"
WRITTEN_ADVICE = (
    "补全上述必填项；登记表（{register}）与推荐表（{form}）中的同一信息须各自填写完整；"
    "已填写的，请核对栏目名称与通知所附表格一致"
)
SCAN_GAPS = "{form} 扫描件中以下栏目未能自动识别：{labels}，请补发 Word 版推荐表"
SCAN_ADVICE = "发送该推荐表的 Word 文件，收到后以 Word 版为准；盖章扫描件已收到，无需重发"


def field_gaps(
    missing: dict[str, list[str]], register: str, form: str, scanned: bool
) -> list[tuple[Severity, dict[str, Any]]]:
    """The findings' severity and params for a nominee's empty required fields.

    What a table or a Word form leaves empty is an error. What OCR could not read off a stamped
    scan is not known to be empty (the paper may well say it): a warning that asks for the Word
    version, so the office is not told the unit left out what it wrote."""
    missing = dict(missing)
    unread = missing.pop(form, []) if scanned else []
    out: list[tuple[Severity, dict[str, Any]]] = []
    if missing:
        gaps = WRITTEN_GAPS.format(gaps=describe_missing(missing))
        advice = WRITTEN_ADVICE.format(register=register, form=form)
        out.append((Severity.ERROR, {"missing": gaps, "advice": advice, "evidence": {"missing": missing}}))
    if unread:
        gaps = SCAN_GAPS.format(form=form, labels="、".join(unread))
        evidence = {"missing": {form: unread}, "scanned": True}
        out.append((Severity.WARNING, {"missing": gaps, "advice": SCAN_ADVICE, "evidence": evidence}))
    return out


def mail_label(sub: Submission) -> str:
    """The mail as its sender knows it: by subject, else by its place among the unit's mails."""
    subject = (sub.subject or "").strip()
    if subject.startswith(WECOM_SUBJECT_PREFIX):
        return f"企业微信发来的文件「{subject.removeprefix(WECOM_SUBJECT_PREFIX).strip()}」"
    if subject:
        return f"邮件「{subject}」"
    return f"第 {sub.index + 1} 次报送的材料"


def first_of_each_name(entries: list[E]) -> list[E]:
    """The entries, each name once (the first). A name registered twice is DUPLICATE_NOMINEE's to
    report, once; its second copy has no materials of its own (they went to the first), so the
    rules judging one nominee at a time defer to DUPLICATE_NOMINEE for it (`DuplicateNominee.claims`)
    rather than add "未收到推荐表" and "照片 0 张" on top, and its checklist row has no items of its own."""
    seen: set[str] = set()
    out: list[E] = []
    for entry in entries:
        key = fold(entry.name)
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out


def fold(text: str | None) -> str:
    """A name as compared: `intake.names.name_key`, the one equivalence the merge uses too; "" for none."""
    return name_key(text)


def awaiting_volumes(dossier: Dossier) -> bool:
    """A multi-volume archive still lacks a volume (ARCHIVE_PART_MISSING): what it holds is not read yet,
    so "not received" findings about tables and forms would only hide the one thing to send."""
    return any(p.code == "ARCHIVE_PART_MISSING" for p in dossier.problems)
