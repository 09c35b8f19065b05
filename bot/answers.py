"""Answers in WeCom: who is asking decides what they may see.

A unit contact sees only their own unit's dossier; office members see every unit; an
unknown WeCom user learns nothing about anyone and is told how to register. Answers
are short Chinese texts for a phone screen, built from what storage already holds
(the latest evaluation), so they come back well inside WeCom's 5-second window.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from bot.commands import Command, Intent
from config.campaign import KIND_ZH, Campaign, VideoSpec
from intake.models import Dossier
from nomdesk.report import group_findings
from storage.repo import Store
from validators.base import Finding, Severity, render
from validators.measure import format_count_range, format_duration_range

OFFICE_HELP = "办公室命令：汇总｜未交｜单位 <单位名>｜纸质 <单位名>（查询）｜纸质 <单位名> 已收（登记）"
CONTACT_HELP = "可发送：状态（材料审核进度）｜缺什么（逐人列出问题）｜清单（报送要求）｜截止（截止时间）｜帮助"


def _video_spec(spec: VideoSpec) -> str:
    """ "（MP4、H.264、1280×720、25 帧/秒、4-5 分钟）" from the config, naming only what the call names."""
    parts = ["/".join(x.upper() for x in spec.containers)]
    if spec.codec:
        parts.append(spec.codec.upper().replace("H264", "H.264"))
    if spec.width and spec.height:
        parts.append(f"{spec.width}×{spec.height}")
    if spec.fps:
        parts.append(f"{spec.fps:g} 帧/秒")
    parts.append(format_duration_range(spec.min_seconds, spec.max_seconds))
    return "（" + "、".join(parts) + "）"


class Answerer:
    def __init__(
        self,
        store: Store,
        campaign: Campaign,
        *,
        clock: Callable[[], dt.datetime],
        on_paper: Callable[[str, dt.date, str], None] | None = None,
    ) -> None:
        self.store = store
        self.campaign = campaign
        self.clock = clock
        self.on_paper = on_paper  # records a paper receipt and re-checks the unit
        # Parsed dossiers by unit, valid while the unit's evaluation version is unchanged:
        # loading and validating a snapshot is most of an answer's cost.
        self._dossiers: dict[str, tuple[int, Dossier, list[Finding]]] = {}
        # Who a WeCom user is, for a short while: contacts change rarely, questions come in bursts.
        self._who: dict[str, tuple[float, bool, str | None]] = {}
        self.who_ttl_seconds = 30.0

    # -- who ----------------------------------------------------------------------------------
    def who(self, user_id: str) -> tuple[bool, str | None]:
        """(is an office member, their unit) for a WeCom user id."""
        now = time.monotonic()
        cached = self._who.get(user_id)
        if cached and now - cached[0] < self.who_ttl_seconds:
            return cached[1], cached[2]
        office = self.store.is_office(wecom_user=user_id)
        unit = self.store.unit_of_wecom_user(user_id)
        self._who[user_id] = (now, office, unit)
        return office, unit

    def answer(self, user_id: str, command: Command) -> str:
        office, unit = self.who(user_id)
        if not office and unit is None:
            # The office registers a contact by their WeCom userid, which the user cannot easily look up.
            return (
                f"您好！您的企业微信账号（账号：{user_id}）尚未登记为推荐单位联系人，暂不能查询材料情况。\n"
                f"登记方法：请将上面的账号和您的姓名、单位告知{self.campaign.office.name}"
                f"（{self.campaign.office.contact}，电话 {self.campaign.office.phone}），"
                "由办公室将该账号添加为本次征集活动中您单位的联系人，登记后即可查询。"
            )
        intent = command.intent
        if intent == Intent.PENDING and not office:
            intent = Intent.MISSING  # a contact's "还有什么没交" asks about their own unit's materials
        if intent == Intent.PAPER_STATUS and not office:
            named = self._unit_named(command.argument)
            if named is not None and named != unit:
                return "该命令仅供省级办公室使用。\n" + CONTACT_HELP
            return self.paper_status(unit)
        if intent in (Intent.SUMMARY, Intent.PENDING, Intent.UNIT, Intent.PAPER) and not office:
            return "该命令仅供省级办公室使用。\n" + CONTACT_HELP
        if intent == Intent.HELP or intent == Intent.UNKNOWN:
            prefix = "" if intent == Intent.HELP else "没有听懂您的问题。\n"
            return prefix + (OFFICE_HELP + "\n" + CONTACT_HELP if office else CONTACT_HELP)
        if intent == Intent.CHECKLIST:
            return self.checklist()
        if intent == Intent.DEADLINE:
            return self.deadline()
        if intent == Intent.SUMMARY:
            return self.summary()
        if intent == Intent.PENDING:
            return self.pending()
        if intent in (Intent.UNIT, Intent.PAPER, Intent.PAPER_STATUS):
            target = self._unit_named(command.argument)
            if target is None:
                return f"找不到单位“{command.argument}”，请写单位全称或常用简称，如“单位 延边州”。"
            if intent == Intent.PAPER:
                return self.paper(target, user_id)
            if intent == Intent.PAPER_STATUS:
                return self.paper_status(target, hint=True)
            return self.status(target) + "\n\n" + self.missing(target)
        if unit is None:  # an office member asking about "our" unit
            return "请用“单位 <单位名>”查询某个单位。\n" + OFFICE_HELP
        if intent == Intent.STATUS:
            return self.status(unit)
        return self.missing(unit)

    def _unit_named(self, text: str) -> str | None:
        if not text:
            return None
        unit = self.campaign.unit_by_exact_name(text) or self.campaign.unit_named(text)
        return unit.name if unit else None

    # -- what -----------------------------------------------------------------------------------
    def _latest(self, unit: str) -> tuple[Dossier, list[Finding]] | None:
        version = self.store.current_version(unit)
        if version is None:
            return None
        cached = self._dossiers.get(unit)
        if cached and cached[0] == version:
            return cached[1], cached[2]
        snapshot = self.store.dossier_version(unit, version)
        if snapshot is None:
            return None
        dossier = Dossier.model_validate(snapshot.dossier)
        findings = self.store.current_findings(unit)
        self._dossiers[unit] = (version, dossier, findings)
        return dossier, findings

    def status(self, unit: str) -> str:
        latest = self._latest(unit)
        if latest is None:
            return f"{unit}：尚未收到推荐材料。\n{self.deadline()}"
        dossier, findings = latest
        errors = sum(f.severity == Severity.ERROR for f in findings)
        warnings = sum(f.severity == Severity.WARNING for f in findings)
        q = self.campaign.quotas
        last = max((s.arrived_at for s in dossier.submissions if s.arrived_at), default=None)
        lines = [
            f"{unit}",
            f"已收邮件 {len(dossier.submissions)} 封"
            + (f"，最近一次 {last.astimezone(self.campaign.tz):%m月%d日 %H:%M}" if last else ""),
            f"百姓学习之星 {len(dossier.stars)} 名（要求 {q.stars.min}-{q.stars.max}）",
            f"品牌项目 {len(dossier.projects)} 个（要求 {q.projects.min}-{q.projects.max}）",
        ]
        exemplars = [s.name for s in dossier.stars if s.exemplar] + [p.name for p in dossier.projects if p.exemplar]
        if exemplars:
            lines.append("典范：" + "、".join(exemplars))
        if errors:
            lines.append(f"需修改 {errors} 项，需核实 {warnings} 项。发送“缺什么”查看明细。")
        elif warnings:
            lines.append(f"材料已齐全，另有 {warnings} 项请核实。发送“缺什么”查看明细。")
        else:
            lines.append("材料齐全，符合要求。")
        lines.append("纸质材料：" + ("已收到" if self.store.paper_received(unit) else "尚未登记收到"))
        return "\n".join(lines)

    def missing(self, unit: str) -> str:
        latest = self._latest(unit)
        if latest is None:
            return f"{unit}：尚未收到推荐材料，请按“清单”报送。"
        dossier, findings = latest
        shown = [f for f in findings if f.severity != Severity.INFO]
        if not shown:
            return f"{unit}：没有需要修改或核实的问题。"
        lines = [f"{unit} 需处理的问题："]
        for heading, items in group_findings(dossier, shown):
            if not items:
                continue
            lines.append(f"【{heading}】")
            for f in items:
                message, _ = render(f)
                mark = "✗" if f.severity == Severity.ERROR else "!"
                lines.append(f"{mark} {message}")
        return "\n".join(lines)

    def checklist(self) -> str:
        c = self.campaign
        q = c.quotas
        ex = c.exemplar
        star_video = ("视频" if c.star.video.required else "鼓励报送视频") + _video_spec(c.star.video)
        project_video = "视频" + _video_spec(c.project.video)
        exemplar_units = "、".join(KIND_ZH[k] for k in q.exemplar_unit_kinds)
        return "\n".join(
            [
                "报送材料清单：",
                f"一、百姓学习之星 {q.stars.min}-{q.stars.max} 名：附表1推荐表（每人一份）、附表2登记表；"
                f"每人照片 {format_count_range(c.star.photos.min, c.star.photos.max)} 张"
                f"（其中一张为免冠彩色证件照）；{star_video}。",
                f"二、终身学习品牌项目 {q.projects.min}-{q.projects.max} 个：附表3推荐表、附表4登记表；"
                f"工作总结（{c.project.summary.min_chars}-{c.project.summary.max_chars} 字左右）；"
                f"照片 {c.project.photos.min}-{c.project.photos.max} 张；{project_video}；"
                f"创建时间不少于 {c.project.min_age_years} 年。",
                f"三、典范（仅{exemplar_units}，百姓学习之星、品牌项目各不超过 {q.exemplar_stars}、"
                f"{q.exemplar_projects} 个，在登记表备注注明）：另报 {ex.extra_photos.min}-"
                f"{ex.extra_photos.max} 张照片和视频{_video_spec(ex.video)}。",
                "盖章纸质材料请邮寄至：" + c.office.address,
            ]
        )

    def deadline(self) -> str:
        now = self.clock()
        end = self.campaign.deadline_end
        if now >= end:
            return f"报送截止时间为 {self.campaign.deadline:%Y年%m月%d日}，已截止。"
        days = (end - now).days
        return f"报送截止时间为 {self.campaign.deadline:%Y年%m月%d日}（当天 24 时前），还剩 {days} 天。"

    def summary(self) -> str:
        rows = [r for r in self.store.unit_overview() if r.known]
        submitted = [r for r in rows if r.submissions]
        complete = [r for r in submitted if not r.errors]
        paper = [r for r in rows if r.paper_received]
        stars = sum(r.stars for r in rows)
        projects = sum(r.projects for r in rows)
        return "\n".join(
            [
                f"{self.campaign.name}",
                f"单位 {len(rows)} 个：已报送 {len(submitted)}，材料齐全 {len(complete)}，"
                f"有待修改 {len(submitted) - len(complete)}，未报送 {len(rows) - len(submitted)}",
                f"百姓学习之星 {stars} 名，品牌项目 {projects} 个",
                f"纸质材料已收 {len(paper)} 个单位",
                self.deadline(),
            ]
        )

    def pending(self) -> str:
        rows = [r for r in self.store.unit_overview() if r.known]
        nothing = [r.name for r in rows if not r.submissions]
        errors = [f"{r.name}（{r.errors}项）" for r in rows if r.submissions and r.errors]
        lines = []
        if errors:
            lines.append(f"有待修改（{len(errors)}）：" + "、".join(errors))
        if nothing:
            lines.append(f"未报送（{len(nothing)}）：" + "、".join(nothing))
        return "\n".join(lines) or "所有单位均已报送且材料齐全。"

    def paper(self, unit: str, user_id: str) -> str:
        today = self.clock().astimezone(self.campaign.tz).date()
        if self.on_paper is not None:
            self.on_paper(unit, today, f"bot:{user_id}")
        else:
            self.store.record_paper(unit, today, f"bot:{user_id}")
        return f"已登记：{unit} 的纸质材料于 {today:%Y年%m月%d日} 收到。"

    def paper_status(self, unit: str, *, hint: bool = False) -> str:
        """Whether a unit's paper copies are registered as received; asking never records one."""
        receipts = self.store.paper_receipts(unit)
        if receipts:
            return f"{unit} 的纸质材料：已收到（{receipts[-1].received_on:%Y年%m月%d日}登记）。"
        text = f"{unit} 的纸质材料：尚未登记收到。"
        if hint:  # the office: how to record it once it has arrived
            text += f"\n收到后请发送“纸质 {unit} 已收”登记。"
        return text
