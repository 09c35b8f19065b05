"""The reply as a mail client sees it: threaded, automatic, Chinese intact."""

from __future__ import annotations

import email.utils
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

from notify.autoreply import reply_suppression
from notify.mail import build_reply, reply_subject, write_eml

TEXT = "延边州教育局：\n\n已收到贵单位的推荐材料。百姓学习之星 金哲洙 缺少证件照。\n"
HTML = "<p>已收到贵单位的推荐材料。</p>"


def make(**kw):
    args = dict(
        from_addr="吉林省学习周办公室 <desk@jledu.gov.cn>",
        to=["yanbian@example.cn"],
        subject="回复：Re: 延边州推荐材料",
        text=TEXT,
        html=HTML,
        in_reply_to="<orig@example.cn>",
        references=["<first@example.cn>"],
        message_id_domain="jledu.gov.cn",
    )
    args.update(kw)
    return build_reply(**args)


def test_headers_threading_and_body_round_trip() -> None:
    raw = make(attachments=[("检查结果.xlsx", b"PK\x03\x04data", "application/vnd.ms-excel")]).as_bytes()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert all(b < 0x80 for b in raw), "7-bit clean for relays without 8BITMIME"
    msg = BytesParser(policy=default).parsebytes(raw)
    assert msg["Subject"] == "Re: 延边州推荐材料"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["In-Reply-To"] == "<orig@example.cn>"
    assert msg["References"].split() == ["<first@example.cn>", "<orig@example.cn>"]
    assert msg["Message-ID"].endswith("@jledu.gov.cn>")
    assert email.utils.parsedate_to_datetime(msg["Date"]).tzinfo is not None
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == TEXT  # canonical CRLF
    assert msg.get_body(("html",)).get_content().strip() == HTML
    attachment = next(msg.iter_attachments())
    assert attachment.get_filename() == "检查结果.xlsx"
    assert attachment.get_content() == b"PK\x03\x04data"
    # Our own reply, coming back to us, must never be answered.
    assert reply_suppression(msg, own_addresses={"desk@jledu.gov.cn"}, own_msgid_domains={"jledu.gov.cn"}) is not None


def test_subject_prefix_once() -> None:
    assert reply_subject("延边州推荐材料") == "Re: 延边州推荐材料"
    assert reply_subject("RE: re:回复： 材料") == "Re: 材料"


def test_no_html_and_first_message_in_thread() -> None:
    msg = BytesParser(policy=default).parsebytes(make(html=None, in_reply_to=None, references=[]).as_bytes())
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content().replace("\r\n", "\n") == TEXT
    assert msg["In-Reply-To"] is None and msg["References"] is None


def test_write_eml(tmp_path: Path) -> None:
    msg = make()
    path = write_eml(msg, tmp_path / "outbox")
    assert path.suffix == ".eml"
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert BytesParser(policy=default).parsebytes(path.read_bytes())["Message-ID"] == msg["Message-ID"]
