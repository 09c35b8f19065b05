"""A unit's resumable uploads (tus) against a real uvicorn: a photo goes into the dossier with a
receipt, a bad link opens nothing, the size cap holds while the bytes arrive, and one unit's link
cannot read or write another unit's upload."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from config.campaign import Campaign
from nomdesk.accept import largest_office_file
from nomdesk.app import create_app
from nomdesk.service import Service
from storage.unit_links import link_expiry
from tests.support.dashboard import COMPLETE, LATE, build_service, running_server
from tests.support.media import make_photo
from web.unit_auth import unit_csrf
from web.unit_uploads import KEEP_DAYS, UPLOADS, UnitUploads, unit_key

CAP = 3 * 1024 * 1024  # the campaign's upload cap in these tests
TUS = {"Tus-Resumable": "1.0.0"}
NOMINEE = "张三"


@pytest.fixture
def capped(data_dir: Path, campaign: Campaign) -> Iterator[Service]:
    limits = campaign.limits.model_copy(update={"max_upload_bytes": CAP})
    service = build_service(data_dir, campaign.model_copy(update={"limits": limits}))
    service.start_pipeline()
    yield service
    service.shutdown()


@pytest.fixture
def url(capped: Service) -> Iterator[str]:
    with running_server(create_app(capped)) as base:
        yield base


def token_of(service: Service, unit: str, expires_at: dt.datetime | None = None) -> str:
    contacts = [c for c in service.store.contacts.list(unit) if not c.is_office]
    contact = contacts[0] if contacts else service.store.contacts.add(unit, "李红", emails=["lihong@example.cn"])
    return service.store.unit_links.token_for(contact.id, expires_at or link_expiry(service.campaign))


def metadata(filename: str, filetype: str, nominee: str = NOMINEE) -> str:
    pairs = {"filename": filename, "filetype": filetype, "nominee": nominee}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def create(url: str, token: str, **headers: str) -> httpx.Response:
    meta = metadata("活动照片.jpg", "image/jpeg")
    headers = {**TUS, "Upload-Metadata": meta, "X-Nomdesk-Csrf": unit_csrf(token), **headers}
    return httpx.post(f"{url}/u/{token}/tus/", headers=headers)


def patch(url: str, location: str, body: object, offset: int = 0, **headers: str) -> httpx.Response:
    headers = {**TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream", **headers}
    return httpx.patch(url + location, headers=headers, content=body, timeout=30)  # type: ignore[arg-type]


def checked(url: str, token: str, upload_id: str) -> str:
    """The upload's state once the desk is done with it, as the page polls for it."""
    state = ""
    deadline = time.monotonic() + 60  # a loaded runner
    while time.monotonic() < deadline:
        answer = httpx.get(f"{url}/u/{token}/uploads/status", params={"ids": upload_id})
        assert answer.status_code == 200
        state = answer.json()["uploads"][upload_id]["state"]
        if state in ("done", "quarantined", "refused"):
            break
        time.sleep(0.2)
    return state


def unit_folder(service: Service, unit: str) -> Path:
    return service.settings.data_dir / UPLOADS / unit_key(unit)


def test_a_photo_uploaded_for_a_nominee_joins_the_dossier_with_a_receipt(url: str, capped: Service) -> None:
    token = token_of(capped, LATE)
    photo = make_photo(800, 600, text="上传").read_bytes()
    receipts_before = len(capped.store.outbox.all(unit_name=LATE))

    created = create(url, token, **{"Upload-Length": str(len(photo))})
    assert created.status_code == 201
    location = created.headers["location"]
    assert location.startswith(f"/u/{token}/tus/")  # a path: it works through any proxy in front
    half = len(photo) // 2
    assert patch(url, location, photo[:half]).headers["upload-offset"] == str(half)
    head = httpx.head(url + location, headers=TUS)
    assert head.headers["upload-offset"] == str(half)  # what a resuming page asks first
    done = patch(url, location, photo[half:], offset=half)
    assert done.status_code == 204 and done.headers["upload-offset"] == str(len(photo))

    upload_id = location.rsplit("/", 1)[1]
    assert checked(url, token, upload_id) == "done"
    receipts = capped.store.outbox.all(unit_name=LATE)
    assert len(receipts) == receipts_before + 1
    assert "活动照片.jpg" in (receipts[-1].body_text or "")
    assert not (unit_folder(capped, LATE) / upload_id).exists()  # handed over: the tus copy is gone


@pytest.mark.parametrize("which", ["missing", "tampered", "expired"])
def test_an_upload_needs_a_valid_link(url: str, capped: Service, which: str) -> None:
    good = token_of(capped, LATE)
    token = {
        "missing": "x",
        "tampered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "expired": token_of(capped, LATE, expires_at=dt.datetime(2021, 9, 1, tzinfo=dt.UTC)),
    }[which]
    refused = create(url, token, **{"Upload-Length": "10"})
    assert refused.status_code == (410 if which == "expired" else 403)
    assert "链接" in refused.json()["detail"]
    assert httpx.get(f"{url}/u/{token}/uploads/status", params={"ids": "0" * 32}).status_code == refused.status_code
    assert not unit_folder(capped, LATE).exists() or not any(unit_folder(capped, LATE).iterdir())


def test_a_create_needs_the_pages_csrf_value(url: str, capped: Service) -> None:
    refused = create(url, token_of(capped, LATE), **{"Upload-Length": "10", "X-Nomdesk-Csrf": "0" * 64})
    assert refused.status_code == 403 and "刷新页面" in refused.json()["detail"]


def test_a_create_over_the_cap_is_refused(url: str, capped: Service) -> None:
    refused = create(url, token_of(capped, LATE), **{"Upload-Length": str(CAP + 1)})
    assert refused.status_code == 413
    assert "3 MiB 的上传上限" in refused.json()["detail"]
    assert not unit_folder(capped, LATE).exists() or not any(unit_folder(capped, LATE).iterdir())


def test_a_stream_of_deferred_length_is_stopped_at_the_cap(url: str, capped: Service) -> None:
    token = token_of(capped, LATE)
    created = create(url, token, **{"Upload-Defer-Length": "1"})
    assert created.status_code == 201
    location = created.headers["location"]
    piece = b"\0" * (256 * 1024)

    def body() -> Iterator[bytes]:
        for _ in range(3 * CAP // len(piece)):
            yield piece

    try:
        cut = patch(url, location, body())
        assert cut.status_code == 413 and "上传上限" in cut.json()["detail"]
    except httpx.TransportError:
        pass  # the desk may close the connection while the client is still sending: cut either way
    assert httpx.head(url + location, headers=TUS).status_code == 404  # the upload is gone
    left = [p for p in unit_folder(capped, LATE).iterdir() if p.is_file()]
    assert all(p.stat().st_size <= CAP for p in left)
    assert not [p for p in left if p.suffix not in (".info", ".json")]  # no bytes of it kept


def test_another_units_link_cannot_touch_an_upload(url: str, capped: Service) -> None:
    ours, theirs = token_of(capped, LATE), token_of(capped, COMPLETE)
    location = create(url, ours, **{"Upload-Length": "100"}).headers["location"]
    upload_id = location.rsplit("/", 1)[1]
    other = f"/u/{theirs}/tus/{upload_id}"
    assert httpx.head(url + other, headers=TUS).status_code == 404
    assert patch(url, other, b"x" * 100).status_code == 404
    assert httpx.delete(url + other, headers=TUS).status_code == 404
    status = httpx.get(f"{url}/u/{theirs}/uploads/status", params={"ids": upload_id}).json()
    assert status["uploads"][upload_id]["state"] == "unknown"
    head = httpx.head(url + location, headers=TUS)
    assert head.status_code == 200 and head.headers["upload-offset"] == "0"  # untouched, still ours


def test_an_unfinished_upload_waits_for_its_unit_then_is_swept(url: str, capped: Service) -> None:
    location = create(url, token_of(capped, LATE), **{"Upload-Length": "100"}).headers["location"]
    assert patch(url, location, b"x" * 40).status_code == 204
    info = unit_folder(capped, LATE) / (location.rsplit("/", 1)[1] + ".info")
    expires = parsedate_to_datetime(json.loads(info.read_text())["expires"])
    now = dt.datetime.now(dt.UTC)
    assert expires - now > dt.timedelta(days=KEEP_DAYS - 1) >= dt.timedelta(days=2)  # resumable the next day

    uploads = UnitUploads(capped)
    assert uploads.sweep(now + dt.timedelta(days=1)) == 0
    assert httpx.head(url + location, headers=TUS).headers["upload-offset"] == "40"
    assert uploads.sweep(expires + dt.timedelta(seconds=1)) == 1
    assert httpx.head(url + location, headers=TUS).status_code == 404
    assert not [p for p in unit_folder(capped, LATE).iterdir() if p.is_file()]


def test_an_upload_received_before_a_restart_is_handed_over_at_start(capped: Service) -> None:
    """Received in full, then the desk stopped before handing it over: the next start does it."""
    folder = unit_folder(capped, LATE)
    folder.mkdir(parents=True)
    upload_id = "ab" * 16
    (folder / upload_id).write_bytes(make_photo(640, 480, text="重启").read_bytes())
    contact_id = capped.store.contacts.list(LATE)[0].id
    received = {"state": "received", "unit": LATE, "contact_id": contact_id, "filename": "活动照片.jpg", "nominee": ""}
    (folder / f"{upload_id}.json").write_text(json.dumps({**received, "raw_id": None}))
    with running_server(create_app(capped)) as base:
        assert checked(base, token_of(capped, LATE), upload_id) == "done"
    assert not (folder / upload_id).exists()


def test_the_upload_cap_fits_in_a_mail(campaign: Campaign) -> None:
    """An upload becomes a mail, and every mail is held to the mail cap."""
    assert campaign.limits.max_upload_bytes <= largest_office_file(campaign.limits.max_mail_bytes)


def test_a_mail_cap_smaller_than_the_upload_cap_holds(data_dir: Path, campaign: Campaign) -> None:
    limits = campaign.limits.model_copy(update={"max_upload_bytes": CAP, "max_mail_bytes": 300_000})
    service = build_service(data_dir, campaign.model_copy(update={"limits": limits}))
    try:
        with running_server(create_app(service)) as base:
            limit = largest_office_file(300_000)
            token = token_of(service, LATE)
            assert create(base, token, **{"Upload-Length": str(limit + 1)}).status_code == 413
            assert create(base, token, **{"Upload-Length": str(limit)}).status_code == 201
    finally:
        service.shutdown()
