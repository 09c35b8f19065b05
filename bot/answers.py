"""Answers in WeCom: who is asking decides what they may see.

A unit contact sees only their own unit's dossier; office members see every unit; an
unknown WeCom user learns nothing about anyone and is told how to register. Answers
are short Chinese texts for a phone screen, built from what storage already holds
(the latest evaluation), so they come back well inside WeCom's 5-second window.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from collections.abc import Callable

from bot.commands import Command, Intent
from bot.withdraw_dialog import EXAMPLE_NAME, WithdrawDialog, WithdrawHandler
from config.campaign import KIND_ZH, Campaign, VideoSpec
from intake.models import Dossier, Submission, SubmissionMeta
from intake.withdrawal import VERB_ZH, find_nominee
from storage.models import waiting_for_unit, waiting_note, waiting_total
from storage.repo import Store
from validators.base import SEVERITY_ZH, Finding, Severity, render
from validators.checklist import checklist_rows
from validators.measure import format_count_range, format_duration_range
from validators.report import GENERAL, SEVERITY_MARK, FindingGroup, group_findings

OFFICE_HELP = "办公室命令：汇总｜未交｜单位 <单位名>｜纸质 <单位名>（查询）｜纸质 <单位名> 已收（登记）"
CONTACT_HELP = (
    "可发送：状态（材料审核进度）｜缺什么（逐人列出问题）｜清单（报送要求）｜截止（截止时间）"
    "｜撤回 姓名（撤回推荐对象，需确认）｜帮助"
)
LATE = "LATE"  # one finding per late submission: summarised in one line, however many files came late
# How each raw message source is counted: a WeCom file (a run of them is one submission) is no mail.
CHANNEL_ZH = {"wecom": ("企业微信文件", "批"), "office": ("办公室补充文件", "份")}
# A withdrawal or restoration is kept as an office record too, but brought no file: by who acted,
# the prefix of its subject ("企业微信撤回：…", "办公室恢复：…", nomdesk.accept.action_mail).
ACTION_ZH = {"企业微信": ("企业微信操作", "次"), "办公室": ("办公室操作", "次")}
MAIL_ZH = ("邮件", "封")
MEDIA_ZH = {"image": ("图片", "张", ".jpg", "照片"), "video": ("视频", "个", ".mp4", "视频")}
# What follows a nominee's name when a contact says whose files they sent: "张三 的照片".
_OF_NOMINEE = re.compile(r"\s*的?\s*(?:照片|图片|相片|视频|材料)?\s*$")
# A check a rule raised in: the unit and the office read that a person is checking, never "材料齐全".
CHECK_INCOMPLETE_ZH = "检查未完成：系统自动检查出错，材料正在由省级办公室人工核查。"


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
        on_withdraw: WithdrawHandler | None = None,
    ) -> None:
        self.store = store
        self.campaign = campaign
        self.clock = clock
        self.on_paper = on_paper  # the desk's paper receipt (nomdesk.desk.Desk.record_paper)
        self.on_withdraw = on_withdraw  # the desk's withdrawal (nomdesk.desk.Desk.withdraw)
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
        office = self.store.directory.is_office(wecom_user=user_id)
        unit = self.store.directory.unit_of_wecom_user(user_id)
        self._who[user_id] = (now, office, unit)
        return office, unit

    def answer(self, user_id: str, command: Command) -> str:
        office, unit = self.who(user_id)
        if not office and unit is None:
            return (
                f"您好！您的企业微信账号（账号：{user_id}）尚未登记为推荐单位联系人，暂不能查询材料情况。\n"
                + self._how_to_register()
                + "登记后即可查询。"
            )
        intent = command.intent
        if intent in (Intent.WITHDRAW, Intent.WITHDRAW_CONFIRM):
            return self._withdrawal(user_id, unit, command)
        if intent == Intent.PENDING and not office:
            intent = Intent.MISSING  # a contact's "还有什么没交" asks about their own unit's materials
        if intent == Intent.PAPER_STATUS and not office:
            named = self._unit_named(command.argument)
            if named is not None and named != unit:
                return "该命令仅供省级办公室使用。\n" + CONTACT_HELP
            return self.paper_status(unit)
        if intent == Intent.UNIT and not office:
            # "单位 长白山" from 长白山's own contact is a question about their own dossier.
            if self._unit_named(command.argument) != unit:
                return "该命令仅供省级办公室使用。\n" + CONTACT_HELP
            return self.status(unit) + "\n\n" + self.missing(unit)
        if intent in (Intent.SUMMARY, Intent.PENDING, Intent.PAPER) and not office:
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
            return self.status(target, office=True) + "\n\n" + self.missing(target)
        if unit is None:  # an office member asking about "our" unit
            return "请用“单位 <单位名>”查询某个单位。\n" + OFFICE_HELP
        if intent == Intent.STATUS:
            return self.status(unit, office=office)
        return self.missing(unit)

    def _how_to_register(self) -> str:
        """The office registers a contact by their WeCom userid, which the user cannot easily look up."""
        office = self.campaign.office
        return (
            f"登记方法：请将上面的账号和您的姓名、单位告知{office.name}（{office.contact}，电话 {office.phone}），"
            "由办公室将该账号添加为本次征集活动中您单位的联系人，"
        )

    def file_refused(self, user_id: str) -> str:
        """An unregistered user sent a file: it was not taken (it belongs to no unit), and how to fix that."""
        return (
            f"您发送的文件未被接收，也没有计入任何单位的推荐材料：您的企业微信账号（账号：{user_id}）"
            "尚未登记为推荐单位联系人，系统无法确认文件属于哪个单位。\n"
            + self._how_to_register()
            + "登记后请重新发送文件；也可以由您单位已登记的联系人邮箱报送。"
        )

    def nameless_media_receipt(self, user_id: str, msg_type: str, window: dt.timedelta) -> str:
        """The receipt of an image/video: it has no file name, and files are matched to nominees by name,
        so the contact learns how to say whose it is (reply with the name, or send it as a named file)."""
        noun, measure, ext, example_kind = MEDIA_ZH.get(msg_type, MEDIA_ZH["image"])
        unit = self.store.directory.unit_of_wecom_user(user_id)
        names = self.nominee_names(unit) if unit else []
        example = names[0] if names else EXAMPLE_NAME
        lines = [
            f"已收到{noun}。{noun}没有文件名，暂时无法归属到任何推荐对象（材料按文件名中的姓名归档）。",
        ]
        if names:
            minutes = max(int(window.total_seconds() // 60), 1)
            lines.append(
                f"请在 {minutes} 分钟内直接回复这{measure}{noun}所属的人员姓名或项目名称（如“{example}”），"
                f"系统即按该对象归档并检查；连续发送的多{measure}可一并回复一次。"
            )
        lines.append(
            f"{'也可以改用“文件”方式发送' if names else '请改用“文件”方式重新发送'}（不要以图片、视频方式发送），"
            f"并在文件名中写明姓名或项目名称，如「{example}-{example_kind}{ext}」。"
        )
        return "\n".join(lines)

    def nominee_names(self, unit: str) -> list[str]:
        """The unit's stars, then its projects, as its latest dossier names them."""
        latest = self._latest(unit)
        return [e.name for e in (*latest[0].stars, *latest[0].projects)] if latest else []

    def nominee_named(self, unit: str, text: str) -> str | None:
        """The unit's star or project that `text` names ("张三", "张三 的照片", a project's quoted part),
        matched as the intake matches names (`intake.names.name_key`: 阿依古丽・买买提 is 阿依古丽·买买提)."""
        latest = self._latest(unit)
        if latest is None:
            return None
        for wanted in dict.fromkeys((text, _OF_NOMINEE.sub("", text))):
            found = find_nominee(latest[0], wanted) if wanted.strip() else None
            if found is not None:
                return found[1]
        return None

    def _unit_named(self, text: str) -> str | None:
        if not text:
            return None
        # The name as typed (full, alias or short), else its first word: "单位 延边州 情况". Never a
        # unit merely contained in the text: "长春市第一中学" is not 长春市教育局.
        words = text.split()
        unit = self.campaign.unit_called(text) or (self.campaign.unit_called(words[0]) if words else None)
        return unit.name if unit else None

    # -- withdrawal: the dialog of bot.withdraw_dialog -------------------------------------------
    def _withdrawal(self, user_id: str, unit: str | None, command: Command) -> str:
        dialog = WithdrawDialog(self.store, self.campaign, clock=self.clock, on_withdraw=self.on_withdraw)
        latest = self._latest(unit) if unit is not None else None
        return dialog.reply(user_id, unit, command, latest[0] if latest else None)

    # -- what -----------------------------------------------------------------------------------
    def _latest(self, unit: str) -> tuple[Dossier, list[Finding]] | None:
        version = self.store.evaluations.current_version(unit)
        if version is None:
            return None
        cached = self._dossiers.get(unit)
        if cached and cached[0] == version:
            return cached[1], cached[2]
        snapshot = self.store.evaluations.dossier_version(unit, version)
        if snapshot is None:
            return None
        dossier = Dossier.model_validate(snapshot.dossier)
        findings = self.store.evaluations.current_findings(unit)
        self._dossiers[unit] = (version, dossier, findings)
        return dossier, findings

    def status(
        self,
        unit: str,
        *,
        latest: tuple[Dossier, list[Finding]] | None = None,
        checklist: bool = True,
        office: bool = False,
    ) -> str:
        """The unit's state; `checklist`: each nominee's row, its items marked (validators.checklist).
        `latest`: the evaluation to describe when the caller just made it (it is the stored latest one,
        whose check error is read here). `office`: the asker is the office, who also reads the error."""
        latest = latest or self._latest(unit)
        queued = self._waiting_line(unit)
        if latest is None:
            return f"{unit}：尚未收到推荐材料。\n" + (queued + "\n" if queued else "") + self.deadline()
        dossier, findings = latest
        errors = sum(f.severity == Severity.ERROR for f in findings)
        warnings = sum(f.severity == Severity.WARNING for f in findings)
        q = self.campaign.quotas
        last = max((s.arrived_at for s in dossier.submissions if s.arrived_at), default=None)
        lines = [
            f"{unit}",
            f"已收{self._received(dossier.submissions)}"
            + (f"，最近一次 {last.astimezone(self.campaign.tz):%m月%d日 %H:%M}" if last else ""),
            f"百姓学习之星 {len(dossier.stars)} 名（要求 {q.stars.min}-{q.stars.max}）",
            f"品牌项目 {len(dossier.projects)} 个（要求 {q.projects.min}-{q.projects.max}）",
        ]
        exemplars = [s.name for s in dossier.stars if s.exemplar] + [p.name for p in dossier.projects if p.exemplar]
        if exemplars:
            lines.append("典范：" + "、".join(exemplars))
        check_error = self.store.evaluations.check_error(unit)
        if check_error:  # a rule raised: nothing is called complete, nothing marked ✓
            lines.append(CHECK_INCOMPLETE_ZH + (f"（{check_error}）" if office else ""))
            if errors:
                lines.append(f"已发现需修改 {errors} 项，需核实 {warnings} 项（可能不全）。")
        elif errors:
            lines.append(f"需修改 {errors} 项，需核实 {warnings} 项。发送“缺什么”查看明细。")
        elif warnings:
            lines.append(f"材料已齐全，另有 {warnings} 项请核实。发送“缺什么”查看明细。")
        else:
            lines.append("材料齐全，符合要求。")
        lines.append("纸质材料：" + ("已收到" if self.store.state.paper_received(unit) else "尚未登记收到"))
        if queued:
            lines.append(queued)
        rows = checklist_rows(dossier, findings) if checklist else []
        if rows:
            lines.append("材料清单：" if not check_error else "已收材料（待人工核查）：")
            if check_error:
                lines += [f"{row.heading}：" + "，".join(i.received for i in row.items) for row in rows]
            else:
                lines += [str(row) for row in rows]
        return "\n".join(lines)

    def _waiting_line(self, unit: str) -> str:
        """What the unit may learn of the queue: how many mails are guessed to be its own, never who
        sent them (a wrong guess must not show another sender's address or subject)."""
        return waiting_for_unit(self.store.submissions.waiting_by_unit()[unit])

    def missing(self, unit: str, *, latest: tuple[Dossier, list[Finding]] | None = None) -> str:
        """Per nominee what is wrong (with the measured value) and how to fix it, as the mail reply says."""
        latest = latest or self._latest(unit)
        if latest is None:
            return f"{unit}：尚未收到推荐材料，请按“清单”报送。"
        dossier, findings = latest
        shown = [f for f in findings if f.severity != Severity.INFO]
        incomplete = self.store.evaluations.check_error(unit) is not None
        if not shown:
            if incomplete:  # the rule that raised might have found something: no "nothing to fix"
                return f"{unit}：{CHECK_INCOMPLETE_ZH}暂不能确定是否还有需要修改的问题。"
            return f"{unit}：没有需要修改或核实的问题。"
        late = [f for f in shown if f.code == LATE]
        groups = [g for g in group_findings(dossier, [f for f in shown if f.code != LATE]) if g.findings]
        if late and not any(g.about == "unit" for g in groups):
            groups.insert(0, FindingGroup("unit", GENERAL, []))
        marks = sorted({f.severity for f in shown}, key=list(Severity).index)
        legend = "，".join(f"{SEVERITY_MARK[s]} {SEVERITY_ZH[s]}" for s in marks)
        lines = [f"{unit} 需处理的问题（{legend}）：" + ("（检查未完成，可能不全）" if incomplete else "")]
        for group in groups:
            lines.append(f"【{group.heading}】")
            lines += _finding_lines(group.findings)
            if group.about == "unit" and late:
                lines += self._late_lines(dossier, late)
        return "\n".join(lines)

    def _late_lines(self, dossier: Dossier, late: list[Finding]) -> list[str]:
        """One line however many submissions came late (a contact may send dozens of WeCom files),
        with the first and the latest arrival in time order, and the hint once."""
        late = sorted(late, key=_arrival)
        by_index = {s.index: s for s in dossier.submissions}
        subs = [by_index[f.evidence["submission"]] for f in late if f.evidence.get("submission") in by_index]
        deadline = late[0].params.get("deadline", "")
        via = f"（{self._received(subs)}）" if subs else ""
        if len(late) == 1:
            line = f"! 材料于 {late[0].params.get('arrived', '')} 送达{via}，晚于截止时间 {deadline}"
        else:
            line = (
                f"! 截止时间 {deadline} 后收到材料 {len(late)} 次{via}："
                f"最早 {late[0].params.get('arrived', '')}，最近 {late[-1].params.get('arrived', '')}"
            )
        return [line, f"  修改建议：{render(late[0])[1]}"]

    def _received(self, submissions: list[Submission] | list[SubmissionMeta]) -> str:
        """ "邮件 2 封、企业微信文件 3 批": what came by which way, never calling a WeCom file a mail."""
        counts = Counter(self._channel(s) for s in submissions)
        return "、".join(f"{noun} {n} {measure}" for (noun, measure), n in counts.items())

    def _channel(self, sub: Submission | SubmissionMeta) -> tuple[str, str]:
        """How a submission came, from its raw message's source (the service's submissions are "raw:<id>")."""
        raw_id = sub.source.removeprefix("raw:")
        record = self.store.raw.get(int(raw_id)) if sub.source.startswith("raw:") and raw_id.isdigit() else None
        if record is not None and record.source == "office":
            for by, label in ACTION_ZH.items():
                if any((sub.subject or "").startswith(by + verb) for verb in VERB_ZH.values()):
                    return label
        return CHANNEL_ZH.get(record.source if record else "", MAIL_ZH)

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
        rows = [r for r in self.store.overview.units() if r.known]
        submitted = [r for r in rows if r.submissions]
        failed = [r for r in submitted if r.check_error]  # a rule raised: neither complete nor known not to be
        complete = [r for r in submitted if not r.errors and not r.check_error]
        paper = [r for r in rows if r.paper_received]
        stars = sum(r.stars for r in rows)
        projects = sum(r.projects for r in rows)
        waiting = self.store.submissions.waiting_by_unit().total()
        return "\n".join(
            [
                f"{self.campaign.name}",
                f"单位 {len(rows)} 个：已报送 {len(submitted)}，材料齐全 {len(complete)}，"
                f"有待修改 {len(submitted) - len(complete) - len(failed)}，未报送 {len(rows) - len(submitted)}"
                + (f"，检查未完成 {len(failed)}（{'、'.join(r.name for r in failed)}，需人工核查）" if failed else ""),
                f"百姓学习之星 {stars} 名，品牌项目 {projects} 个",
                f"纸质材料已收 {len(paper)} 个单位",
                waiting_total(waiting),
                self.deadline(),
            ]
        )

    def pending(self) -> str:
        rows = [r for r in self.store.overview.units() if r.known]
        waiting = self.store.submissions.waiting_by_unit()

        def name(unit: str, more: str = "") -> str:
            notes = [more] if more else []
            if waiting[unit]:
                notes.append(waiting_note(waiting[unit]))
            return unit + (f"（{'，'.join(notes)}）" if notes else "")

        nothing = [name(r.name) for r in rows if not r.submissions]
        errors = [name(r.name, f"{r.errors}项") for r in rows if r.submissions and r.errors and not r.check_error]
        failed = [f"{r.name}（{r.check_error}）" for r in rows if r.submissions and r.check_error]
        lines = []
        if failed:
            lines.append(f"检查未完成，需人工核查（{len(failed)}）：" + "、".join(failed))
        if errors:
            lines.append(f"有待修改（{len(errors)}）：" + "、".join(errors))
        if nothing:
            lines.append(f"未报送（{len(nothing)}）：" + "、".join(nothing))
        total = waiting.total()
        if total:
            lines.append(waiting_total(total))
        return "\n".join(lines) or "所有单位均已报送且材料齐全。"

    def paper(self, unit: str, user_id: str) -> str:
        """Recorded by the desk (its one home for it, which re-checks the unit), or not at all."""
        if self.on_paper is None:
            return (
                "暂不能通过企业微信登记纸质材料，"
                f"请在工作台的单位页面或用 `nomdesk paper {unit} --received YYYY-MM-DD` 登记。"
            )
        today = self.clock().astimezone(self.campaign.tz).date()
        self.on_paper(unit, today, f"bot:{user_id}")
        return f"已登记：{unit} 的纸质材料于 {today:%Y年%m月%d日} 收到。"

    def paper_status(self, unit: str, *, hint: bool = False) -> str:
        """Whether a unit's paper copies are registered as received; asking never records one."""
        receipts = self.store.state.paper_receipts(unit)
        if receipts:
            return f"{unit} 的纸质材料：已收到（{receipts[-1].received_on:%Y年%m月%d日}登记）。"
        text = f"{unit} 的纸质材料：尚未登记收到。"
        if hint:  # the office: how to record it once it has arrived
            text += f"\n收到后请发送“纸质 {unit} 已收”登记。"
        return text


def _finding_lines(items: list[Finding]) -> list[str]:
    """A finding's message and, below it, its fix; a fix already given for this nominee is not repeated."""
    lines: list[str] = []
    given: set[str] = set()
    for f in items:
        message, hint = render(_short_paths(f))
        lines.append(f"{SEVERITY_MARK[f.severity]} {message}")
        if hint and hint not in given:
            lines.append(f"  修改建议：{hint}")
            given.add(hint)
    return lines


def _short_paths(finding: Finding) -> Finding:
    """The finding with its file's path cut to the file's name: "…/池北书苑/宣传视频.mp4" is wider than a
    phone screen and a WeCom message has only 2048 bytes; the name alone tells the contact which file."""
    value = finding.params.get("file")
    path = finding.evidence.get("path") or value  # the text may say more than the path ("…（邮件「…」中）")
    if not isinstance(value, str) or not isinstance(path, str) or "/" not in path or path not in value:
        return finding
    params = {**finding.params, "file": value.replace(path, path.rsplit("/", 1)[-1], 1)}
    return finding.model_copy(update={"params": params})


def _arrival(finding: Finding) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(str(finding.evidence.get("arrived_at")))
    except ValueError:
        return dt.datetime.max.replace(tzinfo=dt.UTC)
