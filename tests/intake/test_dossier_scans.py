"""Stamped scans of forms in the merge (intake.dossier): a Word form is the form whatever the
order it came in, a scan alone is the form, every scan is listed under its nominee, and a scan
beside a Word form replaces nothing and is never "无法归属".

Scans come as OCR hands them on (`scanned=True`), built by hand (tests.support.scanned_forms).
"""

from __future__ import annotations

import pytest

from config import Campaign
from intake.dossier import UNREAD_SCAN_REASON
from intake.models import Dossier, Outcome, Placement, ProjectEntry, StarEntry
from tests.support.dossiers import PROJECT_NAMES, STAR_NAMES
from tests.support.scanned_forms import build, mail, scan_of, scan_path, submission_of, with_forms, word_form
from validators import run_rules

KIM = STAR_NAMES[0]
PROJECT = PROJECT_NAMES[0]


def star(dossier: Dossier, name: str = KIM) -> StarEntry:
    return next(s for s in dossier.stars if s.name == name)


def project(dossier: Dossier, name: str = PROJECT) -> ProjectEntry:
    return next(p for p in dossier.projects if p.name == name)


def placement(dossier: Dossier, path: str) -> Placement:
    (found,) = [p for log in dossier.log for p in log.placements if p.path == path]
    return found


def codes(dossier: Dossier, campaign: Campaign) -> list[str]:
    return [f.code for f in run_rules(dossier, campaign)]


def test_a_scan_alone_is_the_form(campaign: Campaign) -> None:
    sub = submission_of(campaign, scanned_only={KIM: (), PROJECT: ()})
    dossier = build(campaign, sub)
    for entry in (star(dossier), project(dossier)):
        assert entry.form is not None and entry.form.scanned
        assert entry.scans == [entry.form.path]
        filed = placement(dossier, entry.form.path)
        assert (filed.outcome, filed.nominee, filed.item, filed.scan) == (Outcome.FILED, entry.name, "form", True)
    assert codes(dossier, campaign) == []  # no STAR_FORM_MISSING / PROJECT_FORM_MISSING, nothing unmatched


def test_a_later_scan_leaves_the_word_form_the_form(campaign: Campaign) -> None:
    word = word_form(campaign, KIM)
    scan = scan_of(word, f"补充/{KIM}推荐表盖章件.pdf", 1, unread=("phone",))
    dossier = build(campaign, submission_of(campaign), with_forms(mail(1), scan))
    entry = star(dossier)
    assert entry.form is not None and entry.form.path == word.path and not entry.form.scanned
    assert entry.scans == [scan.path]
    filed = placement(dossier, scan.path)
    assert (filed.outcome, filed.nominee, filed.item, filed.scan) == (Outcome.FILED, KIM, None, True)
    assert filed.replaced == []
    assert dossier.log[1].changes == []  # no replacement, no new nominee
    # the scan's unread phone is no gap: the Word form is what is checked
    assert codes(dossier, campaign) == []


def test_a_later_word_form_replaces_a_scan(campaign: Campaign) -> None:
    first = submission_of(campaign, scanned_only={KIM: ("phone",)})
    scan = next(f for f in first.star_forms if f.scanned)
    word = word_form(campaign, KIM).model_copy(update={"path": f"补充/{KIM}推荐表.docx", "submission": 1})
    dossier = build(campaign, first, with_forms(mail(1), word))
    entry = star(dossier)
    assert entry.form is not None and entry.form.path == word.path and not entry.form.scanned
    assert entry.scans == [scan.path]  # still the nominee's stamped scan
    replacing = placement(dossier, word.path)
    assert (replacing.outcome, replacing.replaced, replacing.scan) == (Outcome.REPLACED, [scan.path], False)
    assert codes(dossier, campaign) == []  # the scan's unread phone no longer matters


@pytest.mark.parametrize("scan_first", [True, False], ids=["scan-first", "word-first"])
def test_in_one_mail_the_word_form_wins_whatever_the_order(campaign: Campaign, scan_first: bool) -> None:
    sub = submission_of(campaign)
    word = next(f for f in sub.star_forms if f.fields.name == KIM)
    scan = scan_of(word, scan_path(word), 0, unread=("birth", "phone"))
    dossier = build(campaign, with_forms(sub, scan, first=scan_first))
    entry = star(dossier)
    assert entry.form is not None and entry.form.path == word.path
    assert entry.scans == [scan.path]
    assert placement(dossier, word.path).outcome == Outcome.FILED
    beside = placement(dossier, scan.path)
    assert (beside.outcome, beside.item, beside.scan, beside.replaced) == (Outcome.FILED, None, True, [])
    assert dossier.unmatched == [] and codes(dossier, campaign) == []


def test_a_project_scan_beside_its_word_form(campaign: Campaign) -> None:
    sub = submission_of(campaign)
    word = next(f for f in sub.project_forms if f.fields.name == PROJECT)
    scan = scan_of(word, scan_path(word), 0, unread=("leader", "founded", "founded_parsed"))
    dossier = build(campaign, with_forms(sub, scan, first=True))
    entry = project(dossier)
    assert entry.form is not None and entry.form.path == word.path and entry.scans == [scan.path]
    assert codes(dossier, campaign) == []


def test_a_scan_goes_by_its_path_when_ocr_misread_the_name(campaign: Campaign) -> None:
    """金哲洙 read as 金哲沫: the scan in 金哲洙's folder is hers, and nobody new is nominated."""
    word = word_form(campaign, KIM)
    misread = scan_of(word, scan_path(word), 1)
    misread.fields.name = KIM[:-1] + "沫"
    unnamed = scan_of(word, scan_path(word).replace("盖章", "盖章第2页"), 1, unread=("name",))
    dossier = build(campaign, submission_of(campaign), with_forms(mail(1), misread, unnamed))
    assert [s.name for s in dossier.stars] == list(STAR_NAMES[: campaign.quotas.stars.min])
    assert star(dossier).scans == [misread.path, unnamed.path]
    assert {placement(dossier, p).nominee for p in star(dossier).scans} == {KIM}
    assert codes(dossier, campaign) == []


def test_a_scan_sent_again_changes_nothing(campaign: Campaign) -> None:
    first = submission_of(campaign, scanned_only={KIM: ()})
    scan = next(f for f in first.star_forms if f.scanned)
    again = scan.model_copy(update={"path": f"再次发送/{KIM}推荐表扫描件.pdf", "submission": 1})
    dossier = build(campaign, first, with_forms(mail(1), again, sha=f"0:{scan.path}"))
    assert star(dossier).form.path == scan.path  # type: ignore[union-attr]
    assert placement(dossier, again.path).outcome == Outcome.SAME
    assert star(dossier).scans == [scan.path, again.path]


def test_a_scan_naming_nobody_is_unplaced_and_says_why(campaign: Campaign) -> None:
    scan = scan_of(word_form(campaign, KIM), "扫描件/scan0001.pdf", 1, unread=("name",))
    dossier = build(campaign, submission_of(campaign), with_forms(mail(1), scan))
    unplaced = placement(dossier, scan.path)
    assert (unplaced.outcome, unplaced.reason) == (Outcome.UNPLACED, UNREAD_SCAN_REASON)
    assert "扫描件中未能识别出姓名" in UNREAD_SCAN_REASON
    assert [f.path for f in dossier.unmatched] == [scan.path]
    assert star(dossier).scans == []
    assert codes(dossier, campaign) == ["FILE_UNMATCHED"]
