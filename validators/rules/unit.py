"""Unit-level rules (RULES.md "Unit-level rules"): the unit's whole dossier at once."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from config.campaign import Campaign, Range
from config.masking import mask_id_number, mask_phone
from intake.models import (
    ITEM_REGISTER,
    ChangeAction,
    Dossier,
    ProjectEntry,
    ProjectFields,
    RegisterTable,
    StarEntry,
    StarFields,
    SubmissionLog,
    YearMonth,
)
from validators.base import Finding, Rule, Severity, rule
from validators.rules.common import (
    PROJECT_REGISTER_SUBJECT,
    STAR_REGISTER_SUBJECT,
    awaiting_volumes,
    first_of_each_name,
    first_value,
    fold,
    format_moment,
    local_time,
    mail_label,
    names_list,
    project_sources,
    project_subject,
    star_sources,
    star_subject,
    unit_subject,
)


@rule
class UnitUnknown(Rule):
    code = "UNIT_UNKNOWN"
    severity = Severity.ERROR
    title_zh = "发件人不是登记的联系人"
    message_zh = "发件人 {sender} 不是任何推荐单位登记的联系人，无法确认材料所属单位"
    hint_zh = "请由本单位登记的联系人邮箱重新发送，或回复说明所属推荐单位及联系人姓名、电话"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        # None means no contact check was possible (offline): nothing to report.
        if dossier.sender_registered is False:
            senders = sorted({s.sender for s in dossier.submissions if s.sender})
            yield self.finding(unit_subject(dossier), sender=names_list(senders) or "（未知）")


@rule
class Late(Rule):
    code = "LATE"
    severity = Severity.WARNING
    title_zh = "逾期报送"
    label_zh = "截止后收到"
    message_zh = "{mail}于 {arrived} 收到，已过报送截止时间（{deadline}）"
    hint_zh = "材料已收到并登记；截止后收到的材料是否受理由省级办公室决定，如有特殊情况请与省级办公室联系说明"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        deadline = campaign.deadline_end
        # A submission that only withdrew or restored nominees (the office's action, a "撤回 张三"
        # mail) delivered no material, and a file the office attached is the office's doing: neither
        # is a late delivery by the unit.
        actions_only = {log.index for log in dossier.log if _withdrawals_only(log)}
        for sub in dossier.submissions:
            if sub.arrived_at is None or sub.index in actions_only or (sub.actor or "").startswith("office:"):
                continue
            arrived = local_time(sub.arrived_at, campaign)
            if arrived >= deadline:
                yield self.finding(
                    f"邮件 {sub.subject or sub.source}",
                    mail=mail_label(sub),
                    arrived=format_moment(arrived),
                    deadline=f"{campaign.deadline.year}年{campaign.deadline.month}月{campaign.deadline.day}日 24:00",
                    evidence={"submission": sub.index, "source": sub.source, "arrived_at": arrived.isoformat()},
                )


# Taking a file out (the unit's page) delivers nothing either.
_WITHDRAWALS = frozenset(
    {
        ChangeAction.WITHDRAWN,
        ChangeAction.RESTORED,
        ChangeAction.WITHDRAW_UNKNOWN,
        ChangeAction.REMOVED,
        ChangeAction.REMOVE_UNKNOWN,
    }
)


def _withdrawals_only(log: SubmissionLog) -> bool:
    return not log.placements and bool(log.changes) and all(c.action in _WITHDRAWALS for c in log.changes)


class _Quota(Rule):
    """Error above the range, warning below (RULES.md)."""

    noun: str
    measure: str

    def quota(self, campaign: Campaign) -> Range:
        raise NotImplementedError

    def names(self, dossier: Dossier) -> list[str]:
        raise NotImplementedError

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        if awaiting_volumes(dossier):  # the count is of what a missing volume still holds back
            return
        quota = self.quota(campaign)
        names = self.names(dossier)
        count = len(names)
        if count in quota:
            return
        above = count > quota.max
        yield self.finding(
            unit_subject(dossier),
            severity=Severity.ERROR if above else Severity.WARNING,
            count=count,
            min=quota.min,
            max=quota.max,
            direction="超出上限" if above else "少于下限",
            evidence={"names": names},
        )


def _counted(entries: Iterable, register: RegisterTable | None) -> list[str]:
    # With a table, the table says who is nominated; without one, whoever sent material.
    return [e.name for e in entries if e.registered or register is None]


@rule
class StarQuota(_Quota):
    code = "STAR_QUOTA"
    severity = Severity.ERROR
    title_zh = "百姓学习之星推荐名额"
    message_zh = "推荐百姓学习之星 {count} 名，{direction}（每单位 {min}-{max} 名）"
    hint_zh = "请按 {min}-{max} 名推荐百姓学习之星，并在附表2中逐一登记"

    def quota(self, campaign: Campaign) -> Range:
        return campaign.quotas.stars

    def names(self, dossier: Dossier) -> list[str]:
        return _counted(dossier.stars, dossier.star_register)


@rule
class ProjectQuota(_Quota):
    code = "PROJECT_QUOTA"
    severity = Severity.ERROR
    title_zh = "终身学习品牌项目推荐名额"
    message_zh = "推荐终身学习品牌项目 {count} 个，{direction}（每单位 {min}-{max} 个）"
    hint_zh = "请按 {min}-{max} 个推荐终身学习品牌项目，并在附表4中逐一登记"

    def quota(self, campaign: Campaign) -> Range:
        return campaign.quotas.projects

    def names(self, dossier: Dossier) -> list[str]:
        return _counted(dossier.projects, dossier.project_register)


@rule
class StarTypeCoverage(Rule):
    code = "STAR_TYPE_COVERAGE"
    severity = Severity.INFO
    title_zh = "百姓学习之星类型覆盖"
    message_zh = "推荐的 {count} 名百姓学习之星所属群体均为“{group}”"
    hint_zh = "推荐时请尽量覆盖不同群体（{groups}）"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        groups = [first_value(star_sources(s), "group") for s in dossier.stars]
        known = {str(g).strip() for g in groups if g}
        if len(groups) >= 2 and all(groups) and len(known) == 1:
            yield self.finding(
                unit_subject(dossier), count=len(groups), group=known.pop(), groups="、".join(campaign.star.groups)
            )


@rule
class ProjectTypeCoverage(Rule):
    code = "PROJECT_TYPE_COVERAGE"
    severity = Severity.INFO
    title_zh = "终身学习品牌项目类型覆盖"
    message_zh = "推荐的 {count} 个终身学习品牌项目类别均为“{category}”"
    hint_zh = "推荐时请尽量覆盖不同项目类别（{categories}）"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        cats = [first_value(project_sources(p), "category") for p in dossier.projects]
        known = {str(c).strip() for c in cats if c}
        if len(cats) >= 2 and all(cats) and len(known) == 1:
            yield self.finding(
                unit_subject(dossier),
                count=len(cats),
                category=known.pop(),
                categories="、".join(campaign.project.categories),
            )


@rule
class RegisterMissing(Rule):
    code = "REGISTER_MISSING"
    severity = Severity.ERROR
    title_zh = "缺少推荐登记表"
    message_zh = "未收到{table}"
    hint_zh = "请按模板填写{table}（Excel），加盖公章后连同电子版一并报送"

    def claims(self, entry: StarEntry | ProjectEntry, dossier: Dossier) -> bool:
        """Without a table of its kind, no nominee is "not in the table": this says it once for all."""
        register = dossier.star_register if isinstance(entry, StarEntry) else dossier.project_register
        return register is None

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        if awaiting_volumes(dossier):  # the table may well be in the volume still missing
            return
        empty = not dossier.stars and not dossier.projects
        if dossier.star_register is None and (dossier.stars or (empty and dossier.project_register is None)):
            yield self.finding(STAR_REGISTER_SUBJECT, table="附表2《百姓学习之星推荐登记表》")
        if dossier.project_register is None and (dossier.projects or (empty and dossier.star_register is None)):
            yield self.finding(PROJECT_REGISTER_SUBJECT, table="附表4《终身学习品牌项目推荐登记表》")


@rule
class RegisterMismatch(Rule):
    code = "REGISTER_MISMATCH"
    about = "nominee"
    item = ITEM_REGISTER
    reason_zh = "未列入登记表"
    defers_to = frozenset({RegisterMissing.code})
    severity = Severity.ERROR
    title_zh = "推荐对象未在登记表中"
    message_zh = "{name} 有推荐材料（{where}），但{table}中没有登记"
    hint_zh = "请在{table}中补充登记，或核对姓名/名称是否与登记表一致；如不再推荐，请撤回其材料"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        for s in self.judged(dossier.stars, dossier):
            if not s.registered:
                where = s.form.path if s.form else "照片/视频"
                yield self.finding(star_subject(s.name), nominee=s.name, name=s.name, where=where, table="附表2")
        for p in self.judged(dossier.projects, dossier):
            if not p.registered:
                where = p.form.path if p.form else "照片/视频/总结"
                yield self.finding(project_subject(p.name), nominee=p.name, name=p.name, where=where, table="附表4")


@rule
class RegisterOmits(Rule):
    code = "REGISTER_OMITS"
    severity = Severity.WARNING
    title_zh = "新登记表漏列已推荐对象"
    message_zh = "最新的{table}（{path}）没有列出此前已登记的 {count} 个推荐对象：{names}。他们仍按已推荐处理"
    hint_zh = (
        "如确实不再推荐，请在邮件主题或正文第一行写明“撤回 姓名”（项目写项目名称）；"
        "如为漏列，请补发包含全部推荐对象的{table}"
    )

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        # Withdrawal is explicit only (RULES.md "Resubmissions"): a shorter table withdraws nobody.
        for entries, subject, table in (
            (dossier.stars, STAR_REGISTER_SUBJECT, "附表2"),
            (dossier.projects, PROJECT_REGISTER_SUBJECT, "附表4"),
        ):
            by_table: dict[str, list[str]] = {}
            for entry in entries:
                if entry.omitted_by:
                    by_table.setdefault(entry.omitted_by, []).append(entry.name)
            for path, names in by_table.items():
                yield self.finding(
                    subject,
                    table=table,
                    path=path,
                    count=len(names),
                    names=names_list(names),
                    evidence={"names": names, "path": path},
                )


@dataclass
class _Person:
    name: str
    id_number: str | None
    birth: YearMonth | None
    phone: str | None


def _digits(text: str | None) -> str | None:
    """A phone number as comparable digits: full-width folded, the +86/0086 country prefix of a
    mobile dropped (the same person's number written two ways must match)."""
    if not text:
        return None
    d = re.sub(r"\D", "", unicodedata.normalize("NFKC", str(text)))
    d = re.sub(r"^(?:0086|86)(?=1[3-9]\d{9}$)", "", d)
    return d or None


def _id(text: str | None) -> str | None:
    if not text:
        return None
    v = re.sub(r"\s", "", unicodedata.normalize("NFKC", str(text))).upper()
    return v or None


def _people(dossier: Dossier) -> list[_Person]:
    """Everyone nominated: every row of 附表2 (a name listed twice counts twice), plus form-only entries."""
    by_name = {fold(s.name): s for s in dossier.stars}
    people: list[_Person] = []
    rows: list[StarFields] = dossier.star_register.star_rows if dossier.star_register else []
    for row in rows:
        if not row.name:
            continue
        entry = by_name.get(fold(row.name))
        form = entry.form.fields if entry and entry.form else StarFields()
        people.append(
            _Person(
                row.name,
                _id(row.id_number or form.id_number),
                row.birth_parsed or form.birth_parsed,
                _digits(row.phone or form.phone),
            )
        )
    listed = {fold(p.name) for p in people}
    for s in dossier.stars:
        if fold(s.name) in listed:
            continue
        src = star_sources(s)
        birth = next((f.birth_parsed for _, f in src if f.birth_parsed), None)
        people.append(_Person(s.name, _id(first_value(src, "id_number")), birth, _digits(first_value(src, "phone"))))
    return people


def _same_person(a: _Person, b: _Person) -> bool:
    if a.id_number and b.id_number:
        return a.id_number == b.id_number
    if fold(a.name) != fold(b.name):
        return False
    # Name, then birth month and phone where both sides give them.
    if a.birth and b.birth and (a.birth.year, a.birth.month) != (b.birth.year, b.birth.month):
        return False
    return not (a.phone and b.phone and a.phone != b.phone)


def _project_names(dossier: Dossier) -> list[str]:
    rows: list[ProjectFields] = dossier.project_register.project_rows if dossier.project_register else []
    names = [r.name for r in rows if r.name]
    listed = {fold(n) for n in names}
    names += [p.name for p in dossier.projects if fold(p.name) not in listed]
    return names


@rule
class DuplicateNominee(Rule):
    code = "DUPLICATE_NOMINEE"
    about = "nominee"
    severity = Severity.ERROR
    title_zh = "重复推荐"
    message_zh = "{name} 被重复推荐：{detail}"
    hint_zh = "同一人员或项目只能推荐一次，请删除重复的登记和材料，或核实是否为不同对象"

    def claims(self, entry: StarEntry | ProjectEntry, dossier: Dossier) -> bool:
        """A later copy of a name: its materials went to the first copy (`first_of_each_name`)."""
        entries = dossier.stars if isinstance(entry, StarEntry) else dossier.projects
        return all(first is not entry for first in first_of_each_name(entries))

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        people = _people(dossier)
        reported: set[int] = set()
        for i, a in enumerate(people):
            if i in reported:
                continue
            twins = [j for j in range(i + 1, len(people)) if _same_person(a, people[j])]
            if not twins:
                continue
            reported.update(twins)
            names = [a.name] + [people[j].name for j in twins]
            how = "身份证号相同" if a.id_number and all(people[j].id_number for j in twins) else "姓名等信息相同"
            yield self.finding(
                star_subject(a.name),
                nominee=a.name,
                name=a.name,
                detail=f"本单位材料中出现 {len(names)} 次（{names_list(names)}，{how}）",
                evidence={
                    "names": names,
                    "id_number": mask_id_number(a.id_number),
                    "phone": mask_phone(a.phone),
                },
            )
        counts: dict[str, list[str]] = {}
        for name in _project_names(dossier):
            counts.setdefault(fold(name), []).append(name)
        for names in counts.values():
            if len(names) > 1:
                yield self.finding(
                    project_subject(names[0]),
                    nominee=names[0],
                    name=names[0],
                    detail=f"本单位材料中出现 {len(names)} 次",
                    evidence={"names": names},
                )
        star_names = {fold(s.name): s.name for s in dossier.stars}
        project_names = {fold(p.name): p.name for p in dossier.projects}
        for name, units in sorted(dossier.other_unit_nominees.items()):
            if not units:
                continue
            key = fold(name)
            if key in project_names and key not in star_names:
                subject, shown = project_subject(project_names[key]), project_names[key]
            else:
                shown = star_names.get(key, name)
                subject = star_subject(shown)
            yield self.finding(
                subject,
                nominee=shown,
                name=shown,
                # The unit reads this: which other unit nominated whom is the office's to know
                # (evidence keeps it for the office's views), not another unit's.
                detail=f"另有 {len(units)} 个单位也推荐了同一对象，省级办公室将与各单位核实",
                evidence={"other_units": units},
            )


@rule
class PaperPending(Rule):
    code = "PAPER_PENDING"
    severity = Severity.INFO
    title_zh = "纸质材料未收到"
    message_zh = "尚未登记收到加盖公章的纸质材料"
    hint_zh = "请将盖章后的推荐表和登记表纸质版邮寄至{address}（{office}）"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        # None: unknown (offline check), so nothing to say. A unit whose mail says the paper is posted
        # is not asked again: the office records it when it arrives.
        if dossier.paper_received is False and not dossier.paper_posted:
            yield self.finding(unit_subject(dossier), address=campaign.office.address, office=campaign.office.name)
