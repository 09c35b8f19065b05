"""The login lock against a real `nomdesk serve` on loopback: X-Forwarded-For is a header anyone
writes, so it names the visitor only when it comes from a proxy the installation trusts
(NOMDESK_TRUSTED_PROXIES); otherwise the lock holds on the real peer, however the header rotates."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from storage.repo import Store
from tests.support.dashboard import OFFICE_NAME, OFFICE_PASSWORD, OFFICE_USER, form_csrf
from tests.support.dovecot import free_port
from tests.support.service import ServeProcess, nomdesk
from web import auth

GUESSES = 60  # what the attacker tried: sixty passwords, each from "another" address


def _data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "var"
    with Store.open(data) as store:
        store.directory.add_user(OFFICE_USER, OFFICE_PASSWORD, OFFICE_NAME)
    return data


def _login(client: httpx.Client, password: str, forwarded_for: str | None = None) -> httpx.Response:
    """The login form filled in and sent, as a browser does, with the header a proxy (or anyone) adds."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    page = client.get("/login", headers=headers)
    data = {"username": OFFICE_USER, "password": password, "csrf": form_csrf(page.text), "next": "/"}
    return client.post("/login", data=data, headers=headers, follow_redirects=False)


@pytest.mark.parametrize(
    "env",
    [
        {"FORWARDED_ALLOW_IPS": "*"},  # uvicorn's own setting, left in the environment: not believed
        {"NOMDESK_TRUSTED_PROXIES": "10.0.0.0/8"},  # a proxy is trusted, but the peer is not it
    ],
    ids=["no-proxy-configured", "peer-is-not-the-proxy"],
)
def test_rotating_forwarded_addresses_do_not_escape_the_lock(tmp_path: Path, env: dict[str, str]) -> None:
    with ServeProcess(_data_dir(tmp_path), env=env) as serve, httpx.Client(base_url=serve.url, timeout=30) as client:
        codes = [_login(client, f"guess-{n}", f"198.51.{n // 250}.{n % 250 + 1}").status_code for n in range(GUESSES)]
        assert codes[: auth.LOGIN_MAX_FAILURES - 1] == [401] * (auth.LOGIN_MAX_FAILURES - 1)
        assert set(codes[auth.LOGIN_MAX_FAILURES - 1 :]) == {429}, codes
        right = _login(client, OFFICE_PASSWORD, "203.0.113.77")
        assert right.status_code == 429 and auth.LOCKED_ZH in right.text
        assert auth.SESSION_COOKIE not in right.headers.get("set-cookie", "")
        assert client.get("/", follow_redirects=False).status_code == 303  # no session: back to the login


def test_a_trusted_proxys_forwarded_addresses_are_locked_each_on_its_own(tmp_path: Path) -> None:
    env = {"NOMDESK_TRUSTED_PROXIES": "127.0.0.1"}
    with (
        ServeProcess(_data_dir(tmp_path), env=env) as serve,
        httpx.Client(base_url=serve.url, timeout=30) as stranger,
        httpx.Client(base_url=serve.url, timeout=30) as clerk,
    ):
        guesses = [_login(stranger, f"guess-{n}", "203.0.113.9").status_code for n in range(auth.LOGIN_MAX_FAILURES)]
        assert guesses[-1] == 429 and set(guesses[:-1]) == {401}
        assert _login(stranger, OFFICE_PASSWORD, "203.0.113.9").status_code == 429  # that visitor is locked
        # The clerk comes through the same proxy from her own address: not locked out by the stranger.
        assert _login(clerk, OFFICE_PASSWORD, "198.51.100.7").status_code == 303
        assert clerk.get("/").status_code == 200


def test_a_trusted_proxy_that_is_not_an_address_stops_serve(tmp_path: Path) -> None:
    """uvicorn would keep "proxy.example" as a name that never matches (or "*": everyone): refused."""
    data = _data_dir(tmp_path)
    for value in ("proxy.example", "*"):
        done = nomdesk(
            "serve", "--data-dir", data, "--port", str(free_port()), env={"NOMDESK_TRUSTED_PROXIES": value}, timeout=30
        )
        assert done.returncode == 2 and f"“{value}”不是 IP 地址或网段" in done.stderr
