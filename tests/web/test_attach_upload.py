"""A file the office uploads on a unit's page goes to disk as it is copied, the campaign's size cap
checked while copying: over the cap it is refused with nothing kept and nothing left behind."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config.campaign import Campaign
from nomdesk.accept import largest_office_file
from nomdesk.app import create_app
from nomdesk.service import Service
from tests.support.dashboard import COMPLETE, build_service, form_csrf, login

MAIL_CAP = 300_000
LIMIT = largest_office_file(MAIL_CAP)  # the largest file whose mail is within the cap
UNIT = f"/units/{COMPLETE}"


@pytest.fixture
def small_service(data_dir: Path, campaign: Campaign) -> Iterator[Service]:
    """The dashboard's service with a campaign whose mail size cap is 300 KB."""
    limits = campaign.limits.model_copy(update={"max_mail_bytes": MAIL_CAP})
    service = build_service(data_dir, campaign.model_copy(update={"limits": limits}))
    service.start_pipeline()
    yield service
    service.shutdown()


@pytest.fixture
def office_client(small_service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(small_service), base_url="http://127.0.0.1") as client:
        assert login(client).status_code == 303
        yield client


def test_an_upload_is_capped_while_it_is_copied(office_client: TestClient, small_service: Service) -> None:
    scratch = small_service.desk.work_root / "tmp"

    def upload(size: int):  # type: ignore[no-untyped-def]
        data = random.Random(size).randbytes(size)
        csrf = form_csrf(office_client.get(UNIT).text)
        files = {"upload": ("活动视频.mp4", data, "video/mp4")}
        return office_client.post(f"{UNIT}/attach", data={"csrf": csrf}, files=files, follow_redirects=False)

    refused = upload(LIMIT + 1)
    assert refused.status_code == 400 and "文件超过 169.4 KiB 的上限" in refused.text
    assert "未下载" not in refused.text  # an upload is not a download
    assert len(small_service.store.submissions.of_unit(COMPLETE)) == 1
    assert list(scratch.iterdir()) == []

    assert upload(LIMIT).status_code == 303  # the cap itself is allowed
    subs = small_service.store.submissions.of_unit(COMPLETE)
    assert [f.path for f in small_service.store.submissions.files(subs[-1].id)] == ["活动视频.mp4"]
    assert list(scratch.iterdir()) == []  # the copy and the mail made of it are gone once stored
