"""A mail that breaks the pipeline is kept, quarantined for a person, and nobody is left uninformed."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

import nomdesk.desk as desk_module
from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from nomdesk.failures import QUARANTINE_AFTER
from notify.outbox import OutboxWorker
from storage.repo import Store
from storage.tables import RawState
from tests.support.clock import Clock
from tests.support.service import body_text, mail, nomdesk, parse, sha256

SENDER = "ybjyj_zcjy@163.com"  # a registered contact of 延边州
T0 = dt.datetime(2021, 8, 20, 9, 0, tzinfo=dt.UTC)


def test_a_mail_that_breaks_the_pipeline_is_quarantined_told_and_retried(
    tmp_path: Path, campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "var"
    raw = mail(SENDER, subject="延边州推荐材料", message_id="<broken.1@163.com>")
    path = tmp_path / "1.eml"
    path.write_bytes(raw)
    store = Store.open(data)
    try:
        store.directory.sync_units(campaign)
        clock = Clock(T0)
        desk = Desk(Settings(data_dir=data), campaign, store, clock=clock)
        real_read = desk_module.read_submission

        def broken_read(*args, **kwargs):
            raise RuntimeError("reader bug 13800138000")  # a phone number: must not reach the office unmasked

        monkeypatch.setattr(desk_module, "read_submission", broken_read)
        record = desk.ingest_file(path)
        for _ in range(QUARANTINE_AFTER - 1):  # tried again later first: it may have been a race
            desk.process_pending()
            row = store.raw.get(record.id)
            assert row.state == RawState.NEW and row.retry_at > clock.now and not store.outbox.all()
            assert desk.process_pending() == 0  # not before its time
            clock.now = row.retry_at
        desk.process_pending()  # the third deterministic failure
        assert store.raw.get(record.id).state == RawState.QUARANTINED
        assert (data / "store" / store.raw.get(record.id).store_path).read_bytes() == raw  # nothing lost
        OutboxWorker(store, smtp=None, outbox_dir=data / "outbox", clock=desk.clock).run_once()
        sent = [parse(p.read_bytes()) for p in sorted((data / "outbox").glob("*.eml"))]
        by_to = {str(m["To"]): m for m in sent}
        assert set(by_to) == {campaign.office.email, SENDER}
        office = body_text(by_to[campaign.office.email])
        assert f"#{record.id}" in office and f"nomdesk retry {record.id}" in office and "reader bug" in office
        assert "13800138000" not in office
        ack = by_to[SENDER]
        assert ack["In-Reply-To"] == "<broken.1@163.com>" and "人工处理" in body_text(ack)
        assert "延边" not in body_text(ack)  # says nothing about the dossier it could not read
        monkeypatch.setattr(desk_module, "read_submission", real_read)
    finally:
        store.close()

    # The office sees it waiting, fixes the cause, and retries: the unit then gets its real reply.
    listing = nomdesk("status", "--data-dir", data)
    assert listing.returncode == 0 and f"nomdesk retry {record.id}" in listing.stdout
    retried = nomdesk("retry", str(record.id), "--data-dir", data)
    assert retried.returncode == 0, retried.stderr
    with Store.open(data) as store:
        row = next(r for r in store.raw.all() if r.sha256 == sha256(raw))
        assert row.state == RawState.DONE
        assert store.outbox.by_key(f"reply:{row.id}") is not None


def test_recovery_removes_old_unpacked_packages_but_not_one_in_use(tmp_path: Path, campaign: Campaign) -> None:
    data = tmp_path / "var"
    with Store.open(data) as store:
        desk = Desk(Settings(data_dir=data), campaign, store)
        old = data / "work" / "raw7-killed"
        (old / "videos").mkdir(parents=True)
        (old / "videos" / "big.mp4").write_bytes(b"\0" * 1024)
        os.utime(old, (1_700_000_000, 1_700_000_000))
        in_use = data / "work" / "raw8-reading"
        in_use.mkdir()
        desk.recover()
        assert not old.exists() and in_use.exists()
