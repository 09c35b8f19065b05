"""Project rules (RULES.md "Project rules"): one nominated brand project at a time."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator

from config.campaign import Campaign
from intake.forms.fields import PROJECT_FIELDS
from intake.models import ITEM_FORM, ITEM_PHOTOS, ITEM_SUMMARY, ITEM_VIDEO, Dossier, ProjectEntry, YearMonth
from validators.base import Finding, Rule, Severity, rule
from validators.measure import format_count_range, format_duration_range, video_shortfalls
from validators.rules.common import (
    field_gaps,
    filled,
    fold,
    missing_fields,
    project_sources,
    project_subject,
)
from validators.rules.exemplar import ExemplarPhotos, ExemplarVideoMissing, ExemplarVideoSpec
from validators.rules.unit import DuplicateNominee


class _ProjectRule(Rule):
    about = "nominee"
    defers_to = frozenset({DuplicateNominee.code})

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        for project in self.judged(dossier.projects, dossier):
            yield from self.check_project(project, dossier, campaign)

    def check_project(self, project: ProjectEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        raise NotImplementedError

    def finding_on(self, project: ProjectEntry, **kwargs) -> Finding:
        return self.finding(project_subject(project.name), nominee=project.name, name=project.name, **kwargs)


@rule
class ProjectFormMissing(_ProjectRule):
    code = "PROJECT_FORM_MISSING"
    defers_to = _ProjectRule.defers_to | {"ARCHIVE_PART_MISSING"}  # the form may be in a volume still missing
    item = ITEM_FORM
    severity = Severity.ERROR
    title_zh = "缺少终身学习品牌项目推荐表"
    message_zh = "未收到 {name} 的《终身学习品牌项目推荐表》（附表3）"
    hint_zh = "请为该项目填写附表3（Word），文件名或所在文件夹注明项目名称后补报"

    def check_project(self, project: ProjectEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        if project.form is None:
            yield self.finding_on(project)


@rule
class ProjectFieldMissing(_ProjectRule):
    code = "PROJECT_FIELD_MISSING"
    item = ITEM_FORM
    reason_zh = "必填项未填"
    severity = Severity.ERROR
    title_zh = "终身学习品牌项目必填项缺失"
    # "{missing}" says which case: left empty (error), or not read off a scan (warning: send the Word form)
    message_zh = "{name} 的{missing}"
    hint_zh = "请{advice}"

    def check_project(self, project: ProjectEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        missing = missing_fields(project_sources(project), PROJECT_FIELDS, "附表4")
        for severity, params in field_gaps(missing, "附表4", "附表3", project.form_scanned):
            yield self.finding_on(project, severity=severity, **params)


@rule
class ProjectSummaryMissing(_ProjectRule):
    code = "PROJECT_SUMMARY_MISSING"
    item = ITEM_SUMMARY
    severity = Severity.ERROR
    title_zh = "缺少工作总结"
    message_zh = "未收到 {name} 近年来开展学习活动的工作总结"
    hint_zh = "请补报工作总结（{min_chars}-{max_chars} 字，Word/PDF/TXT），文件名注明项目名称"

    def check_project(self, project: ProjectEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        if project.summary is None:
            s = campaign.project.summary
            yield self.finding_on(project, min_chars=s.min_chars, max_chars=s.max_chars)


@rule
class ProjectSummaryLength(_ProjectRule):
    code = "PROJECT_SUMMARY_LENGTH"
    item = ITEM_SUMMARY
    reason_zh = "字数不符"
    severity = Severity.WARNING
    title_zh = "工作总结字数"
    message_zh = "{name} 的工作总结 {chars} 字，要求 {min_chars}-{max_chars} 字"
    hint_zh = "工作总结篇幅请控制在 {min_chars}-{max_chars} 字（不计空白）"

    def check_project(self, project: ProjectEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        s = campaign.project.summary
        if project.summary is not None and not s.min_chars <= project.summary.chars <= s.max_chars:
            yield self.finding_on(
                project,
                chars=project.summary.chars,
                min_chars=s.min_chars,
                max_chars=s.max_chars,
                evidence={"file": project.summary.path},
            )


@rule
class ProjectPhotoCount(_ProjectRule):
    code = "PROJECT_PHOTO_COUNT"
    item = ITEM_PHOTOS
    defers_to = _ProjectRule.defers_to | {ExemplarPhotos.code}  # an exemplar is held to its own count
    severity = Severity.ERROR
    title_zh = "终身学习品牌项目照片数量"
    message_zh = "{name} 照片 {count} 张，要求 {required} 张"
    hint_zh = "请报送反映项目活动的精彩照片 {required} 张（电子版）"

    def check_project(self, project: ProjectEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        spec = campaign.project.photos
        count = len(project.photos)
        if count not in spec:
            yield self.finding_on(
                project,
                count=count,
                required=format_count_range(spec.min, spec.max),
                evidence={"files": [p.path for p in project.photos]},
            )


@rule
class ProjectVideoMissing(_ProjectRule):
    code = "PROJECT_VIDEO_MISSING"
    item = ITEM_VIDEO
    defers_to = _ProjectRule.defers_to | {ExemplarVideoMissing.code}
    severity = Severity.ERROR
    title_zh = "缺少项目视频"
    message_zh = "未收到 {name} 的视频资料"
    hint_zh = "请补报项目视频（{containers} 格式，时长 {duration}）"

    def check_project(self, project: ProjectEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        spec = campaign.project.video
        # An unreadable video was still sent: FILE_UNREADABLE says why it cannot be used.
        if not spec.required or project.videos:
            return
        yield self.finding_on(
            project,
            containers="/".join(c.upper() for c in spec.containers),
            duration=format_duration_range(spec.min_seconds, spec.max_seconds),
        )


@rule
class ProjectVideoSpec(_ProjectRule):
    code = "PROJECT_VIDEO_SPEC"
    item = ITEM_VIDEO
    reason_zh = "不符合要求"
    defers_to = _ProjectRule.defers_to | {ExemplarVideoSpec.code}  # an exemplar's video has its own spec
    severity = Severity.ERROR
    title_zh = "项目视频规格"
    message_zh = "{name} 的视频 {file} 不符合要求：{problems}"
    hint_zh = "请报送 {containers} 格式、时长 {duration}的视频"

    def check_project(self, project: ProjectEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        spec, tol = campaign.project.video, campaign.tolerances
        readable = [v for v in project.videos if v.video is not None]
        checked = [(v, video_shortfalls(v.video, spec, tol, v.path)) for v in readable]  # type: ignore[arg-type]
        if any(not s for _, s in checked):
            return
        for video, shortfalls in checked:
            yield self.finding_on(
                project,
                file=video.path,
                problems="；".join(s.zh() for s in shortfalls),
                containers="/".join(c.upper() for c in spec.containers),
                duration=format_duration_range(spec.min_seconds, spec.max_seconds),
                evidence={"file": video.path, "shortfalls": [s.as_dict() for s in shortfalls]},
            )


@rule
class ProjectAge(_ProjectRule):
    """Founded at least N years before the deadline.

    An empty 创建时间 is PROJECT_FIELD_MISSING's. A date written but not readable as a
    year and month is reported here, because then the age cannot be checked at all.
    """

    code = "PROJECT_AGE"
    severity = Severity.ERROR
    title_zh = "项目创建时间不足"
    message_zh = "{name} 的创建时间为“{founded}”（{where}），{problem}"
    hint_zh = "项目启动或创建时间须不少于 {years} 年（{latest} 或更早创建）；{advice}"

    def check_project(self, project: ProjectEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        years = campaign.project.min_age_years
        deadline = campaign.deadline
        latest = _years_before(deadline, years)
        common = {"years": years, "latest": f"{latest.year}年{latest.month}月{latest.day}日"}
        sources = [(w, f) for w, f in project_sources(project) if filled(f.founded) or f.founded_parsed]
        if project.form is not None and project.form.scanned and len(sources) > 1:
            # OCR may misread a digit of a scan's date: the table's, as the unit typed it, is judged
            sources = [(w, f) for w, f in sources if f is not project.form.fields]
        parsed = [(w, f) for w, f in sources if f.founded_parsed is not None]
        for where, fields in parsed:
            start, counted_as = founded_on(fields.founded_parsed)  # type: ignore[arg-type]
            if start > latest:
                short = f"{counted_as}距截止日期 {deadline.year}年{deadline.month}月{deadline.day}日 不满 {years} 年"
                yield self.finding_on(
                    project,
                    founded=fields.founded or str(fields.founded_parsed),
                    where=where,
                    problem=short,
                    advice="如创建时间填写有误，请更正登记表和推荐表",
                    evidence={"founded": start.isoformat(), "where": where},
                    **common,
                )
                return
        if sources and not parsed:
            where, fields = sources[0]
            yield self.finding_on(
                project,
                founded=fields.founded,
                where=where,
                problem="无法识别为年月，无法核实创建年限",
                advice="请写明创建的年份和月份，如“2015年3月”",
                evidence={"where": where},
                **common,
            )


def founded_on(founded: YearMonth) -> tuple[dt.date, str]:
    """The day a project's age counts from, and how that day was chosen when the date is not full.

    RULES.md: a full date counts from its day, a month-only date from the first of that month;
    a year alone could be any day of that year, so it counts from December 31 (the latest,
    never passing a project that may be too young) and the message says so.
    """
    if founded.month is None:
        return dt.date(founded.year, 12, 31), f"只写了年份，按 {founded.year}年12月31日 计算，"
    return founded.first_day(), ""


def _years_before(day, years: int):
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@rule
class ProjectScale(_ProjectRule):
    """Participants a year. Neither figure given is PROJECT_FIELD_MISSING's; figures given
    but not readable as numbers are reported here, since the scale cannot be checked."""

    code = "PROJECT_SCALE"
    severity = Severity.WARNING
    title_zh = "项目参与规模"
    message_zh = "{name} 年参与人数 {people}、年参与人次 {participations}，{problem}"
    hint_zh = "参与学习的人数一般每年不少于 {min_people} 人或 {min_participations} 人次；请核实并填写具体数字"

    def check_project(self, project: ProjectEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        scale = campaign.project.scale
        sources = [f for _, f in project_sources(project)]
        people = _max([f.people_per_year_n for f in sources])
        partic = _max([f.participations_per_year_n for f in sources])
        texts = [t for f in sources for t in (f.people_per_year, f.participations_per_year) if filled(t)]
        common = {"min_people": scale.min_people, "min_participations": scale.min_participations}
        if people is None and partic is None:
            if texts:
                yield self.finding_on(
                    project,
                    people=_shown(sources, "people_per_year"),
                    participations=_shown(sources, "participations_per_year"),
                    problem="无法识别为数字",
                    **common,
                )
            return
        if (people or 0) >= scale.min_people or (partic or 0) >= scale.min_participations:
            return
        yield self.finding_on(
            project,
            people=f"{people} 人" if people is not None else "未填",
            participations=f"{partic} 人次" if partic is not None else "未填",
            problem=f"低于每年 {scale.min_people} 人或 {scale.min_participations} 人次",
            evidence={"people": people, "participations": partic},
            **common,
        )


def _max(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _shown(sources: list, key: str) -> str:
    for f in sources:
        if filled(getattr(f, key)):
            return f"“{getattr(f, key)}”"
    return "未填"


# Words that describe any project; a name made only of these and an institution's name has
# no brand of its own ("吉林市第一中学终身学习项目").
_GENERIC_WORDS = (
    "终身学习品牌项目",
    "终身学习项目",
    "终身学习",
    "品牌项目",
    "学习项目",
    "教育培训",
    "继续教育",
    "社区教育",
    "项目",
    "品牌",
    "学习",
    "教育",
    "培训",
    "活动",
    "工作",
    "建设",
    "工程",
    "计划",
    "案例",
    "全民",
)
# What an institution's name ends with: a name that is only this reads as the unit's own.
_INSTITUTION_ENDINGS = (
    "大学",
    "学院",
    "学校",
    "中学",
    "小学",
    "幼儿园",
    "教育局",
    "图书馆",
    "文化馆",
    "艺术馆",
    "博物馆",
    "中心",
    "研究院",
    "公司",
    "集团",
    "医院",
)
_QUOTED = re.compile(r"[“\"「『《‘]([^”\"」』》’]{2,})[”\"」』》’]")


def _strip_generic(text: str, *, tail_only: bool) -> str:
    changed = True
    while changed and text:
        changed = False
        for word in _GENERIC_WORDS:
            if tail_only and text.endswith(word):
                text, changed = text[: -len(word)], True
            elif not tail_only and word in text:
                text, changed = text.replace(word, ""), True
    return text


def named_as_unit(name: str, institutions: list[str]) -> str | None:
    """The institution a project is named after when it has no brand name of its own, else None."""
    orgs = sorted({fold(i) for i in institutions if len(fold(i)) >= 2}, key=len, reverse=True)
    quoted = _QUOTED.search(unicodedata.normalize("NFKC", name).replace("＂", '"')) or re.search(r"“([^”]{2,})”", name)
    if quoted and fold(quoted.group(1)) not in orgs:
        return None  # a brand of its own in quotes: “长鼓舞”…
    rest = fold(name)
    hit = None
    for org in orgs:
        if org in rest:
            rest, hit = rest.replace(org, ""), hit or org
    if hit is not None and not _strip_generic(rest, tail_only=False):
        return hit
    core = _strip_generic(fold(name), tail_only=True)
    if core and core.endswith(_INSTITUTION_ENDINGS):
        return core
    return None


@rule
class ProjectNamedAsUnit(_ProjectRule):
    code = "PROJECT_NAMED_AS_UNIT"
    severity = Severity.WARNING
    title_zh = "项目以单位名称命名"
    message_zh = "项目名称“{name}”只是单位名称“{institution}”，没有具体的品牌名称"
    hint_zh = "品牌项目应有具体的项目名称，一般不以单位或院校名称上报，例如“书香南关”全民阅读推广行动"

    def check_project(self, project: ProjectEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        institutions = [f.organizer for _, f in project_sources(project) if f.organizer]
        # Full names only: a unit's short alias (延边, 长春市) is a place, not an institution.
        if dossier.unit:
            institutions.append(dossier.unit)
        hit = named_as_unit(project.name, institutions)
        if hit:
            yield self.finding_on(project, institution=hit)


@rule
class ProjectPreviouslyHonored(_ProjectRule):
    code = "PROJECT_PREVIOUSLY_HONORED"
    severity = Severity.WARNING
    title_zh = "往年已认定推介"
    message_zh = "{name} 已于 {year} 年被认定推介为终身学习品牌项目{unit}"
    hint_zh = "往年已被认定推介的项目原则上不再推荐；如确有新的发展，请在推荐表中说明"

    def check_project(self, project: ProjectEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        keys = _project_keys(project.name)
        for past in campaign.past_honorees.projects:
            if keys & _project_keys(past.name):
                yield self.finding_on(
                    project,
                    year=past.year,
                    unit=f"（{past.unit}）" if past.unit else "",
                    evidence={"past_name": past.name, "past_year": past.year, "past_unit": past.unit},
                )
                return


def _project_keys(name: str) -> set[str]:
    """The whole name folded, and its quoted brand (“书香南关”) when it has one."""
    keys = {fold(name)}
    quoted = re.search(r"[“\"]([^”\"]{2,})[”\"]", unicodedata.normalize("NFKC", name)) or re.search(
        r"“([^”]{2,})”", name
    )
    if quoted:
        keys.add(fold(quoted.group(1)))
    return {k for k in keys if k}
