"""Exemplar rules (RULES.md "Exemplar rules") and the one definition of an exemplar mark."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from config.campaign import Campaign, VideoSpec
from intake.models import ITEM_PHOTOS, ITEM_VIDEO, Dossier, PackageFile, ProjectEntry, StarEntry
from validators.base import Finding, Rule, Severity, rule
from validators.measure import format_count_range, format_duration_range, format_fps, video_shortfalls
from validators.rules.common import names_list, project_subject, star_subject, unit_subject

# A negation belongs to the mark only within the same clause: "无私奉献，典范" is a mark.
_CLAUSE_BREAK = re.compile(r"[，,。；;、！!？?\n]")
# Words that follow a mark and take it back: "典范：否", "典范（否）", "作为典范推荐：否", "典范：×".
_AFTER_NEGATIONS = ("否", "无", "不是", "×", "✗", "✘")
_NEGATION_WINDOW = 8
# What may stand between a negation and the mark ("不列为典范", "不推荐作为典范", "不再作为典范",
# "不同意作为典范"); anything else means the negation belongs to another word ("非遗传承典范" is a mark).
_FILLER = set("作为是列入推荐建议申报属于算评选当再予以被拟同意")
# What may stand between a mark and the answer that follows it ("典范推荐：否", "典范（否）").
_BEFORE_ANSWER = _FILLER | set(":：（(【[ ")
# "是否典范：是" asks a question: its 否 negates nothing.
_QUESTION = "是否"


def _negated(before: str, negations: list[str]) -> bool:
    before = before.replace(_QUESTION, "")
    for neg in negations:
        start = before.rfind(neg)
        while start != -1:
            if set(before[start + len(neg) :]) <= _FILLER:
                return True
            start = before.rfind(neg, 0, start)
    return False


def _answered_no(after: str) -> bool:
    """The mark is followed, within its clause, by a "no": "典范：否", "作为典范推荐：否"."""
    after = _CLAUSE_BREAK.split(after)[0]
    return after.lstrip("".join(_BEFORE_ANSWER)).startswith(_AFTER_NEGATIONS)


def is_exemplar_mark(remarks: str | None, campaign: Campaign) -> bool:
    """Whether a 备注 marks its nominee as an exemplar: a configured mark word, not negated.

    "事迹特别感人", "特别推荐" and "是否典范：是" mark; "不作为典范", "非典范", "不再作为典范",
    "典范：否", "典范（否）" and "作为典范推荐：否" do not.
    """
    if not remarks:
        return False
    text = re.sub(r"[\s\u3000]+", "", unicodedata.normalize("NFKC", remarks))
    for mark in campaign.exemplar.marks:
        for m in re.finditer(re.escape(mark), text):
            before = _CLAUSE_BREAK.split(text[: m.start()])[-1][-_NEGATION_WINDOW:]
            if _negated(before, campaign.exemplar.negations) or _answered_no(text[m.end() :]):
                continue
            return True
    return False


@rule
class ExemplarLimit(Rule):
    code = "EXEMPLAR_LIMIT"
    severity = Severity.ERROR
    title_zh = "典范推荐超出名额"
    message_zh = "标注为典范的{kind}有 {count} 个（{names}），每单位最多 {limit} 个"
    hint_zh = "请在登记表备注中只保留 {limit} 个{kind}典范标注"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        for kind, entries, limit in (
            ("百姓学习之星", dossier.stars, campaign.quotas.exemplar_stars),
            ("终身学习品牌项目", dossier.projects, campaign.quotas.exemplar_projects),
        ):
            names = [e.name for e in entries if e.exemplar]
            if len(names) > limit:
                yield self.finding(
                    unit_subject(dossier),
                    kind=kind,
                    count=len(names),
                    names=names_list(names),
                    limit=limit,
                    evidence={"names": names},
                )


@rule
class ExemplarNotCity(Rule):
    code = "EXEMPLAR_NOT_CITY"
    severity = Severity.ERROR
    title_zh = "非市（州）单位推荐典范"
    message_zh = "只有市（州）可推荐典范，本单位标注了典范：{names}"
    hint_zh = "请删除登记表备注中的典范标注，按普通推荐对象报送"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        if dossier.unit_kind in {k.value for k in campaign.quotas.exemplar_unit_kinds}:
            return
        names = [e.name for e in [*dossier.stars, *dossier.projects] if e.exemplar]
        if names:
            yield self.finding(
                unit_subject(dossier),
                names=names_list(names),
                evidence={"names": names, "unit_kind": dossier.unit_kind},
            )


def _exemplars(dossier: Dossier) -> Iterator[tuple[str, str, list[PackageFile], list[PackageFile], str]]:
    """(subject, name, photos, videos, kind) of every exemplar, stars first."""
    for s in dossier.stars:
        if s.exemplar:
            yield star_subject(s.name), s.name, s.photos, s.videos, "star"
    for p in dossier.projects:
        if p.exemplar:
            yield project_subject(p.name), p.name, p.photos, p.videos, "project"


class _ExemplarItemRule(Rule):
    """An exemplar's item held to the exemplar's measure. Every exemplar is this rule's to judge:
    the rule holding other nominees to the regular measure defers to it (its `defers_to`)."""

    about = "nominee"

    def claims(self, entry: StarEntry | ProjectEntry, dossier: Dossier) -> bool:
        return entry.exemplar


@rule
class ExemplarPhotos(_ExemplarItemRule):
    code = "EXEMPLAR_PHOTOS"
    item = ITEM_PHOTOS
    severity = Severity.ERROR
    title_zh = "典范照片数量"
    message_zh = "典范 {name} 照片 {count} 张，要求 {required} 张（常规 {normal} 张另加 {extra} 张相关照片）"
    hint_zh = "典范除常规材料外还须报送 {extra} 张相关电子照片，合计 {required} 张"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        extra = campaign.exemplar.extra_photos
        for subject, name, photos, _, kind in _exemplars(dossier):
            normal = campaign.star.photos if kind == "star" else campaign.project.photos
            low, high = normal.min + extra.min, normal.max + extra.max
            if low <= len(photos) <= high:
                continue
            yield self.finding(
                subject,
                nominee=name,
                name=name,
                count=len(photos),
                required=format_count_range(low, high),
                normal=format_count_range(normal.min, normal.max),
                extra=format_count_range(extra.min, extra.max),
                evidence={"files": [p.path for p in photos]},
            )


def _spec_text(spec: VideoSpec) -> str:
    parts = ["/".join(c.upper() for c in spec.containers) + " 格式"]
    if spec.codec:
        parts.append(f"编码 {'H.264' if spec.codec.lower() == 'h264' else spec.codec}")
    if spec.width and spec.height:
        parts.append(f"分辨率 {spec.width}×{spec.height}")
    if spec.fps:
        parts.append(f"帧率 {format_fps(spec.fps)}")
    parts.append(f"时长 {format_duration_range(spec.min_seconds, spec.max_seconds)}")
    return "，".join(parts)


@rule
class ExemplarVideoMissing(_ExemplarItemRule):
    code = "EXEMPLAR_VIDEO_MISSING"
    item = ITEM_VIDEO
    severity = Severity.ERROR
    title_zh = "典范缺少视频"
    message_zh = "未收到典范 {name} 的音像视频资料"
    hint_zh = "典范必须报送视频资料（{spec}），重点介绍突出事迹或典型案例"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        if not campaign.exemplar.video.required:
            return
        for subject, name, _, videos, _ in _exemplars(dossier):
            if not videos:  # an unreadable video was still sent: FILE_UNREADABLE says why
                yield self.finding(subject, nominee=name, name=name, spec=_spec_text(campaign.exemplar.video))


@rule
class ExemplarVideoSpec(_ExemplarItemRule):
    code = "EXEMPLAR_VIDEO_SPEC"
    item = ITEM_VIDEO
    reason_zh = "不符合典范视频要求"
    severity = Severity.ERROR
    title_zh = "典范视频技术要求"
    message_zh = "典范 {name} 的视频 {file} 不符合技术要求：{problems}"
    hint_zh = "请按技术要求重新导出视频：{spec}"

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        spec, tol = campaign.exemplar.video, campaign.tolerances
        for subject, name, _, videos, _ in _exemplars(dossier):
            checked = [(v, video_shortfalls(v.video, spec, tol, v.path)) for v in videos if v.video is not None]
            if any(not s for _, s in checked):
                continue
            for video, shortfalls in checked:
                yield self.finding(
                    subject,
                    nominee=name,
                    name=name,
                    file=video.path,
                    problems="；".join(s.zh() for s in shortfalls),
                    spec=_spec_text(spec),
                    evidence={"file": video.path, "shortfalls": [s.as_dict() for s in shortfalls]},
                )
