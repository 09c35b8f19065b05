"""The `nomdesk` command as a user runs it: exit status, the JSON contract, the text report,
the blank forms and a broken campaign file."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from config import Campaign
from config.campaign import DEFAULT_CAMPAIGN
from intake.forms.document import read_document
from intake.models import FileKind, PackageFile
from intake.sniff import sniff
from tests.support.dossiers import PROJECT_NAMES, STAR_NAMES
from tests.support.packages import Video, build_eml, complete_city_package, run_nomdesk

FINDING_KEYS = {"code", "severity", "subject", "message_zh", "hint_zh", "evidence"}


@pytest.fixture(scope="module")
def complete_mail(campaign: Campaign) -> Path:
    return build_eml(complete_city_package(campaign))


@pytest.fixture(scope="module")
def faulty_mail(campaign: Campaign) -> Path:
    """One photo short for the first star, a too-short video for the first project."""
    spec = complete_city_package(campaign)
    spec.stars[0].photos = spec.stars[0].photos[:1]
    folder = spec.projects[0].folder
    spec.projects[0].videos = [Video(campaign.project.video.min_seconds - 60, f"{folder}宣传视频.mp4")]
    return build_eml(spec)


def test_complete_package_exits_0_with_the_json_contract(complete_mail: Path, campaign: Campaign) -> None:
    run = run_nomdesk("check", complete_mail, "--json")
    assert run.code == 0, run.stderr
    out = run.json
    assert out["unit"] == "延边朝鲜族自治州教育局"
    assert [s["name"] for s in out["stars"]] == list(STAR_NAMES[: campaign.quotas.stars.min])
    assert [p["name"] for p in out["projects"]] == list(PROJECT_NAMES[: campaign.quotas.projects.min])
    for entry in (*out["stars"], *out["projects"]):
        assert isinstance(entry["exemplar"], bool)
    assert out["findings"] == []


def test_error_finding_exits_1_and_each_finding_has_the_contract_keys(faulty_mail: Path) -> None:
    run = run_nomdesk("check", faulty_mail, "--json")
    assert run.code == 1, run.stderr
    findings = run.json["findings"]
    assert {f["code"] for f in findings} == {"STAR_PHOTO_COUNT", "PROJECT_VIDEO_SPEC"}
    for f in findings:
        assert set(f) == FINDING_KEYS
        assert f["severity"] in ("error", "warning", "info")
        assert isinstance(f["evidence"], dict)
        assert f["message_zh"] and f["hint_zh"]


def test_warnings_only_exit_0(campaign: Campaign) -> None:
    spec = complete_city_package(campaign)
    spec.stars[0].fields["employer_title"] = "吉林市教育局 局长"
    run = run_nomdesk("check", build_eml(spec), "--json")
    assert [(f["code"], f["severity"]) for f in run.json["findings"]] == [("STAR_LEADER", "warning")]
    assert run.code == 0


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda d: d / "不存在.eml", id="nonexistent"),
        pytest.param(lambda d: _write(d / "空邮件.eml", b""), id="empty"),
        pytest.param(lambda d: _write(d / "材料.zip", os.urandom(4096)), id="garbage"),
        pytest.param(lambda d: _write(d / "材料.zip", b"PK\x03\x04" + b"\0" * 200), id="broken-zip"),
    ],
)
def test_unreadable_input_exits_2(make: Any, tmp_path: Path) -> None:
    path = make(tmp_path)
    run = run_nomdesk("check", path, "--json")
    assert run.code == 2, (run.stdout, run.stderr)
    assert path.name in run.stderr
    assert "unit" not in run.json  # nothing to report but the error


def test_one_unreadable_path_among_readable_ones_still_prints_json(complete_mail: Path, tmp_path: Path) -> None:
    missing = tmp_path / "第二封.eml"
    run = run_nomdesk("check", complete_mail, missing, "--json")
    assert run.code == 1, run.stderr  # the complete package is read, but a mail of the unit could not be
    out = run.json
    assert out["unit"] == "延边朝鲜族自治州教育局"
    assert [u["path"] for u in out["unreadable"]] == [str(missing)]
    unreadable = [f for f in out["findings"] if f["code"] == "FILE_UNREADABLE"]
    assert any(missing.name in f["subject"] and f["severity"] == "error" for f in unreadable), unreadable


def test_text_report_names_every_nominee_and_the_measured_values(faulty_mail: Path, campaign: Campaign) -> None:
    run = run_nomdesk("check", faulty_mail)
    assert run.code == 1, run.stderr
    text = run.stdout
    for name in (*STAR_NAMES[: campaign.quotas.stars.min], *PROJECT_NAMES[: campaign.quotas.projects.min]):
        assert name in text
    findings = run_nomdesk("check", faulty_mail, "--json").json["findings"]
    for f in findings:
        assert f["message_zh"] in text
    # the measured values: one photo, and the video's real duration
    assert re.search(r"照片 1 张", text), text
    seconds = campaign.project.video.min_seconds - 60
    assert f"时长 {seconds // 60}分" in text, text


def test_templates_writes_the_four_blank_forms_the_readers_recognise(tmp_path: Path, campaign: Campaign) -> None:
    run = run_nomdesk("templates", tmp_path / "forms")
    assert run.code == 0, run.stderr
    written = sorted(p.name for p in (tmp_path / "forms").iterdir())
    assert "联系人导入模板.xlsx" in written  # the office's contact sheet (tests/nomdesk/test_contacts.py)
    files = sorted(p for p in (tmp_path / "forms").iterdir() if p.name.startswith("附表"))
    assert [f.name[:3] for f in files] == ["附表1", "附表2", "附表3", "附表4"]
    kinds = []
    for path in files:
        file = PackageFile(path=path.name, local=path, size=path.stat().st_size, sniffed=sniff(path))
        result = read_document(file, tmp_path / "work", campaign)
        assert result.problems == []
        kinds.append(result.kind)
        # blank: no person, no project, no row
        assert all(not f.fields.name for f in (*result.star_forms, *result.project_forms))
        assert all(not t.star_rows and not t.project_rows and not t.missing_columns for t in result.registers)
    assert kinds == [
        FileKind.STAR_FORM,
        FileKind.REGISTER_STARS,
        FileKind.PROJECT_FORM,
        FileKind.REGISTER_PROJECTS,
    ]


def test_bad_campaign_file_names_the_key(complete_mail: Path, tmp_path: Path) -> None:
    text = DEFAULT_CAMPAIGN.read_text("utf-8")
    broken = tmp_path / "campaign.toml"
    broken.write_text(re.sub(r"(?m)^deadline = .*$", "", text, count=1), "utf-8")
    run = run_nomdesk("check", complete_mail, "--json", "--campaign", broken)
    assert run.code == 2
    assert "deadline" in run.stderr

    wrong = tmp_path / "campaign2.toml"
    wrong.write_text(text.replace("min_ratio = 0.65", 'min_ratio = "narrow"', 1), "utf-8")
    run = run_nomdesk("check", complete_mail, "--json", env={**os.environ, "NOMDESK_CAMPAIGN": str(wrong)})
    assert run.code == 2
    assert "star.id_photo.min_ratio" in run.stderr


def test_status_counts_waiting_mails_beside_their_unit_and_lists_them(tmp_path: Path, campaign: Campaign) -> None:
    """梅河口 sent nothing from a registered address, but two mails guessed to be its own wait in
    the 待确认 queue: the table says so on its row, the list below names each with its sender."""
    import datetime as dt
    import uuid

    from storage.repo import Store
    from storage.tables import RawState
    from tests.support.service import nomdesk

    data = tmp_path / "var"
    meihekou = next(u.name for u in campaign.units if u.name.startswith("梅河口市"))
    at = dt.datetime(2021, 8, 25, 9, 0, tzinfo=campaign.tz)
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        ids = []
        for n, summary in enumerate(
            [{"unit_guess": meihekou}, {"claim": {"unit": meihekou, "certain": True, "name": "王芳"}}, {}]
        ):
            head = f"Message-ID: <{uuid.uuid4().hex}@x>\r\nFrom: clerk{n}@mhk.example.cn\r\nSubject: 材料{n}\r\n"
            raw, _ = store.raw.put(
                f"{head}\r\nx".encode(),
                source="cli",
                received_at=at,
            )
            row, _ = store.submissions.add(raw.id, unit_name=None, arrived_at=at, summary=summary)
            store.raw.mark(raw.id, RawState.DONE)
            ids.append(row.id)
    done = nomdesk("status", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    table = ([c.strip() for c in line.split("│")[1:-1]] for line in done.stdout.splitlines())
    rows = {cells[0]: cells for cells in table if cells}
    assert rows[meihekou][2] == "0" and rows[meihekou][-1] == "2 封"
    assert rows[campaign.units[0].name][-1] == ""
    listed = [ln for ln in done.stdout.splitlines() if ln.startswith("待确认单位")]
    assert len(listed) == 3
    assert f"报送 #{ids[1]}" in listed[1] and "clerk1@mhk.example.cn，自称：王芳" in listed[1]
    assert f"推测：{meihekou}" in listed[0] and "推测：无法推测" in listed[2] and "主题：材料2" in listed[2]
    one = nomdesk("status", "梅河口", "--data-dir", data)
    assert one.returncode == 0, one.stderr
    assert f"{meihekou}：尚未收到材料；有 2 封邮件待确认" in one.stdout
