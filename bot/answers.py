"""Answers in WeCom: who is asking decides what they may see.

A unit contact sees only their own unit's dossier; office members see every unit; an
unknown WeCom user learns nothing about anyone and is told how to register. Answers
are short Chinese texts for a phone screen, built from what storage already holds
(the latest evaluation), so they come back well inside WeCom's 5-second window.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from bot.arrivals import LATE, late_lines, received_words
from bot.commands import NAME_SEPARATOR, Command, Intent, parse
from bot.files import NAMING_WINDOW
from bot.guide import OFFICE_HELP, Guide
from bot.office_answers import campaign_summary, units_pending
from bot.paging import Pager
from bot.screens import (
    count_line,
    group_blocks,
    nominee_blocks,
    nominees_in,
    unattributed_blocks,
)
from bot.withdraw_dialog import EXAMPLE_NAME, WithdrawDialog, WithdrawHandler
from bot.wording import simplified
from config.campaign import KIND_ZH, Campaign, VideoSpec
from intake.models import Dossier
from intake.withdrawal import find_nominee
from storage.models import waiting_for_unit
from storage.repo import Store
from storage.tables import WeComFileState
from storage.unit_link_urls import LINK_LINE_ZH, contact_link, unit_contact
from storage.unit_links import link_expiry
from validators.base import Finding, Severity
from validators.checklist import checklist_rows
from validators.measure import format_count_range, format_duration_range
from validators.report import GENERAL, FindingGroup, group_findings
from validators.requirements import exemplar_quota_words, id_photo_words

OFFICE_ONLY = "该命令仅供省级办公室使用。\n"
# A contact's questions that, naming one of the unit's nominees, are about that nominee.
NAMED_QUESTIONS = (Intent.UNKNOWN, Intent.MISSING, Intent.STATUS, Intent.HELP, Intent.ATTRIBUTE)
NAMED_INTENTS = (Intent.NOMINEE, Intent.ATTRIBUTE)  # whose argument is the nominees' names
# What follows a nominee's name when a contact says whose files they sent: "张三 的照片".
_OF_NOMINEE = re.compile(r"\s*的?\s*(?:照片|图片|相片|视频|材料)?\s*$")
# What may come before it: "这张是张三的照片", "刚才的视频是张三的".
_THIS_IS = re.compile(r"^\s*(?:这|那|刚才|刚刚|上面|以上)[张个些段条]?的?(?:照片|图片|相片|视频|文件)?(?:是|属于)\s*")
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
        public_url: str | None = None,
    ) -> None:
        self.store = store
        self.public_url = public_url  # the desk's address as units reach it; None: no page links
        self.campaign = campaign
        self.clock = clock
        self.on_paper = on_paper  # the desk's paper receipt (nomdesk.desk.Desk.record_paper)
        self.on_withdraw = on_withdraw  # the desk's withdrawal (nomdesk.desk.Desk.withdraw)
        # Parsed dossiers by unit, valid while the unit's evaluation version is unchanged:
        # loading and validating a snapshot is most of an answer's cost.
        self._dossiers: dict[str, tuple[int, Dossier, list[Finding]]] = {}
        self.guide = Guide(campaign, naming_minutes=max(int(NAMING_WINDOW.total_seconds() // 60), 1))
        self.pager = Pager(store, clock=clock)  # long answers: the first screen now, the rest on "更多"

    # -- who ----------------------------------------------------------------------------------
    def who(self, user_id: str) -> tuple[bool, str | None]:
        """(is an office member, their unit) for a WeCom user id.

        Asked of the database every time, not cached: another desk process (or `nomdesk contacts`)
        may have just added or removed the contact, and a per-process cache would answer a removed
        contact with her old unit's dossier for its lifetime. Two indexed reads on a read-only
        session (bench/bot_latency.py measured the difference: see the issue note)."""
        return self.store.directory.is_office(wecom_user=user_id), self.store.directory.unit_of_wecom_user(user_id)

    def answer(self, user_id: str, command: Command) -> str:
        office, unit = self.who(user_id)
        if not office and unit is None:
            return (
                f"您好！您的企业微信账号（账号：{user_id}）尚未登记为推荐单位联系人，暂不能查询材料情况。\n"
                + self._how_to_register()
                + "登记后即可查询。"
            )
        command = self.resolve(user_id, command)
        intent = command.intent
        if intent in (Intent.WITHDRAW, Intent.WITHDRAW_CONFIRM):
            return self._withdrawal(user_id, unit, command)
        if intent == Intent.MORE:
            return self.pager.more(user_id)
        if intent == Intent.MY_MATERIALS:
            return self.my_materials(user_id, unit, office=office)
        everyday = self._everyday(user_id, unit, command)
        if everyday is not None:
            return everyday
        if intent == Intent.PENDING and not office:
            intent = Intent.MISSING  # a contact's "还有什么没交" asks about their own unit's materials
        if intent == Intent.PAPER_STATUS and not office:
            named = self._unit_named(command.argument)
            if named is not None and named != unit:
                return OFFICE_ONLY + self.guide.contact_help()
            return self.paper_status(unit)
        if intent == Intent.UNIT and not office:
            # "单位 长白山" from 长白山's own contact is a question about their own dossier.
            if self._unit_named(command.argument) != unit:
                return OFFICE_ONLY + self.guide.contact_help()
            status = [[line] for line in self.status(unit).splitlines()]
            return self.pager.first(user_id, [*status, [""], *self._missing_blocks(unit, None, fold=True)])
        if intent in (Intent.SUMMARY, Intent.PENDING, Intent.PAPER) and not office:
            return OFFICE_ONLY + self.guide.contact_help()
        if intent == Intent.HELP:
            return OFFICE_HELP + "\n" + self.guide.contact_help() if office else self.guide.contact_help()
        if intent == Intent.UNKNOWN:
            return self.guide.not_understood(command.text, office=office)
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
            return self.status(target, office=True) + "\n\n" + self.missing(target, fold=False)
        if unit is None:  # an office member asking about "our" unit
            return "请用“单位 <单位名>”查询某个单位。\n" + OFFICE_HELP
        if intent == Intent.STATUS:
            status = self.status(unit, office=office)
            return status if office else self.pager.first(user_id, [[line] for line in status.splitlines()])
        return self.missing_screen(user_id, unit)

    def resolve(self, user_id: str, command: Command) -> Command:
        """The command as this user means it: a contact's words are read as a contact's (office
        commands only in their exact form), and a question naming the unit's own stars or projects
        ("莫婷婷", "莫婷婷还缺什么") is about them (NOMINEE, the names as the dossier spells them)."""
        office, unit = self.who(user_id)
        if not office and command.text:
            command = parse(command.text, office=False)
        if unit is None or not command.text or command.intent not in NAMED_QUESTIONS:
            return command
        latest = self._latest(unit)
        named = [name for _, name in nominees_in(latest[0], command.text)] if latest else []
        if not named:
            return command
        intent = Intent.ATTRIBUTE if command.intent == Intent.ATTRIBUTE else Intent.NOMINEE
        return command.model_copy(update={"intent": intent, "argument": NAME_SEPARATOR.join(named)})

    def _everyday(self, user_id: str, unit: str | None, command: Command) -> str | None:
        """The how-to questions (补交, 人工, 纸质地址, 归属), a nominee named by a contact, and the
        answers about the unit's files (未归属, 已经补交了…); None for the other commands."""
        intent = command.intent
        named = [n for n in command.argument.split(NAME_SEPARATOR) if n] if intent in NAMED_INTENTS else []
        example = named[0] if named else next(iter(self.nominee_names(unit) if unit else []), EXAMPLE_NAME)
        if intent == Intent.HOW_TO_SEND:
            return self.guide.how_to_send(example)
        if intent == Intent.CONTACT:
            return self.guide.contact()
        if intent == Intent.PAPER_ADDRESS:
            return self.guide.paper_address()
        if intent == Intent.ATTRIBUTE:
            return self.guide.attribute(named[0] if named else None, example)
        if unit is None:
            if intent == Intent.UNATTRIBUTED:
                return "办公室请用“单位 <单位名>”或在工作台的单位页面查看未归属的文件。"
            return None
        latest = self._latest(unit)
        if intent == Intent.UNATTRIBUTED:
            blocks = unattributed_blocks(latest[1]) if latest else []
            return self.pager.first(user_id, blocks) if blocks else f"{unit}：没有未能归属的文件。"
        if intent == Intent.RESUBMITTED:
            return self.resubmitted(user_id, unit)
        if intent == Intent.NOMINEE and latest:
            return self.pager.first(user_id, [b for name in named for b in nominee_blocks(*latest, name)])
        return None

    def my_materials(self, user_id: str, unit: str | None, *, office: bool) -> str:
        """ "我的材料": the unit's state in short and the asker's own page link. Only a registered
        contact of the unit gets one (the link is hers: what is done on it is done in her name);
        the office's members look at the dashboard instead."""
        contact = unit_contact(self.store, unit, wecom_user=user_id) if unit else None
        if contact is None:
            if office:
                return "省级办公室成员没有单位材料页面链接，各单位材料请在工作台查看，或发送“单位 <单位名>”。"
            return "您的企业微信账号不是推荐单位的登记联系人，没有单位材料页面链接。"
        assert unit is not None
        status = self.status(unit, checklist=False)
        link = contact_link(self.store, self.campaign, self.public_url, contact.id, now=self.clock())
        if link is None:
            return status + "\n材料页面暂未开放，请发送“缺什么”查看明细，或按“怎么补交”报送材料。"
        expires = link_expiry(self.campaign).astimezone(self.campaign.tz)
        return (
            f"{status}\n{LINK_LINE_ZH}{link}\n"
            f"（此链接是您本人的，请勿转发；{expires:%m月%d日 %H:%M}前有效，如链接失效请联系省级办公室重新发放）"
        )

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
        """The receipt of an image/video, which has no file name (bot.guide.Guide.nameless_media)."""
        unit = self.store.directory.unit_of_wecom_user(user_id)
        return self.guide.nameless_media(msg_type, self.nominee_names(unit) if unit else [], window)

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
        bare = _THIS_IS.sub("", simplified(text))
        for wanted in dict.fromkeys((text, _OF_NOMINEE.sub("", text), bare, _OF_NOMINEE.sub("", bare))):
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
            f"已收{received_words(self.store, dossier.submissions)}"
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

    def missing(self, unit: str, *, latest: tuple[Dossier, list[Finding]] | None = None, fold: bool = True) -> str:
        """Per nominee what is wrong (with the measured value) and how to fix it, as the mail reply says;
        `fold`: many findings of one kind folded into a line (the unit reads them on 「未归属」)."""
        return "\n".join(line for block in self._missing_blocks(unit, latest, fold=fold) for line in block)

    def missing_screen(self, user_id: str, unit: str) -> str:
        """`missing` for a phone: the count and the first items now, the rest on "更多"."""
        return self.pager.first(user_id, self._missing_blocks(unit, None, fold=True))

    def _missing_blocks(
        self, unit: str, latest: tuple[Dossier, list[Finding]] | None, *, fold: bool
    ) -> list[list[str]]:
        latest = latest or self._latest(unit)
        if latest is None:
            return [[f"{unit}：尚未收到推荐材料，请按“清单”报送。"]]
        dossier, findings = latest
        shown = [f for f in findings if f.severity != Severity.INFO]
        incomplete = self.store.evaluations.check_error(unit) is not None
        if not shown:
            if incomplete:  # the rule that raised might have found something: no "nothing to fix"
                return [[f"{unit}：{CHECK_INCOMPLETE_ZH}暂不能确定是否还有需要修改的问题。"]]
            return [[f"{unit}：没有需要修改或核实的问题。"]]
        late = [f for f in shown if f.code == LATE]
        groups = [g for g in group_findings(dossier, [f for f in shown if f.code != LATE]) if g.findings]
        if late and not any(g.about == "unit" for g in groups):
            groups.insert(0, FindingGroup("unit", GENERAL, []))
        body: list[list[str]] = [[count_line(unit, shown) + ("（检查未完成，可能不全）" if incomplete else "：")]]
        tail: list[list[str]] = []
        for group in groups:
            blocks = group_blocks(group, fold_kinds=fold)
            if group.about == "unit" and late:
                late_block = late_lines(self.store, dossier, late)
                blocks.body.append(late_block if blocks.body else [f"【{group.heading}】", *late_block])
            body += blocks.body
            tail += blocks.tail
        return body + tail

    def resubmitted(self, user_id: str, unit: str) -> str:
        """ "已经补交了，为什么还是6项": what the desk has received and when, what is still being read,
        that a new mail is checked within minutes, and what is still open (the first screen of 缺什么)."""
        latest = self._latest(unit)
        reading = (WeComFileState.PENDING, WeComFileState.WORKING)
        pending = [f for f in self.store.wecom_files.all() if f.user_id == user_id and f.state in reading]
        queued = self._waiting_line(unit)
        lines: list[str] = []
        if latest is None:
            lines.append(f"{unit}：系统尚未收到贵单位的推荐材料。")
        else:
            subs = latest[0].submissions
            last = max(subs, key=lambda s: s.arrived_at or dt.datetime.min.replace(tzinfo=dt.UTC), default=None)
            if last is not None and last.arrived_at:
                when = last.arrived_at.astimezone(self.campaign.tz)
                lines.append(
                    f"系统最近一次收到贵单位材料是 {when:%m月%d日 %H:%M}（{received_words(self.store, [last])}），"
                    f"已收{received_words(self.store, subs)}，下面的结果已包含这些材料。"
                )
        if pending:
            lines.append(f"您在本对话中发送的 {len(pending)} 个文件正在检查，结果稍后发送给您。")
        if queued:
            lines.append(queued)
        lines.append(
            "新发的邮件和文件一般在几分钟内检查完毕，检查后会回复您；如果是刚刚发送的，请稍后再发送“缺什么”查看。"
            "若所补材料的文件名没有写明姓名或项目名称，可能未能归属，回复「未归属」查看。"
        )
        blocks = [lines, *(self._missing_blocks(unit, latest, fold=True) if latest else [])]
        return self.pager.first(user_id, blocks)

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
                f"（其中一张为{id_photo_words(c)}）；{star_video}。",
                f"二、终身学习品牌项目 {q.projects.min}-{q.projects.max} 个：附表3推荐表、附表4登记表；"
                f"工作总结（{c.project.summary.min_chars}-{c.project.summary.max_chars} 字左右）；"
                f"照片 {c.project.photos.min}-{c.project.photos.max} 张；{project_video}；"
                f"创建时间不少于 {c.project.min_age_years} 年。",
                f"三、典范（仅{exemplar_units}可推荐：{exemplar_quota_words(c)}，在登记表备注中注明）："
                f"另报 {ex.extra_photos.min}-{ex.extra_photos.max} 张照片和视频{_video_spec(ex.video)}。",
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
        return campaign_summary(self.store, self.campaign.name, self.deadline())

    def pending(self) -> str:
        return units_pending(self.store)

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
