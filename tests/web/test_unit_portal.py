"""A unit's own page at /u/<token>: its dossier only, refused without a valid link, and its actions
go through the desk and end in a receipt to the unit."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from fastapi.testclient import TestClient

from nomdesk.service import Service
from storage.unit_links import link_expiry, link_path
from tests.support.dashboard import COMPLETE, INCOMPLETE, LATE, NOW
from tests.support.media import make_photo
from web.unit_auth import unit_csrf

STAR = "朴英子"
UNIT_HEADERS = {"referrer-policy": "no-referrer", "x-frame-options": "DENY", "cache-control": "no-store"}


def link_of(service: Service, unit: str) -> str:
    contact = service.store.contacts.list(unit)[0]
    return link_path(service.store.unit_links.token_for(contact.id, link_expiry(service.campaign)))


def cards(page: str) -> set[str]:
    return set(re.findall(r'data-nominee="([^"]+)"', page))


def file_ids(page: str, kind: str = "photo") -> dict[str, int]:
    found = re.findall(rf'class="portal-file kind-{kind}" data-file="([^"]+)" data-file-id="(\d+)"', page)
    return {html.unescape(name): int(file_id) for name, file_id in found}


def receipt_of(service: Service, action: str) -> str:
    """The receipt the pipeline queued for the record the page's action kept."""
    [audit] = service.store.audit.entries(unit_name=COMPLETE, action=action)
    [receipt] = [o for o in service.store.outbox.all(unit_name=COMPLETE) if o.raw_message_id == audit.detail["raw_id"]]
    return receipt.body_text


@pytest.fixture
def link(service: Service) -> str:
    return link_of(service, COMPLETE)


def test_the_page_shows_its_own_unit_and_nothing_of_the_office(client: TestClient, link: str) -> None:
    response = client.get(link)
    assert response.status_code == 200
    assert {k: response.headers[k] for k in UNIT_HEADERS} == UNIT_HEADERS
    page = html.unescape(response.text)
    assert 'name="viewport"' in page and COMPLETE in page and "材料齐全" in page and "截止" in page
    assert {STAR, "金哲洙"} <= cards(page)
    assert "✓ 材料齐全，符合要求" in page and "推荐表✓" in page  # the checklist's marks
    assert "MP4，h264，1280×720" in page and "4分30秒" in page  # a video's measured values
    assert "“海兰江畔”农民夜校工作总结" in page  # a summary's first lines
    for other in (INCOMPLETE, LATE, "身份证号", "联系电话", "备注", "/units/", "raw/", "回执记录"):
        assert other not in page
    photo = next(iter(file_ids(page).values()))
    thumb = client.get(f"{link}/files/{photo}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.headers["referrer-policy"] == "no-referrer"


def test_another_units_file_is_refused(client: TestClient, service: Service, link: str) -> None:
    other = link_of(service, INCOMPLETE)
    their_page = client.get(other).text
    shown = html.unescape(their_page)  # its own findings, in Chinese, with the fix
    assert "待修改" in shown and "推荐表✗（必填项未填）" in shown and "修改建议：请补全上述必填项" in shown
    theirs = next(iter(file_ids(their_page).values()))
    refused = client.get(f"{link}/files/{theirs}/thumb")
    assert refused.status_code == 404 and INCOMPLETE not in refused.text
    csrf = unit_csrf(link.removeprefix("/u/"))
    response = client.post(f"{link}/files/{theirs}/remove", data={"csrf": csrf})
    assert response.status_code == 400 and "不属于" in html.unescape(response.text)
    assert service.store.audit.entries(action="unit.file_removed") == []


@pytest.mark.parametrize(
    ("how", "status", "words"),
    [("expired", 410, "链接已过期"), ("revoked", 403, "链接已失效"), ("tampered", 403, "链接不完整或有误")],
)
def test_a_bad_link_opens_nothing(client: TestClient, service: Service, how: str, status: int, words: str) -> None:
    contact = service.store.contacts.list(COMPLETE)[0]
    links = service.store.unit_links
    if how == "expired":
        token = links.token_for(contact.id, NOW.astimezone(dt.UTC) - dt.timedelta(seconds=1))
    elif how == "revoked":
        token = links.token_for(contact.id, link_expiry(service.campaign))
        links.revoke(contact.id)
    else:
        token = links.token_for(contact.id, link_expiry(service.campaign))
        token = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    for response in (
        client.get(link_path(token)),
        client.get(f"{link_path(token)}/files/1/thumb"),
        client.post(f"{link_path(token)}/withdraw", data={"csrf": unit_csrf(token), "nominee": STAR, "confirm": "yes"}),
    ):
        assert response.status_code == status
        assert words in html.unescape(response.text) and COMPLETE not in response.text and STAR not in response.text
        assert response.headers["cache-control"] == "no-store"
    assert service.store.audit.entries(action="nominee.withdrawn") == []


def test_every_action_needs_the_pages_form_token(client: TestClient, service: Service, link: str) -> None:
    page = client.get(link).text
    photo = file_ids(page)[f"{STAR}生活照.jpg"]
    for path, data in (
        (f"{link}/files/{photo}/remove", {}),
        (f"{link}/withdraw", {"nominee": STAR, "confirm": "yes"}),
        (f"{link}/restore", {"nominee": STAR}),
    ):
        for csrf in ("", "forged", unit_csrf(link_of(service, INCOMPLETE).removeprefix("/u/"))):
            response = client.post(path, data={**data, "csrf": csrf})
            assert response.status_code == 403 and "页面已过期" in response.text
    acted = {e.action for e in service.store.audit.entries(unit_name=COMPLETE)}
    assert not acted & {"unit.file_removed", "nominee.withdrawn", "nominee.restored"}


def test_remove_and_replace_a_photo_each_end_in_a_receipt(client: TestClient, service: Service, link: str) -> None:
    csrf = unit_csrf(link.removeprefix("/u/"))
    photos = file_ids(client.get(link).text)
    response = client.post(
        f"{link}/files/{photos[f'{STAR}生活照.jpg']}/remove", data={"csrf": csrf}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == f"{link}?done=removed"
    page = html.unescape(client.get(response.headers["location"]).text)
    assert "已删除该文件" in page and f"{STAR}生活照.jpg" not in file_ids(page)
    assert "已删除" in receipt_of(service, "unit.file_removed")

    new_photo = make_photo(900, 600, text="新照片").read_bytes()
    old = photos[f"{STAR}事迹照片1.jpg"]
    files = {"upload": ("事迹照片新.jpg", new_photo, "image/jpeg")}
    response = client.post(f"{link}/files/{old}/replace", data={"csrf": csrf}, files=files, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"{link}?done=replaced"
    page = html.unescape(client.get(response.headers["location"]).text)
    shown = file_ids(page)
    assert "已替换该文件" in page and f"{STAR}事迹照片1.jpg" not in shown and f"{STAR}_事迹照片新.jpg" in shown
    assert "替换" in receipt_of(service, "unit.file_uploaded")
    [audit] = service.store.audit.entries(unit_name=COMPLETE, action="unit.file_uploaded")
    assert audit.actor.startswith("link:")


def test_withdraw_asks_to_confirm_then_restore_brings_it_back(client: TestClient, service: Service, link: str) -> None:
    csrf = unit_csrf(link.removeprefix("/u/"))
    unconfirmed = client.post(f"{link}/withdraw", data={"csrf": csrf, "nominee": STAR})
    assert unconfirmed.status_code == 400 and "确认撤回" in unconfirmed.text and STAR in cards(unconfirmed.text)

    response = client.post(
        f"{link}/withdraw", data={"csrf": csrf, "nominee": STAR, "confirm": "yes"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == f"{link}?done=withdraw"
    page = html.unescape(client.get(response.headers["location"]).text)
    assert "已撤回该推荐对象" in page and STAR not in cards(page)
    assert f"百姓学习之星 {STAR} · 本单位材料页面撤回" in page and f'action="{link}/restore"' in page
    assert STAR in receipt_of(service, "nominee.withdrawn")

    response = client.post(f"{link}/restore", data={"csrf": csrf, "nominee": STAR}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"{link}?done=restore"
    page = html.unescape(client.get(response.headers["location"]).text)
    assert "已恢复该推荐对象" in page and STAR in cards(page)
    assert STAR in receipt_of(service, "nominee.restored")


def test_a_nominee_the_office_withdrew_is_not_restored_by_the_unit(
    client: TestClient, service: Service, link: str
) -> None:
    done = service.desk.withdraw(COMPLETE, STAR, actor="office:wu")
    assert service.desk.await_processed(done.record.id or 0, 20) is not None
    page = html.unescape(client.get(link).text)
    assert f"百姓学习之星 {STAR} · 办公室 wu撤回" in page and f'action="{link}/restore"' not in page
    response = client.post(f"{link}/restore", data={"csrf": unit_csrf(link.removeprefix("/u/")), "nominee": STAR})
    assert response.status_code == 400 and "省级办公室" in html.unescape(response.text)


def test_a_large_file_link_from_a_mail_is_offered_as_an_upload(client: TestClient, service: Service) -> None:
    page = html.unescape(client.get(link_of(service, LATE)).text)
    assert LATE in page and "逾期" in page and "邮件中的网盘链接" in page and "pan.baidu.com" in page
    assert "可在下方“上传材料”中直接上传" in page and COMPLETE not in page
