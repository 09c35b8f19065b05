"""Mail that is hardly a mail (no headers, no sender, a NUL in From) is kept and handled, never a crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from notify.outbox import OutboxWorker
from storage.repo import Store
from storage.tables import RawState
from tests.support.service import parse

BAD = {
    "random_bytes": os.urandom(2048),
    "empty": b"",
    "no_headers": "各位老师好，附件是我单位的推荐材料，请查收。\r\n".encode("gbk") * 3,
    "nul_from": b"From: \x00\x00 <x@\x00.cn>\r\nSubject: test\r\nMessage-ID: <nul.1@x.cn>\r\n\r\nhello\r\n",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_mail_without_a_usable_sender_is_done_kept_and_answered_to_nobody(
    tmp_path: Path, campaign: Campaign, name: str
) -> None:
    data = tmp_path / "var"
    path = tmp_path / f"{name}.eml"
    path.write_bytes(BAD[name])
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        desk = Desk(Settings(data_dir=data), campaign, store)
        record = desk.ingest_file(path)
        desk.process_pending()
        row = store.raw.get(record.id)
        assert row.state == RawState.DONE, row.last_error  # not quarantined: nothing here to fix by hand
        assert (data / "store" / row.store_path).read_bytes() == BAD[name]
        OutboxWorker(store, smtp=None, outbox_dir=data / "outbox", clock=desk.clock).run_once()
        sent = [parse(p.read_bytes()) for p in sorted((data / "outbox").glob("*.eml"))]
        # the office alone hears of it; no reply goes to an address that cannot receive one
        assert {str(m["To"]) for m in sent} <= {campaign.office.email}
        assert all("\x00" not in p.read_text(errors="replace") for p in (data / "outbox").glob("*.eml"))
