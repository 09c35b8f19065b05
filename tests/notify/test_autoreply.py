"""Who gets no automatic reply (RFC 3834), and how often one sender may get one."""

from __future__ import annotations

import datetime as dt
from email.parser import BytesParser
from email.policy import default

import pytest

from notify.autoreply import RateLimiter, deliverable, reply_suppression

OWN = {"nomdesk.126.com"}  # the Message-ID domain only the desk writes
OWN_ADDRS = {"jlqmxx@126.com"}  # the office's mailbox, on a public provider
NORMAL = {
    "From": "延边州教育局 <yanbian@example.cn>",
    "To": "jlqmxx@126.com",
    "Subject": "延边州推荐材料",
    "Message-ID": "<abc@example.cn>",
    "Return-Path": "<yanbian@example.cn>",
}


def test_a_unit_mail_gets_a_reply() -> None:
    raw = b"".join(f"{k}: {v}\r\n".encode() for k, v in NORMAL.items()) + b"\r\nbody\r\n"
    assert (
        reply_suppression(BytesParser(policy=default).parsebytes(raw), own_addresses=OWN_ADDRS, own_msgid_domains=OWN)
        is None
    )
    assert reply_suppression(NORMAL, own_addresses=OWN_ADDRS, own_msgid_domains=OWN) is None
    assert reply_suppression({**NORMAL, "Auto-Submitted": "no"}, own_addresses=OWN_ADDRS, own_msgid_domains=OWN) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Return-Path": "<>"}, "null_return_path"),
        ({"From": "MAILER-DAEMON@mx.example.cn"}, "mailer_daemon"),
        ({"From": "Mail Delivery System <postmaster@example.cn>"}, "mailer_daemon"),
        ({"From": "owner-units@lists.example.cn"}, "list_mail"),
        ({"From": "units-request@lists.example.cn"}, "list_mail"),
        ({"Auto-Submitted": "auto-replied"}, "auto_submitted"),
        ({"Auto-Submitted": "auto-generated; owner-email=x@example.cn"}, "auto_submitted"),
        ({"Precedence": "bulk"}, "precedence_bulk"),
        ({"Precedence": "Junk"}, "precedence_bulk"),
        ({"List-Id": "<units.lists.example.cn>"}, "list_mail"),
        ({"List-Unsubscribe": "<mailto:leave@example.cn>"}, "list_mail"),
        ({"X-Auto-Response-Suppress": "OOF, AutoReply"}, "x_auto_response_suppress"),
        ({"X-Auto-Response-Suppress": "All"}, "x_auto_response_suppress"),
        ({"X-Loop": "jlqmxx@126.com"}, "x_loop"),
        ({"Message-ID": "<reply.1@nomdesk.126.com>"}, "own_message"),
        ({"From": "吉林全民学习 <JLQMXX@126.com>"}, "own_message"),
        ({"Content-Type": 'multipart/report; report-type=delivery-status; boundary="x"'}, "delivery_status_report"),
        ({"From": "undisclosed-recipients:;"}, "no_sender"),
        # robots however their mailer spells them
        ({"From": "系统通知 <noreply+abc123@notice.example.cn>"}, "mailer_daemon"),
        ({"From": "no_reply@edu.example.cn"}, "mailer_daemon"),
        ({"From": "notice-noreply@jl.gov.example.cn"}, "mailer_daemon"),
        ({"From": "DoNotReply.Service@example.cn"}, "mailer_daemon"),
        # a read receipt is the sender's mail client answering, not the sender
        ({"Content-Type": 'multipart/report; report-type=disposition-notification; boundary="r"'}, "machine_report"),
        ({"Content-Type": "message/disposition-notification"}, "machine_report"),
        # an address that cannot go on a To line
        ({"From": "\x00\x00 <x@\x00.cn>"}, "no_sender"),
        ({"From": "张三 <zhang san@example.cn>"}, "no_sender"),
    ],
)
def test_suppressed(change: dict[str, str], reason: str) -> None:
    assert reply_suppression({**NORMAL, **change}, own_addresses=OWN_ADDRS, own_msgid_domains=OWN) == reason


@pytest.mark.parametrize("sender", ["wangnoreplyx@163.com", "ybjyj_zcjy@163.com", "伍凤霞 <wfx.2021+jl@qq.com>"])
def test_people_whose_address_only_looks_odd_get_a_reply(sender: str) -> None:
    assert reply_suppression({**NORMAL, "From": sender}, own_addresses=OWN_ADDRS, own_msgid_domains=OWN) is None


def test_a_contact_on_the_offices_mail_provider_gets_a_reply() -> None:
    # 126.com hosts the office's mailbox and many units' contacts: only the office's own address is "us".
    colleague = {**NORMAL, "From": "长白山教育局 <cbs_jyj@126.com>", "Message-ID": "<1a2b3c@126.com>"}
    assert reply_suppression(colleague, own_addresses=OWN_ADDRS, own_msgid_domains=OWN) is None


def test_no_from_at_all() -> None:
    headers = {k: v for k, v in NORMAL.items() if k != "From"}
    assert reply_suppression(headers, own_addresses=OWN_ADDRS, own_msgid_domains=OWN) == "no_sender"


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("yanbian@example.cn", True),
        ("wfx.2021+jl@qq.com", True),
        ("lihua@wecom.invalid", False),  # the desk's stand-in sender of a WeCom file: exists nowhere
        ("a b@qq.com", False),
        ("wangli@localhost", False),
    ],
)
def test_deliverable(address: str, expected: bool) -> None:
    assert deliverable(address) is expected


def test_rate_limit_per_sliding_hour() -> None:
    now = dt.datetime(2021, 9, 1, 12, 0, tzinfo=dt.UTC)
    recent = [now - dt.timedelta(minutes=m) for m in (5, 20, 40)]
    assert RateLimiter.allowed("a@example.cn", recent, now, per_hour=4)
    assert not RateLimiter.allowed("a@example.cn", recent, now, per_hour=3)
    old = [now - dt.timedelta(minutes=m) for m in (61, 90, 120)]
    assert RateLimiter.allowed("a@example.cn", old, now, per_hour=1)
