"""A package sent as a multi-volume archive, through `nomdesk check --json` (the contract).

The package is the yanbian sample's own attachment, made into 7z volumes (7z + 7-Zip's cut),
an Info-ZIP span (.z01 + .zip) and a raw cut of its zip (.001, .002): once joined, the check must
say what the sample's own check says. A set lacking a volume says which one, by file name.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pytest

from config import Campaign
from nomdesk.check import check_paths
from notify.compose import compose_reply
from tests.support.packages import check_json, run_nomdesk
from tests.support.volumes import SAMPLE, STEM, raw_split_zip, seven_zip_volumes, volume_mail, zip_span

ARCHIVE = f"{STEM}.7z"


@pytest.fixture(scope="module")
def mails(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("volume-mails")
    seven = seven_zip_volumes(2)
    return {
        "first": volume_mail(seven[:1], "延边州推荐材料（1/2）", folder / "1.eml"),
        "second": volume_mail(seven[1:], "延边州推荐材料（2/2）", folder / "2.eml"),
        "both": volume_mail(seven, "延边州推荐材料", folder / "both.eml"),
        "span": volume_mail(zip_span("1m"), "延边州推荐材料", folder / "span.eml"),
        "raw": volume_mail(raw_split_zip(2), "延边州推荐材料", folder / "raw.eml"),
    }


@pytest.fixture(scope="module")
def sample(campaign: Campaign) -> dict[str, Any]:
    result = check_json([SAMPLE], campaign)
    assert result is not None
    return result


def _nominees(result: dict[str, Any]) -> tuple[list[tuple[str, bool, str | None]], ...]:
    """Each nominee with its exemplar mark and its form's name (without the archive it came in)."""

    def one(entry: dict[str, Any]) -> tuple[str, bool, str | None]:
        form = entry["form"].rsplit("/", 1)[-1] if entry["form"] else None
        return entry["name"], entry["exemplar"], form

    return sorted(map(one, result["stars"])), sorted(map(one, result["projects"]))


def _photo_counts(result: dict[str, Any]) -> dict[str, int]:
    return {e["name"]: len(e["photos"]) for e in result["stars"] + result["projects"]}


def _errors(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["code"], f["message_zh"]) for f in result["findings"] if f["severity"] == "error"]


def _volume_lines(result: dict[str, Any], submission: int) -> dict[str, str]:
    files = result["submissions"][submission]["files"]
    return {f["path"]: f["reason"] for f in files if f["outcome"] == "volume"}


def _same_as_sample(result: dict[str, Any], sample: dict[str, Any]) -> None:
    assert _errors(result) == []
    assert _nominees(result) == _nominees(sample)
    assert _photo_counts(result) == _photo_counts(sample)
    assert sorted(f["code"] for f in result["findings"]) == sorted(f["code"] for f in sample["findings"])


def test_7z_volumes_over_two_mails_are_joined(mails: dict[str, Path], sample: dict[str, Any]) -> None:
    run = run_nomdesk("check", mails["first"], mails["second"], "--json")
    assert run.code == 0, run.stdout[-2000:] + run.stderr
    result = run.json
    _same_as_sample(result, sample)
    assert len(result["stars"]) == 8 and len(result["projects"]) == 5
    # the receipt says what each volume did: the first waited, the second completed the set
    assert _volume_lines(result, 0) == {
        f"{ARCHIVE}.001": f"分卷压缩包 {ARCHIVE} 的第 1 卷（共 2 卷），等待 {ARCHIVE}.002"
    }
    assert _volume_lines(result, 1) == {f"{ARCHIVE}.002": f"分卷已合并解压（{ARCHIVE}，共 2 卷）"}
    forms = [e["form"] for e in result["stars"]]
    assert all(f and f.startswith(f"{ARCHIVE}/") for f in forms), forms


def test_both_volumes_in_one_mail_are_joined(
    mails: dict[str, Path], sample: dict[str, Any], campaign: Campaign
) -> None:
    result = check_json([mails["both"]], campaign)
    assert result is not None
    _same_as_sample(result, sample)
    assert set(_volume_lines(result, 0).values()) == {f"分卷已合并解压（{ARCHIVE}，共 2 卷）"}


def test_the_first_mail_alone_names_the_missing_volume(mails: dict[str, Path], campaign: Campaign) -> None:
    result = check_json([mails["first"]], campaign)
    assert result is not None
    [missing] = [f for f in result["findings"] if f["code"] == "ARCHIVE_PART_MISSING"]
    assert missing["severity"] == "error"
    assert missing["message_zh"] == f"压缩包 {ARCHIVE} 缺少分卷：{ARCHIVE}.002"
    assert "补发缺少的分卷" in missing["hint_zh"]
    # the reply leads with the missing volume: no "damaged", "unsupported" or "no table" beside it
    assert [code for code, _ in _errors(result)] == ["ARCHIVE_PART_MISSING"]
    codes = {f["code"] for f in result["findings"]}
    assert not codes & {"FILE_UNREADABLE", "FILE_UNSUPPORTED", "FILE_UNMATCHED", "REGISTER_MISSING"}
    assert _volume_lines(result, 0) == {
        f"{ARCHIVE}.001": f"分卷压缩包 {ARCHIVE} 的第 1 卷（共 2 卷），等待 {ARCHIVE}.002"
    }


def test_the_second_mail_alone_names_the_first_volume(mails: dict[str, Path], campaign: Campaign) -> None:
    result = check_json([mails["second"]], campaign)
    assert result is not None
    [missing] = [f for f in result["findings"] if f["code"] == "ARCHIVE_PART_MISSING"]
    assert f"{ARCHIVE}.001" in missing["message_zh"]
    assert [code for code, _ in _errors(result)] == ["ARCHIVE_PART_MISSING"]


def test_a_spanned_zip_is_joined(mails: dict[str, Path], sample: dict[str, Any], campaign: Campaign) -> None:
    result = check_json([mails["span"]], campaign)
    assert result is not None
    _same_as_sample(result, sample)
    assert sorted(_volume_lines(result, 0)) == [f"{STEM}.z01", f"{STEM}.zip"]


def test_a_raw_cut_of_a_zip_is_joined(mails: dict[str, Path], sample: dict[str, Any], campaign: Campaign) -> None:
    result = check_json([mails["raw"]], campaign)
    assert result is not None
    _same_as_sample(result, sample)
    assert set(_volume_lines(result, 0).values()) == {f"分卷已合并解压（{STEM}.zip，共 2 卷）"}


def test_the_reply_to_the_first_mail_asks_for_the_second_volume(mails: dict[str, Path], campaign: Campaign) -> None:
    """What the unit reads: the volume waiting in the receipt, and the one problem, the missing volume."""
    with tempfile.TemporaryDirectory() as workdir:
        result = check_paths([mails["first"]], campaign, workdir=Path(workdir))
    assert result is not None
    reply = compose_reply(result.dossier, result.findings, campaign, now=dt.datetime(2021, 8, 21, 8, tzinfo=dt.UTC))
    text = reply.text
    assert f"{ARCHIVE}.001：分卷压缩包 {ARCHIVE} 的第 1 卷（共 2 卷），等待 {ARCHIVE}.002" in text
    problems = text.split("需要处理的问题", 1)[1]
    first_problem = next(line for line in problems.splitlines() if line.strip().startswith("- "))
    assert first_problem.strip() == f"- [必须修改] 压缩包 {ARCHIVE} 缺少分卷：{ARCHIVE}.002"
    assert "重新导出" not in text and "未收到" not in text
