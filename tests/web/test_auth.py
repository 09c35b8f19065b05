from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from nomdesk.app import create_app
from nomdesk.service import Service
from storage.repo import Store
from tests.support.dashboard import COMPLETE, OFFICE_PASSWORD, OFFICE_USER, form_csrf, login
from tests.support.service import clean_env
from web import auth

UNIT = f"/units/{quote(COMPLETE)}"
PROTECTED_GETS = ["/", UNIT, f"{UNIT}/raw/1", f"{UNIT}/files/1/thumb", "/exports/roster.xlsx", "/exports/digest.xlsx"]


@pytest.mark.parametrize("path", PROTECTED_GETS)
def test_every_page_redirects_to_login_without_a_session(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert "金哲洙" not in response.text and not response.content.startswith(b"PK")
    assert response.headers["x-frame-options"] == "DENY"


def test_actions_are_refused_without_a_session(client: TestClient, service: Service) -> None:
    response = client.post(f"{UNIT}/paper", data={"received_on": "2021-09-01"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert not service.store.state.paper_received(COMPLETE)


def test_a_strangers_upload_is_refused_before_it_is_read(client: TestClient, service: Service) -> None:
    sent: list[int] = []

    def body():  # a 64 MB multipart body, counted as the server takes it
        for _ in range(64):
            sent.append(1)
            yield b"x" * (1 << 20)

    response = client.post(
        f"{UNIT}/attach",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=zzz"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert len(sent) < 4, f"{len(sent)} MB of the upload were read before the refusal"
    assert len(service.store.raw.all()) == 0 or all(r.source != "office" for r in service.store.raw.all())


def test_login_then_back_to_the_page_asked_for(client: TestClient) -> None:
    first = client.get(UNIT, follow_redirects=False)
    page = client.get(first.headers["location"])
    assert 'name="next"' in page.text
    response = client.post(
        "/login",
        data={"username": OFFICE_USER, "password": OFFICE_PASSWORD, "csrf": form_csrf(page.text), "next": UNIT},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == UNIT
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "金哲洙" in client.get(UNIT).text


def test_wrong_password_and_unknown_users_are_refused(client: TestClient) -> None:
    response = login(client, OFFICE_USER, "wrong-password")
    assert response.status_code == 401 and "用户名或密码错误" in response.text
    assert login(client, "nobody", OFFICE_PASSWORD).status_code == 401
    assert client.get("/", follow_redirects=False).status_code == 303


def test_five_failed_logins_lock_the_username_for_a_quarter_hour(
    client: TestClient, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.store.directory.add_user("li", "li-own-password-1", "李明")
    for _ in range(auth.LOGIN_MAX_FAILURES - 1):
        assert login(client, OFFICE_USER, "wrong-password").status_code == 401
    fifth = login(client, OFFICE_USER, "wrong-password")
    assert fifth.status_code == 429 and "登录失败次数过多" in fifth.text
    # Locked: the right password is refused too, and no session is made.
    right = login(client, OFFICE_USER, OFFICE_PASSWORD)
    assert right.status_code == 429 and "请稍后再试" in right.text and "set-cookie" not in right.headers
    assert client.get("/", follow_redirects=False).status_code == 303
    # Another office user is not locked out by someone guessing at 吴晓辉's password.
    assert login(client, "li", "li-own-password-1").status_code == 303
    # A quarter of an hour later the lock is over.
    later = service.desk.clock() + auth.LOGIN_WINDOW + dt.timedelta(seconds=1)
    monkeypatch.setattr(service.desk, "clock", lambda: later)
    assert login(client, OFFICE_USER, OFFICE_PASSWORD).status_code == 303


def test_a_stranger_guessing_from_elsewhere_does_not_lock_the_clerk_out(service: Service) -> None:
    app = create_app(service)
    with (
        TestClient(app, base_url="http://127.0.0.1", client=("203.0.113.9", 40000)) as stranger,
        TestClient(app, base_url="http://127.0.0.1", client=("10.1.2.3", 50000)) as clerk,
    ):
        for _ in range(auth.LOGIN_MAX_FAILURES - 1):
            assert login(stranger, OFFICE_USER, "guess").status_code == 401
        assert login(stranger, OFFICE_USER, "guess").status_code == 429
        assert login(stranger, OFFICE_USER, OFFICE_PASSWORD).status_code == 429  # locked there
        assert login(clerk, OFFICE_USER, OFFICE_PASSWORD).status_code == 303  # not at the clerk's desk


def test_one_address_trying_many_usernames_is_stopped(service: Service) -> None:
    with TestClient(create_app(service), base_url="http://127.0.0.1", client=("203.0.113.9", 40000)) as sprayer:
        codes = [login(sprayer, f"user{n}", "123456").status_code for n in range(auth.ADDRESS_MAX_FAILURES)]
        assert codes[:-1] == [401] * (auth.ADDRESS_MAX_FAILURES - 1) and codes[-1] == 429
        assert login(sprayer, OFFICE_USER, OFFICE_PASSWORD).status_code == 429  # the address is locked


def test_failures_spread_over_more_than_the_window_or_followed_by_a_login_do_not_lock(
    client: TestClient, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = service.desk.clock()
    for _ in range(auth.LOGIN_MAX_FAILURES - 1):
        assert login(client, OFFICE_USER, "wrong-password").status_code == 401
    monkeypatch.setattr(service.desk, "clock", lambda: start + auth.LOGIN_WINDOW + dt.timedelta(seconds=1))
    assert login(client, OFFICE_USER, "wrong-password").status_code == 401  # the first four no longer count
    for _ in range(auth.LOGIN_MAX_FAILURES - 2):
        assert login(client, OFFICE_USER, "wrong-password").status_code == 401
    assert login(client, OFFICE_USER, OFFICE_PASSWORD).status_code == 303  # a login clears the count
    assert login(client, OFFICE_USER, "wrong-password").status_code == 401


def test_unit_contacts_cannot_log_in(client: TestClient, service: Service) -> None:
    """A unit contact (by e-mail address or WeCom id) is not an office user, whatever password they try."""
    contact = next(c for c in service.store.contacts.list(COMPLETE))
    for name in [*contact.emails, contact.wecom_user, contact.name]:
        assert login(client, name, OFFICE_PASSWORD).status_code == 401
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_form_without_its_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": OFFICE_USER, "password": OFFICE_PASSWORD, "csrf": "forged"})
    assert response.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_posts_without_the_session_csrf_token_are_refused(office: TestClient, service: Service) -> None:
    for data in ({"received_on": "2021-09-01"}, {"received_on": "2021-09-01", "csrf": "forged"}):
        response = office.post(f"{UNIT}/paper", data=data, follow_redirects=False)
        assert response.status_code == 403
    assert not service.store.state.paper_received(COMPLETE)
    response = office.post("/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert response.status_code == 403
    assert office.get("/").status_code == 200  # still logged in


def test_logout_ends_the_session_on_the_server(office: TestClient) -> None:
    cookie = office.cookies.get("nomdesk_session")
    csrf = form_csrf(office.get("/").text)
    assert office.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    # The old cookie, replayed, is worth nothing: the session is gone from the database.
    office.cookies.set("nomdesk_session", cookie)
    assert office.get("/", follow_redirects=False).status_code == 303


def test_passwords_are_stored_hashed(service: Service) -> None:
    user = service.store.directory.get_user(OFFICE_USER)
    assert user is not None and OFFICE_PASSWORD not in user.password_hash
    assert user.password_hash.startswith("scrypt$")
    assert service.store.directory.verify_user(OFFICE_USER, OFFICE_PASSWORD) is not None
    assert service.store.directory.verify_user(OFFICE_USER, OFFICE_PASSWORD + "x") is None


def test_cli_user_add_reads_the_password_from_stdin(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    args = ["user", "add", "li", "--name", "李明", "--password-stdin", "--data-dir", str(data_dir)]
    result = subprocess.run(
        [sys.executable, "-m", "nomdesk.cli", *args],
        input="a-long-password\n",
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "李明" in result.stdout
    with Store.open(data_dir) as store:
        user = store.directory.get_user("li")
        assert user is not None and user.display_name == "李明"
        assert store.directory.verify_user("li", "a-long-password") is not None
