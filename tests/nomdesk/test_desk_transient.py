"""A disk or database error that heals is retried with backoff, never quarantined, and the unit is told
nothing until its real receipt; only the third deterministic failure of a mail quarantines it.

Faults are put into the real blob store / reader (a full disk cannot be made on demand here);
the clock is the fake one, so each retry is "later" without sleeping.
"""

from __future__ import annotations

import datetime as dt
import errno
import io
import sqlite3
import threading
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

import nomdesk.desk as desk_module
from config.campaign import Campaign
from config.clock import real_now
from config.settings import Settings
from intake.archive.base import Writer
from nomdesk.desk import Desk
from nomdesk.service import Service
from notify.outbox import OutboxWorker
from storage.repo import Store
from storage.tables import RawMessageRecord, RawState
from tests.support.clock import Clock
from tests.support.mail import attachment, filename_rfc2047
from tests.support.service import body_text, mail, message_id_of, parse, wait_until

SENDER = "ybjyj_zcjy@163.com"  # a registered contact of 延边州
UNIT = "延边朝鲜族自治州教育局"
T0 = dt.datetime(2021, 8, 20, 9, 0, tzinfo=dt.UTC)
ENOSPC = OSError(errno.ENOSPC, "No space left on device")
EACCES = PermissionError(errno.EACCES, "Permission denied")
EIO = OSError(errno.EIO, "Input/output error")


def _mail() -> bytes:
    summary = "延边州推荐材料：工作总结。联系电话 13800138000\n".encode()
    return mail(
        SENDER,
        subject="延边州推荐材料",
        parts=[attachment(summary, filename_rfc2047("工作总结.txt"), content_type="text/plain")],
    )


class Faults:
    """The error each attempt (claim) of the mail meets, in order (None: that one works); once the
    plan is used up, everything works."""

    def __init__(self, plan: list[BaseException | None]) -> None:
        self.plan = list(plan)
        self.attempt = -1

    def next_attempt(self) -> None:
        self.attempt += 1

    def current(self) -> BaseException | None:
        """The error planned for the attempt under way (None before the first claim)."""
        return self.plan[self.attempt] if 0 <= self.attempt < len(self.plan) else None


@pytest.fixture
def desk(tmp_path: Path, campaign: Campaign) -> Iterator[Desk]:
    data = tmp_path / "var"
    store = Store.open(data)
    store.directory.sync_units(campaign)
    try:
        yield Desk(Settings(data_dir=data, retry_notice_after_hours=1), campaign, store, clock=Clock(T0))
    finally:
        store.close()


def _inject(monkeypatch: pytest.MonkeyPatch, desk: Desk, faults: Faults) -> None:
    """Transient faults where the disk is written (the blob store keeping an attachment), the
    others where the mail is read; each claim of the mail is one attempt of the plan."""
    real_claim, real_put, real_read = desk.store.raw.claim_next, desk.store.blobs.put_file, desk_module.read_submission

    def claim(*args, **kwargs):
        row = real_claim(*args, **kwargs)
        if row is not None:
            faults.next_attempt()
        return row

    def put_file(*args, **kwargs):
        if isinstance(error := faults.current(), OSError):
            raise error
        return real_put(*args, **kwargs)

    def read(*args, **kwargs):
        if (error := faults.current()) is not None and not isinstance(error, OSError):
            raise error
        return real_read(*args, **kwargs)

    monkeypatch.setattr(desk.store.raw, "claim_next", claim)
    monkeypatch.setattr(desk.store.blobs, "put_file", put_file)
    monkeypatch.setattr(desk_module, "read_submission", read)


def _sent(desk: Desk) -> list[EmailMessage]:
    out = desk.settings.data_dir / "outbox"
    OutboxWorker(desk.store, smtp=None, outbox_dir=out, clock=desk.clock).run_once()
    return [parse(p.read_bytes()) for p in sorted(out.glob("*.eml"))]


def _retry_later(desk: Desk, raw_id: int) -> RawMessageRecord:
    """The mail is back in the queue, not before its time: move the clock there."""
    row = desk.store.raw.get(raw_id)
    assert row.state == RawState.NEW and row.retry_at is not None and row.retry_at > desk.clock.now
    assert desk.process_pending() == 0  # not claimed early
    desk.clock.now = row.retry_at
    return row


@pytest.mark.parametrize("error", [ENOSPC, EACCES, EIO], ids=["ENOSPC", "EACCES", "EIO"])
def test_a_transient_disk_error_is_retried_and_the_unit_gets_only_its_receipt(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError
) -> None:
    raw = _mail()
    (tmp_path / "1.eml").write_bytes(raw)
    _inject(monkeypatch, desk, Faults([error, error]))
    record = desk.ingest_file(tmp_path / "1.eml")

    waits = []
    for failures in (1, 2):
        assert desk.process_pending() == 1
        row = _retry_later(desk, record.id)
        assert row.transient_failures == failures and error.strerror in row.last_error
        waits.append(row.retry_at)
        assert _sent(desk) == []  # no "人工处理" to the unit, no notice to the office, no receipt yet
    assert waits[1] - waits[0] > dt.timedelta(seconds=50)  # backing off: 30 s, then 60 s

    assert desk.process_pending() == 1  # the disk has room again
    row = desk.store.raw.get(record.id)
    assert row.state == RawState.DONE and row.retry_at is None
    assert not desk.store.audit.entries(action="raw.quarantined")
    (receipt,) = _sent(desk)  # its one, normal receipt
    assert receipt["To"] == SENDER and receipt["In-Reply-To"] == message_id_of(raw)
    text = body_text(receipt)
    assert UNIT in text and "人工处理" not in text and "工作总结" in text
    submission = desk.store.submissions.for_raw(record.id)
    assert [f.path for f in desk.store.submissions.files(submission.id)] == ["工作总结.txt"]  # stored once


def test_only_the_third_deterministic_failure_quarantines_and_transient_ones_do_not_count(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _mail()
    (tmp_path / "1.eml").write_bytes(raw)
    bug = ValueError("reader bug")
    _inject(monkeypatch, desk, Faults([bug, ENOSPC, EIO, bug, EACCES, bug]))
    record = desk.ingest_file(tmp_path / "1.eml")

    for _ in range(5):  # two deterministic failures among three transient ones: tried again
        assert desk.process_pending() == 1
        _retry_later(desk, record.id)
        assert _sent(desk) == []
    assert desk.process_pending() == 1  # the third deterministic failure
    row = desk.store.raw.get(record.id)
    assert row.state == RawState.QUARANTINED and "reader bug" in row.last_error
    assert (row.attempts, row.transient_failures) == (6, 3)
    sent = _sent(desk)
    assert sorted(str(m["To"]) for m in sent) == sorted([desk.campaign.office.email, SENDER])  # each once
    (ack,) = [m for m in sent if m["To"] == SENDER]
    assert "人工处理" in body_text(ack) and ack["In-Reply-To"] == message_id_of(raw)


def test_a_mail_stuck_on_a_disk_error_for_long_is_told_to_the_office_once(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # retry_notice_after_hours=1: 30 s + 1 + 2 + 4 + 8 + 16 min + 30 min passes the hour at the 7th failure.
    (tmp_path / "1.eml").write_bytes(_mail())
    _inject(monkeypatch, desk, Faults([ENOSPC] * 10))
    record = desk.ingest_file(tmp_path / "1.eml")
    started = desk.clock.now
    for failures in range(1, 11):
        desk.process_pending()
        _retry_later(desk, record.id)
        notices = _sent(desk)
        if failures < 7:
            assert notices == []
    assert desk.clock.now - started > dt.timedelta(hours=1)
    (notice,) = notices  # once, not at every failure after
    assert notice["To"] == desk.campaign.office.email
    assert "磁盘或数据库错误" in str(notice["Subject"]) and f"#{record.id}" in str(notice["Subject"])
    text = body_text(notice)
    assert "未隔离" in text and "No space left on device" in text and "13800138000" not in text
    assert desk.store.raw.get(record.id).state == RawState.NEW  # never quarantined

    desk.process_pending()
    assert desk.store.raw.get(record.id).state == RawState.DONE
    assert [m["To"] for m in _sent(desk)] == [desk.campaign.office.email, SENDER]  # then its receipt


def test_a_full_disk_while_unpacking_an_archive_is_no_damaged_archive(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zip reader took every OSError of an entry for damage: the unit was told its file was corrupt."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("工作总结.txt", "延边州推荐材料：工作总结。\n" * 50)
    raw = mail(SENDER, subject="延边州推荐材料", parts=[attachment(buffer.getvalue(), filename_rfc2047("材料.zip"))])
    (tmp_path / "1.eml").write_bytes(raw)
    full = [True]
    real_copy = Writer.copy

    def copy(self, *args, **kwargs):
        if full[0]:
            raise ENOSPC
        return real_copy(self, *args, **kwargs)

    monkeypatch.setattr(Writer, "copy", copy)
    record = desk.ingest_file(tmp_path / "1.eml")
    desk.process_pending()
    row = _retry_later(desk, record.id)
    assert row.transient_failures == 1 and not desk.store.submissions.for_raw(record.id)
    assert _sent(desk) == []
    full[0] = False
    desk.process_pending()
    assert desk.store.raw.get(record.id).state == RawState.DONE
    (receipt,) = _sent(desk)
    text = body_text(receipt)
    assert "损坏" not in text and "工作总结" in text


def test_the_running_pipeline_retries_a_deferred_mail_when_its_time_comes(
    tmp_path: Path, campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing wakes the pipeline for a retry: its regular poll finds the mail once retry_at is past."""
    data = tmp_path / "var"
    settings = Settings(data_dir=data, retry_backoff_seconds=0.3, retry_backoff_max_seconds=0.3)
    service = Service.build(settings, campaign)
    service.poll_interval = 0.1
    service.store.directory.sync_units(campaign)
    failing = threading.Event()
    failing.set()
    real_put = service.store.blobs.put_file

    def put_file(*args, **kwargs):
        if failing.is_set():
            raise ENOSPC
        return real_put(*args, **kwargs)

    (tmp_path / "1.eml").write_bytes(_mail())
    record = service.desk.ingest_file(tmp_path / "1.eml")
    monkeypatch.setattr(service.store.blobs, "put_file", put_file)  # the mail is kept; its files cannot be
    service.start_pipeline()
    try:
        wait_until(lambda: service.store.raw.get(record.id).transient_failures >= 2, 10, 0.05, what="retries")
        failing.clear()  # room on the disk again; no wake() from anyone
        row = wait_until(
            lambda: (r := service.store.raw.get(record.id)).state == RawState.DONE and r, 10, 0.05, what="done"
        )
        assert row.transient_failures >= 2 and not service.store.raw.all(RawState.QUARANTINED)
        assert service.store.outbox.by_key(f"reply:{record.id}") is not None
    finally:
        service.shutdown()


def test_a_transient_error_that_never_heals_is_quarantined_after_the_give_up_limit(
    tmp_path: Path, campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A "transient" error the mail itself causes (an archive entry with mode 000 unpacked in the work
    folder: EACCES every time; injected here, root reads anything) retried every 30 minutes forever.
    retry_give_up_after_hours=2: 30 s + 1 + 2 + 4 + 8 + 16 min + 3 x 30 min passes 2 h at the 9th."""
    data = tmp_path / "var"
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        settings = Settings(data_dir=data, retry_notice_after_hours=1, retry_give_up_after_hours=2)
        desk = Desk(settings, campaign, store, clock=Clock(T0))
        raw = _mail()
        (tmp_path / "1.eml").write_bytes(raw)
        _inject(monkeypatch, desk, Faults([EACCES] * 50))
        record = desk.ingest_file(tmp_path / "1.eml")
        for _ in range(8):
            desk.process_pending()
            _retry_later(desk, record.id)
        assert desk.clock.now - T0 < dt.timedelta(hours=2)
        (stuck,) = _sent(desk)  # the office heard once, after an hour; nothing more yet
        assert "磁盘或数据库错误" in str(stuck["Subject"])

        desk.process_pending()  # the 9th: two hours of it
        row = desk.store.raw.get(record.id)
        assert row.state == RawState.QUARANTINED and row.retry_at is None
        assert row.transient_failures == 8 and "Permission denied" in row.last_error
        sent = [m for m in _sent(desk) if m["Message-ID"] != stuck["Message-ID"]]  # the outbox dir keeps all
        assert sorted(str(m["To"]) for m in sent) == sorted([campaign.office.email, SENDER])
        (notice,) = [m for m in sent if m["To"] == campaign.office.email]
        assert "待人工处理" in str(notice["Subject"]) and "停止自动重试" in body_text(notice)
        (ack,) = [m for m in sent if m["To"] == SENDER]
        assert "人工处理" in body_text(ack) and ack["In-Reply-To"] == message_id_of(raw)
        assert desk.process_pending() == 0  # no more retries


def _pipeline_pass(desk: Desk) -> None:
    """One pass of the service's pipeline loop, which logs a failed step and goes on."""
    try:
        desk.process_pending()
    except Exception:
        desk_module.log.exception("pipeline step failed")


def test_a_failure_the_database_could_not_record_is_no_killed_worker(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database went down while the mail was being processed, so `defer` failed too and the row
    stayed "processing"; the housekeeping's requeue counted those claims as killed workers, and after
    three such outages a single reader hiccup quarantined a good mail."""
    raw = _mail()
    (tmp_path / "1.eml").write_bytes(raw)
    faults = Faults([ENOSPC, EIO, ENOSPC, ValueError("a race with the office"), None])
    _inject(monkeypatch, desk, faults)
    down = [False]
    real_defer = desk.store.raw.defer

    def defer(*args, **kwargs):
        if down[0]:
            raise sqlite3.OperationalError("unable to open database file")
        return real_defer(*args, **kwargs)

    monkeypatch.setattr(desk.store.raw, "defer", defer)
    record = desk.ingest_file(tmp_path / "1.eml")
    for _ in range(3):  # three outages, each while the mail is on a (transient) disk error
        down[0] = True
        _pipeline_pass(desk)
        assert desk.store.raw.get(record.id).state == RawState.PROCESSING  # nothing could be written
        down[0] = False  # the database is back: the pipeline's next pass, then the housekeeping
        _pipeline_pass(desk)
        desk.store.leases.take_back_expired(real_now() + dt.timedelta(hours=1))  # every lease has run out
        desk.clock.now += dt.timedelta(hours=1)
        assert _sent(desk) == []
    assert desk.store.raw.get(record.id).state == RawState.NEW

    _pipeline_pass(desk)  # one deterministic failure: its first, so retried (not its fourth: quarantined)
    assert not desk.store.audit.entries(action="raw.quarantined")
    row = _retry_later(desk, record.id)
    assert "a race with the office" in row.last_error and (row.attempts, row.transient_failures) == (4, 3)
    _pipeline_pass(desk)
    assert desk.store.raw.get(record.id).state == RawState.DONE
    (receipt,) = _sent(desk)  # the receipt, no "人工处理"
    assert receipt["To"] == SENDER and "人工处理" not in body_text(receipt)


def test_a_recheck_that_meets_a_transient_error_is_tried_again_without_a_new_mail(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The office voids a submission; its rebuild meets a locked database. It was marked done anyway,
    so the dossier kept the voided files until the unit's next mail."""
    first = mail(
        SENDER,
        subject="延边州推荐材料",
        parts=[attachment("延边州工作总结\n".encode(), filename_rfc2047("工作总结.txt"), content_type="text/plain")],
    )
    second = mail(
        SENDER,
        subject="补充",
        parts=[attachment("冒名材料\n".encode(), filename_rfc2047("补充说明.txt"), content_type="text/plain")],
    )
    raws = []
    for n, raw in enumerate((first, second)):
        (tmp_path / f"{n}.eml").write_bytes(raw)
        raws.append(desk.ingest_file(tmp_path / f"{n}.eml"))
        desk.process_pending()
    assert desk.store.evaluations.dossier_version(UNIT, 2).raw_ids == [r.id for r in raws]
    real_save, saves = desk.store.evaluations.save, []

    def save(*args, **kwargs):
        saves.append(desk.clock.now)
        if len(saves) == 1:
            raise sqlite3.OperationalError("database is locked")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(desk.store.evaluations, "save", save)
    desk.void(desk.store.submissions.for_raw(raws[1].id).id, actor="office", reason="冒用联系人邮箱")
    assert desk.process_pending() == 0  # failed: not counted, so the pipeline loop waits its poll
    assert [unit for unit, _ in desk.store.state.rechecks()] == [UNIT]  # still requested
    assert desk.process_pending() == 0 and len(saves) == 1  # not again before its backoff: no hot loop

    desk.clock.now += dt.timedelta(minutes=1)  # the next poll after the backoff
    assert desk.process_pending() == 1
    assert desk.store.state.rechecks() == []
    assert desk.store.evaluations.dossier_version(UNIT, 3).raw_ids == [raws[0].id]  # rebuilt without it
