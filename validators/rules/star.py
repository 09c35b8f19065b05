"""Star rules (RULES.md "Star rules"): one nominated person at a time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from config.campaign import Campaign
from intake.forms.fields import STAR_FIELDS
from intake.models import ITEM_FORM, ITEM_PHOTOS, ITEM_VIDEO, Dossier, StarEntry
from validators.base import Finding, Rule, Severity, rule
from validators.measure import (
    format_count_range,
    format_duration_range,
    id_photo_shortfalls,
    photo_ratio,
    video_shortfalls,
)
from validators.requirements import id_photo_words
from validators.rules.common import (
    field_gaps,
    fold,
    missing_fields,
    star_sources,
    star_subject,
)
from validators.rules.exemplar import ExemplarPhotos, ExemplarVideoSpec
from validators.rules.unit import DuplicateNominee


class _StarRule(Rule):
    about = "nominee"
    defers_to = frozenset({DuplicateNominee.code})

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        for star in self.judged(dossier.stars, dossier):
            yield from self.check_star(star, dossier, campaign)

    def check_star(self, star: StarEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        raise NotImplementedError

    def finding_on(self, star: StarEntry, **kwargs) -> Finding:
        return self.finding(star_subject(star.name), nominee=star.name, name=star.name, **kwargs)


@rule
class StarFormMissing(_StarRule):
    code = "STAR_FORM_MISSING"
    defers_to = _StarRule.defers_to | {"ARCHIVE_PART_MISSING"}  # the form may be in a volume still missing
    item = ITEM_FORM
    severity = Severity.ERROR
    title_zh = "缺少百姓学习之星推荐表"
    message_zh = "未收到 {name} 的《百姓学习之星推荐表》（附表1）"
    hint_zh = "请为 {name} 填写附表1（Word），文件名或所在文件夹注明姓名后补报"

    def check_star(self, star: StarEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        if star.form is None:
            yield self.finding_on(star)


@rule
class StarFieldMissing(_StarRule):
    code = "STAR_FIELD_MISSING"
    item = ITEM_FORM
    reason_zh = "必填项未填"
    severity = Severity.ERROR
    title_zh = "百姓学习之星必填项缺失"
    # "{missing}" says which case: left empty (error), or not read off a scan (warning: send the Word form)
    message_zh = "{name} 的{missing}"
    hint_zh = "请{advice}"

    def check_star(self, star: StarEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        missing = missing_fields(star_sources(star), STAR_FIELDS, "附表2")
        for severity, params in field_gaps(missing, "附表2", "附表1", star.form_scanned):
            yield self.finding_on(star, severity=severity, **params)


@rule
class StarPhotoCount(_StarRule):
    code = "STAR_PHOTO_COUNT"
    item = ITEM_PHOTOS
    defers_to = _StarRule.defers_to | {ExemplarPhotos.code}  # an exemplar is held to its own count
    severity = Severity.ERROR
    title_zh = "百姓学习之星照片数量"
    message_zh = "{name} 照片 {count} 张，要求 {required} 张"
    hint_zh = "每人报送照片 {required} 张（电子版），其中一张为{id_photo}"

    def check_star(self, star: StarEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        spec = campaign.star.photos
        count = len(star.photos)  # an unreadable photo was still sent: FILE_UNREADABLE says the rest
        if count in spec:
            return
        yield self.finding_on(
            star,
            severity=Severity.ERROR if count < spec.min else Severity.WARNING,
            count=count,
            required=format_count_range(spec.min, spec.max),
            id_photo=id_photo_words(campaign),
            evidence={"files": [p.path for p in star.photos]},
        )


_ID_PHOTO_NEEDS = {
    "orientation": "不是竖版",
    "ratio": "宽高比不在要求范围内",
    "size": "像素不足",
    "colour": "不是彩色照片",
}


@rule
class StarIdPhoto(_StarRule):
    code = "STAR_ID_PHOTO"
    item = ITEM_PHOTOS
    reason_zh = "缺合格的2寸证件照"
    severity = Severity.ERROR
    title_zh = "缺少2寸免冠彩色证件照"
    message_zh = (
        "{name} 的照片中没有符合要求的2寸免冠彩色证件照：最接近的 {file} 为 {size} 像素，宽高比 {ratio}，{problems}"
    )
    hint_zh = "请补报一张竖版彩色证件照，宽高比 {min_ratio}-{max_ratio}，至少 {min_width}×{min_height} 像素"

    def check_star(self, star: StarEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        spec = campaign.star.id_photo
        readable = [p for p in star.photos if p.photo is not None]
        # Its own measure, not a deferral: it names the photo closest to the spec, so it needs every
        # photo measured. With no photo there is none to name; a photo not read may be the ID photo
        # (FILE_UNREADABLE asks for it again, and the next check decides).
        if not readable or len(readable) < len(star.photos):
            return
        middle = (spec.min_ratio + spec.max_ratio) / 2
        scored = [
            (len(id_photo_shortfalls(p.photo, spec)), abs(photo_ratio(p.photo) - middle), i, p)  # type: ignore[arg-type]
            for i, p in enumerate(readable)
        ]
        fails, _, _, best = min(scored)
        if fails == 0:
            return
        info = best.photo
        assert info is not None
        shortfalls = id_photo_shortfalls(info, spec)
        yield self.finding_on(
            star,
            file=best.path,
            size=f"{info.width}×{info.height}",
            ratio=f"{photo_ratio(info):.2f}",
            problems="，".join(_ID_PHOTO_NEEDS[s.prop] for s in shortfalls),
            min_ratio=f"{spec.min_ratio:.2f}",
            max_ratio=f"{spec.max_ratio:.2f}",
            min_width=spec.min_width,
            min_height=spec.min_height,
            evidence={"file": best.path, "shortfalls": [s.as_dict() for s in shortfalls]},
        )


@rule
class StarVideoSpec(_StarRule):
    code = "STAR_VIDEO_SPEC"
    item = ITEM_VIDEO
    reason_zh = "不符合要求"
    defers_to = _StarRule.defers_to | {ExemplarVideoSpec.code}  # an exemplar's video has its own spec
    severity = Severity.WARNING
    title_zh = "百姓学习之星视频规格"
    message_zh = "{name} 的视频 {file} 不符合要求：{problems}"
    hint_zh = "视频为选报材料；如报送，请使用 {containers} 格式，时长 {duration}"

    def check_star(self, star: StarEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        spec, tol = campaign.star.video, campaign.tolerances
        readable = [v for v in star.videos if v.video is not None]
        checked = [(v, video_shortfalls(v.video, spec, tol, v.path)) for v in readable]  # type: ignore[arg-type]
        if any(not s for _, s in checked):
            return
        for video, shortfalls in checked:
            yield self.finding_on(
                star,
                file=video.path,
                problems="；".join(s.zh() for s in shortfalls),
                containers="/".join(c.upper() for c in spec.containers),
                duration=format_duration_range(spec.min_seconds, spec.max_seconds),
                evidence={"file": video.path, "shortfalls": [s.as_dict() for s in shortfalls]},
            )


@lru_cache(maxsize=16)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


def leader_match(title: str | None, campaign: Campaign) -> str | None:
    """The leader title found in `title`, unless an exclusion covers it (村书记, 科长, 县局局长...)."""
    if not title:
        return None
    excluded = [m.span() for p in _compiled(tuple(campaign.star.leader_exclusions)) for m in p.finditer(title)]
    for pattern in _compiled(tuple(campaign.star.leader_keywords)):
        for m in pattern.finditer(title):
            start, end = m.span()
            if not any(start < e_end and e_start < end for e_start, e_end in excluded):
                return m.group(0)
    return None


@rule
class StarLeader(_StarRule):
    code = "STAR_LEADER"
    severity = Severity.WARNING
    title_zh = "疑似县处级以上领导干部"
    message_zh = "{name} 的工作单位及职务为“{title}”，含“{matched}”，疑似县处级以上领导干部"
    hint_zh = "通知要求除特殊情况外一般不推荐县处级以上领导干部；如确属特殊情况，请在推荐表中说明"

    def check_star(self, star: StarEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        for where, fields in star_sources(star):
            matched = leader_match(fields.employer_title, campaign)
            if matched:
                yield self.finding_on(
                    star,
                    title=fields.employer_title,
                    matched=matched,
                    evidence={"where": where},
                )
                return


@rule
class StarPreviouslyHonored(_StarRule):
    code = "STAR_PREVIOUSLY_HONORED"
    severity = Severity.WARNING
    title_zh = "往年已认定推介"
    message_zh = "{name} 已于 {year} 年被认定推介为百姓学习之星{unit}"
    hint_zh = "往年已被认定推介的原则上不再推荐；如为同名的另一人，请在推荐表中注明身份证号"

    def check_star(self, star: StarEntry, dossier: Dossier, campaign: Campaign) -> Iterator[Finding]:
        ids = {re.sub(r"\s", "", f.id_number).upper() for _, f in star_sources(star) if f.id_number}
        for past in campaign.past_honorees.stars:
            if fold(past.name) != fold(star.name):
                continue
            if past.id_number and ids and re.sub(r"\s", "", past.id_number).upper() not in ids:
                continue
            yield self.finding_on(
                star,
                year=past.year,
                unit=f"（{past.unit}）" if past.unit else "",
                evidence={"past_year": past.year, "past_unit": past.unit},
            )
            return
