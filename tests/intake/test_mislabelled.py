"""A short text note under a media or document name is FILE_UNREADABLE, quoting its first line.

Units send placeholders: `龙山社区大学宣传视频.mp4` holding "宣传视频正在剪辑中，成片后补报".
Read through the real intake (read_submission on a folder) as the desk reads a package.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Campaign
from intake.models import FileProblem, Submission
from intake.package import read_submission

NOTE = "宣传视频正在剪辑中，成片后补报"


def _read(tmp_path: Path, campaign: Campaign, files: dict[str, bytes]) -> Submission:
    folder = tmp_path / "package"
    for rel, data in files.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return read_submission(folder, tmp_path / "work", campaign)


def _problem(sub: Submission, name: str) -> FileProblem | None:
    return next((p for p in sub.problems if p.path.endswith(name)), None)


@pytest.mark.parametrize(
    ("name", "data", "claimed"),
    [
        ("龙山社区大学宣传视频.mp4", f"{NOTE}\r\n联系人：张丽 13904310000\r\n".encode("gbk"), "视频"),
        ("龙山社区大学宣传视频.mp4", ("\ufeff" + NOTE + "\n").encode("utf-8"), "视频"),
        ("龙山社区大学宣传视频.mp4", ("\ufeff" + NOTE).encode("utf-16-le"), "视频"),
        ("金哲洙证件照.jpg", "\n\n  照片 明天 补报  \n".encode("gb18030"), "图片"),
        ("附表1 金哲洙推荐表.docx", "推荐表盖章后补报".encode(), "Word 文档"),
    ],
    ids=["gbk", "utf8-bom", "utf16", "blank-lines-first", "docx"],
)
def test_short_note_under_a_media_or_document_name_is_unreadable_and_quoted(
    tmp_path: Path, campaign: Campaign, name: str, data: bytes, claimed: str
) -> None:
    sub = _read(tmp_path, campaign, {f"终身学习品牌项目/龙山社区大学/{name}": data})
    problem = _problem(sub, name)
    assert problem is not None and problem.code == "FILE_UNREADABLE"
    first = problem.params["first_line"]
    ext = name.rsplit(".", 1)[1]
    assert problem.params["extension"] == ext
    assert problem.reason.startswith(f"扩展名为 .{ext}，但内容是一段文字：“{first}”")
    assert f"不是{' ' if claimed[0].isascii() else ''}{claimed}" in problem.reason
    expected = {"金哲洙证件照.jpg": "照片 明天 补报", "附表1 金哲洙推荐表.docx": "推荐表盖章后补报"}
    assert first == expected.get(name, NOTE)


def test_a_note_named_as_a_summary_is_no_summary(tmp_path: Path, campaign: Campaign) -> None:
    """Read as prose, "工作总结" in its name would make it the project's 10-character summary."""
    sub = _read(tmp_path, campaign, {"龙山社区大学/龙山社区大学工作总结.docx": "工作总结正在修改，稍后补报".encode()})
    assert sub.summaries == []
    problem = _problem(sub, "工作总结.docx")
    assert problem is not None and problem.params["first_line"] == "工作总结正在修改，稍后补报"


def test_a_long_first_line_is_shortened(tmp_path: Path, campaign: Campaign) -> None:
    sub = _read(tmp_path, campaign, {"宣传视频.mp4": ("很" * 200).encode()})
    problem = _problem(sub, "宣传视频.mp4")
    assert problem is not None and problem.params["first_line"] == "很" * 59 + "…"


def test_long_text_under_a_media_name_is_read_as_before(tmp_path: Path, campaign: Campaign) -> None:
    """Several KB of prose is no placeholder: a summary saved with a wrong extension stays a summary."""
    prose = "本项目坚持面向群众开展学习活动，线上线下结合，参与人数逐年增加，成效显著。\n" * 80
    sub = _read(tmp_path, campaign, {"龙山社区大学/龙山社区大学工作总结.mp4": prose.encode()})
    assert _problem(sub, "工作总结.mp4") is None
    assert [s.path.rsplit("/", 1)[-1] for s in sub.summaries] == ["龙山社区大学工作总结.mp4"]


def test_text_files_and_real_media_keep_their_reading(tmp_path: Path, campaign: Campaign) -> None:
    sub = _read(
        tmp_path,
        campaign,
        {"材料清单.txt": "材料清单：推荐表、照片、视频".encode(), "宣传视频.mp4": b"\x00\x01\x02\xff" * 300},
    )
    assert _problem(sub, "材料清单.txt") is None
    damaged = _problem(sub, "宣传视频.mp4")
    assert damaged is not None and damaged.code == "FILE_UNREADABLE"
    assert damaged.reason.startswith("扩展名为 .mp4，但内容不是视频") and "first_line" not in damaged.params
