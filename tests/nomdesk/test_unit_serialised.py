"""Two desk processes (two stores on one database) each taking one of two mails of the same unit at
the same moment: two receipts, the second made from a dossier holding both mails and compared with
the first; no error, no lost mail."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from storage.repo import Store
from storage.tables import RawState
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.support.service import mail

SAMPLE = SHARED / "samples" / "yanbian_complete" / "1.eml"
SENDER = "ybjyj_zcjy@163.com"  # the sample's sender, 延边州's registered contact
YANBIAN = "延边朝鲜族自治州教育局"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "sqlite" else request.getfixturevalue("postgres_url")


def test_two_mails_of_one_unit_at_once_give_two_receipts_the_second_knowing_the_first(
    tmp_path: Path, campaign: Campaign, clock: Clock, database_url: str | None
) -> None:
    data = tmp_path / "var"
    settings = Settings(data_dir=data, reply_rate_per_hour=20)
    with Store.open(data, database_url) as one, Store.open(data, database_url) as two:
        one.directory.sync_units(campaign)
        desks = [Desk(settings, campaign, store, clock=clock) for store in (one, two)]
        desks[0].ingest_file(SAMPLE)
        extra = tmp_path / "extra.eml"
        extra.write_bytes(mail(SENDER, subject="补充说明", text="另有一份说明，请查收。"))
        desks[0].ingest_file(extra)

        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def work(desk: Desk) -> None:
            try:
                start.wait(10)
                desk.process_pending(limit=1)
            except BaseException as exc:  # the test reports it below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(desk,)) for desk in desks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors

        raws = one.raw.all()
        assert len(raws) == 2 and all(r.state == RawState.DONE for r in raws), [(r.id, r.state) for r in raws]
        receipts = sorted((one.outbox.by_key(f"reply:{r.id}") for r in raws), key=lambda o: o.evaluation_version or 0)
        assert all(r is not None for r in receipts)
        first, second = receipts
        assert (first.evaluation_version, second.evaluation_version) == (1, 2)
        latest = one.evaluations.latest_dossier(YANBIAN)
        assert latest is not None and sorted(latest.raw_ids or []) == sorted(r.id for r in raws)  # saw both
        assert "与上次相比" in second.body_text and "与上次相比" not in first.body_text
