"""One person however her name is written (RULES.md "Matching files to nominees"), end to end.

附表2 writes 阿依古丽·买买提 (GBK's dot); her folder, file names and 附表1 write 阿依古丽・买买提
(GB2312 decoding), another dot form, a full stop or full-width spaces. `nomdesk check --json`
must file every one of her files under the one nominee of the register (photos counted, form
found), count 8 stars and not 9, and report nothing. 王丹 and 王丹丹 keep their own photos.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from config import Campaign
from tests.support.media import make_photo
from tests.support.name_forms import (
    ETHNIC,
    ethnic_names_package,
    registered_name,
    twin_names_package,
    utf8_zip_eml,
)
from tests.support.packages import PackageSpec, build_eml, build_folder, check_json, mail_date, run_nomdesk

# The dots (or spaces) the two people's folders, files and forms use, one pair per package.
DOT_PAIRS = [
    ("\u2022", "\u2027"),  # • ‧
    ("\uff65", "\u2219"),  # ･ ∙
    (".", "\u3000"),  # a full stop between the parts; a full-width space
    ("\u3000", " "),  # a full-width space; a half-width space
]


def _star(result: dict[str, Any], name: str) -> dict[str, Any]:
    matches = [s for s in result["stars"] if s["name"] == name]
    assert len(matches) == 1, [s["name"] for s in result["stars"]]
    return matches[0]


def _assert_one_person_each(result: dict[str, Any], spec: PackageSpec, dots: tuple[str, str]) -> None:
    assert len(result["stars"]) == len(spec.stars) == 8, [s["name"] for s in result["stars"]]
    assert result["findings"] == [], [(f["code"], f["subject"], f["message_zh"]) for f in result["findings"]]
    for (_, parts), dot in zip(ETHNIC, dots, strict=True):
        star = _star(result, registered_name(parts))  # shown as the register wrote it
        written = dot.join(parts)
        assert star["registered"] is True
        assert star["form"] and star["form"].endswith(f"{written}/{written}推荐表.docx")
        assert len(star["photos"]) == len(spec.star(written).photos) >= 2
        assert all(f"/{written}/" in p for p in star["photos"])


def test_names_written_with_the_gb2312_dot_are_the_registered_people_through_the_cli(
    tmp_path: Path, campaign: Campaign
) -> None:
    """The issue's package: ・ (U+30FB) in folders, files and forms, · in 附表2, as one mail."""
    dots = ("\u30fb", "\u30fb")
    spec = ethnic_names_package(campaign, dots)
    run = run_nomdesk("check", utf8_zip_eml(spec, tmp_path / "1.eml"), "--json")
    _assert_one_person_each(run.json, spec, dots)
    assert run.code == 0, run.stderr


@pytest.mark.parametrize("dots", DOT_PAIRS, ids=lambda d: "+".join(f"U{ord(c):04X}" for c in d))
def test_every_dot_form_and_spacing_is_the_registered_person(
    tmp_path: Path, campaign: Campaign, dots: tuple[str, str]
) -> None:
    spec = ethnic_names_package(campaign, dots)
    result = check_json([build_folder(spec, tmp_path / "package")], campaign)
    assert result is not None
    _assert_one_person_each(result, spec, dots)


def _star_photos(result: dict[str, Any], name: str) -> list[str]:
    return [p.rsplit("/", 2)[-2] + "/" + p.rsplit("/", 1)[-1] for p in _star(result, name)["photos"]]


def test_wang_dan_and_wang_dandan_keep_their_own_photos(tmp_path: Path, campaign: Campaign) -> None:
    spec = twin_names_package(campaign)
    root = build_folder(spec, tmp_path / "package")
    # Flat file names beside the folders: each goes to the longest name it holds.
    (root / spec.root / "王丹丹生活照2.jpg").write_bytes(make_photo(640, 480, text="DD").read_bytes())
    (root / spec.root / "王丹生活照2.jpg").write_bytes(make_photo(640, 480, text="D").read_bytes())
    result = check_json([root], campaign)
    assert result is not None
    assert len(result["stars"]) == 8
    assert sorted(_star_photos(result, "王丹")) == [
        "延边州推荐材料/王丹生活照2.jpg",
        "王丹/王丹生活照1.jpg",
        "王丹/王丹证件照.jpg",
    ]
    assert sorted(_star_photos(result, "王丹丹")) == [
        "延边州推荐材料/王丹丹生活照2.jpg",
        "王丹丹/王丹丹生活照1.jpg",
        "王丹丹/王丹丹证件照.jpg",
    ]
    assert _star(result, "王丹")["form"].endswith("王丹/王丹推荐表.docx")
    assert _star(result, "王丹丹")["form"].endswith("王丹丹/王丹丹推荐表.docx")
    assert "FILE_UNMATCHED" not in {f["code"] for f in result["findings"]}


def test_a_longer_name_nobody_registered_is_not_the_shorter_names(tmp_path: Path, campaign: Campaign) -> None:
    """Only 王丹 is nominated: a folder 王丹丹/ and a photo 王丹丹生活照.jpg are another person's,
    never counted as 王丹's photos (the folder under 百姓学习之星 names a nominee the register lacks)."""
    spec = twin_names_package(campaign, both=False)
    root = build_folder(spec, tmp_path / "package")
    folder = root / spec.root / "百姓学习之星" / "王丹丹"
    folder.mkdir(parents=True)
    (folder / "照片1.jpg").write_bytes(make_photo(640, 480).read_bytes())
    (root / spec.root / "王丹丹生活照.jpg").write_bytes(make_photo(640, 480, text="X").read_bytes())
    result = check_json([root], campaign)
    assert result is not None
    assert sorted(_star_photos(result, "王丹")) == ["王丹/王丹生活照1.jpg", "王丹/王丹证件照.jpg"]
    assert _star(result, "王丹丹")["registered"] is False
    unmatched = [f["subject"] for f in result["findings"] if f["code"] == "FILE_UNMATCHED"]
    assert unmatched == ["附件 延边州推荐材料/王丹丹生活照.jpg"]


def test_a_withdrawal_by_mail_with_a_space_for_the_dot_withdraws_the_one_person(
    tmp_path: Path, campaign: Campaign
) -> None:
    """ "撤回 迪丽娜尔 阿不都": one registered person, not 迪丽娜尔 and 阿不都 (nobody)."""
    first = ethnic_names_package(campaign, ("\u30fb", "\u30fb"))
    second = dataclasses.replace(
        first,
        subject="撤回 迪丽娜尔 阿不都",
        body="您好，我单位撤回该推荐人选。",
        date=mail_date(dt.datetime.combine(campaign.deadline - dt.timedelta(days=2), dt.time(10, 0))),
        stars=[],
        projects=[],
        star_register=False,
        project_register=False,
        zip_name="延边州撤回说明.zip",
    )
    result = check_json([utf8_zip_eml(first, tmp_path / "1.eml"), build_eml(second)], campaign)
    assert result is not None
    assert result["withdrawn"] == [{"name": "迪丽娜尔·阿不都", "kind": "star", "by": "unit"}]
    assert "迪丽娜尔·阿不都" not in [s["name"] for s in result["stars"]]
    assert "阿依古丽·买买提" in [s["name"] for s in result["stars"]]
