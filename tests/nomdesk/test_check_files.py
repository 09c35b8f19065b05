"""`nomdesk check` on a complete package with one odd file in a nominee's folder: each is used or reported.

RULES.md "Matching files to nominees": a file is never silently dropped. A damaged file
in a nominee's folder is FILE_UNREADABLE (not quietly left out of the nominee's
material), a damaged Office file is never unpacked as if it were an archive, and a star's
own long story is the star's material, not an unplaceable file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from config import Campaign
from tests.support.dossiers import STAR_NAMES
from tests.support.packages import Extra, build_folder, check_json, complete_city_package

ROOT = "延边州推荐材料"


def _check(campaign: Campaign, tmp_path: Path, *extras: Extra) -> dict[str, Any]:
    spec = dataclasses.replace(complete_city_package(campaign), extras=list(extras))
    result = check_json([build_folder(spec, tmp_path / "package")], campaign)
    assert result is not None
    return result


def _about(result: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [f for f in result["findings"] if name in f["subject"]]


def test_damaged_files_in_a_nominees_folder_are_reported(campaign: Campaign, tmp_path: Path) -> None:
    folder = f"百姓学习之星/{STAR_NAMES[0]}"
    names = {
        f"{STAR_NAMES[0]}证件照（新）.jpg": "图片",
        f"{STAR_NAMES[0]}推荐表（盖章）.docx": "Word 文档",
        "视频.mp4": "视频",
    }
    result = _check(campaign, tmp_path, *(Extra("noise", f"{folder}/{name}") for name in names))
    for name, claimed in names.items():
        (finding,) = _about(result, name)
        assert finding["code"] == "FILE_UNREADABLE" and finding["severity"] == "error"
        assert f"扩展名为 .{name.rsplit('.', 1)[1]}，但内容不是" in finding["message_zh"]
        assert claimed in finding["message_zh"]
    assert {f["code"] for f in result["findings"]} == {"FILE_UNREADABLE"}


def test_office_file_without_content_types_is_one_unreadable_file(campaign: Campaign, tmp_path: Path) -> None:
    name = f"{STAR_NAMES[1]}推荐表（修改）.docx"
    result = _check(campaign, tmp_path, Extra("docx_without_content_types", f"百姓学习之星/{STAR_NAMES[1]}/{name}"))
    (finding,) = _about(result, name)
    assert finding["code"] == "FILE_UNREADABLE"
    assert finding["subject"].endswith(name)  # the file itself, none of its parts (word/document.xml ...)
    assert [f["code"] for f in result["findings"]] == ["FILE_UNREADABLE"]


def test_a_stars_own_story_is_the_stars_material(campaign: Campaign, tmp_path: Path) -> None:
    name = f"{STAR_NAMES[0]}事迹材料.docx"
    result = _check(campaign, tmp_path, Extra("story", f"百姓学习之星/{STAR_NAMES[0]}/{name}"))
    assert result["findings"] == []


def test_cover_letters_and_contents_lists_are_the_units_documents(campaign: Campaign, tmp_path: Path) -> None:
    """FORMS.md "Other materials": listed as the unit's, never FILE_UNMATCHED."""
    letter = "关于推荐2021年百姓学习之星和终身学习品牌项目的函.docx"
    contents = "材料清单.txt"
    scan = "附表2登记表盖章扫描件.jpg"
    result = _check(campaign, tmp_path, Extra("cover_letter", letter), Extra("text", contents), Extra("photo", scan))
    assert result["findings"] == [], result["findings"]
    assert sorted(p.rsplit("/", 1)[-1] for p in result["unit_documents"]) == sorted([letter, contents, scan])
    placed = {f["path"].rsplit("/", 1)[-1]: f["outcome"] for f in result["submissions"][0]["files"]}
    assert placed[letter] == placed[contents] == placed[scan] == "unit_document"


def test_operating_system_leftovers_are_counted_as_ignored_and_nothing_else(campaign: Campaign, tmp_path: Path) -> None:
    leftovers = ["__MACOSX/._金哲洙证件照.jpg", ".DS_Store", "百姓学习之星/Thumbs.db"]
    result = _check(campaign, tmp_path, *(Extra("text", path) for path in leftovers))
    assert result["findings"] == [], result["findings"]
    ignored = result["submissions"][0]["ignored"]
    assert len(ignored) == len(leftovers), ignored
    every_file = [f["path"] for s in result["submissions"] for f in s["files"]]
    assert not any("DS_Store" in p or "Thumbs" in p or "MACOSX" in p for p in every_file)
