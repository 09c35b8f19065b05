"""The office's daily digest: one WeCom markdown message and one .xlsx with a row per unit."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from bot.wecom_client import APP_TEXT_LIMIT, ROBOT_MARKDOWN_LIMIT
from config.campaign import KIND_ZH, Campaign
from intake.sheet_cells import safe_row
from schedule.status import STATE_ZH, UNREACHABLE_ZH, UnitState, UnitStatus
from storage.models import waiting_note, waiting_total

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
    statuses: list[UnitStatus], campaign: Campaign, now: dt.datetime, *, waiting: int | None = None
) -> Digest:
    """`waiting`: all mails in the 待确认 queue (default: only those guessed to be a unit's)."""
    q = campaign.quotas
    if waiting is None:
        waiting = sum(s.waiting for s in statuses if s.known)
    digest = Digest(day=now.astimezone(campaign.tz).date(), now=now, waiting=waiting)
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
    return digest


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
    """The digest as WeCom markdown within `limit` bytes: the totals always, the unit lists as
    long as they fit (a cut list says how many it leaves out)."""
    rows = digest.rows
    # A unit whose first mail is still being read has submitted but has no dossier yet.
    nothing = [r for r in digest.with_state(UnitState.NOTHING) if not r.submissions]
    checking = [r for r in digest.with_state(UnitState.NOTHING) if r.submissions]
    incomplete = digest.with_state(UnitState.INCOMPLETE)
    complete = digest.with_state(UnitState.COMPLETE)
    failed = digest.with_state(UnitState.CHECK_FAILED)  # never counted complete: a rule raised
    paper = [r for r in rows if r.paper]
    late = [r for r in rows if r.late]
    head = [
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
        f"> 纸质材料已收 {len(paper)} 个单位，逾期报送 {len(late)} 个单位",
        f"> {waiting_total(digest.waiting)}",
    ]
    unreachable = digest.unreachable
    sections = [
        (f"检查未完成（{len(failed)}）：请人工核查", [f"{r.unit}（{r.check_error}）" for r in failed]),
        (f"待修改（{len(incomplete)}）", [f"{r.unit}（{r.errors}项）" for r in incomplete]),
        (f"未报送（{len(nothing)}）", [_with_waiting(r) for r in nothing]),
        (f"{UNREACHABLE_ZH}（{len(unreachable)}）：提醒发不出，请电话联系", [r.unit for r in unreachable]),
        (f"逾期报送（{len(late)}）", [r.unit for r in late]),
        (f"纸质材料未收（{len(rows) - len(paper)}）", [r.unit for r in rows if not r.paper]),
    ]
    sections = [(title, items) for title, items in sections if items]
    tail = "明细见邮件附件（每日汇总.xlsx）。"

    def render(keep: int) -> str:
        lines = list(head)
        for title, items in sections:
            shown = items[:keep]
            more = f" 等，共 {len(items)} 个" if len(items) > len(shown) else ""
            lines.append(f"**{title}**")
            lines.append("、".join(shown) + more if shown else f"共 {len(items)} 个")
        lines.append(tail)
        return "\n".join(lines)

    keep = max((len(items) for _, items in sections), default=0)
    text = render(keep)
    while len(text.encode()) > limit and keep > 0:
        keep -= 1
        text = render(keep)
    if len(text.encode()) > limit:  # only a very long campaign name gets here
        text = text.encode()[:limit].decode("utf-8", "ignore")
    return text


def _with_waiting(row: DigestRow) -> str:
    return f"{row.unit}（{waiting_note(row.waiting)}）" if row.waiting else row.unit


# ---- the workbook ---------------------------------------------------------------------


def digest_xlsx(digest: Digest, campaign: Campaign) -> bytes:
    """One row per unit, frozen header, filters, row colours by state, a legend sheet."""
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
        for cell in cells:
            cell.fill = fills[row.state]
        if row.late:
            cells[late_col - 1].fill = late_fill
        cells[last_col - 1].number_format = "yyyy-mm-dd hh:mm"
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(HEADER))}{len(digest.rows) + 1}"
    widths = {"推荐单位": 30, "典范": 30, "联系人": 16, "最近来件": 17, "纸质材料": 13, "检查问题": 40}
    for i, name in enumerate(HEADER, start=1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(name, max(8, len(name) * 2 + 2))

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
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def digest_filename(digest: Digest) -> str:
    return f"每日汇总-{digest.day:%Y%m%d}.xlsx"
