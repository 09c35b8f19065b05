"""File-level rules (validators/rules/files.py): each problem intake records becomes its own finding.

These rules measure nothing themselves (the safety limits are intake's); what they must get
right is which problem is whose code, and that the finding names the file, why, and the mail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Campaign
from intake.models import ITEM_VIDEO, FileKind, FileProblem, PackageFile
from tests.support.dossiers import add_link, city_dossier
from tests.validators.rule_bounds import fires_once, message, silent

PROBLEM_CODES = {
    "FILE_UNREADABLE": "error",
    "FILE_UNSUPPORTED": "warning",
    "ARCHIVE_ENCRYPTED": "error",
    "ARCHIVE_REJECTED": "error",
    "ARCHIVE_PART_MISSING": "error",
}


@pytest.mark.parametrize(("code", "severity"), PROBLEM_CODES.items())
def test_a_problem_becomes_a_finding_of_its_own_code_only(campaign: Campaign, code: str, severity: str) -> None:
    d = city_dossier(campaign)
    silent(d, campaign, code)
    d.problems = [
        FileProblem(
            code=code, path="材料.zip/视频.mp4", reason="原因甲", params={"limit": 3, "file": "x", "reason": "y"}
        )
    ]
    f = fires_once(d, campaign, code)
    assert f.severity == severity
    assert (f.params["file"], f.params["reason"]) == ("材料.zip/视频.mp4", "原因甲")
    assert f.evidence == {"path": "材料.zip/视频.mp4", "submission": 0, "limit": 3}  # intake's params kept
    assert "材料.zip/视频.mp4" in message(f)
    # the reason is the message's, except where the message already says it ("设有密码，无法解压")
    assert ("原因甲" in message(f)) == (code != "ARCHIVE_ENCRYPTED")
    for other in PROBLEM_CODES.keys() - {code}:
        silent(d, campaign, other)


def test_a_problem_meant_for_a_nominee_is_that_items_problem(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    name = d.stars[0].name
    d.problems = [
        FileProblem(code="FILE_UNREADABLE", path="视频.mp4", reason="文件已损坏", nominee=name, item=ITEM_VIDEO)
    ]
    f = fires_once(d, campaign, "FILE_UNREADABLE")
    assert (f.nominee, f.item) == (name, ITEM_VIDEO)


@pytest.mark.parametrize("mails", [1, 2])
def test_the_mail_is_named_once_there_are_several(campaign: Campaign, mails: int) -> None:
    d = city_dossier(campaign)
    for i in range(1, mails):
        d.submissions.append(d.submissions[0].model_copy(update={"index": i, "subject": f"补充{i}"}))
    d.problems = [FileProblem(code="FILE_UNREADABLE", path="a.zip", reason="不完整", submission=mails - 1)]
    f = fires_once(d, campaign, "FILE_UNREADABLE")
    assert f.params["file"] == ("a.zip" if mails == 1 else f"a.zip（邮件「补充{mails - 1}」中）")


def test_unmatched_file(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    silent(d, campaign, "FILE_UNMATCHED")
    d.unmatched = [
        PackageFile(path="杂项/说明.jpg", local=Path("/nonexistent"), size=1, sniffed="jpeg", kind=FileKind.PHOTO)
    ]
    f = fires_once(d, campaign, "FILE_UNMATCHED")
    assert f.severity == "warning" and f.params["file"] == "杂项/说明.jpg"


@pytest.mark.parametrize(("text", "shown"), [("提取码 abcd", "“提取码 abcd”"), ("  ", "")])
def test_link_pending(campaign: Campaign, text: str, shown: str) -> None:
    d = city_dossier(campaign)
    silent(d, campaign, "LINK_PENDING")
    add_link(d, "https://pan.baidu.com/s/1abc", "pan.baidu.com", text)
    f = fires_once(d, campaign, "LINK_PENDING")
    assert f.severity == "info"
    assert (f.params["host"], f.params["text"]) == ("pan.baidu.com", shown)
    assert f.evidence["url"] == "https://pan.baidu.com/s/1abc"
