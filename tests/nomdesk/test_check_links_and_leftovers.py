"""`nomdesk check --json` on a mail as units send it: a 网易邮箱大师 signature, a 奶牛快传 link carrying
the video, a text note named `.mp4` in the project's folder, and operating-system leftovers.

RULES.md LINK_PENDING (signatures are no material, transfer links are) and "Matching files to
nominees" (the note is FILE_UNREADABLE quoting its first line; leftovers are counted as ignored,
nothing else).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pytest

from config import Campaign
from nomdesk.check import check_paths
from notify.compose import compose_receipt
from tests.support.archives import zip_bytes
from tests.support.mail import attachment, build_mail, filename_rfc2047
from tests.support.packages import (
    YANBIAN_SENDER,
    PackageSpec,
    check_json,
    complete_city_package,
    package_files,
    run_nomdesk,
)

NOTE = "宣传视频正在剪辑中，成片后补报"
COW = "https://cowtransfer.com/s/8a3f2c1d9e4b5a"
SIGNATURE = (
    "https://dashi.163.com/projects/signature-manager/detail/index.html?ftlId=1&name=%E4%BC%8D%E5%87%A4%E9%9C%9E"
    "&uid=YBJYJ_zcjy%40163.com&items=%5B%22%E5%BB%B6%E8%BE%B9%E5%B7%9E%E6%95%99%E8%82%B2%E5%B1%80%22%5D"
)
ZIPPED_LEFTOVERS = {"__MACOSX/._证件照.jpg": b"\x00\x05\x16\x07\x00\x02", ".DS_Store": b"\x00\x00\x00\x01Bud1\x00"}
ATTACHED_LEFTOVERS = {
    "Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
    "desktop.ini": b"[.ShellClassInfo]\r\n",
}


def _spec(campaign: Campaign) -> PackageSpec:
    """The complete package, its first project's video replaced by the unit's note."""
    spec = complete_city_package(campaign)
    spec.projects[0] = dataclasses.replace(spec.projects[0], videos=[])
    return spec


def _note_path(spec: PackageSpec) -> str:
    folder = spec.projects[0].folder
    return f"终身学习品牌项目/{folder}/{folder}宣传视频.mp4"


def _eml(spec: PackageSpec) -> bytes:
    files = package_files(spec)
    files[_note_path(spec)] = f"{NOTE}\r\n".encode("gbk")  # Notepad's ANSI on a Chinese Windows
    files.update(ZIPPED_LEFTOVERS)
    archive = zip_bytes({f"{spec.root}/{path}": data for path, data in files.items()}, encoding="gbk")
    parts = [attachment(archive, filename_rfc2047(spec.zip_name), content_type="application/zip")]
    parts += [attachment(data, filename_rfc2047(name)) for name, data in ATTACHED_LEFTOVERS.items()]
    folder = spec.projects[0].folder
    text = (
        f"吴老师：\n推荐材料见附件。{folder}项目的视频较大，用奶牛快传发送：\n{COW} 取件码：6b2k\n\n"
        f"伍凤霞\n延边州教育局\n{SIGNATURE}\n发自网易邮箱大师"
    )
    html = (
        f"<div>吴老师：</div><div>推荐材料见附件。{folder}项目的视频较大，用奶牛快传发送：</div>"
        f'<div><a href="{COW}">{COW}</a> 取件码：6b2k</div>'
        f'<div><a href="{SIGNATURE.replace("&", "&amp;")}"><table><tr><td>伍凤霞</td></tr>'
        "<tr><td>延边州教育局 附件材料联系人</td></tr></table></a></div>"
        '<div>签名由<a href="https://mail.163.com/dashi/dlpro.html?from=mail81">网易邮箱大师</a>定制</div>'
    )
    return build_mail(parts, subject=spec.subject, sender=f"<{YANBIAN_SENDER}>", date=spec.date, text=text, html=html)


@pytest.fixture(scope="module")
def mail(campaign: Campaign, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("links") / "延边州报送.eml"
    path.write_bytes(_eml(_spec(campaign)))
    return path


@pytest.fixture(scope="module")
def checked(mail: Path) -> dict[str, Any]:
    run = run_nomdesk("check", mail, "--json")
    assert run.code == 1, run.stderr  # the note is an error: the project has no video
    return run.json


def _codes(result: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in result["findings"] if f["code"] == code]


def test_the_transfer_link_is_pending_and_the_signature_is_not(checked: dict[str, Any]) -> None:
    (link,) = _codes(checked, "LINK_PENDING")
    assert link["evidence"]["url"] == COW and link["evidence"]["code"] == "6b2k"
    assert "cowtransfer.com" in link["message_zh"] and "取件码：6b2k" in link["message_zh"]
    assert not any("dashi.163.com" in str(f) or "mail.163.com/dashi" in str(f) for f in checked["findings"])


def test_the_note_named_mp4_is_unreadable_quoting_its_words_for_its_project(
    checked: dict[str, Any], campaign: Campaign
) -> None:
    project = _spec(campaign).projects[0].name
    (note,) = _codes(checked, "FILE_UNREADABLE")
    assert note["subject"].endswith("宣传视频.mp4")
    assert f"扩展名为 .mp4，但内容是一段文字：“{NOTE}”" in note["message_zh"]
    assert note["evidence"]["first_line"] == NOTE and note["evidence"]["nominee"] == project
    placed = next(p for p in checked["submissions"][0]["files"] if p["path"].endswith("宣传视频.mp4"))
    assert (placed["outcome"], placed["nominee"], placed["item"]) == ("unusable", project, "video")
    assert {f["code"] for f in checked["findings"]} == {"LINK_PENDING", "FILE_UNREADABLE", "PROJECT_VIDEO_MISSING"}


def test_leftovers_are_counted_as_ignored_and_nothing_else(checked: dict[str, Any]) -> None:
    ignored = checked["submissions"][0]["ignored"]
    assert sorted(p.rsplit("/", 1)[-1] for p in ignored) == sorted(["._证件照.jpg", ".DS_Store", *ATTACHED_LEFTOVERS])
    files = [p["path"] for p in checked["submissions"][0]["files"]]
    assert not any(name in path for path in files for name in ("Thumbs.db", "desktop.ini", ".DS_Store", "__MACOSX"))
    assert not _codes(checked, "FILE_UNMATCHED") and not _codes(checked, "FILE_UNSUPPORTED")


def test_the_receipt_quotes_the_note_and_counts_the_leftovers(mail: Path, campaign: Campaign) -> None:
    project = _spec(campaign).projects[0].name
    with tempfile.TemporaryDirectory(prefix="nomdesk-test-") as workdir:
        result = check_paths([mail], campaign, workdir=Path(workdir))
    assert result is not None
    text = compose_receipt(result.dossier, result.findings, campaign, now=dt.datetime(2021, 8, 22, tzinfo=dt.UTC)).text
    assert "（另有 4 个系统文件已忽略）" in text
    assert f"宣传视频.mp4：{project} 视频：无法使用（扩展名为 .mp4，但内容是一段文字：“{NOTE}”" in text
    assert any(project in line and "视频 无法打开✗" in line for line in text.splitlines())
    assert COW in text or "cowtransfer.com" in text
    assert "signature-manager" not in text


def test_a_reply_quoting_the_link_leaves_one_thing_to_fetch(mail: Path, campaign: Campaign, tmp_path: Path) -> None:
    reply = tmp_path / "回复.eml"
    quoted = f"吴老师，视频链接如下，请下载。\n\n> 推荐材料见附件，视频用奶牛快传发送：\n> {COW} 取件码：6b2k"
    reply.write_bytes(build_mail([], subject="回复：延边州推荐材料", sender=f"<{YANBIAN_SENDER}>", text=quoted))
    result = check_json([mail, reply], campaign)
    assert result is not None
    assert [f["evidence"]["url"] for f in result["findings"] if f["code"] == "LINK_PENDING"] == [COW]
