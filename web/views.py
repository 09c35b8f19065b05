"""What the dashboard shows, computed from the store: one row per unit, one unit's dossier.

Pages and exports read these plain objects, so the state of a unit (and its colour on the
campaign page) is decided in one place.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from config.campaign import KIND_ZH, Campaign
from config.masking import mask_id_number, mask_phone
from intake.models import NOMINEE_KIND_ZH, Dossier, PackageFile, ProjectEntry, StarEntry
from intake.withdrawal import withdrawn_by_zh
from schedule.jobs import MARKDOWN_CHANNEL
from storage.repo import Store
from storage.tables import FileRecord, OfficeNote, OutboxRecord, PaperReceipt, ReminderSent, SubmissionRecord
from validators.base import SEVERITY_ORDER, Finding, label_of, render
from validators.checklist import BAD, WARN, Item, Row, checklist_rows
from validators.report import is_file_finding

# A unit's state, in the order the office cares about it; lateness is a mark beside it, not a state:
# a late unit is still missing what it misses. The filters offer both ("late": every late unit).
LATE = "late"
# "check_failed": a rule raised on the latest check, so it is neither complete nor known incomplete.
CHECK_FAILED = "check_failed"
STATE_ZH = {"none": "未报送", "incomplete": "待修改", "complete": "材料齐全", CHECK_FAILED: "检查未完成"}
FILTER_ZH = {
    "none": "未报送",
    LATE: "逾期报送",
    "incomplete": "待修改",
    "complete": "材料齐全",
    CHECK_FAILED: "检查未完成",
}
LATE_ZH = "逾期"
OUTBOX_STATE_ZH = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "failed": "发送失败",
    "suppressed": "未发送",
}
CHANNEL_ZH = {"mail": "邮件", "wecom": "企业微信", MARKDOWN_CHANNEL: "企业微信", "webhook": "群机器人"}


def local(value: dt.datetime | None, campaign: Campaign, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(campaign.tz).strftime(fmt) if value else "—"


def unit_state(submissions: int, errors: int, check_error: str | None = None) -> str:
    """Nothing received; check failed while the latest check had a rule raise (never complete);
    incomplete while an error finding stands (or before the first evaluation); else complete.
    Whether it came late is shown beside the state (`UnitRow.late`)."""
    if submissions == 0:
        return "none"
    if check_error:
        return CHECK_FAILED
    return "incomplete" if errors else "complete"


@dataclass
class UnitRow:
    name: str
    kind: str
    kind_zh: str
    aliases: list[str]
    state: str
    state_zh: str
    late: bool  # a submission came after the deadline (the LATE finding stands)
    submissions: int
    last_arrival: str
    stars: int
    projects: int
    stars_in_quota: bool
    projects_in_quota: bool
    exemplar_stars: int
    exemplar_projects: int
    errors: int
    warnings: int
    paper_received: bool
    waiting: int = 0  # mails in the 待确认 queue guessed to be this unit's
    check_error: str | None = None  # why the latest check did not finish (a rule raised), masked

    def matches(self, kind: str, state: str, query: str) -> bool:
        if kind and self.kind != kind:
            return False
        if state and not (self.late if state == LATE else self.state == state):
            return False
        query = query.strip()
        return not query or any(query in text for text in (self.name, *self.aliases))


def unit_rows(store: Store, campaign: Campaign) -> list[UnitRow]:
    aliases = {u.name: list(u.aliases) for u in campaign.units}
    waiting = store.submissions.waiting_by_unit()  # per the unit each mail is guessed to be from
    quotas = campaign.quotas
    rows = []
    for o in store.overview.units():  # late and 典范 counted there too: no query per unit
        evaluated = o.evaluated_version is not None
        state = unit_state(o.submissions, o.errors, o.check_error)
        rows.append(
            UnitRow(
                name=o.name,
                kind=o.kind,
                kind_zh=KIND_ZH.get(o.kind, o.kind),
                aliases=aliases.get(o.name, []),
                state=state,
                state_zh=STATE_ZH[state],
                late=evaluated and o.late,
                submissions=o.submissions,
                last_arrival=local(o.last_arrival, campaign, "%m-%d %H:%M"),
                stars=o.stars,
                projects=o.projects,
                stars_in_quota=o.stars in quotas.stars,
                projects_in_quota=o.projects in quotas.projects,
                exemplar_stars=o.exemplar_stars if evaluated else 0,
                exemplar_projects=o.exemplar_projects if evaluated else 0,
                errors=o.errors,
                warnings=o.warnings,
                paper_received=o.paper_received,
                waiting=waiting.get(o.name, 0),
                check_error=o.check_error if o.submissions else None,
            )
        )
    return rows


def countdown(campaign: Campaign, now: dt.datetime) -> tuple[str, bool]:
    """The deadline as the office reads it, and whether it has passed."""
    end = campaign.deadline_end
    deadline = f"{campaign.deadline:%Y年%m月%d日}"
    left = end - now
    if left.total_seconds() > 0:
        days, hours = left.days, left.seconds // 3600
        return f"截止 {deadline}，还剩 {days} 天 {hours} 小时", False
    return f"已于 {deadline} 截止（已过 {(now - end).days} 天）", True


# ---- one unit -----------------------------------------------------------------------------


@dataclass
class FindingView:
    severity: str
    severity_zh: str
    code: str
    message: str
    hint: str


def finding_view(f: Finding) -> FindingView:
    message, hint = render(f)
    return FindingView(str(f.severity), label_of(f), f.code, message, hint)


@dataclass
class PhotoView:
    file_id: int | None
    name: str
    detail: str


@dataclass
class VideoView:
    name: str
    detail: str
    file_id: int | None = None  # its stored file (a unit page's preview and compliant copy name it)


@dataclass
class NomineeView:
    kind: str  # star, project
    heading: str
    name: str
    exemplar: bool
    registered: bool
    form: str | None  # the form's path, None when no form was read
    fields: list[tuple[str, str]]
    photos: list[PhotoView]
    videos: list[VideoView]
    findings: list[FindingView]
    mark: str = "✓"  # the checklist row's mark (validators.checklist): ✓ ✗ ⚠
    checklist: list[Item] = field(default_factory=list)  # its items, each marked
    form_scanned: bool = False  # the form was read by OCR off a stamped scan: its fields may be misread
    scans: list[str] = field(default_factory=list)  # paths of the stamped scans of its form

    @property
    def state(self) -> str:
        """The card's colour: "error" (✗), "warning" (⚠) or "clean" (✓), as its checklist row says."""
        return {BAD: "error", WARN: "warning"}.get(self.mark, "clean")


@dataclass
class SubmissionView:
    number: int
    arrived: str
    late: bool
    sender: str
    subject: str
    source: str
    files: int
    raw_id: int
    submission_id: int = 0
    ref: str = ""  # "长春-03", as the unit's receipts print it
    voided: str | None = None  # the office voided it: "wu 于 2026-11-02 10:15 作废：原因"


@dataclass
class LinkView:
    url: str
    host: str
    text: str
    submission: int  # 1-based, as the submissions table numbers them


@dataclass
class WithdrawnView:
    kind: str  # star, project
    heading: str
    name: str
    by: str  # who withdrew it, for a clerk ("办公室 wu", "本单位来信")


@dataclass
class UnitPage:
    row: UnitRow | None
    name: str
    dossier: Dossier | None
    general: list[FindingView] = field(default_factory=list)
    file_findings: list[FindingView] = field(default_factory=list)
    nominees: list[NomineeView] = field(default_factory=list)
    submissions: list[SubmissionView] = field(default_factory=list)
    links: list[LinkView] = field(default_factory=list)
    replies: list[OutboxRecord] = field(default_factory=list)
    reminders: list[ReminderSent] = field(default_factory=list)
    paper: list[PaperReceipt] = field(default_factory=list)
    withdrawn: list[WithdrawnView] = field(default_factory=list)
    notes: list[OfficeNote] = field(default_factory=list)  # the office's own: never shown to the unit
    check_error: str | None = None  # the latest check's rules that raised: 检查未完成, checked by hand
    # (dossier submission index, path) -> stored file id: what a page names a file of the dossier by
    file_ids: dict[tuple[int, str], int] = field(default_factory=dict)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "时长未知"
    total = round(seconds)
    return f"{total // 60}分{total % 60:02d}秒"


def _photo(f: PackageFile, file_ids: dict[tuple[int, str], int]) -> PhotoView:
    info = f.photo
    detail = f"{info.width}×{info.height} {info.format}{'' if info.colour else ' 黑白'}" if info else "未能读取"
    return PhotoView(file_ids.get((f.submission, f.path)), f.name, detail)


def _video(f: PackageFile, file_ids: dict[tuple[int, str], int] | None = None) -> VideoView:
    file_id = (file_ids or {}).get((f.submission, f.path))
    v = f.video
    if v is None:
        return VideoView(f.name, "未能读取", file_id)
    parts = [v.container.upper(), (v.codec or "编码未知") if v.has_video else "无视频流"]
    if v.width and v.height:
        parts.append(f"{v.width}×{v.height}")
    if v.fps:
        parts.append(f"{v.fps:.2f} 帧/秒" + ("（可变帧率）" if v.variable_frame_rate else ""))
    parts.append(_duration(v.duration))
    parts.append("有声音" if v.has_audio else "无声音")
    return VideoView(f.name, "，".join(parts), file_id)


def _sorted(items: list[Finding]) -> list[FindingView]:
    return [finding_view(f) for f in sorted(items, key=lambda f: SEVERITY_ORDER[f.severity])]


def unit_page(store: Store, campaign: Campaign, name: str, rows: list[UnitRow] | None = None) -> UnitPage:
    rows = rows if rows is not None else unit_rows(store, campaign)
    row = next((r for r in rows if r.name == name), None)
    snapshot = store.evaluations.latest_dossier(name)
    dossier = Dossier.model_validate(snapshot.dossier) if snapshot else None
    page = UnitPage(row=row, name=name, dossier=dossier, check_error=snapshot.check_error if snapshot else None)

    file_ids = page.file_ids
    for index, sub in enumerate(store.submissions.of_unit(name)):
        files = store.submissions.files(sub.id or 0)
        for f in files:
            file_ids[(index, f.path)] = f.id or 0
        page.submissions.append(_submission_view(store, campaign, sub, index + 1, len(files)))
    for sub in store.submissions.voided_of(name):  # kept and listed, greyed, counted for nothing
        page.submissions.append(_submission_view(store, campaign, sub, 0, len(store.submissions.files(sub.id or 0))))
    page.submissions.sort(key=lambda view: (view.arrived, view.submission_id))  # arrival order, voided among them

    findings = store.evaluations.current_findings(name)
    by_nominee: dict[str | None, list[Finding]] = defaultdict(list)
    for f in findings:
        by_nominee[f.nominee].append(f)
    unit_level = by_nominee.pop(None, [])
    page.general = _sorted([f for f in unit_level if not is_file_finding(f)])
    page.file_findings = _sorted([f for f in unit_level if is_file_finding(f)])

    if dossier is not None:
        rows = iter(checklist_rows(dossier, findings))  # a row per star, then per project
        for star in dossier.stars:
            src = star.form.fields if star.form else star.row
            fields = [
                ("人群类别", src.group if src else None),
                ("工作单位及职务", src.employer_title if src else None),
                ("性别", src.gender if src else None),
                ("出生年月", src.birth if src else None),
                ("身份证号", mask_id_number(src.id_number) if src and src.id_number else None),
                ("联系电话", mask_phone(src.phone) if src and src.phone else None),
            ]
            page.nominees.append(
                _nominee_view("star", star, fields, file_ids, by_nominee.pop(star.name, []), next(rows))
            )
        for project in dossier.projects:
            src = project.form.fields if project.form else project.row
            fields = [
                ("项目类别", src.category if src else None),
                ("申报单位", src.organizer if src else None),
                ("负责人", src.leader if src else None),
                ("创办时间", src.founded if src else None),
                ("年参与人数", src.people_per_year if src else None),
                ("年参与人次", src.participations_per_year if src else None),
                ("工作总结", f"{project.summary.chars} 字（{project.summary.path}）" if project.summary else "未收到"),
            ]
            page.nominees.append(
                _nominee_view("project", project, fields, file_ids, by_nominee.pop(project.name, []), next(rows))
            )
        page.links = [LinkView(k.url, k.host, k.text, k.submission + 1) for k in dossier.links]
    for items in by_nominee.values():  # a nominee the dossier spells otherwise
        page.general.extend(_sorted(items))

    page.replies = store.outbox.all(limit=10_000, unit_name=name)
    page.reminders = store.state.reminders_sent(name)
    page.paper = store.state.paper_receipts(name)
    withdrawn = dossier.withdrawn if dossier is not None else []
    page.withdrawn = [WithdrawnView(w.kind, NOMINEE_KIND_ZH[w.kind], w.name, withdrawn_by_zh(w.by)) for w in withdrawn]
    page.notes = store.state.notes(name)
    return page


def _submission_view(
    store: Store, campaign: Campaign, sub: SubmissionRecord, number: int, files: int
) -> SubmissionView:
    """A row of the unit's submissions: `number` is its place among those that count (0: voided)."""
    raw = store.raw.get(sub.raw_message_id)
    voided = None
    if sub.voided_at is not None:
        by = (sub.voided_by or "").removeprefix("office:")
        voided = f"{by} 于 {local(sub.voided_at, campaign)} 作废：{sub.void_reason or ''}"
    return SubmissionView(
        number=number,
        arrived=local(sub.arrived_at, campaign),
        late=sub.arrived_at > campaign.deadline_end,
        sender=(raw.sender if raw else None) or "—",
        subject=(raw.subject if raw else None) or "（无主题）",
        source=raw.source if raw else "",
        files=files,
        raw_id=sub.raw_message_id,
        submission_id=sub.id or 0,
        ref=campaign.submission_ref(sub.unit_name, sub.unit_index or 0) if sub.unit_index else "",
        voided=voided,
    )


def unit_file(store: Store, unit: str, file_id: int) -> FileRecord | None:
    """A file of one of the unit's submissions (never another unit's, never a raw path); two
    queries whatever the number of submissions: every photo thumbnail of a unit page asks."""
    files = store.submissions.files_of([s.id or 0 for s in store.submissions.of_unit(unit)])
    return next((f for group in files.values() for f in group if f.id == file_id), None)


def _nominee_view(
    kind: str,
    entry: StarEntry | ProjectEntry,
    fields: list[tuple[str, str | None]],
    file_ids: dict[tuple[int, str], int],
    findings: list[Finding],
    row: Row,
) -> NomineeView:
    """A star's or project's card: the fields that are filled in, its media, its findings, and its
    checklist row (the same marks as the reply's)."""
    return NomineeView(
        kind=kind,
        heading=NOMINEE_KIND_ZH[kind],
        name=entry.name,
        exemplar=entry.exemplar,
        registered=entry.registered,
        form=entry.form.path if entry.form else None,
        fields=[(k, v) for k, v in fields if v],
        photos=[_photo(p, file_ids) for p in entry.photos],
        videos=[_video(v, file_ids) for v in entry.videos],
        findings=_sorted(findings),
        mark=row.mark,
        checklist=list(row.items),
        form_scanned=entry.form_scanned,
        scans=list(entry.scans),
    )
