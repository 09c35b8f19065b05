"""The 待确认 page shows a held mail (a registered contact's address whose mail failed sender
authentication, nomdesk.held) on a card of its own with the reason, and the office's one
confirmation joins it to the unit. The hold itself is tested in tests/nomdesk/test_desk_forged_sender.py."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient

from nomdesk.service import Service
from storage.tables import RawState
from tests.support.service import mail

YANBIAN = "延边朝鲜族自治州教育局"
SENDER = "ybjyj_zcjy@163.com"  # 延边州's registered contact
REASON = "发件人地址未通过验证：邮件没有 DKIM 签名，不符合发件域 163.com 的 DMARC 策略（p=reject）"


def held_mail(service: Service) -> int:
    """A held mail as the desk leaves it (made straight in the store); its submission id."""
    at = dt.datetime(2021, 9, 1, 2, 0, tzinfo=dt.UTC)
    raw, _ = service.store.raw.put(
        mail(SENDER, subject="撤回 金哲洙", text="撤回 金哲洙"), source="cli", received_at=at
    )
    row, _ = service.store.submissions.add(
        raw.id, unit_name=None, arrived_at=at, summary={"unit_guess": YANBIAN}, held_unit=YANBIAN, held_reason=REASON
    )
    service.store.raw.mark(raw.id, RawState.DONE)
    assert row.id is not None
    return row.id


def test_a_held_mail_shows_its_reason_and_is_confirmed(office: TestClient, service: Service) -> None:
    submission_id = held_mail(service)
    page = office.get("/waiting").text
    [card] = re.findall(rf'<article class="card waiting" data-sender="#{submission_id}".*?>(.*?)</article>', page, re.S)
    assert f"疑似冒用发件人：{REASON}" in card and SENDER in card and YANBIAN in card

    token = re.search(r'name="csrf" value="([^"]+)"', page)[1]
    response = office.post(
        f"/waiting/{submission_id}/assign", data={"csrf": token, "unit": YANBIAN}, follow_redirects=False
    )
    assert response.status_code == 303
    row = service.store.submissions.get(submission_id)
    assert row is not None and row.unit_name == YANBIAN
    assert "疑似冒用发件人" not in office.get("/waiting").text
