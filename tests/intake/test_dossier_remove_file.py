"""Taking one file out of a unit's dossier (intake.removals), as a record the desk wrote for the
unit's page asks: the nominee's photo, video or summary, an unplaced file leaves the dossier; a
second request for the same file is reported, not an error; a unit's own mail cannot ask it.

Submissions are built in code (no archives, no probing): each file's sha256 stands for its bytes.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from config import Campaign
from intake.dossier import build_dossier
from intake.models import (
    ITEM_PHOTOS,
    ITEM_SUMMARY,
    ITEM_VIDEO,
    ChangeAction,
    Dossier,
    FileKind,
    FileRef,
    Outcome,
    PackageFile,
    ProjectFields,
    RegisterTable,
    StarEntry,
    StarFields,
    StarForm,
    Submission,
    Summary,
)
from intake.removals import REMOVE_HEADER, read_remove_headers, remove_header
from intake.unit import UnitResolution
from intake.withdrawal import take_actions

UNIT = "延边朝鲜族自治州教育局"
ROOT = "延边州推荐材料"
KIM = "金哲洙"
PROJECT = "“海兰江畔”农民夜校"
PROJECT_FOLDER = f"{ROOT}/终身学习品牌项目/海兰江畔农民夜校"
STAR_FOLDER = f"{ROOT}/百姓学习之星/{KIM}"
ID_PHOTO = f"{STAR_FOLDER}/{KIM}证件照.jpg"
LIFE_PHOTO = f"{STAR_FOLDER}/{KIM}生活照.jpg"
VIDEO = f"{STAR_FOLDER}/事迹视频.mp4"
STRAY = f"{ROOT}/其他/活动照片.jpg"
PAGE = "link:7"


def sent(path: str, kind: FileKind, sha: str, index: int = 0) -> PackageFile:
    return PackageFile(
        path=path, local=Path("/nonexistent") / path, size=100, sniffed="bin", kind=kind, sha256=sha, submission=index
    )


def opening() -> Submission:
    """The unit's first mail: 附表2 and 附表4, the star's form, two photos and a video, the
    project's summary, and a photo no rule can place."""
    summary = f"{PROJECT_FOLDER}/工作总结.docx"
    form = f"{STAR_FOLDER}/{KIM}推荐表.docx"
    return Submission(
        index=0,
        source="raw:1",
        registers=[
            RegisterTable(kind=FileKind.REGISTER_STARS, path=f"{ROOT}/附表2.xlsx", star_rows=[StarFields(name=KIM)]),
            RegisterTable(
                kind=FileKind.REGISTER_PROJECTS, path=f"{ROOT}/附表4.xlsx", project_rows=[ProjectFields(name=PROJECT)]
            ),
        ],
        star_forms=[StarForm(path=form, fields=StarFields(name=KIM))],
        summaries=[Summary(path=summary, chars=2000, text_head="海兰江畔农民夜校工作总结")],
        files=[
            sent(form, FileKind.STAR_FORM, "form"),
            sent(ID_PHOTO, FileKind.PHOTO, "id"),
            sent(LIFE_PHOTO, FileKind.PHOTO, "life"),
            sent(VIDEO, FileKind.VIDEO, "video"),
            sent(summary, FileKind.SUMMARY, "summary"),
            sent(STRAY, FileKind.PHOTO, "stray"),
        ],
    )


def removal(index: int, *refs: FileRef, files: list[PackageFile] | None = None) -> Submission:
    """A record the desk wrote for the unit's page."""
    return Submission(index=index, source=f"raw:{index + 1}", remove=list(refs), files=files or [], actor=PAGE)


def ref(path: str, sha: str | None, source: str = "raw:1") -> FileRef:
    return FileRef(path=path, sha256=sha, source=source)


def build(campaign: Campaign, *subs: Submission) -> Dossier:
    return build_dossier(list(subs), campaign, UnitResolution(name=UNIT), lambda _remarks, _campaign: False)


def star(dossier: Dossier) -> StarEntry:
    return next(s for s in dossier.stars if s.name == KIM)


def test_a_photo_taken_out_leaves_the_nominees_photos(campaign: Campaign) -> None:
    dossier = build(campaign, opening(), removal(1, ref(LIFE_PHOTO, "life")))
    assert [p.path for p in star(dossier).photos] == [ID_PHOTO]
    (change,) = dossier.log[1].changes
    assert (change.action, change.nominee, change.item, change.paths, change.by) == (
        ChangeAction.REMOVED,
        KIM,
        ITEM_PHOTOS,
        [LIFE_PHOTO],
        PAGE,
    )
    assert dossier.log[1].placements == []  # nothing was received


def test_the_video_taken_out_leaves_the_nominee_without_one(campaign: Campaign) -> None:
    dossier = build(campaign, opening(), removal(1, ref(VIDEO, None)))
    assert star(dossier).videos == []
    assert [(c.action, c.item) for c in dossier.log[1].changes] == [(ChangeAction.REMOVED, ITEM_VIDEO)]


def test_the_summary_taken_out_leaves_the_project_without_one(campaign: Campaign) -> None:
    dossier = build(campaign, opening(), removal(1, ref(f"{PROJECT_FOLDER}/工作总结.docx", None)))
    (project,) = dossier.projects
    assert project.summary is None
    assert [(c.nominee, c.item) for c in dossier.log[1].changes] == [(PROJECT, ITEM_SUMMARY)]


def test_an_unplaced_file_taken_out_leaves_the_unplaced_list(campaign: Campaign) -> None:
    before = build(campaign, opening())
    assert [f.path for f in before.unmatched] == [STRAY]
    dossier = build(campaign, opening(), removal(1, ref(STRAY, "stray")))
    assert dossier.unmatched == []
    (change,) = dossier.log[1].changes
    assert (change.nominee, change.where) == (None, "unplaced")


def test_taking_the_same_file_out_twice_is_reported_not_an_error(campaign: Campaign) -> None:
    dossier = build(campaign, opening(), removal(1, ref(LIFE_PHOTO, "life")), removal(2, ref(LIFE_PHOTO, "life")))
    assert [p.path for p in star(dossier).photos] == [ID_PHOTO]
    assert [c.action for c in dossier.log[2].changes] == [ChangeAction.REMOVE_UNKNOWN]
    assert dossier.log[2].changes[0].paths == [LIFE_PHOTO]


def test_other_bytes_under_the_same_name_are_not_taken_out(campaign: Campaign) -> None:
    dossier = build(campaign, opening(), removal(1, ref(LIFE_PHOTO, "other-bytes")))
    assert [p.path for p in star(dossier).photos] == [ID_PHOTO, LIFE_PHOTO]
    assert [c.action for c in dossier.log[1].changes] == [ChangeAction.REMOVE_UNKNOWN]


def test_a_replacement_takes_the_old_file_out_before_filing_the_new_one(campaign: Campaign) -> None:
    new = sent(f"{KIM}_新生活照.jpg", FileKind.PHOTO, "life-2", 1)
    dossier = build(campaign, opening(), removal(1, ref(LIFE_PHOTO, "life"), files=[new]))
    assert [p.path for p in star(dossier).photos] == [ID_PHOTO, new.path]
    (placement,) = dossier.log[1].placements
    assert (placement.outcome, placement.nominee, placement.replaced) == (Outcome.REPLACED, KIM, [LIFE_PHOTO])
    (change,) = dossier.log[1].changes
    assert change.replaced_by == new.path


def test_a_removal_names_its_file_by_a_source_a_void_does_not_renumber(campaign: Campaign) -> None:
    """The source stays the submission's when an earlier one is voided and the indices move."""
    first = opening()
    first.index, first.source = 0, "raw:5"
    for file in first.files:
        file.submission = 0
    dossier = build(campaign, first, removal(1, ref(VIDEO, None, source="raw:5")))
    assert star(dossier).videos == []


def test_only_a_record_the_desk_wrote_can_take_a_file_out() -> None:
    """The header on a unit's own mail is never read; on the desk's record it is."""
    headers = EmailMessage()
    headers[REMOVE_HEADER] = remove_header(ref(f"{STAR_FOLDER}/生活 照（2）.jpg", "life"))
    unit_mail = Submission(index=1, source="raw:2")
    take_actions(unit_mail, None)
    assert unit_mail.remove == []
    desk_record = Submission(index=1, source="raw:2")
    take_actions(desk_record, headers)
    assert desk_record.remove == read_remove_headers(headers)
    assert [(r.path, r.sha256, r.source) for r in desk_record.remove] == [
        (f"{STAR_FOLDER}/生活 照（2）.jpg", "life", "raw:1")
    ]


def test_a_unit_mail_with_the_header_leaves_the_dossier_as_it_was(campaign: Campaign) -> None:
    headers = EmailMessage()
    headers[REMOVE_HEADER] = remove_header(ref(LIFE_PHOTO, "life"))
    mail = Submission(index=1, source="raw:2", remove=[ref(LIFE_PHOTO, "life")])  # as if someone set it
    take_actions(mail, None)  # what the desk does with every mail that is not its own record
    dossier = build(campaign, opening(), mail)
    assert [p.path for p in star(dossier).photos] == [ID_PHOTO, LIFE_PHOTO]


def test_a_replaced_video_is_named_as_replaced(campaign: Campaign) -> None:
    new = sent(f"{KIM}_事迹视频（新）.mp4", FileKind.VIDEO, "video-2", 1)
    dossier = build(campaign, opening(), removal(1, ref(VIDEO, None), files=[new]))
    assert [v.path for v in star(dossier).videos] == [new.path]
    (placement,) = dossier.log[1].placements
    assert (placement.outcome, placement.item, placement.replaced) == (Outcome.REPLACED, ITEM_VIDEO, [VIDEO])
