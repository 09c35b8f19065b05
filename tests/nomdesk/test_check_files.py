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
