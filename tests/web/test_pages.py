from __future__ import annotations

import http.server
import io
import re
import threading
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from PIL import Image

from nomdesk.service import Service
from schedule.slots import reminder_plan
from tests.support.dashboard import (
    COMPLETE,
    EXPECTED_LATE,
    EXPECTED_STATES,
    INCOMPLETE,
    LARGE_FILE_LINK,
    LATE,
    form_csrf,
)
from tests.support.media import make_photo
from tests.support.service import nomdesk

UNIT = f"/units/{quote(COMPLETE)}"


def states(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-unit="([^"]+)" data-state="([^"]+)"', html))


def late_units(html: str) -> set[str]:
    return set(re.findall(r'data-unit="([^"]+)" data-state="[^"]+" data-late="yes"', html))


def workbook_rows(ws) -> list[dict[str, object]]:
    """A sheet's rows by its header's names, as the office reads it."""
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_campaign_page_shows_every_unit_in_its_state(office: TestClient, service: Service) -> None:
    html = office.get("/").text
    shown = states(html)
    assert len(shown) == len(service.campaign.units)
    for unit, state in EXPECTED_STATES.items():
        assert shown[unit] == state, unit
    assert sum(s == "none" for s in shown.values()) == len(service.campaign.units) - 3
    assert late_units(html) == EXPECTED_LATE
    # The late unit is both: still missing things, and late.
    late_row = re.search(rf'data-unit="{LATE}".*?</tr>', html, re.S).group(0)
    assert ">待修改<" in late_row and ">逾期<" in late_row
    assert "已于 2021年08月30日 截止（已过 3 天）" in html
    row = re.search(r'data-unit="延边朝鲜族自治州教育局".*?</tr>', html, re.S).group(0)
    assert ">8<" in row and ">5<" in row and "之星 1 · 项目 1" in row and "未收" in row


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=late", {LATE}),
        ("state=incomplete", {INCOMPLETE, LATE}),  # late, and still incomplete
        ("kind=college&state=late", {LATE}),
        ("kind=college&state=incomplete", {LATE}),
        ("kind=college&state=complete", set()),
        (f"q={quote('延边')}", {COMPLETE, "延边大学", "延边职业技术学院"}),
    ],
)
def test_filters_and_search(office: TestClient, query: str, expected: set[str]) -> None:
    assert set(states(office.get(f"/?{query}").text)) == expected


def test_unit_page_shows_the_dossier_per_nominee(office: TestClient) -> None:
    html = office.get(f"/units/{quote(INCOMPLETE)}").text
    assert "待修改" in html
    cards = dict(re.findall(r'data-nominee="([^"]+)">(.*?)</article>', html, re.S))
    assert len(cards) == 7 + 5
    # Each finding is there in Chinese, on the nominee it is about.
    with_errors = [name for name, card in cards.items() if "sev-error" in card]
    assert with_errors and all("必须修改" in cards[name] for name in with_errors)
    assert any("附表3" in card or "推荐表" in card for card in cards.values())
    # Photos as thumbnails through the authenticated route, never a file path.
    assert "/store/" not in html and "/tmp/" not in html
    thumbs = re.findall(r'src="(/units/[^"]+/files/\d+/thumb)"', html)
    assert len(thumbs) >= 12
    image = office.get(thumbs[0])
    assert image.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(image.content)).size) <= 320
    assert re.search(r"MP4，h264，\d+×\d+，25\.00 帧/秒，\d+分\d\d秒", html)


def test_raw_mail_download_is_the_mail_as_received(office: TestClient, service: Service) -> None:
    html = office.get(UNIT).text
    link = re.search(r'href="(/units/[^"]+/raw/(\d+))"', html)
    response = office.get(link.group(1))
    assert response.headers["content-disposition"].startswith("attachment;")
    record = service.store.raw.get(int(link.group(2)))
    assert response.content == service.store.raw.path(record).read_bytes()
    # Another unit's mail is not reachable through this unit's page.
    other = service.store.submissions.of_unit(INCOMPLETE)[0].raw_message_id
    assert office.get(f"{UNIT}/raw/{other}").status_code == 404


def test_unit_page_lists_replies_and_reminders_in_chinese(office: TestClient, service: Service) -> None:
    three_days = next(s for s in reminder_plan(service.campaign) if s.days == 3).key
    service.store.state.try_mark_reminder(COMPLETE, three_days, "mail")
    service.store.state.try_mark_reminder(COMPLETE, three_days, "wecom-markdown")
    html = office.get(UNIT).text
    replies = html.split("<h2>已发回复</h2>")[1].split("</section>")[0]
    assert "ybjyj_zcjy@163.com" in replies and "待发送" in replies
    reminders = html.split("<h2>催报提醒</h2>")[1].split("</section>")[0]
    assert "截止前3天提醒（2021年8月27日）" in reminders
    assert "邮件" in reminders and "企业微信" in reminders
    assert three_days not in reminders and "wecom-markdown" not in reminders


def test_mark_paper_records_a_receipt_and_reevaluates(office: TestClient, service: Service) -> None:
    assert "PAPER_PENDING" in {f.code for f in service.store.evaluations.current_findings(COMPLETE)}
    csrf = form_csrf(office.get(UNIT).text)
    response = office.post(
        f"{UNIT}/paper", data={"csrf": csrf, "received_on": "2021-09-01", "note": "EMS 1234"}, follow_redirects=False
    )
    assert response.status_code == 303
    [receipt] = service.store.state.paper_receipts(COMPLETE)
    assert str(receipt.received_on) == "2021-09-01" and receipt.recorded_by == "office:wu"
    assert "PAPER_PENDING" not in {f.code for f in service.store.evaluations.current_findings(COMPLETE)}
    html = office.get(response.headers["location"]).text
    assert "已记录纸质材料收到" in html and "已收（2021-09-01）" in html
    assert states(office.get("/").text)[COMPLETE] == "complete"


@pytest.fixture
def file_server() -> Iterator[str]:
    """A real HTTP server on loopback standing in for a cloud drive."""
    photo = make_photo(800, 600, text="网盘").read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/photo":
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Disposition", "attachment; filename*=UTF-8''" + quote("活动照片9.jpg"))
                self.send_header("Content-Length", str(len(photo)))
                self.end_headers()
                self.wfile.write(photo)
            elif self.path == "/login-page":
                body = "<html>请登录</html>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_attach_a_file_fetched_from_a_link(office: TestClient, service: Service, file_server: str) -> None:
    csrf = form_csrf(office.get(UNIT).text)
    response = office.post(
        f"{UNIT}/attach", data={"csrf": csrf, "url": f"{file_server}/photo", "submission": "1"}, follow_redirects=False
    )
    assert response.status_code == 303
    subs = service.store.submissions.of_unit(COMPLETE)
    assert len(subs) == 2
    assert [f.path for f in service.store.submissions.files(subs[1].id)] == ["活动照片9.jpg"]
    assert subs[1].arrived_at == subs[0].arrived_at  # it came with the first mail's link: not late
    assert "LATE" not in {f.code for f in service.store.evaluations.current_findings(COMPLETE)}
    html = office.get(response.headers["location"]).text
    assert "附件已加入该单位材料" in html and "（办公室补充）" in html
    # The unit's registered contacts get the receipt of the office's file (issue 10), by mail.
    [receipt] = [o for o in service.store.outbox.all() if o.raw_message_id == subs[1].raw_message_id]
    assert receipt.channel == "mail" and receipt.recipients == ["ybjyj_zcjy@163.com"]
    assert "延边-02" in receipt.subject and "本次收到 1 个文件" in receipt.body_text
    assert "活动照片9.jpg：" in receipt.body_text


def test_attach_for_a_named_nominee(office: TestClient, service: Service, file_server: str) -> None:
    """The office says whose file it is: the file is named so, and the desk places it by that name."""
    csrf = form_csrf(office.get(UNIT).text)
    data = {"csrf": csrf, "url": f"{file_server}/photo", "submission": "1", "for_name": "金哲洙"}
    assert office.post(f"{UNIT}/attach", data=data, follow_redirects=False).status_code == 303
    subs = service.store.submissions.of_unit(COMPLETE)
    assert [f.path for f in service.store.submissions.files(subs[-1].id)] == ["金哲洙_活动照片9.jpg"]


def test_attach_reports_links_that_give_no_file(office: TestClient, service: Service, file_server: str) -> None:
    csrf = form_csrf(office.get(UNIT).text)
    for path, reason in (("/gone", "服务器返回 404"), ("/login-page", "打开的是网页而不是文件")):
        response = office.post(f"{UNIT}/attach", data={"csrf": csrf, "url": file_server + path})
        assert response.status_code == 400 and reason in response.text
    assert len(service.store.submissions.of_unit(COMPLETE)) == 1


def test_late_unit_shows_its_state_and_that_it_is_late_and_offers_its_large_file_link(office: TestClient) -> None:
    html = office.get(f"/units/{quote(LATE)}").text
    assert re.search(r'id="unit-state">待修改<', html) and re.search(r'id="unit-late">逾期<', html)
    assert LARGE_FILE_LINK in html
    assert 'name="url" value="' + LARGE_FILE_LINK in html


def test_the_roster_download_is_the_cli_roster(office: TestClient, service: Service, data_dir, tmp_path) -> None:
    roster = office.get("/exports/roster.xlsx")
    assert roster.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in roster.headers["content-disposition"]
    book = load_workbook(io.BytesIO(roster.content))
    stars = workbook_rows(book["百姓学习之星"])
    assert {"推荐单位": COMPLETE, "姓名": "金哲洙"}.items() <= next(r for r in stars if r["姓名"] == "金哲洙").items()
    assert {r["推荐单位"] for r in stars} == {COMPLETE, INCOMPLETE}
    assert sum(r["推荐单位"] == COMPLETE for r in stars) == 8 and sum(r["推荐单位"] == INCOMPLETE for r in stars) == 7
    projects = workbook_rows(book["终身学习品牌项目"])
    assert ("长白山管委会教育科技局", "“林下经济”农民实用技术培训", "否") in {
        (r["推荐单位"], r["项目名称"], r["材料齐全"]) for r in projects
    }
    # Sheet by sheet, cell by cell, what `nomdesk export roster` writes.
    out = tmp_path / "roster.xlsx"
    done = nomdesk("export", "roster", out, "--data-dir", data_dir)
    assert done.returncode == 0, done.stderr
    cli = load_workbook(out)
    assert book.sheetnames == cli.sheetnames
    for name in cli.sheetnames:
        assert list(book[name].iter_rows(values_only=True)) == list(cli[name].iter_rows(values_only=True)), name


def test_digest_download(office: TestClient) -> None:
    digest = load_workbook(io.BytesIO(office.get("/exports/digest.xlsx").content)).active
    by_unit = {row["推荐单位"]: row for row in workbook_rows(digest)}
    assert (by_unit[COMPLETE]["状态"], by_unit[COMPLETE]["逾期"]) == ("材料齐全", "否")
    assert by_unit["长春市教育局"]["状态"] == "未报送"
    assert (by_unit[LATE]["状态"], by_unit[LATE]["逾期"]) == ("待修改", "是")


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "words"),
    [
        ("get", f"/units/{quote('没有这个单位教育局')}", None, 404, "没有这个单位"),
        ("get", f"{UNIT}/raw/999999", None, 404, "没有这封邮件"),
        ("post", f"{UNIT}/paper", {"csrf": "forged"}, 403, "表单已失效"),
        ("post", f"{UNIT}/paper", {"received_on": "9月1日"}, 400, "日期格式应为 YYYY-MM-DD"),
        ("post", f"{UNIT}/attach", {"submission": "第一次"}, 422, "提交的内容不完整或格式不对"),
    ],
)
def test_errors_are_chinese_pages(office: TestClient, method: str, path: str, data, status: int, words: str) -> None:
    if data is not None and data.get("csrf") is None:
        data = {**data, "csrf": form_csrf(office.get(UNIT).text)}
    response = office.request(method, path, data=data)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert words in response.text and "<html" in response.text and '"detail"' not in response.text
    assert response.headers["x-frame-options"] == "DENY"


def test_a_url_no_page_has_gets_a_chinese_page(office: TestClient) -> None:
    for method, path, status in (("get", "/units-typo", 404), ("get", "/no/such/page", 404), ("delete", "/", 405)):
        response = office.request(method, path)
        assert response.status_code == status, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "请从首页重新进入" in response.text and '"detail"' not in response.text, path
        assert response.headers["x-frame-options"] == "DENY"
    # what is not the dashboard keeps its own answers
    assert office.get("/static/no-such.css").headers["content-type"].startswith("application/json")
    assert office.get("/healthz").json()["ok"] is True


def test_no_dashboard_response_may_be_framed(office: TestClient) -> None:
    for response in (office.get("/"), office.get(UNIT), office.get("/exports/digest.xlsx"), office.get("/login")):
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
