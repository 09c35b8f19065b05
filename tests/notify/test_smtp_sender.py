"""SmtpSender against a real SMTP server (aiosmtpd) that goes down and comes back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import default

import pytest

from notify.mail import build_reply
from notify.smtp import SmtpSender, SmtpUnavailable, next_backoff
from tests.support.smtp import SmtpSink


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def reply(n: int):
    return build_reply(
        from_addr="desk@jledu.gov.cn", to=["yanbian@example.cn"], subject=f"材料{n}", text="已收到。",
        html=None, in_reply_to=None, references=[], message_id_domain="jledu.gov.cn",
    )  # fmt: skip


def test_delivers_down_and_back(sink: SmtpSink) -> None:
    sender = SmtpSender(sink.host, sink.port, timeout=5)
    sender.send(reply(1), ["yanbian@example.cn"])
    sink.stop()
    with pytest.raises(SmtpUnavailable):
        sender.send(reply(2), ["yanbian@example.cn"])
    sink.start()
    sender.send(reply(2), ["yanbian@example.cn"])
    got = sink.received
    assert [e.rcpt_tos for e in got] == [["yanbian@example.cn"]] * 2
    assert got[0].mail_from == "desk@jledu.gov.cn"
    subjects = [BytesParser(policy=default).parsebytes(e.content)["Subject"] for e in got]
    assert subjects == ["Re: 材料1", "Re: 材料2"]


def test_backoff_grows_and_is_capped() -> None:
    delays = [next_backoff(n) for n in range(1, 20)]
    assert delays[0] < delays[3] < delays[6]
    assert max(delays) <= dt.timedelta(hours=1.2)
    assert next_backoff(1) >= dt.timedelta(seconds=24)
