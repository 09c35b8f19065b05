"""The mail the desk keeps for a file the office attached is written to disk as a stream, and is
the very mail the standard library would have written (headers, RFC 2231 file name, 76-character
base64 lines), only with its own boundary and Message-ID; the pipeline reads the file back whole."""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import time
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from intake.mail import read_mail
from intake.withdrawal import ACTOR_HEADER, actor_label
from nomdesk.accept import BASE64_BLOCK, _desk_note, office_file_mail, scratch_dir

NOW = dt.datetime(2021, 8, 21, 6, 0, tzinfo=dt.UTC)
NAME = "金哲洙_长白山研学活动照片（第一批）.jpg"  # long and Chinese: an RFC 2231 continued name
ARGS = {"actor": "office:wu", "origin": "https://pan.example/s/1", "mail_from": "desk@jl.example", "now": NOW}


def library_mail(unit: str, filename: str, data: bytes) -> bytes:
    """How the desk wrote this mail before, with EmailMessage holding the file: the reference."""
    msg = _desk_note(f"办公室补充附件：{filename}", mail_from=ARGS["mail_from"], domain="jl.example", now=NOW)
    msg[ACTOR_HEADER] = actor_label(ARGS["actor"])
    msg.set_content(f"{ARGS['actor']} 为 {unit} 补充的附件：{filename}\n来源：{ARGS['origin']}\n", cte="base64")
    msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
    assert isinstance(msg, EmailMessage)
    return msg.as_bytes()


def same_but_ids(raw: bytes) -> bytes:
    raw = re.sub(rb"===============\d+==", b"BOUNDARY", raw)
    return re.sub(rb"Message-ID: <[^>]+>", b"Message-ID: <ID>", raw)


@pytest.mark.parametrize("size", [0, 1, 56, 57, 58, BASE64_BLOCK - 1, BASE64_BLOCK, BASE64_BLOCK + 1, 3_000_001])
def test_the_streamed_mail_is_the_librarys_mail(size: int, tmp_path: Path) -> None:
    data = random.Random(size).randbytes(size)
    source = tmp_path / "file.bin"
    source.write_bytes(data)
    reference = same_but_ids(library_mail("延边州", NAME, data))
    for given in (data, source):  # bytes (WeCom, tests) or a file (a fetched link, an upload)
        path = office_file_mail("延边州", NAME, given, domain="jl.example", dest_dir=tmp_path, **ARGS)
        assert path.parent == tmp_path
        assert same_but_ids(path.read_bytes()) == reference
        path.unlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]


def test_the_pipeline_reads_the_file_back(tmp_path: Path) -> None:
    data = random.Random(7).randbytes(2_500_000)
    path = office_file_mail("延边州", NAME, data, domain="jl.example", dest_dir=tmp_path, **ARGS)
    content = read_mail(path, tmp_path / "read", ZoneInfo("Asia/Shanghai"))
    [attached] = content.attachments
    assert attached.name == NAME and attached.local.read_bytes() == data
    assert content.subject == f"办公室补充附件：{NAME}"
    assert "office:wu 为 延边州 补充的附件" in content.body_text


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        office_file_mail("延边州", NAME, tmp_path / "gone.bin", domain="jl.example", dest_dir=tmp_path, **ARGS)
    assert list(tmp_path.iterdir()) == []


def test_the_scratch_folder_drops_what_a_killed_process_left(tmp_path: Path) -> None:
    scratch = scratch_dir(tmp_path / "work")
    left, fresh = scratch / "fetch-old.part", scratch / "fetch-now.part"
    left.write_bytes(b"half a video")
    fresh.write_bytes(b"being written")
    os.utime(left, (time.time() - 7 * 3600,) * 2)
    assert scratch_dir(tmp_path / "work") == scratch
    assert sorted(p.name for p in scratch.iterdir()) == ["fetch-now.part"]
