"""A unit's submissions merged into one dossier (intake.dossier.build_dossier): every rule of
RULES.md "Resubmissions", checked as the office clerk would see it afterwards — which file is
the nominee's form now, how many photos it has, who is withdrawn.

Submissions are built in code (no archives, no probing): each file is a PackageFile whose
sha256 stands for its bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from config import Campaign
from intake.dossier import build_dossier
from intake.models import (
    ChangeAction,
    Dossier,
    FileKind,
    Outcome,
    PackageFile,
    ProjectEntry,
    ProjectFields,
    RegisterTable,
    StarEntry,
    StarFields,
    StarForm,
    Submission,
    Summary,
)
from intake.unit import UnitResolution
from intake.withdrawal import withdrawal_names

UNIT = "延边朝鲜族自治州教育局"
ROOT = "延边州推荐材料"
KIM, PARK, CHOI = "金哲洙", "朴英子", "崔明浩"
PROJECT = "“海兰江畔”农民夜校"
PROJECT_FOLDER = f"{ROOT}/终身学习品牌项目/海兰江畔农民夜校"


def folder(name: str) -> str:
    return f"{ROOT}/百姓学习之星/{name}"


def sent(path: str, kind: FileKind, sha: str, index: int) -> PackageFile:
    """A file of submission `index`; two files with the same `sha` hold the same bytes."""
    return PackageFile(
        path=path, local=Path("/nonexistent") / path, size=100, sniffed="bin", kind=kind, sha256=sha, submission=index
    )


def stars_table(index: int, *rows: StarFields) -> RegisterTable:
    path = f"{ROOT}/附表2 百姓学习之星推荐登记表（第{index + 1}次）.xlsx"
    return RegisterTable(kind=FileKind.REGISTER_STARS, path=path, submission=index, star_rows=list(rows))


def row(name: str, phone: str = "13843100001") -> StarFields:
    return StarFields(name=name, phone=phone)


def star_form(index: int, name: str, path: str, sha: str) -> tuple[StarForm, PackageFile]:
    form = StarForm(path=path, submission=index, fields=StarFields(name=name))
    return form, sent(path, FileKind.STAR_FORM, sha, index)


def submission(
    index: int,
    *,
    files: Sequence[PackageFile] = (),
    registers: Sequence[RegisterTable] = (),
    forms: Sequence[tuple[StarForm, PackageFile]] = (),
    **extra: object,
) -> Submission:
    return Submission(
        index=index,
        source=f"{index + 1}.eml",
        files=[*files, *(file for _, file in forms)],
        registers=list(registers),
        star_forms=[form for form, _ in forms],
        **extra,
    )


def build(campaign: Campaign, *submissions: Submission) -> Dossier:
    return build_dossier(list(submissions), campaign, UnitResolution(name=UNIT), lambda _remarks, _campaign: False)


def star(dossier: Dossier, name: str) -> StarEntry:
    return next(s for s in dossier.stars if s.name == name)


def photo_paths(entry: StarEntry | ProjectEntry) -> list[str]:
    return [p.path for p in entry.photos]


def first(index: int, *names: str) -> Submission:
    """The first mail: 附表2 listing `names`, each with a form and an ID photo in its folder."""
    return submission(
        index,
        registers=[stars_table(index, *(row(n) for n in names))],
        forms=[star_form(index, n, f"{folder(n)}/{n}推荐表.docx", f"form-{n}") for n in names],
        files=[sent(f"{folder(n)}/{n}证件照.jpg", FileKind.PHOTO, f"id-{n}", index) for n in names],
    )


# -- single items replace -------------------------------------------------------------------


def test_a_later_form_replaces_the_earlier_one(campaign: Campaign) -> None:
    new = f"{ROOT}/补充材料/{KIM}推荐表（修改）.docx"
    dossier = build(campaign, first(0, KIM), submission(1, forms=[star_form(1, KIM, new, "form-2")]))
    assert star(dossier, KIM).form.path == new
    placement = next(p for p in dossier.log[1].placements if p.path == new)
    assert placement.outcome == Outcome.REPLACED
    assert placement.replaced == [f"{folder(KIM)}/{KIM}推荐表.docx"]


def test_a_form_sent_again_with_the_same_bytes_changes_nothing(campaign: Campaign) -> None:
    again = f"{ROOT}/再次发送/{KIM}推荐表.docx"
    dossier = build(campaign, first(0, KIM), submission(1, forms=[star_form(1, KIM, again, f"form-{KIM}")]))
    assert star(dossier, KIM).form.path == f"{folder(KIM)}/{KIM}推荐表.docx"
    assert [p.outcome for p in dossier.log[1].placements] == [Outcome.SAME]


def test_a_later_video_replaces_the_earlier_one(campaign: Campaign) -> None:
    old = sent(f"{folder(KIM)}/事迹视频.mp4", FileKind.VIDEO, "video-1", 0)
    new = sent(f"{folder(KIM)}/事迹视频（剪辑后）.mp4", FileKind.VIDEO, "video-2", 1)
    base = first(0, KIM)
    base.files.append(old)
    dossier = build(campaign, base, submission(1, files=[new]))
    assert [v.path for v in star(dossier, KIM).videos] == [new.path]


def test_a_later_summary_replaces_the_earlier_one_even_when_shorter(campaign: Campaign) -> None:
    """Within one mail the longest summary wins; across mails the later one does."""

    def summary_mail(index: int, path: str, chars: int) -> Submission:
        return Submission(
            index=index,
            source=f"{index + 1}.eml",
            files=[sent(path, FileKind.SUMMARY, f"summary-{index}", index)],
            summaries=[Summary(path=path, submission=index, chars=chars, text_head="海兰江畔农民夜校工作总结")],
        )

    table = RegisterTable(
        kind=FileKind.REGISTER_PROJECTS,
        path=f"{ROOT}/附表4 终身学习品牌项目推荐登记表.xlsx",
        project_rows=[ProjectFields(name=PROJECT)],
    )
    opening = summary_mail(0, f"{PROJECT_FOLDER}/工作总结.docx", 2000)
    opening.registers = [table]
    later = f"{PROJECT_FOLDER}/工作总结（修订）.docx"
    dossier = build(campaign, opening, summary_mail(1, later, 1600))
    (project,) = dossier.projects
    assert project.summary is not None and project.summary.path == later


# -- photos add -----------------------------------------------------------------------------


def test_a_later_photo_joins_the_set(campaign: Campaign) -> None:
    life = sent(f"{ROOT}/补充材料/{KIM}生活照.jpg", FileKind.PHOTO, "life", 1)
    dossier = build(campaign, first(0, KIM), submission(1, files=[life]))
    assert photo_paths(star(dossier, KIM)) == [f"{folder(KIM)}/{KIM}证件照.jpg", life.path]


def test_the_same_photo_bytes_again_are_ignored(campaign: Campaign) -> None:
    again = sent(f"{ROOT}/补充材料/{KIM}照片.jpg", FileKind.PHOTO, f"id-{KIM}", 1)
    dossier = build(campaign, first(0, KIM), submission(1, files=[again]))
    assert photo_paths(star(dossier, KIM)) == [f"{folder(KIM)}/{KIM}证件照.jpg"]
    assert [p.outcome for p in dossier.log[1].placements] == [Outcome.SAME]


def test_a_photo_of_the_same_file_name_replaces_that_photo(campaign: Campaign) -> None:
    opening = first(0, KIM)
    opening.files.append(sent(f"{folder(KIM)}/生活照.jpg", FileKind.PHOTO, "life-1", 0))
    retake = sent(f"{ROOT}/补充材料/{KIM}/生活照.jpg", FileKind.PHOTO, "life-2", 1)
    dossier = build(campaign, opening, submission(1, files=[retake]))
    assert photo_paths(star(dossier, KIM)) == [f"{folder(KIM)}/{KIM}证件照.jpg", retake.path]


# -- registration tables merge by nominee ---------------------------------------------------


def test_a_later_table_updates_the_rows_it_lists_and_withdraws_nobody(campaign: Campaign) -> None:
    later = stars_table(1, row(KIM, phone="13900000000"))
    dossier = build(campaign, first(0, KIM, PARK), submission(1, registers=[later]))
    assert star(dossier, KIM).row.phone == "13900000000"
    assert [s.name for s in dossier.stars] == [KIM, PARK]  # left out, still nominated
    assert star(dossier, PARK).omitted_by == later.path and star(dossier, KIM).omitted_by is None
    assert dossier.withdrawn == []
    assert [r.name for r in dossier.star_register.star_rows] == [KIM, PARK]
    assert dossier.star_register.path == later.path


def test_a_file_sent_before_its_nominees_table_row_is_still_placed(campaign: Campaign) -> None:
    """Not in a star's folder, named only by its file name: placed once a later table names him."""
    early = sent(f"{ROOT}/补充材料/{CHOI}生活照.jpg", FileKind.PHOTO, "choi", 0)
    dossier = build(campaign, submission(0, files=[early]), submission(1, registers=[stars_table(1, row(CHOI))]))
    assert photo_paths(star(dossier, CHOI)) == [early.path]
    assert dossier.unmatched == []


# -- withdrawal is explicit -----------------------------------------------------------------


def test_a_mail_saying_che_hui_withdraws_the_nominee_it_names(campaign: Campaign) -> None:
    late_photo = sent(f"{folder(PARK)}/{PARK}生活照.jpg", FileKind.PHOTO, "park-life", 2)
    dossier = build(
        campaign,
        first(0, KIM, PARK),
        submission(1, withdraw=withdrawal_names(f"撤回 {PARK}", "")),
        submission(2, files=[late_photo]),
    )
    assert [s.name for s in dossier.stars] == [KIM]
    assert [(w.name, w.by, w.submission) for w in dossier.withdrawn] == [(PARK, "unit", 1)]
    assert [p.outcome for p in dossier.log[2].placements] == [Outcome.WITHDRAWN_NOMINEE]


def test_withdrawn_then_restored_comes_back_with_its_files(campaign: Campaign) -> None:
    dossier = build(
        campaign,
        first(0, KIM, PARK),
        submission(1, withdraw=[PARK]),
        submission(2, restore=[PARK], actor="office:clerk"),
    )
    assert [s.name for s in dossier.stars] == [KIM, PARK]
    assert dossier.withdrawn == []
    assert star(dossier, PARK).form.path == f"{folder(PARK)}/{PARK}推荐表.docx"
    assert photo_paths(star(dossier, PARK)) == [f"{folder(PARK)}/{PARK}证件照.jpg"]
    assert [c.action for c in dossier.log[2].changes] == [ChangeAction.RESTORED]
