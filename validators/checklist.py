"""A nominee's checklist and what changed between two evaluations.

The one place a mark is decided. Each item of a nominee (推荐表, 工作总结, 照片, 视频, and 登记表
when it is in question) is marked from the findings that speak about it (`Finding.item`, set
from each rule's `item`; an unusable file meant for the item carries it too): an error ✗, else a
warning ⚠, else ✓. The row's mark is the worst of its items and of the nominee's findings that
speak about no item (a duplicate, a past honouree...). So a row with every item ✓ and nothing
else wrong is ✓, and a row is never ✓ beside an item with an error. The reply, the WeCom bot,
the dashboard card and the roster's 材料齐全 column all read these rows.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from intake.models import (
    ITEM_FORM,
    ITEM_PHOTOS,
    ITEM_REGISTER,
    ITEM_SUMMARY,
    ITEM_VIDEO,
    ITEMS,
    NOMINEE_KIND_ZH,
    Dossier,
    PackageFile,
    ProjectEntry,
    StarEntry,
)
from validators.base import REGISTRY, SEVERITY_ORDER, Finding, Severity
from validators.measure import format_duration
from validators.rules.common import first_of_each_name

OK, BAD, WARN = "✓", "✗", "⚠"
SCAN_READ = "扫描件（自动识别）"  # a form read by OCR off a stamped scan
STAMPED_SCAN = "盖章扫描件"  # a stamped scan received beside the Word form
_RANK = {"": 0, OK: 0, WARN: 1, BAD: 2}

ITEM_ZH = {
    ITEM_REGISTER: "登记表",
    ITEM_FORM: "推荐表",
    ITEM_SUMMARY: "工作总结",
    ITEM_PHOTOS: "照片",
    ITEM_VIDEO: "视频",
}
KIND_ZH = NOMINEE_KIND_ZH  # the name callers of the checklist know it by


@dataclass(frozen=True)
class Item:
    """One item of a nominee's checklist: what was received (measured), and its mark."""

    item: str  # one of intake.models.ITEMS
    label: str  # "照片2张", "视频 2分30秒", "推荐表", "视频 无法打开", "无视频"
    mark: str  # ✓ ✗ ⚠, or "" for an optional item not sent and not asked for (a star's video)
    reason: str = ""  # why it is ✗ where the label does not say it: "未收到", "要求 2 张"
    findings: tuple[Finding, ...] = ()
    note: str = ""  # received beside the item, checked by nobody: "盖章扫描件" beside a Word form

    @property
    def received(self) -> str:
        """What was received, unmarked (a check that did not finish marks nothing)."""
        return self.label + (f"，{self.note}" if self.note else "")

    def __str__(self) -> str:
        return (
            f"{self.label}{self.mark}"
            + (f"（{self.reason}）" if self.reason else "")
            + (f"，{self.note}{OK}" if self.note else "")
        )


@dataclass(frozen=True)
class Row:
    """A nominee's checklist row: its items and the mark they and its own findings give."""

    kind: str  # "star" or "project"
    name: str
    exemplar: bool
    mark: str
    items: tuple[Item, ...]
    findings: tuple[Finding, ...] = ()  # every finding about the nominee (items' and its own), INFO too

    @property
    def heading(self) -> str:
        return f"{KIND_ZH[self.kind]} {self.name}" + ("（典范）" if self.exemplar else "")

    @property
    def line(self) -> str:
        return "，".join(str(i) for i in self.items)

    @property
    def complete(self) -> bool:
        """No error on the nominee (the roster's 材料齐全)."""
        return self.mark != BAD

    def __str__(self) -> str:
        return f"{self.mark} {self.heading}：{self.line}"


def mark_of(findings: Iterable[Finding]) -> str:
    """✗ for an error, else ⚠ for a warning, else ✓; an info never changes a mark."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return BAD
    return WARN if Severity.WARNING in severities else OK


def _worst(marks: Iterable[str]) -> str:
    return max(marks, key=lambda m: _RANK[m], default=OK) or OK


def _rule_item(finding: Finding) -> str | None:
    r = REGISTRY.find(finding.code)
    return r.item if r else None


def _unusable(finding: Finding) -> str | None:
    r = REGISTRY.find(finding.code)
    return r.unusable_zh if r else None


def _reason(finding: Finding) -> str:
    if "required" in finding.params and finding.params.get("count") is not None:
        return f"要求{finding.params['required']}张"
    r = REGISTRY.find(finding.code)
    return (r.reason_zh or r.title_zh) if r else finding.code


def _unusable_paths(findings: list[Finding]) -> dict[str, str]:
    """path -> "无法打开" for the item's files whose own finding says they cannot be used."""
    out: dict[str, str] = {}
    for f in findings:
        word = _unusable(f)
        if word:
            out[str(f.evidence.get("path") or f.subject)] = word
    return out


def _item(
    item: str,
    base: str,
    findings: list[Finding],
    *,
    received: bool,
    required: bool,
    files: list[PackageFile] | None = None,
) -> Item:
    """An item labelled with what was received, marked from its findings, and why it is ✗ where
    the label does not say it. `files`: the item's files when it is a set (photos, videos)."""
    bad_files = _unusable_paths(findings)
    problems = [f for f in findings if f.severity != Severity.INFO]
    mark = mark_of(problems)
    label = base
    reasons: list[str] = []
    if bad_files:
        words = "、".join(dict.fromkeys(bad_files.values()))
        usable = not received if files is None else [f for f in files if f.path not in bad_files]
        if item != ITEM_PHOTOS and not usable:
            label = f"{ITEM_ZH[item]} {words}"  # "视频 无法打开"
        else:
            label = f"{base}（{len(bad_files)}个{words}）"
    elif not received and required:
        mark = BAD
        reasons.append("未收到")
    elif not received and mark == OK:
        mark = ""  # not sent and not asked for (a star's video): no mark
    if mark == BAD and received:
        for f in problems:
            if f.severity == Severity.ERROR and not _unusable(f) and _reason(f) not in reasons:
                reasons.append(_reason(f))
    return Item(item, label, mark, "；".join(reasons), tuple(findings))


def _video_base(videos: list[PackageFile]) -> str:
    if not videos:
        return "无视频"
    durations = [v.video.duration for v in videos if v.video is not None and v.video.duration]
    if len(durations) == len(videos):
        return "视频 " + "、".join(format_duration(d) for d in durations)
    return f"视频{len(videos)}个"


def form_marks(entry: StarEntry | ProjectEntry) -> tuple[str, str]:
    """The form item's label and note: "推荐表 扫描件（自动识别）" when the form was read by OCR off a
    stamped scan (so the office knows its fields may be misread), and the note "盖章扫描件" when a
    Word form came with its stamped scan (the scan adds nothing else)."""
    if entry.form_scanned:
        return f"{ITEM_ZH[ITEM_FORM]} {SCAN_READ}", ""
    return ITEM_ZH[ITEM_FORM], STAMPED_SCAN if entry.form is not None and entry.scans else ""


def checklist_row(entry: StarEntry | ProjectEntry, findings: Iterable[Finding], *, own_items: bool = True) -> Row:
    """The row of one nominee from the findings about it (others are ignored).

    `own_items=False` for a second copy of a name (DUPLICATE_NOMINEE): the rules check each name
    once, so its item findings are the first copy's; it keeps only the findings about no item."""
    kind = "project" if isinstance(entry, ProjectEntry) else "star"
    mine = [f for f in findings if f.nominee == entry.name]
    by_item: dict[str | None, list[Finding]] = defaultdict(list)
    for f in mine:
        item = f.item or _rule_item(f)
        by_item[item if item in ITEMS and own_items else None].append(f)
    items: list[Item] = []
    if not entry.registered or by_item.get(ITEM_REGISTER):
        table = "附表2" if kind == "star" else "附表4"
        base = table if entry.registered else f"未列入{table}"
        items.append(_item(ITEM_REGISTER, base, by_item.pop(ITEM_REGISTER, []), received=True, required=False))
    form_label, scan_note = form_marks(entry)
    form = _item(ITEM_FORM, form_label, by_item.pop(ITEM_FORM, []), received=entry.form is not None, required=True)
    items.append(replace(form, note=scan_note))
    if isinstance(entry, ProjectEntry):
        summary = entry.summary
        items.append(
            _item(
                ITEM_SUMMARY,
                f"工作总结{summary.chars}字" if summary else "工作总结",
                by_item.pop(ITEM_SUMMARY, []),
                received=summary is not None,
                required=True,
            )
        )
    items.append(
        _item(
            ITEM_PHOTOS,
            f"照片{len(entry.photos)}张",
            by_item.pop(ITEM_PHOTOS, []),
            received=True,  # a count is what was received, 0 included; its rule says if too few
            required=False,
            files=entry.photos,
        )
    )
    video_findings = by_item.pop(ITEM_VIDEO, [])
    items.append(
        _item(
            ITEM_VIDEO,
            _video_base(entry.videos) if entry.videos or mark_of(video_findings) == OK else "视频",
            video_findings,
            received=bool(entry.videos),
            required=mark_of(video_findings) == BAD,  # the rules say when a video is required
            files=entry.videos,
        )
    )
    own = [f for fs in by_item.values() for f in fs if f.severity != Severity.INFO]
    mark = _worst([*(i.mark for i in items), mark_of(own)])
    ordered = sorted(mine, key=lambda f: SEVERITY_ORDER[f.severity])
    return Row(kind, entry.name, entry.exemplar, mark, tuple(items), tuple(ordered))


def checklist_rows(dossier: Dossier, findings: Iterable[Finding]) -> list[Row]:
    """A row per star, then per project, in the dossier's order (parallel to stars + projects)."""
    findings = list(findings)
    rows: list[Row] = []
    for entries in (dossier.stars, dossier.projects):
        firsts = first_of_each_name(entries)
        for entry in entries:
            rows.append(checklist_row(entry, findings, own_items=any(e is entry for e in firsts)))
    return rows


# ---- what changed --------------------------------------------------------------------------


def finding_identity(f: Finding) -> tuple[str, str, str | None, str | None]:
    """The same problem in two evaluations: same code, subject, nominee and item (its measured
    values may differ: "照片 1 张" then "照片 3 张" is the same problem, not solved)."""
    return (f.code, f.subject, f.nominee, f.item or _rule_item(f) if f.nominee else f.item)


@dataclass(frozen=True)
class Comparison:
    resolved: list[Finding] = field(default_factory=list)  # in the earlier findings, gone now
    new: list[Finding] = field(default_factory=list)  # not in the earlier findings

    def __str__(self) -> str:
        return f"与上次相比：已解决 {len(self.resolved)} 项，新增 {len(self.new)} 项"


def compare_findings(before: Iterable[Finding], after: Iterable[Finding]) -> Comparison:
    """Problems (errors and warnings) resolved and new between two evaluations of a dossier."""
    old = [f for f in before if f.severity != Severity.INFO]
    now = [f for f in after if f.severity != Severity.INFO]
    return Comparison(resolved=_not_in(old, now), new=_not_in(now, old))


def _not_in(these: list[Finding], others: list[Finding]) -> list[Finding]:
    """The findings of `these` with no counterpart in `others`, counting repeats (a multiset difference)."""
    left = Counter(finding_identity(f) for f in others)
    out = []
    for f in these:
        key = finding_identity(f)
        if left[key]:
            left[key] -= 1
        else:
            out.append(f)
    return out
