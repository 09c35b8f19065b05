"""A data directory seeded for the dashboard: one unit in each state, and an office login.

- 延边朝鲜族自治州教育局: the complete sample package (complete);
- 长白山管委会教育科技局: the sample with missing pieces (incomplete);
- 吉林大学: a small mail after the deadline, with a large-file link (incomplete, and late);
- every other unit: nothing received.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.service import Service
from tests.conftest import SHARED
from tests.support.dovecot import free_port
from tests.support.mail import attachment, filename_rfc2047
from tests.support.media import make_photo
from tests.support.service import mail

SAMPLES = SHARED / "samples"
TZ = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2021, 9, 3, 10, 0, tzinfo=TZ)  # the dashboard's clock: after the deadline and every mail
OFFICE_USER, OFFICE_PASSWORD, OFFICE_NAME = "wu", "correct-horse-1", "吴晓辉"
COMPLETE, INCOMPLETE, LATE = "延边朝鲜族自治州教育局", "长白山管委会教育科技局", "吉林大学"
LATE_SENDER = "zhaoyan@jlu.edu.cn"
LARGE_FILE_LINK = "https://pan.baidu.com/s/1nomdeskTestLink"
EXPECTED_STATES = {COMPLETE: "complete", INCOMPLETE: "incomplete", LATE: "incomplete", "长春市教育局": "none"}
EXPECTED_LATE = {LATE}  # marked 逾期 beside its state


def build_service(data_dir: Path, campaign: Campaign) -> Service:
    settings = Settings(data_dir=data_dir, database_url=None, fetch_private_hosts=True)  # its file server is local
    return Service.build(settings, campaign, clock=lambda: NOW.astimezone(dt.UTC))


def late_mail() -> bytes:
    photo = make_photo(600, 400, text="吉林大学").read_bytes()
    return mail(
        LATE_SENDER,
        subject="吉林大学推荐材料",
        text=f"您好！视频较大，已上传网盘：{LARGE_FILE_LINK} 提取码 ab12",
        parts=[attachment(photo, filename_rfc2047("活动照片.jpg"), content_type="image/jpeg")],
        date="Thu, 02 Sep 2021 09:30:00 +0800",
    )


def seed(data_dir: Path, campaign: Campaign) -> None:
    service = build_service(data_dir, campaign)
    try:
        store, desk = service.store, service.desk
        store.contacts.add(LATE, "赵岩", emails=[LATE_SENDER])
        store.directory.add_user(OFFICE_USER, OFFICE_PASSWORD, OFFICE_NAME)
        for name in ("yanbian_complete", "changbaishan_missing"):
            desk.ingest_file(SAMPLES / name / "1.eml")
        late = data_dir / "late.eml"
        late.write_bytes(late_mail())
        desk.ingest_file(late)
        desk.process_pending()
    finally:
        service.shutdown()


@contextmanager
def running_server(app: FastAPI) -> Iterator[str]:
    """The app served by a real uvicorn on a free loopback port, in a thread; yields its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="dashboard-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def login(client: TestClient, username: str = OFFICE_USER, password: str = OFFICE_PASSWORD) -> Any:
    """Log in through the form, as a person does; returns the login POST's response."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf": form_csrf(page.text), "next": "/"},
        follow_redirects=False,
    )


UNKNOWN_SENDER = "wangli_mhk@126.com"  # nobody's contact: her mail waits in the 待确认 queue
CLAIMED_UNIT = "梅河口市教育局"  # the unit she names in her mail (it has no contact yet)


def waiting_mail() -> bytes:
    """A mail from an unregistered address that names its unit, her name and phone, with a photo."""
    photo = make_photo(400, 300, text="梅河口").read_bytes()
    return mail(
        UNKNOWN_SENDER,
        subject="推荐材料",
        text=f"单位：{CLAIMED_UNIT}\n联系人：王丽\n电话：13912345678",
        parts=[attachment(photo, filename_rfc2047("活动照片.jpg"), content_type="image/jpeg")],
        date="Wed, 01 Sep 2021 09:00:00 +0800",
    )


def add_waiting_mail(service: Service, directory: Path) -> int:
    """Hand the unregistered sender's mail to the running service; returns its submission id once the
    pipeline has put it in the 待确认 queue."""
    path = directory / "waiting.eml"
    path.write_bytes(waiting_mail())
    record = service.desk.ingest_file(path)
    assert service.desk.await_processed(record.id or 0, 20) is not None, "the pipeline did not take the mail"
    found = [m for m in service.store.submissions.waiting_mails() if m.raw_id == record.id]
    assert found, "the mail is not in the 待确认 queue"
    return found[0].submission_id
