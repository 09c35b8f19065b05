"""The office's daily digest: one WeCom message that fits a phone screen (counts, what changed since
the last digest, what the office must act on) and one .xlsx with a row per unit and the full lists."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from bot.wecom_client import APP_TEXT_LIMIT, ROBOT_MARKDOWN_LIMIT
from config.campaign import KIND_ZH, Campaign
from config.gc_pause import paused_gc
from intake.sheet_cells import safe_row
from intake.sheet_layout import fill_cells, finish_sheet
from schedule.digest_changes import Changes, Snapshot, UnitFacts, compare, previous_snapshot
from schedule.status import STATE_ZH, UNREACHABLE_ZH, UnitState, UnitStatus
from storage.models import WaitingMail, waiting_note, waiting_total
from storage.repo import Store

APP_MARKDOWN_LIMIT = APP_TEXT_LIMIT  # bytes of an app markdown message
ROBOT_LIMIT = ROBOT_MARKDOWN_LIMIT  # bytes of a group robot markdown message

# Row colours by state (ARGB), and the late mark's.
FILLS = {
    UnitState.NOTHING: "FFF8CBAD",  # red-orange: nothing received
    UnitState.INCOMPLETE: "FFFFE699",  # yellow: open errors
    UnitState.COMPLETE: "FFC6EFCE",  # green: complete
    UnitState.CHECK_FAILED: "FFBDD7EE",  # blue: a rule raised, the office checks by hand
}
LATE_FILL = "FFD9B3FF"  # violet: arrived after the deadline
LATE_ZH = "逾期"
PAPER_MISSING_ZH = "已报送单位中纸质材料未收"
NAMES_SHOWN = 5  # units named in the message per list; the rest are counted ("等 N 个"), listed in the .xlsx
NO_CONTACT = "无"  # the 联系人 cell of a unit nobody can be written to

HEADER = [
    "序号",
    "推荐单位",
    "类别",
    "状态",
    "已报送",
    "报送次数",
    "待确认",
    "百姓学习之星",
    "之星名额",
    "之星是否符合名额",
    "品牌项目",
    "项目名额",
    "项目是否符合名额",
    "典范",
    "需修改",
    "需核实",
    "逾期",
    "纸质材料",
    "最近来件",
    "联系人",
    "检查问题",  # why the check did not finish (a rule raised), when it did not
]


@dataclass
class DigestRow:
    position: int
    unit: str
    kind: str
    state: UnitState
    submissions: int
    stars: int
    projects: int
    stars_ok: bool
    projects_ok: bool
    exemplars: list[str]
    errors: int
    warnings: int
    late: bool
    paper: dt.date | None
    last_arrival: dt.datetime | None
    contacts: list[str]
    waiting: int = 0  # mails in the 待确认 queue guessed to be this unit's
    reachable: bool = True  # a contact with an address or a WeCom id
    check_error: str | None = None  # the latest check's rules that raised: 检查未完成

    @property
    def contact_cell(self) -> str:
        """The 联系人 cell: the names; "无" when nobody can be written to (the office phones them)."""
        names = "、".join(self.contacts)
        if self.reachable:
            return names
        return f"无（{names}未登记邮箱和企业微信）" if names else NO_CONTACT

    def values(self, campaign: Campaign) -> list[object]:
        q = campaign.quotas
        last = self.last_arrival.astimezone(campaign.tz).replace(tzinfo=None) if self.last_arrival else None
        return [
            self.position,
            self.unit,
            KIND_ZH.get(self.kind, self.kind),
            STATE_ZH[self.state],
            "是" if self.submissions else "否",
            self.submissions,
            self.waiting,
            self.stars,
            f"{q.stars.min}-{q.stars.max}",
            "—" if not self.submissions else ("是" if self.stars_ok else "否"),
            self.projects,
            f"{q.projects.min}-{q.projects.max}",
            "—" if not self.submissions else ("是" if self.projects_ok else "否"),
            "、".join(self.exemplars),
            self.errors,
            self.warnings,
            "是" if self.late else "否",
            f"已收（{self.paper:%m-%d}）" if self.paper else "未收",
            last,
            self.contact_cell,
            self.check_error or "",
        ]


@dataclass
class Digest:
    day: dt.date
    now: dt.datetime
    rows: list[DigestRow] = field(default_factory=list)
    waiting: int = 0  # every mail in the 待确认 queue, guessed to be a unit's or not
    waiting_ids: frozenset[int] = frozenset()  # their submission ids: which of them are new tomorrow
    changes: Changes | None = None  # since the last digest sent before today (None: the first one)

    def snapshot(self) -> Snapshot:
        """What this digest reports, for tomorrow's to say what changed."""
        units = {r.unit: UnitFacts(r.submissions, r.state.value, r.errors, r.paper is not None) for r in self.rows}
        return Snapshot(day=self.day, at=self.now, units=units, waiting_ids=self.waiting_ids)

    @property
    def unreachable(self) -> list[DigestRow]:
        """The units nobody can be written to: no reminder reaches them, the office phones them."""
        return [r for r in self.rows if not r.reachable]

    def with_state(self, state: UnitState) -> list[DigestRow]:
        return [r for r in self.rows if r.state == state]

    @property
    def submitted(self) -> list[DigestRow]:
        return [r for r in self.rows if r.submissions]


def build_digest(
    statuses: list[UnitStatus],
    campaign: Campaign,
    now: dt.datetime,
    *,
    waiting: int | None = None,
    waiting_ids: frozenset[int] = frozenset(),
    previous: Snapshot | None = None,
) -> Digest:
    """`waiting`: all mails in the 待确认 queue (default: only those guessed to be a unit's);
    `waiting_ids` their submission ids; `previous`: the last digest's snapshot, to say what changed."""
    q = campaign.quotas
    if waiting is None:
        waiting = sum(s.waiting for s in statuses if s.known)
    digest = Digest(day=now.astimezone(campaign.tz).date(), now=now, waiting=waiting, waiting_ids=waiting_ids)
    for position, s in enumerate((s for s in statuses if s.known), start=1):
        digest.rows.append(
            DigestRow(
                position=position,
                unit=s.name,
                kind=s.kind,
                state=s.state,
                submissions=s.submissions,
                stars=s.stars,
                projects=s.projects,
                stars_ok=s.stars in q.stars,
                projects_ok=s.projects in q.projects,
                exemplars=s.exemplars,
                errors=len(s.errors),
                warnings=len(s.warnings),
                late=s.late,
                paper=min(s.paper_dates) if s.paper_dates else None,
                last_arrival=s.last_arrival,
                contacts=[c.name for c in s.contacts],
                waiting=s.waiting,
                reachable=s.reachable,
                check_error=s.check_error,
            )
        )
    if previous is not None:
        digest.changes = compare(previous, digest.snapshot())
    return digest


def office_digest(
    store: Store, campaign: Campaign, statuses: list[UnitStatus], now: dt.datetime, waiting: list[WaitingMail] | None
) -> Digest:
    """The digest as the office gets it, mailed or downloaded: every mail of the 待确认 queue counted
    (`waiting`, read with `statuses`; None: only those guessed to be a unit's), and what changed
    since the last digest sent before today."""
    return build_digest(
        statuses,
        campaign,
        now,
        waiting=None if waiting is None else len(waiting),
        waiting_ids=frozenset(m.submission_id for m in waiting or []),
        previous=previous_snapshot(store, now.astimezone(campaign.tz).date()),
    )


# ---- the WeCom message ------------------------------------------------------------------


def _countdown(campaign: Campaign, day: dt.date) -> str:
    left = (campaign.deadline - day).days
    deadline = f"{campaign.deadline:%m月%d日}"
    if left > 0:
        return f"报送截止 {deadline}，还剩 {left} 天"
    if left == 0:
        return f"今天（{deadline}）报送截止"
    return f"报送已于 {deadline} 截止（已过 {-left} 天）"


def digest_markdown(digest: Digest, campaign: Campaign, limit: int = ROBOT_LIMIT) -> str:
    """The digest as WeCom markdown, one phone screen (at most 15 lines: 5 of counts, 4 of changes,
    5 of what to act on, the pointer to the workbook) within `limit`
    bytes: the counts, what changed since the last digest, and what the office must act on, with
    units named only when few (at most NAMES_SHOWN, then "等 N 个"). The full lists (units that
    sent nothing, paper not received, each unit's state) are in the workbook only."""
    text = ""
    for shown in range(NAMES_SHOWN, -1, -1):
        text = "\n".join(_lines(digest, campaign, shown))
        if len(text.encode()) <= limit:
            return text
    return text.encode()[:limit].decode("utf-8", "ignore")  # only a very long campaign name gets here


def _lines(digest: Digest, campaign: Campaign, shown: int) -> list[str]:
    rows = digest.rows
    # A unit whose first mail is still being read has submitted but has no dossier yet.
    nothing = [r for r in digest.with_state(UnitState.NOTHING) if not r.submissions]
    checking = [r for r in digest.with_state(UnitState.NOTHING) if r.submissions]
    incomplete = digest.with_state(UnitState.INCOMPLETE)
    complete = digest.with_state(UnitState.COMPLETE)
    failed = digest.with_state(UnitState.CHECK_FAILED)  # never counted complete: a rule raised
    paper = [r for r in rows if r.paper]
    lines = [
        f"**{campaign.year}年推荐材料每日汇总（{digest.day:%m月%d日}）**",
        f"> {_countdown(campaign, digest.day)}",
        f'> 单位 {len(rows)} 个：已报送 <font color="info">{len(digest.submitted)}</font>，'
        f'材料齐全 <font color="info">{len(complete)}</font>，'
        f'待修改 <font color="warning">{len(incomplete)}</font>，'
        f'未报送 <font color="comment">{len(nothing)}</font>'
        + (f"，检查中 {len(checking)}" if checking else "")
        + (f'，<font color="warning">检查未完成 {len(failed)}</font>' if failed else ""),
        f"> 百姓学习之星 {sum(r.stars for r in rows)} 名，品牌项目 {sum(r.projects for r in rows)} 个，"
        f"典范 {sum(len(r.exemplars) for r in rows)} 个",
        f"> 纸质材料已收 {len(paper)} 个单位，{PAPER_MISSING_ZH} {len(paper_missing(digest))} 个",
    ]
    if digest.changes is not None:
        lines += _change_lines(digest.changes, shown)
    lines.append("**需要办公室处理**")
    guessed = [_with_waiting(r) for r in rows if r.waiting]
    lines.append(f"> {waiting_total(digest.waiting)}" + (f"；推测所属：{_names(guessed, shown)}" if guessed else ""))
    if failed:
        names = [f"{r.unit}（{_clip(r.check_error or '')}）" for r in failed]
        lines.append(f'> <font color="warning">检查未完成 {len(failed)} 个，请人工核查</font>：{_names(names, shown)}')
    late = [r for r in rows if r.late]
    if late:
        lines.append(f"> 逾期报送 {len(late)} 个：{_names([r.unit for r in late], shown)}")
    unreachable = digest.unreachable
    if unreachable:
        lines.append(
            f"> 提醒发不出 {len(unreachable)} 个（{UNREACHABLE_ZH}），请电话联系："
            + _names([r.unit for r in unreachable], shown)
        )
    lines.append(f"名单明细（未报送、纸质材料未收、各单位状态）见邮件附件 {digest_filename(digest)}。")
    return lines


def _change_lines(changes: Changes, shown: int) -> list[str]:
    """At most four lines: what is new since the last digest the office got."""
    lines = [f"**较上次汇总（{changes.since.day:%m月%d日}）**"]
    if changes.empty:
        return [*lines, "> 无新报送、无新问题、无新待确认邮件"]
    news = []
    if changes.submissions:
        first = f"（其中 {len(changes.first_time)} 个单位首次报送）" if changes.first_time else ""
        news.append(f"新增报送 {changes.submissions} 次{first}")
    if changes.new_waiting:
        news.append(f"新增待确认邮件 {changes.new_waiting} 封")
    if changes.new_paper:
        news.append(f"新收纸质材料 {len(changes.new_paper)} 个单位")
    if news:
        lines.append("> " + "，".join(news))
    if changes.newly_complete:
        lines.append(f"> 新增材料齐全 {len(changes.newly_complete)} 个：{_names(changes.newly_complete, shown)}")
    if changes.new_problems:
        lines.append(f"> 新出现问题 {len(changes.new_problems)} 个：{_names(changes.new_problems, shown)}")
    return lines


def _names(names: list[str], shown: int) -> str:
    """The first `shown` names, then how many in all ("名单见附件" when none is shown)."""
    if not shown:
        return "名单见附件"
    head = "、".join(names[:shown])
    return head if len(names) <= shown else f"{head} 等 {len(names)} 个"


def _clip(text: str, width: int = 30) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def paper_missing(digest: Digest) -> list[DigestRow]:
    """Units whose materials arrived but whose paper copies did not: a unit that sent nothing is
    not "paper missing", it is "nothing sent" (counted and listed as that)."""
    return [r for r in digest.rows if r.submissions and not r.paper]


def _with_waiting(row: DigestRow) -> str:
    return f"{row.unit}（{waiting_note(row.waiting)}）" if row.waiting else row.unit


# ---- the workbook ---------------------------------------------------------------------


def digest_xlsx(digest: Digest, campaign: Campaign) -> bytes:
    """One row per unit, frozen header, filters, row colours by state, a legend sheet."""
    with paused_gc():  # beside every unit's dossier in memory, each collection pass would walk them all
        return _digest_xlsx(digest, campaign)


def _digest_xlsx(digest: Digest, campaign: Campaign) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "单位汇总"
    bold = Font(bold=True)
    for cell in safe_row(ws, HEADER):
        cell.font = bold
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    late_col = HEADER.index("逾期") + 1
    last_col = HEADER.index("最近来件") + 1
    fills = {state: PatternFill("solid", start_color=c, end_color=c) for state, c in FILLS.items()}
    late_fill = PatternFill("solid", start_color=LATE_FILL, end_color=LATE_FILL)
    for row in digest.rows:
        # Names a unit or the office wrote (units, nominees, contacts) are data, never a formula.
        cells = safe_row(ws, row.values(campaign))
        fill_cells(cells, fills[row.state])
        if row.late:
            cells[late_col - 1].fill = late_fill
        cells[last_col - 1].number_format = "yyyy-mm-dd hh:mm"

    _list_sheets(wb, digest, campaign)

    legend = wb.create_sheet("说明")
    safe_row(legend, ["颜色", "含义"])
    for state, colour in FILLS.items():
        safe_row(legend, ["", STATE_ZH[state]])[0].fill = PatternFill("solid", start_color=colour, end_color=colour)
    late = safe_row(legend, ["", f"{LATE_ZH}（截止后报送）"])[0]
    late.fill = PatternFill("solid", start_color=LATE_FILL, end_color=LATE_FILL)
    safe_row(legend, [])
    safe_row(legend, ["生成时间", digest.now.astimezone(campaign.tz).strftime("%Y-%m-%d %H:%M")])
    safe_row(legend, ["截止时间", f"{campaign.deadline:%Y-%m-%d}"])
    safe_row(legend, ["待确认单位", f"{digest.waiting} 封（含无法推测单位的）"])
    for sheet in wb.worksheets:  # every sheet, the full lists too: fitted, wrapped, header frozen+filtered
        finish_sheet(sheet, freeze="C2" if sheet is ws else None)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _list_sheets(wb: Workbook, digest: Digest, campaign: Campaign) -> None:
    """The full lists the message only counts: one sheet each, every name through the guarded writer."""
    nothing = [r for r in digest.rows if not r.submissions]
    ws = wb.create_sheet(f"未报送（{len(nothing)}）")
    safe_row(ws, ["序号", "推荐单位", "类别", "待确认邮件", "联系人"])
    for n, r in enumerate(nothing, start=1):
        safe_row(ws, [n, r.unit, KIND_ZH.get(r.kind, r.kind), r.waiting, r.contact_cell])

    missing = paper_missing(digest)
    ws = wb.create_sheet(f"纸质材料未收（{len(missing)}）")
    safe_row(ws, ["序号", "推荐单位", "类别", "状态", "最近来件", "联系人"])
    for n, r in enumerate(missing, start=1):
        last = r.last_arrival.astimezone(campaign.tz).replace(tzinfo=None) if r.last_arrival else None
        cells = safe_row(ws, [n, r.unit, KIND_ZH.get(r.kind, r.kind), STATE_ZH[r.state], last, r.contact_cell])
        cells[4].number_format = "yyyy-mm-dd hh:mm"

    ws = wb.create_sheet("需办公室处理")
    safe_row(ws, ["事项", "推荐单位", "说明"])
    for r in digest.rows:
        if r.waiting:
            safe_row(ws, ["待确认", r.unit, waiting_note(r.waiting)])
    for r in digest.with_state(UnitState.CHECK_FAILED):
        safe_row(ws, ["检查未完成，请人工核查", r.unit, r.check_error or ""])
    for r in digest.rows:
        if r.late:
            last = f"最近来件 {r.last_arrival.astimezone(campaign.tz):%m-%d %H:%M}" if r.last_arrival else ""
            safe_row(ws, ["逾期报送", r.unit, last])
    for r in digest.unreachable:
        safe_row(ws, ["提醒发不出，请电话联系", r.unit, r.contact_cell])

    changes = digest.changes
    if changes is not None:
        ws = wb.create_sheet("较上次变化")
        safe_row(ws, ["变化", "推荐单位", "上次汇总"])
        since = f"{changes.since.day:%Y-%m-%d}"
        for label, units in (
            ("首次报送", changes.first_time),
            ("新增材料齐全", changes.newly_complete),
            ("新出现问题", changes.new_problems),
            ("新收纸质材料", changes.new_paper),
        ):
            for unit in units:
                safe_row(ws, [label, unit, since])


def digest_filename(digest: Digest) -> str:
    return f"每日汇总-{digest.day:%Y%m%d}.xlsx"
