"""Photos sent in WeCom one message at a time are one submission, not one replacing the other."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from nomdesk.stored import WECOM_BURST
from storage.repo import Store
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.media import make_photo

SAMPLE = SHARED / "samples" / "yanbian_complete" / "1.eml"
YANBIAN = "延边朝鲜族自治州教育局"
CONTACT = "wufengxia"  # 延边州's contact in WeCom
STAR = "金哲洙"


def star_photos(desk: Desk) -> list[str]:
    star = next(s for s in desk.evaluate(YANBIAN).dossier.stars if s.name == STAR)
    return [p.path for p in star.photos]


def test_two_photos_sent_one_by_one_make_one_photo_set(tmp_path: Path, campaign: Campaign) -> None:
    data = tmp_path / "var"
    clock = Clock(dt.datetime(2021, 8, 25, 2, 0, tzinfo=dt.UTC))
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        desk = Desk(Settings(data_dir=data), campaign, store, clock=clock)
        desk.ingest_file(SAMPLE, received_at=clock())
        desk.process_pending()
        assert len(star_photos(desk)) == 2  # from the mail

        id_photo = make_photo(413, 579).read_bytes()
        life = make_photo(1024, 768).read_bytes()
        clock.now += dt.timedelta(days=1)
        desk.accept_wecom_file(CONTACT, "media-1", f"{STAR}证件照.jpg", id_photo)
        clock.now += dt.timedelta(minutes=2)
        desk.accept_wecom_file(CONTACT, "media-2", f"{STAR}生活照.jpg", life)
        desk.process_pending()
        # Both WeCom photos are one batch: a complete new set, which replaces the mail's set
        # (sent as two submissions, each would have joined it: four photos).
        assert sorted(star_photos(desk)) == [f"{STAR}生活照.jpg", f"{STAR}证件照.jpg"]

        # A photo sent much later is a new submission: it joins the set (RULES.md "Resubmissions"),
        # and the same bytes sent again count once.
        clock.now += WECOM_BURST + dt.timedelta(minutes=1)
        desk.accept_wecom_file(CONTACT, "media-3", f"{STAR}证件照（再发）.jpg", id_photo)
        desk.process_pending()
        assert len(star_photos(desk)) == 2
        clock.now += WECOM_BURST + dt.timedelta(minutes=1)
        desk.accept_wecom_file(CONTACT, "media-4", f"{STAR}活动照.jpg", make_photo(800, 600).read_bytes())
        desk.process_pending()
        assert sorted(star_photos(desk)) == [f"{STAR}活动照.jpg", f"{STAR}生活照.jpg", f"{STAR}证件照.jpg"]


def test_photos_sent_in_a_row_get_one_answer_in_wecom_and_one_mail(tmp_path: Path, campaign: Campaign) -> None:
    """Eight photos sent one after another: the contact is answered once when they stop, not eight times."""
    data = tmp_path / "var"
    clock = Clock(dt.datetime(2021, 8, 25, 2, 0, tzinfo=dt.UTC))
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        settings = Settings(data_dir=data, wecom_answer_settle_seconds=60)
        desk = Desk(settings, campaign, store, clock=clock)
        photo = make_photo(413, 579).read_bytes()
        for n in range(8):
            desk.accept_wecom_file(CONTACT, f"media-{n}", f"{STAR}照片{n}.jpg", photo + bytes([n]))
            desk.process_pending()
            clock.now += dt.timedelta(seconds=5)
        rows = store.outbox.all()
        waiting = {(r.channel, r.dedupe_key) for r in rows if r.state == "pending"}
        assert waiting == {("wecom", "wecom-reply:8"), ("mail", "reply:8")}, waiting  # the last file's
        assert all(
            r.state == "suppressed" and "superseded" in (r.last_error or "") for r in rows if r.dedupe_key[-1] != "8"
        )
        last = next(r for r in rows if r.dedupe_key == "wecom-reply:8")
        assert last.next_attempt_at == clock.now - dt.timedelta(seconds=5) + dt.timedelta(seconds=60)


def test_the_same_wecom_file_handed_over_twice_is_stored_once(tmp_path: Path, campaign: Campaign) -> None:
    with Store.open(tmp_path / "var") as store:
        clock = Clock(dt.datetime(2021, 8, 25, 2, 0, tzinfo=dt.UTC))
        desk = Desk(Settings(data_dir=tmp_path / "var"), campaign, store, clock=clock)
        first = desk.accept_wecom_file(CONTACT, "media-x", f"{STAR}证件照.jpg", b"\xff\xd8photo")
        clock.now += dt.timedelta(minutes=3)  # a restart later: another Date header
        again = desk.accept_wecom_file(CONTACT, "media-x", f"{STAR}证件照.jpg", b"\xff\xd8photo")
        assert again.id == first.id and len([r for r in store.raw.all() if r.state != "ignored"]) == 1
