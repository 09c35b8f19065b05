"""Fixtures of the desk's service tests: a real IMAP server (Dovecot) and SMTP sink (aiosmtpd) on
loopback, one of each per test module, and the NOMDESK_* settings that point the desk at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.dovecot import Dovecot
from tests.support.smtp import SmtpSink


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with Dovecot() as server:
        yield server


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


def mail_env(dovecot: Dovecot, sink: SmtpSink, folder: str = "INBOX") -> dict[str, str]:
    return {
        "NOMDESK_IMAP_HOST": "127.0.0.1",
        "NOMDESK_IMAP_PORT": str(dovecot.imap_port),
        "NOMDESK_IMAP_USER": dovecot.user,
        "NOMDESK_IMAP_PASSWORD": dovecot.password,
        "NOMDESK_IMAP_FOLDER": folder,
        "NOMDESK_IMAP_TLS": "false",
        "NOMDESK_SMTP_HOST": sink.host,
        "NOMDESK_SMTP_PORT": str(sink.port),
        "NOMDESK_SMTP_STARTTLS": "false",
    }
