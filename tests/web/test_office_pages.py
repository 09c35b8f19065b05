"""The office's own pages through the app: 联系人, 待确认, 群发, notes on a unit page.

Each behind the login, each POST refused without the session's CSRF token, each refusal a Chinese
page; and what the office does here reaches the store as the CLI's same action would.
"""

from __future__ import annotations

import io
import re
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from nomdesk.broadcast import CHANGED_ZH
from nomdesk.service import Service
from tests.support.dashboard import (
    CLAIMED_UNIT,
    COMPLETE,
    LATE,
    LATE_SENDER,
    UNKNOWN_SENDER,
    form_csrf,
    late_mail,
)
from tests.support.media import make_photo
from tests.support.service import mail
from tests.support.sheets import workbook_bytes

CHANGCHUN = "长春市教育局"
LATER = "Thu, 02 Sep 2021 10:00:00 +0800"  # after the waiting mail of tests.support.dashboard
GETS = ["/contacts", "/waiting", "/broadcast", "/contacts/export.xlsx", "/contacts/template.xlsx"]
POSTS = [
    "/contacts/add",
    "/contacts/1/edit",
    "/contacts/1/remove",
    "/contacts/import",
    "/waiting/1/assign",
    "/waiting/1/reject",
    "/broadcast/preview",
    "/broadcast/send",
    f"/units/{quote(LATE)}/notes",
]


def csrf(client: TestClient, path: str = "/contacts") -> str:
    return form_csrf(client.get(path).text)


def queue_mail(service: Service, directory: Path, raw: bytes) -> int:
    """Hand a mail of an unregistered sender to the running desk; its submission id once it waits."""
    path = directory / f"mail-{len(list(directory.glob('mail-*.eml')))}.eml"
    path.write_bytes(raw)
    record = service.desk.ingest_file(path)
    assert service.desk.await_processed(record.id or 0, 20) is not None, "the pipeline did not take the mail"
    [found] = [m.submission_id for m in service.store.submissions.waiting_mails() if m.raw_id == record.id]
    return found


def promo_mail() -> bytes:
    return mail("promo@example.cn", subject="优惠促销", text="欢迎垂询。", date=LATER)


def cards(html: str) -> dict[str, str]:
    """The 待确认 page's cards: sender -> the card's HTML."""
    return dict(re.findall(r'<article class="card waiting" data-sender="([^"]+)".*?>(.*?)</article>', html, re.S))


def assign(office: TestClient, submission_id: int, unit: str, *, register: bool = True) -> str:
    """The 待确认 page after the office assigned a mail (and the pipeline took it)."""
    data = {"csrf": csrf(office, "/waiting"), "unit": unit, **({"as_contact": "1"} if register else {})}
    response = office.post(f"/waiting/{submission_id}/assign", data=data, follow_redirects=False)
    assert response.status_code == 303
    return office.get(response.headers["location"]).text


def done_line(html: str) -> str:
    return re.search(r'<p class="alert ok" role="status">(.*?)</p>', html, re.S).group(1)


def outbox_texts(service: Service) -> list[str]:
    """Everything the outbox would send, as a recipient reads it (the .eml's parts decoded)."""
    texts = []
    for row in service.store.outbox.all():
        texts += [row.subject or "", row.body_text or "", row.body_html or ""]
        eml = service.store.outbox.eml(row)
        if eml:
            texts += [
                part.get_content()
                for part in message_from_bytes(eml, policy=policy.default).walk()
                if part.get_content_maintype() == "text"
            ]
    return texts


# ---- the login and the CSRF token ---------------------------------------------------------------


@pytest.mark.parametrize("path", GETS)
def test_every_office_page_needs_a_login(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.mark.parametrize("path", POSTS)
def test_every_office_action_needs_a_login(client: TestClient, path: str) -> None:
    response = client.post(path, data={"csrf": "x"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.mark.parametrize("path", POSTS)
def test_every_office_action_refuses_a_form_without_the_sessions_token(
    office: TestClient, service: Service, path: str
) -> None:
    before = (len(service.store.contacts.list()), len(service.store.outbox.all()), len(service.store.state.notes(LATE)))
    response = office.post(path, data={"csrf": "forged", "unit": CHANGCHUN, "name": "李明", "text": "备注"})
    assert response.status_code == 403
    assert "表单已失效，请刷新页面后重试" in response.text and "<h1>无法完成操作</h1>" in response.text
    after = (len(service.store.contacts.list()), len(service.store.outbox.all()), len(service.store.state.notes(LATE)))
    assert after == before


def test_the_nav_links_the_office_pages(office: TestClient) -> None:
    html = office.get("/").text
    for link in ('href="/contacts">联系人<', 'href="/broadcast">群发<', ">待确认 (0)<"):
        assert link in html


# ---- 联系人 -----------------------------------------------------------------------------------


def contact_rows(html: str) -> dict[str, str]:
    """Contact id -> its table row."""
    return dict(re.findall(r'<tr data-contact="(\d+)".*?>(.*?)</tr>', html, re.S))


def test_a_contact_is_added_edited_and_removed_through_the_page(office: TestClient, service: Service) -> None:
    page = office.get("/contacts").text
    assert CHANGCHUN in page.split('id="no-contact"')[1]  # listed among the units with no contact
    response = office.post(
        "/contacts/add",
        data={
            "csrf": form_csrf(page),
            "unit": "长春市",  # a known short name
            "name": "李明",
            "role": "经办人",
            "phone": "0431-88886666",
            "emails": "liming@ccedu.cn； li.ming@163.com",
            "wecom_user": "liming",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = office.get(response.headers["location"]).text
    assert "已添加联系人" in page
    [added] = service.store.contacts.list(CHANGCHUN)
    assert (added.name, added.role, added.phone, added.wecom_user) == ("李明", "经办人", "0431-88886666", "liming")
    assert added.emails == ["li.ming@163.com", "liming@ccedu.cn"] and added.added_by == "office:wu"
    row = contact_rows(page)[str(added.id)]
    assert "李明" in row and "liming@ccedu.cn" in row and "wu" in row
    assert CHANGCHUN not in page.split('id="no-contact"')[1]

    response = office.post(
        f"/contacts/{added.id}/edit",
        data={"csrf": form_csrf(page), "name": "李明", "phone": "13900001111", "emails": "liming@ccedu.cn"},
    )
    assert "已保存联系人的修改" in response.text
    [edited] = service.store.contacts.list(CHANGCHUN)
    assert edited.phone == "13900001111" and edited.emails == ["liming@ccedu.cn"]

    response = office.post(f"/contacts/{added.id}/remove", data={"csrf": form_csrf(page)})
    assert "已删除联系人" in response.text
    assert service.store.contacts.list(CHANGCHUN) == []
    assert service.store.directory.unit_of_address("liming@ccedu.cn") is None
    assert CHANGCHUN in response.text.split('id="no-contact"')[1]


def test_a_bad_contact_is_refused_in_chinese_and_the_form_kept(office: TestClient, service: Service) -> None:
    token = csrf(office)
    response = office.post(
        "/contacts/add", data={"csrf": token, "unit": CHANGCHUN, "name": "李明", "emails": "liming@@ccedu"}
    )
    assert response.status_code == 400
    assert "邮箱格式不正确" in response.text and 'value="李明"' in response.text
    response = office.post("/contacts/add", data={"csrf": token, "unit": "火星市", "name": "李明"})
    assert response.status_code == 400 and "不在本次活动的单位名单中" in response.text
    assert service.store.contacts.list(CHANGCHUN) == []
    missing = office.post("/contacts/99999/remove", data={"csrf": token})
    assert missing.status_code == 404 and "没有这个联系人" in missing.text


def test_the_list_filters_by_unit(office: TestClient) -> None:
    html = office.get(f"/contacts?unit={quote(LATE)}").text
    rows = contact_rows(html)
    assert len(rows) == 1 and "赵岩" in next(iter(rows.values()))
    assert "伍凤霞" in office.get("/contacts").text and "伍凤霞" not in html


def test_an_imported_sheet_is_counted_and_each_bad_row_named(office: TestClient, service: Service) -> None:
    data = workbook_bytes(
        [
            ["联系人", "单位", "邮箱", "电话"],  # its own column order
            ["李明", "长春市教育局", "liming@ccedu.cn", "0431-88886666"],
            ["张三", "火星市教育局", "zhangsan@163.com", None],
            ["王五", "吉林市教育局", "wangwu@@163", None],
        ]
    )
    files = {"sheet": ("联系人.xlsx", data, "application/octet-stream")}
    response = office.post("/contacts/import", data={"csrf": csrf(office)}, files=files)
    assert response.status_code == 200
    result = response.text.split('id="import-result"')[1].split("</section>")[0]
    assert "新增 <b>1</b> 人" in result
    assert "第 3 行" in result and "火星市教育局" in result and "第 4 行" in result
    assert [c.name for c in service.store.contacts.list(CHANGCHUN)] == ["李明"]
    again = office.post("/contacts/import", data={"csrf": csrf(office)}, files=files)
    assert "新增 <b>0</b> 人" in again.text and "未变 <b>1</b> 人" in again.text
    empty = office.post("/contacts/import", data={"csrf": csrf(office)})
    assert empty.status_code == 400 and "请选择要导入的联系人表" in empty.text


def test_the_contacts_and_the_template_download(office: TestClient) -> None:
    response = office.get("/contacts/export.xlsx")
    assert response.status_code == 200 and "filename*=UTF-8''" in response.headers["content-disposition"]
    cells = {c for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True) for c in row}
    assert {"赵岩", LATE_SENDER, "伍凤霞"} <= cells
    template = office.get("/contacts/template.xlsx")
    assert template.status_code == 200
    assert quote("联系人导入模板.xlsx") in template.headers["content-disposition"]
    load_workbook(io.BytesIO(template.content))


# ---- 待确认 -----------------------------------------------------------------------------------


def test_a_waiting_mail_is_counted_shown_and_confirmed_in_one_click(
    office: TestClient, service: Service, waiting_id: int
) -> None:
    home = office.get("/").text
    assert ">待确认 (1)<" in home and "待确认 1 封" in home
    row = re.search(rf'data-unit="{CLAIMED_UNIT}".*?</tr>', home, re.S).group(0)
    assert "未报送" in row and "有 1 封邮件待确认" in row

    page = office.get("/waiting").text
    card = cards(page)[UNKNOWN_SENDER]
    for shown in (UNKNOWN_SENDER, "推荐材料", "2021-09-01 09:00", "活动照片.jpg", CLAIMED_UNIT, "王丽", "139****5678"):
        assert shown in card, shown
    assert "13912345678" not in card  # her phone is shown masked (issue 13)
    assert f"确认为 {CLAIMED_UNIT} 的联系人并受理" in card

    response = office.post(
        f"/waiting/{waiting_id}/assign",
        data={"csrf": form_csrf(page), "unit": CLAIMED_UNIT, "as_contact": "1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = office.get(response.headers["location"]).text
    assert done_line(page) == (
        f"已将邮件归入“{CLAIMED_UNIT}”并受理。发件人已登记为“{CLAIMED_UNIT}”的联系人，今后来信直接受理，回执发给发件人。"
    )
    assert "没有待确认的邮件" in page and ">待确认 (0)<" in page
    [contact] = service.store.contacts.list(CLAIMED_UNIT)
    assert contact.emails == [UNKNOWN_SENDER] and contact.name == "王丽"
    assert [s.unit_name for s in service.store.submissions.of_unit(CLAIMED_UNIT)] == [CLAIMED_UNIT]
    assert any(r.recipients == [UNKNOWN_SENDER] and r.unit_name == CLAIMED_UNIT for r in service.store.outbox.all())


def test_a_waiting_mail_can_go_to_another_unit_without_registering(
    office: TestClient, service: Service, waiting_id: int
) -> None:
    page = office.get("/waiting").text
    assert re.search(r'name="as_contact" value="1" checked', page)  # 梅河口 has no contact: ticked at first
    response = office.post(f"/waiting/{waiting_id}/assign", data={"csrf": form_csrf(page), "unit": CHANGCHUN})
    assert done_line(response.text) == (
        f"已将邮件归入“{CHANGCHUN}”并受理。按您的选择，发件人未登记为联系人，此人今后来信仍会进入待确认。"
        "该单位没有登记邮箱的联系人，回执未发出，请电话告知。"
    )
    assert len(service.store.submissions.of_unit(CHANGCHUN)) == 1
    assert service.store.contacts.list(CHANGCHUN) == [] and service.store.contacts.list(CLAIMED_UNIT) == []


def test_a_waiting_mail_rejected_leaves_the_queue(office: TestClient, service: Service, waiting_id: int) -> None:
    token = csrf(office, "/waiting")
    response = office.post(f"/waiting/{waiting_id}/reject", data={"csrf": token, "reason": "广告"})
    assert "已将邮件标记为不是报送材料" in response.text and "没有待确认的邮件" in response.text
    assert service.store.submissions.waiting_mails() == []
    assert service.store.audit.entries(action="submission.rejected")[0].actor == "office:wu"
    again = office.post(f"/waiting/{waiting_id}/reject", data={"csrf": token})
    assert again.status_code == 404 and "已不在待确认中" in again.text


def test_an_assignment_to_no_unit_is_refused_in_chinese(office: TestClient, service: Service, waiting_id: int) -> None:
    token = csrf(office, "/waiting")
    response = office.post(f"/waiting/{waiting_id}/assign", data={"csrf": token, "unit": "火星市教育局"})
    assert response.status_code == 400 and "请从名单中选择" in response.text
    assert len(service.store.submissions.waiting_mails()) == 1


def test_the_page_says_the_sender_is_another_units_contact_when_she_already_is(
    office: TestClient, service: Service, waiting_id: int
) -> None:
    # While her mail waits, the office registers her address for 长春 on the 联系人 page.
    service.store.contacts.add(CHANGCHUN, "王丽", emails=[UNKNOWN_SENDER])
    page = assign(office, waiting_id, CLAIMED_UNIT)  # 同时登记为联系人 ticked: the desk cannot
    assert done_line(page) == (
        f"已将邮件归入“{CLAIMED_UNIT}”并受理。发件人的邮箱已是“{CHANGCHUN}”的联系人，未登记为“{CLAIMED_UNIT}”的联系人："
        f"此人今后的来信仍按“{CHANGCHUN}”受理，如有误请到联系人页面修改。"
        "该单位没有登记邮箱的联系人，回执未发出，请电话告知。"
    )
    assert "已登记为“梅河口" not in page
    assert service.store.contacts.list(CLAIMED_UNIT) == []


def test_the_page_says_the_sender_is_the_office_when_she_is(
    office: TestClient, service: Service, waiting_id: int
) -> None:
    service.store.contacts.add(None, "值班员", emails=[UNKNOWN_SENDER], is_office=True)
    service.store.contacts.add(CLAIMED_UNIT, "张华", emails=["zhanghua@mhkedu.cn"])
    page = assign(office, waiting_id, CLAIMED_UNIT)
    assert done_line(page) == (
        f"已将邮件归入“{CLAIMED_UNIT}”并受理。发件人的邮箱是省级办公室自己的地址，未登记为单位联系人。"
        "回执发给该单位已登记的联系人。"
    )
    assert [c.name for c in service.store.contacts.list(CLAIMED_UNIT)] == ["张华"]


def test_the_page_says_an_address_that_cannot_be_answered_is_not_registered(
    office: TestClient, service: Service, tmp_path: Path
) -> None:
    nowhere = "wangli@localhost"  # no domain to deliver to: the desk does not register it
    waiting = queue_mail(service, tmp_path, mail(nowhere, text=f"单位：{CLAIMED_UNIT}\n联系人：王丽"))
    page = assign(office, waiting, CLAIMED_UNIT)
    assert done_line(page) == (
        f"已将邮件归入“{CLAIMED_UNIT}”并受理。发件人的地址无法回信（或是本系统自己的地址），未登记为联系人，"
        "此人今后来信仍会进入待确认。该单位没有登记邮箱的联系人，回执未发出，请电话告知。"
    )
    assert service.store.contacts.list(CLAIMED_UNIT) == []


def test_one_senders_mails_are_one_card_confirmed_together(
    office: TestClient, service: Service, waiting_id: int, tmp_path: Path
) -> None:
    later = queue_mail(service, tmp_path, mail(UNKNOWN_SENDER, subject="补充材料", text="补充一份说明。", date=LATER))
    stranger = queue_mail(service, tmp_path, promo_mail())
    page = office.get("/waiting").text
    assert "待确认 <b>3</b> 封（2 位发件人）" in page
    shown = cards(page)
    assert set(shown) == {UNKNOWN_SENDER, "promo@example.cn"}
    hers = shown[UNKNOWN_SENDER]
    assert "推荐材料" in hers and "补充材料" in hers and "活动照片.jpg" in hers and "王丽" in hers
    assert "以下操作对此发件人的全部 2 封邮件一并生效" in hers
    # One set of buttons for both: the confirm and the sort name her first mail, the reject both.
    assert re.findall(r'action="/waiting/(\d+)/assign"', hers) == [str(waiting_id)] * 2
    assert f"确认为 {CLAIMED_UNIT} 的联系人并受理（2 封）" in hers
    assert f'name="also" value="{later}"' in hers and "确认不是报送材料（2 封）" in hers
    assert "以下操作" not in shown["promo@example.cn"]

    page = assign(office, waiting_id, CLAIMED_UNIT)
    assert done_line(page).startswith(f"已将发件人的 2 封邮件归入“{CLAIMED_UNIT}”并受理。发件人已登记为")
    assert list(cards(page)) == ["promo@example.cn"] and "待确认 <b>1</b> 封" in page
    assert [s.id for s in service.store.submissions.of_unit(CLAIMED_UNIT)] == [waiting_id, later]
    assert [m.submission_id for m in service.store.submissions.waiting_mails()] == [stranger]


def test_rejecting_a_senders_card_rejects_the_mails_it_listed(
    office: TestClient, service: Service, waiting_id: int, tmp_path: Path
) -> None:
    later = queue_mail(service, tmp_path, mail(UNKNOWN_SENDER, subject="咨询", text="请问截止时间？", date=LATER))
    stranger = queue_mail(service, tmp_path, promo_mail())
    token = csrf(office, "/waiting")
    # A forged `also` naming another sender's mail does not reject it.
    data = {"csrf": token, "reason": "咨询邮件", "also": [str(later), str(stranger)]}
    response = office.post(f"/waiting/{waiting_id}/reject", data=data)
    assert "已将发件人的 2 封邮件标记为不是报送材料" in response.text
    assert list(cards(response.text)) == ["promo@example.cn"]
    rejected = {e.detail.get("submission_id") for e in service.store.audit.entries(action="submission.rejected")}
    assert [m.submission_id for m in service.store.submissions.waiting_mails()] == [stranger]
    assert len(rejected) == 2


def test_one_sender_is_counted_for_the_unit_her_card_proposes(
    office: TestClient, service: Service, waiting_id: int, tmp_path: Path
) -> None:
    """Her first mail names 梅河口, a later one 长春: the card proposes her newest answer, 长春, and
    the campaign page counts both her mails against 长春, none against 梅河口."""
    queue_mail(service, tmp_path, mail(UNKNOWN_SENDER, subject="补充材料", text=f"单位：{CHANGCHUN}", date=LATER))
    [hers] = cards(office.get("/waiting").text).values()
    assert f"<b>{CHANGCHUN}</b>" in hers and f'<option value="{CHANGCHUN}" selected>' in hers
    home = office.get("/").text
    assert "有 2 封邮件待确认" in re.search(rf'data-unit="{CHANGCHUN}".*?</tr>', home, re.S).group(0)
    assert "待确认" not in re.search(rf'data-unit="{CLAIMED_UNIT}".*?</tr>', home, re.S).group(0)


def test_a_file_sent_to_the_wecom_app_shows_its_wecom_account_not_a_mail_address(
    office: TestClient, service: Service
) -> None:
    photo = make_photo(400, 300, text="梅河口").read_bytes()
    record = service.desk.accept_wecom_file("wangli_mhk", "media-1", "活动照片.jpg", photo)
    assert service.desk.await_processed(record.id or 0, 20) is not None, "the pipeline did not take the file"
    [card] = cards(office.get("/waiting").text).values()
    assert "企业微信账号 wangli_mhk" in card and "活动照片.jpg" in card
    assert "wecom.invalid" not in card and "mailto:" not in card


def test_the_digest_download_counts_a_waiting_mail_no_unit_was_guessed_for(
    office: TestClient, service: Service, tmp_path: Path
) -> None:
    queue_mail(service, tmp_path, promo_mail())
    legend = load_workbook(io.BytesIO(office.get("/exports/digest.xlsx").content))["说明"]
    rows = {row[0]: row[1] for row in legend.iter_rows(values_only=True) if row and row[0]}
    assert rows["待确认单位"].startswith("1 封")


def test_the_contacts_page_names_the_units_no_reminder_can_reach_and_why(office: TestClient, service: Service) -> None:
    service.store.contacts.add(CHANGCHUN, "李明", phone="0431-88886666")  # a phone: no mail, no WeCom
    service.store.contacts.add("吉林市教育局", "王五", wecom_user="wangwu")  # WeCom only: reached
    section = office.get("/contacts").text.split('id="no-contact"')[1]
    listed = dict(re.findall(r'<li data-unit="([^"]+)">.*?</a>：(.*?)</li>', section))
    assert listed[CHANGCHUN] == "联系人没有邮箱或企业微信账号"
    assert listed[CLAIMED_UNIT] == "无联系人"
    assert LATE not in listed and "吉林市教育局" not in listed  # 赵岩 has an address; 王五 a WeCom id


# ---- 群发 -------------------------------------------------------------------------------------


def test_a_bulk_message_is_previewed_then_sent_once(office: TestClient, service: Service) -> None:
    service.store.contacts.add(CHANGCHUN, "李明", emails=["liming@ccedu.cn"])
    form = {
        "csrf": csrf(office, "/broadcast"),
        "states": ["nothing"],
        "channels": ["mail"],
        "subject": "请尽快报送推荐材料",
        "text": "请于本周内报送。<script>alert(1)</script>",
    }
    preview = office.post("/broadcast/preview", data=form)
    assert preview.status_code == 200
    targets = preview.text.split('id="broadcast-targets"')[1].split("</table>")[0]
    assert CHANGCHUN in targets and "liming@ccedu.cn" in targets and "伍凤霞" not in targets
    unreachable = preview.text.split('id="broadcast-unreachable"')[1].split("</ul>")[0]
    assert CLAIMED_UNIT in unreachable and "未登记联系人" in unreachable
    assert "<script>alert(1)</script>" not in preview.text and "&lt;script&gt;" in preview.text
    assert service.campaign.office.phone in preview.text  # the office's signature, as the unit reads it
    assert not [r for r in service.store.outbox.all() if r.dedupe_key.startswith("broadcast:")]

    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    confirm = {**form, "token": token}
    sent = office.post("/broadcast/send", data=confirm)
    rows = [r for r in service.store.outbox.all() if r.dedupe_key.startswith("broadcast:")]
    # Of the units 未报送 only 长春 has a contact (延边 and 长白山, the TOML's, have sent theirs).
    assert [(r.unit_name, r.recipients) for r in rows] == [(CHANGCHUN, ["liming@ccedu.cn"])]
    assert f"已排入发送队列 {len(rows)} 条" in sent.text
    again = office.post("/broadcast/send", data=confirm)  # a second click
    assert "没有重复发送" in again.text
    assert len([r for r in service.store.outbox.all() if r.dedupe_key.startswith("broadcast:")]) == len(rows)
    assert service.store.audit.entries(action="broadcast.sent")[0].actor == "office:wu"


def test_a_bulk_message_changed_after_its_preview_is_refused(office: TestClient, service: Service) -> None:
    service.store.contacts.add(CHANGCHUN, "李明", emails=["liming@ccedu.cn"])
    form = {"states": ["nothing"], "channels": ["mail"], "subject": "提醒", "text": "请于本周内报送。"}
    preview = office.post("/broadcast/preview", data={"csrf": csrf(office, "/broadcast"), **form})
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    changed = {**form, "text": "请于今天报送。", "csrf": csrf(office, "/broadcast"), "token": token}
    response = office.post("/broadcast/send", data=changed)
    assert response.status_code == 400 and CHANGED_ZH in response.text
    unminted = office.post("/broadcast/send", data={**form, "csrf": csrf(office, "/broadcast"), "token": "x" * 16})
    assert unminted.status_code == 400 and "请重新预览后再发送" in unminted.text
    assert not [r for r in service.store.outbox.all() if r.dedupe_key.startswith("broadcast:")]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"states": []}, "请选择要群发的单位"),
        ({"channels": ["wecom"]}, "企业微信应用尚未配置"),  # the test service has no WeCom app
        ({"text": ""}, "请填写群发内容"),
    ],
)
def test_an_unfit_bulk_message_is_refused_in_chinese(
    office: TestClient, service: Service, change: dict, error: str
) -> None:
    form = {"states": ["nothing"], "channels": ["mail"], "subject": "提醒", "text": "请报送", **change}
    response = office.post("/broadcast/preview", data={"csrf": csrf(office, "/broadcast"), **form})
    assert response.status_code == 400 and error in response.text
    forged = office.post("/broadcast/send", data={"csrf": csrf(office, "/broadcast"), "token": "bad token", **form})
    assert forged.status_code == 400
    assert not [r for r in service.store.outbox.all() if r.dedupe_key.startswith("broadcast:")]


# ---- notes ------------------------------------------------------------------------------------


def test_a_note_is_kept_on_the_unit_page_and_never_sent_to_the_unit(
    office: TestClient, service: Service, tmp_path: Path
) -> None:
    unit_page = f"/units/{quote(LATE)}"
    note = "内部备注：电话核实，视频周五补交<b>"
    response = office.post(
        f"{unit_page}/notes", data={"csrf": csrf(office, unit_page), "text": note}, follow_redirects=False
    )
    assert response.status_code == 303
    page = office.get(response.headers["location"]).text
    assert "已保存备注" in page and "内部备注：电话核实，视频周五补交&lt;b&gt;" in page
    [kept] = service.store.state.notes(LATE)
    assert kept.author == "office:wu"

    # The unit sends again: its receipt is queued, and so is a bulk message to the units 待修改.
    path = tmp_path / "again.eml"
    path.write_bytes(late_mail())  # a Message-ID of its own: a new mail
    record = service.desk.ingest_file(path)
    assert service.desk.await_processed(record.id or 0, 20) is not None
    preview = office.post(
        "/broadcast/preview",
        data={
            "csrf": csrf(office),
            "states": ["incomplete"],
            "channels": ["mail"],
            "subject": "提醒",
            "text": "请修改",
        },
    )
    token = re.search(r'name="token" value="([^"]+)"', preview.text).group(1)
    office.post(
        "/broadcast/send",
        data={
            "csrf": csrf(office),
            "token": token,
            "states": ["incomplete"],
            "channels": ["mail"],
            "subject": "提醒",
            "text": "请修改",
        },
    )
    rows = service.store.outbox.all(unit_name=LATE)
    assert {r.dedupe_key.split(":")[0] for r in rows} >= {"reply", "broadcast"}
    texts = outbox_texts(service)
    assert any("请修改" in t for t in texts)  # the texts are read, and the note is in none of them
    assert not any("电话核实" in t for t in texts)


def test_an_empty_note_is_refused_in_chinese(office: TestClient, service: Service) -> None:
    unit_page = f"/units/{quote(LATE)}"
    response = office.post(f"{unit_page}/notes", data={"csrf": csrf(office, unit_page), "text": "  "})
    assert response.status_code == 400 and "备注内容不能为空" in response.text
    assert service.store.state.notes(LATE) == []


def test_a_note_may_be_about_one_of_the_units_nominees(office: TestClient, service: Service) -> None:
    unit_page = f"/units/{quote(COMPLETE)}"
    html = office.get(unit_page).text
    assert '<option value="金哲洙">金哲洙</option>' in html.split('id="notes"')[1]
    office.post(f"{unit_page}/notes", data={"csrf": form_csrf(html), "text": "推荐表待盖章", "nominee": "金哲洙"})
    notes = office.get(unit_page).text.split('id="notes"')[1].split("</ul>")[0]
    assert "关于 金哲洙" in notes and "推荐表待盖章" in notes
    assert [(n.nominee, n.text) for n in service.store.state.notes(COMPLETE)] == [("金哲洙", "推荐表待盖章")]
