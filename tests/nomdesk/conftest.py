"""Fixtures of the desk's tests: a real IMAP server (Dovecot) and SMTP sink (aiosmtpd) on loopback,
one of each per test module, and the NOMDESK_* settings that point the desk at them; and an
in-process desk over a new store on a fake clock (`desk`, `clock`), for tests a module does not
need to set up its own way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from storage.repo import Store
from tests.support.clock import Clock
from tests.support.dovecot import Dovecot
from tests.support.smtp import SmtpSink

DESK_START = dt.datetime(2021, 8, 21, 6, 0, tzinfo=dt.UTC)  # within the 2021 call, before its deadline


@pytest.fixture
def clock() -> Clock:
    return Clock(DESK_START)


@pytest.fixture
def desk(tmp_path: Path, campaign: Campaign, clock: Clock) -> Iterator[Desk]:
    """A desk over a new store in tmp_path/var, its units synced; 20 replies an hour per address."""
    data = tmp_path / "var"
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        yield Desk(Settings(data_dir=data, reply_rate_per_hour=20), campaign, store, clock=clock)


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
