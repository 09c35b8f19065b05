"""The compliant copy of a failing video, end to end on the real service: a phone's HEVC .mov
attached for an exemplar is offered a copy on the office's unit page and on the unit's link,
the background worker makes it (progress to 1.0), the preview streams with Range, and accepting
it replaces the video in the dossier with a receipt that names the replacement, the original
still in the store. Another unit's link opens none of it.

The campaign is the shipped one with 4-5 second exemplar videos (tests/support/transcode_media.py),
so the copy takes a second and only codec, size, frame rate and container are wrong."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from config import Campaign
from intake.models import Dossier
from nomdesk.app import create_app
from nomdesk.service import Service
from storage.tables import TranscodeState
from storage.unit_links import link_expiry, link_path
from tests.support.browser import VIEWPORTS
from tests.support.dashboard import COMPLETE, INCOMPLETE, build_service, form_csrf, login, running_server
from tests.support.transcode_media import hevc_mov, short_video_campaign
from web.unit_auth import unit_csrf

NOMINEE = "朴英子"  # the sample's exemplar star
JOB_SECONDS = 60


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Campaign:
    return short_video_campaign(tmp_path_factory.mktemp("transcode-campaign"))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, seeded_dir: Path, short: Campaign) -> Path:
    """The dashboard's seed plus the phone's .mov for the exemplar, checked under the short-video
    campaign (the attachment re-checks the whole dossier with it)."""
    media = tmp_path_factory.getbasetemp() / "transcode-media"
    root = tmp_path_factory.mktemp("transcode-seed") / "var"
    shutil.copytree(seeded_dir, root)
    service = build_service(root, short)
    try:
        service.desk.attach(COMPLETE, f"{NOMINEE}事迹视频.mov", hevc_mov(media), actor="office:wu", for_name=NOMINEE)
        service.desk.process_pending()
    finally:
        service.shutdown()
    return root


@pytest.fixture
def running(seeded: Path, tmp_path: Path, short: Campaign) -> Iterator[Service]:
    data_dir = tmp_path / "var"
    shutil.copytree(seeded, data_dir)
    service = build_service(data_dir, short)
    service.start_pipeline()
    service.start_transcoding()
    yield service
    service.shutdown()


@pytest.fixture
def client(running: Service) -> Iterator[TestClient]:
    with TestClient(create_app(running), base_url="http://127.0.0.1") as c:
        yield c


def the_mov(service: Service) -> int:
    """The stored file id of the exemplar's .mov."""
    subs = service.store.submissions.of_unit(COMPLETE)
    files = service.store.submissions.files_of([s.id or 0 for s in subs])
    return next(f.id or 0 for group in files.values() for f in group if f.path.endswith("事迹视频.mov"))


def unit_link(service: Service, unit: str) -> str:
    contact = service.store.contacts.list(unit)[0]
    return link_path(service.store.unit_links.token_for(contact.id or 0, link_expiry(service.campaign)))


def wait_done(client: TestClient, status_url: str) -> list[float]:
    seen: list[float] = []
    deadline = time.monotonic() + JOB_SECONDS
    while time.monotonic() < deadline:
        job = client.get(status_url).json()["job"]
        seen.append(job["progress"])
        if job["state"] not in (TranscodeState.QUEUED, TranscodeState.RUNNING):
            assert job["state"] == TranscodeState.DONE, job
            return seen
        time.sleep(0.2)
    raise AssertionError(f"the copy was not made in {JOB_SECONDS} s: {seen[-5:]}")


def dossier_videos(service: Service) -> list[str]:
    snapshot = service.store.evaluations.latest_dossier(COMPLETE)
    assert snapshot is not None
    dossier = Dossier.model_validate(snapshot.dossier)
    star = next(s for s in dossier.stars if s.name == NOMINEE)
    return [v.name for v in star.videos]


def test_the_office_offers_makes_previews_and_accepts_a_copy(client: TestClient, running: Service) -> None:
    assert login(client).status_code == 303
    file_id = the_mov(running)
    base = f"/units/{quote(COMPLETE, safe='')}"
    page = client.get(base)
    assert f'data-status="{base}/videos/{file_id}/transcode"' in page.text  # the block on the unit page
    csrf = form_csrf(page.text)
    status = client.get(f"{base}/videos/{file_id}/transcode").json()
    assert status == {"offer": True, "job": None}

    assert client.post(f"{base}/videos/{file_id}/convert", data={"csrf": "forged"}).status_code == 403
    started = client.post(f"{base}/videos/{file_id}/convert", data={"csrf": csrf})
    assert started.status_code == 200
    job = started.json()["job"]
    again = client.post(f"{base}/videos/{file_id}/convert", data={"csrf": csrf}).json()["job"]
    assert again["id"] == job["id"]  # offering twice is one job

    seen = wait_done(client, job["status"])
    assert seen[-1] == 1.0
    done = client.get(job["status"]).json()["job"]
    whole = client.get(done["preview"])
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert len(whole.content) == done["size"]
    part = client.get(done["preview"], headers={"Range": "bytes=0-1023"})
    assert part.status_code == 206 and len(part.content) == 1024
    assert part.headers["content-range"] == f"bytes 0-1023/{done['size']}"

    original = running.store.submissions.file_path(
        next(
            f
            for g in running.store.submissions.files_of(
                [s.id or 0 for s in running.store.submissions.of_unit(COMPLETE)]
            ).values()
            for f in g
            if f.id == file_id
        )
    )
    accepted = client.post(done["accept"], data={"csrf": csrf})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["checked"] is True
    assert accepted.json()["job"]["state"] == TranscodeState.ACCEPTED
    assert client.post(done["accept"], data={"csrf": csrf}).status_code == 409  # not twice

    copy = f"{NOMINEE}事迹视频-标准格式.mp4"  # the nominee's name once, as the desk matches files by it
    assert copy in dossier_videos(running) and f"{NOMINEE}事迹视频.mov" not in dossier_videos(running)
    receipts = running.store.outbox.all(limit=100, unit_name=COMPLETE)
    assert any("替换" in r.body_text and copy in r.body_text for r in receipts), [r.body_text[-600:] for r in receipts]
    assert original.exists()  # the original stays in the store
    codes = {f.code for f in running.store.evaluations.current_findings(COMPLETE) if f.nominee == NOMINEE}
    assert "EXEMPLAR_VIDEO_SPEC" not in codes


def test_a_unit_link_offers_and_keeps_and_another_units_link_is_refused(client: TestClient, running: Service) -> None:
    file_id = the_mov(running)
    base = unit_link(running, COMPLETE)
    token = base.rsplit("/", 1)[-1]
    csrf = unit_csrf(token)
    assert client.get(f"{base}/videos/{file_id}/transcode").json()["offer"] is True

    other = unit_link(running, INCOMPLETE)
    other_csrf = unit_csrf(other.rsplit("/", 1)[-1])
    assert client.get(f"{other}/videos/{file_id}/transcode").json() == {"offer": False, "job": None}
    assert client.post(f"{other}/videos/{file_id}/convert", data={"csrf": other_csrf}).status_code == 404

    started = client.post(f"{base}/videos/{file_id}/convert", headers={"X-CSRF-Token": csrf})
    assert started.status_code == 200, started.text
    job = started.json()["job"]
    assert job["status"].startswith(f"{base}/")
    seen = wait_done(client, job["status"])
    assert seen[-1] == 1.0
    done = client.get(job["status"]).json()["job"]

    job_path = f"/videos/jobs/{job['id']}"
    assert client.get(f"{other}{job_path}").status_code == 404
    assert client.get(f"{other}{job_path}/preview").status_code == 404
    assert client.post(f"{other}{job_path}/accept", data={"csrf": other_csrf}).status_code == 404
    assert client.get(done["preview"], headers={"Range": "bytes=100-199"}).status_code == 206

    kept = client.post(done["keep"], data={"csrf": csrf})
    assert kept.status_code == 200 and kept.json()["job"]["state"] == TranscodeState.KEPT
    assert f"{NOMINEE}事迹视频.mov" in dossier_videos(running)  # its own video stays
    assert running.store.transcodes.get(job["id"]).requested_by.startswith("link:")  # type: ignore[union-attr]


def test_a_video_wrong_only_in_length_is_not_offered(client: TestClient, running: Service) -> None:
    """The sample's own exemplar video is an H.264 MP4 at 1280x720, 25 fps, but 4.5 minutes long."""
    assert login(client).status_code == 303
    subs = running.store.submissions.of_unit(COMPLETE)
    files = running.store.submissions.files_of([s.id or 0 for s in subs])
    long_one = next(f.id or 0 for g in files.values() for f in g if f.path.endswith("宣传片.mp4"))
    base = f"/units/{quote(COMPLETE, safe='')}"
    assert client.get(f"{base}/videos/{long_one}/transcode").json() == {"offer": False, "job": None}
    page = client.get(base)
    refused = client.post(f"{base}/videos/{long_one}/convert", data={"csrf": form_csrf(page.text)})
    assert refused.status_code == 409 and "无需转换" in refused.json()["error"]


def test_a_contact_makes_and_accepts_the_copy_on_her_phone(running: Service, browser: Browser) -> None:
    """Her page's video block (static/transcode.js): the button, the progress bar, the preview, the
    choice; after accepting, the page reloads with the copy in her dossier."""
    with running_server(create_app(running)) as server:
        context = browser.new_context(viewport=VIEWPORTS["phone"], is_mobile=True)
        page = context.new_page()
        try:
            page.goto(server + unit_link(running, COMPLETE))
            block = page.locator(".transcode").filter(has_text=f"{NOMINEE}事迹视频.mov")
            block.get_by_role("button", name="生成符合要求的视频").click()
            expect(block.locator("video")).to_be_visible(timeout=JOB_SECONDS * 1000)
            src = block.locator("video").get_attribute("src") or ""
            assert "/videos/jobs/" in src and src.endswith("/preview")
            block.get_by_role("button", name="使用此视频替换原视频").click()
            expect(page.get_by_text(f"{NOMINEE}事迹视频-标准格式.mp4").first).to_be_visible(timeout=20_000)
        finally:
            context.close()
    assert f"{NOMINEE}事迹视频-标准格式.mp4" in dossier_videos(running)
