"""Mail intake: headers, Chinese file names in every encoding senders use, bodies, nesting, TNEF."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections import Counter
from pathlib import Path

import pytest

from config import Campaign
from intake.models import Submission
from intake.source import SourceUnreadable, read_source
from tests.conftest import SHARED
from tests.support.archives import truncated, zip_bytes
from tests.support.mail import (
    attachment,
    build_mail,
    filename_rfc2047,
    filename_rfc2231,
    message_part,
    tnef_bytes,
)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def read_mail_file(tmp_path: Path, raw: bytes, campaign: Campaign, index: int = 0) -> Submission:
    src = tmp_path / "1.eml"
    src.write_bytes(raw)
    work = tmp_path / "work"
    work.mkdir()
    return read_source(src, work, campaign, index)


def names(sub: Submission) -> list[str]:
    return sorted(f.path for f in sub.files)


def test_headers(tmp_path: Path, campaign: Campaign) -> None:
    raw = build_mail([attachment(JPEG, b'"a.jpg"')], subject="延边州教育局报送推荐材料")
    sub = read_mail_file(tmp_path, raw, campaign, index=3)
    assert sub.sender == "ybjyj_zcjy@163.com"
    assert sub.sender_name == "伍凤霞"
    assert sub.subject == "延边州教育局报送推荐材料"
    assert sub.message_id == "<test.0001@163.com>"
    assert sub.arrived_at == dt.datetime(2021, 8, 21, 6, 20, tzinfo=dt.UTC)
    assert sub.arrived_at.utcoffset() == dt.timedelta(hours=8)
    assert sub.index == 3 and sub.files[0].submission == 3
    assert sub.body_text == "吴老师：\n您好！推荐材料见附件。"


def test_date_falls_back_to_newest_received(tmp_path: Path, campaign: Campaign) -> None:
    received = [
        "from mx.126.com by imap; Mon, 30 Aug 2021 23:59:00 +0800",
        "from qq.com by mx.126.com; Mon, 30 Aug 2021 23:58:00 +0800",
    ]
    sub = read_mail_file(tmp_path, build_mail([], date=None, received=received), campaign)
    assert sub.arrived_at == dt.datetime(2021, 8, 30, 23, 59, tzinfo=campaign.tz)


@pytest.mark.parametrize(
    ("filename", "rfc2231"),
    [
        (filename_rfc2047("王喆推荐表.docx"), False),  # UTF-8 encoded word
        (filename_rfc2047("王喆推荐表.docx", "gb2312", "gb18030"), False),  # GBK-only 喆 labelled gb2312
        (filename_rfc2047("王喆推荐表.docx", "GBK"), False),
        (filename_rfc2231("王喆推荐表.docx"), True),
        (filename_rfc2231("王喆推荐表.docx", "gb2312", "gb18030"), True),
        (b'"' + "王喆推荐表.docx".encode("gbk") + b'"', False),  # raw 8-bit GBK bytes in the header
        (b'"' + "王喆推荐表.docx".encode() + b'"', False),  # raw 8-bit UTF-8
    ],
)
def test_chinese_attachment_names(tmp_path: Path, campaign: Campaign, filename: bytes, rfc2231: bool) -> None:
    raw = build_mail([attachment(JPEG, filename, rfc2231=rfc2231)])
    sub = read_mail_file(tmp_path, raw, campaign)
    assert names(sub) == ["王喆推荐表.docx"]


def test_rfc2231_continuations(tmp_path: Path, campaign: Campaign) -> None:
    part = attachment(JPEG, b"x")
    part.headers = part.headers.replace(
        b"filename=x",
        b"filename*0*=UTF-8''%E5%BB%B6%E8%BE%B9;\r\n\tfilename*1*=%E5%B7%9E.zip",
    )
    sub = read_mail_file(tmp_path, build_mail([part]), campaign)
    assert [(f.path, f.sniffed) for f in sub.files] == [("延边州.zip", "jpeg")]  # a photo misnamed .zip


def test_missing_file_name_is_named_from_the_content(tmp_path: Path, campaign: Campaign) -> None:
    parts = [attachment(PDF, None, content_type="application/pdf"), attachment(JPEG, None)]
    sub = read_mail_file(tmp_path, build_mail(parts), campaign)
    assert [(f.path.rsplit(".", 1)[-1], f.sniffed) for f in sub.files] == [("pdf", "pdf"), ("jpg", "jpeg")]
    assert all(f.path.startswith("附件") for f in sub.files)


def test_attachment_bytes_are_exact(tmp_path: Path, campaign: Campaign) -> None:
    blob = os.urandom(300_000)
    text = b"line one\r\n--not-a-boundary\r\n----=_Part_mixed_0001x\r\nend"
    parts = [
        attachment(blob, b'"video.bin"'),
        attachment(text, b'"notes.txt"', content_type="text/plain", cte="quoted-printable"),
        attachment(text, b'"raw.txt"', content_type="text/plain", cte="8bit"),
    ]
    sub = read_mail_file(tmp_path, build_mail(parts), campaign)
    by_name = {f.path: f for f in sub.files}
    assert hashlib.sha256(by_name["video.bin"].local.read_bytes()).digest() == hashlib.sha256(blob).digest()
    assert by_name["video.bin"].size == len(blob)
    assert by_name["notes.txt"].local.read_bytes() == text
    assert by_name["raw.txt"].local.read_bytes() == text


def test_html_only_body_is_stripped(tmp_path: Path, campaign: Campaign) -> None:
    raw = build_mail([], text="", html="<html><body><div>吴老师：</div><div>材料见附件&nbsp;谢谢</div></body></html>")
    sub = read_mail_file(tmp_path, raw, campaign)
    assert sub.body_text == "吴老师：\n材料见附件 谢谢"


def test_forwarded_message_attachments_count(tmp_path: Path, campaign: Campaign) -> None:
    inner = build_mail([attachment(JPEG, filename_rfc2047("金哲洙证件照.jpg"))], subject="原邮件")
    raw = build_mail([message_part(inner), attachment(PDF, b'"b.pdf"')], subject="转发")
    sub = read_mail_file(tmp_path, raw, campaign)
    assert names(sub) == ["b.pdf", "金哲洙证件照.jpg"]
    assert sub.subject == "转发"


def test_winmail_dat_is_opened(tmp_path: Path, campaign: Campaign) -> None:
    dat = tnef_bytes({"朴英子推荐表.docx": b"not really docx", "生活照.jpg": JPEG})
    raw = build_mail([attachment(dat, b'"winmail.dat"', content_type="application/ms-tnef")])
    sub = read_mail_file(tmp_path, raw, campaign)
    assert names(sub) == ["朴英子推荐表.docx", "生活照.jpg"]
    jpeg = next(f for f in sub.files if f.path == "生活照.jpg")
    assert jpeg.local.read_bytes() == JPEG and jpeg.sniffed == "jpeg"


def test_one_bad_attachment_does_not_hide_the_rest(tmp_path: Path, campaign: Campaign) -> None:
    bad = truncated(zip_bytes({"a.jpg": JPEG * 20, "b.jpg": JPEG * 20}))
    good = zip_bytes({"材料/证件照.jpg": JPEG})
    raw = build_mail(
        [
            attachment(bad, filename_rfc2047("坏.zip")),
            attachment(good, filename_rfc2047("好.zip")),
            attachment(PDF, b'"c.pdf"'),
        ]
    )
    sub = read_mail_file(tmp_path, raw, campaign)
    assert names(sub) == ["c.pdf", "好.zip/材料/证件照.jpg"]
    assert [(p.code, p.path) for p in sub.problems] == [("FILE_UNREADABLE", "坏.zip")]


def test_same_name_twice_stays_two_files(tmp_path: Path, campaign: Campaign) -> None:
    raw = build_mail([attachment(JPEG, b'"photo.jpg"'), attachment(JPEG + b"2", b'"photo.jpg"')])
    sub = read_mail_file(tmp_path, raw, campaign)
    assert names(sub) == ["photo (2).jpg", "photo.jpg"]


def test_a_mail_with_nothing_readable_raises(tmp_path: Path, campaign: Campaign) -> None:
    with pytest.raises(SourceUnreadable):
        read_source(tmp_path / "missing.eml", tmp_path, campaign)
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    with pytest.raises(SourceUnreadable):
        read_source(empty, tmp_path, campaign)


SAMPLES = SHARED / "samples"


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="sample packages not present")
@pytest.mark.parametrize(
    ("sample", "counts", "a_file"),
    [
        (
            "yanbian_complete",
            {"xlsx": 2, "docx": 18, "jpeg": 47, "mp4": 6},
            "延边州2021年百姓学习之星和终身学习品牌项目推荐材料.zip/延边州推荐材料/百姓学习之星/金哲洙/金哲洙证件照.jpg",
        ),
        (
            "changbaishan_missing",
            {"xlsx": 2, "docx": 16, "jpeg": 46, "mp4": 5},
            "长白山管委会推荐材料.zip/长白山推荐材料/附表4 终身学习品牌项目推荐登记表.xlsx",
        ),
    ],
)
def test_sample_mails(tmp_path: Path, campaign: Campaign, sample: str, counts: dict, a_file: str) -> None:
    sub = read_source(SAMPLES / sample / "1.eml", tmp_path, campaign)
    assert Counter(f.sniffed for f in sub.files) == counts
    assert a_file in names(sub)
    assert sub.problems == [] and sub.links == []
    assert sub.arrived_at is not None and sub.arrived_at.tzinfo is not None
    assert all(f.local.stat().st_size == f.size > 0 for f in sub.files)
    xlsx = [f for f in sub.files if f.sniffed == "xlsx"]
    assert all(f.local.suffix == ".xlsx" for f in xlsx)


@pytest.mark.parametrize("block", [5, 64, 1000])
def test_boundaries_split_across_read_blocks(
    tmp_path: Path, campaign: Campaign, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """The reader scans fixed-size blocks; a delimiter cut by a block's end must still be found."""
    import intake.mail

    monkeypatch.setattr(intake.mail, "BLOCK", block)
    blob = os.urandom(5000)
    text = b"--\r\n--x\r\n\r\n--\r\nend\r\n"
    inner = build_mail([attachment(JPEG, b'"inner.jpg"')])
    parts = [
        attachment(blob, b'"a.bin"'),
        attachment(text, b'"b.txt"', content_type="text/plain", cte="8bit"),
        message_part(inner),
        attachment(PDF, b'"c.pdf"', cte="quoted-printable"),
    ]
    sub = read_mail_file(tmp_path, build_mail(parts, html="<p>正文</p>"), campaign)
    by_name = {f.path: f.local.read_bytes() for f in sub.files}
    assert by_name == {"a.bin": blob, "b.txt": text, "inner.jpg": JPEG, "c.pdf": PDF}
    # the outer body first, then the forwarded message's
    assert sub.body_text == "吴老师：\n您好！推荐材料见附件。\n\n吴老师：\n您好！推荐材料见附件。"


def test_the_fast_delimiter_search_finds_what_find_finds() -> None:
    """The dash-first search that keeps big base64 bodies fast must agree with bytes.find."""
    import random

    from intake.mail import _find_delimiter

    rng = random.Random(2021)
    for _ in range(20000):
        data = bytes(rng.choice(b"ab\r\n-") for _ in range(rng.randint(0, 40)))
        start = rng.randint(0, len(data))
        assert _find_delimiter(data, start) == data.find(b"\n--", start), (data, start)


@pytest.mark.parametrize("block", [7, 300, 1 << 16])
def test_base64_bodies_in_any_line_layout_give_the_exact_bytes(
    tmp_path: Path, campaign: Campaign, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Big attachments decode whole lines without a cleaning copy; lines that are not whole
    4-character groups, bare LFs, stray spaces and padding must still give the exact bytes."""
    import base64
    import dataclasses
    import random

    import intake.mail

    monkeypatch.setattr(intake.mail, "BLOCK", block)
    rng = random.Random(block)
    blob = os.urandom(20_000)
    encoded = base64.b64encode(blob)

    def layout(width: int, eol: bytes, junk: bytes = b"") -> bytes:
        lines = [encoded[i : i + width] for i in range(0, len(encoded), width)]
        return eol.join(line + (junk if rng.random() < 0.1 else b"") for line in lines)

    def glued() -> bytes:  # two encodings glued (a mailer appending in pieces): "=" mid-stream
        first, second = base64.b64encode(blob[:1001]), base64.b64encode(blob[1001:])
        return first + b"\r\n" + second

    bodies = {
        "76.bin": layout(76, b"\r\n"),
        "75.bin": layout(75, b"\r\n"),
        "lf.bin": layout(64, b"\n"),
        "spaces.bin": layout(73, b"\r\n", junk=b"  "),
        "glued.bin": glued(),
    }
    # each body goes on the wire exactly as laid out here
    parts = [dataclasses.replace(attachment(b"", f'"{name}"'.encode()), body=body) for name, body in bodies.items()]
    sub = read_mail_file(tmp_path, build_mail(parts), campaign)
    got = {f.path: f.local.read_bytes() for f in sub.files}
    assert got == dict.fromkeys(bodies, blob)  # (the standard library stops at the first "=")
