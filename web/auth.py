"""Office logins for the dashboard: server-side sessions, CSRF tokens, the login guard.

Why sessions live in the database (the store's key-value table) and not in a signed
cookie: the cookie then holds only a random token, so logging out or disabling a user
ends the session at once, every process of the service sees the same sessions, and no
signing key has to be generated, kept secret and rotated (itsdangerous is not installed
either). The token is stored hashed, so a copy of the database gives no usable session.

CSRF: every session carries its own random token, put in each form and checked on every
POST. The login form, which has no session yet, uses the double-submit pattern (a random
cookie that the form must repeat). Cookies are HttpOnly and SameSite=Lax.

Guessing passwords: after LOGIN_MAX_FAILURES failed logins for one username from one
address within LOGIN_WINDOW, that username may not log in from that address for
LOGIN_WINDOW, whatever password is given (the password is not even checked, so the lock
tells nothing about it); after ADDRESS_MAX_FAILURES failures from one address, whatever the
usernames, that address may not log in at all. Keyed on the address too, so a stranger
guessing at the office's username locks out only themselves, not the clerk at her desk.
The address is `request.client`, the TCP peer, never a header this code reads: a visitor
writes X-Forwarded-For as she likes. `nomdesk serve` has uvicorn put the forwarded address
there only when the peer is one of NOMDESK_TRUSTED_PROXIES (nomdesk/cli/running.py); with none
configured, behind a reverse proxy every visitor has the proxy's address, and the locks are
then per username and for everyone, as strict as before, never looser. The failures and the
locks live in the same key-value table as the sessions, so every process sees them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import HTTPException, Request, Response

from storage.repo import Store

SESSION_COOKIE = "nomdesk_session"  # the default campaign's; a keyed one's is session_cookie(store)
LOGIN_CSRF_COOKIE = "nomdesk_login_csrf"
SESSION_TTL = dt.timedelta(hours=12)
KEY_PREFIX = "web-session:"
LOGIN_MAX_FAILURES = 5  # per username and address
ADDRESS_MAX_FAILURES = 20  # per address, any usernames (trying many names with one password)
LOGIN_WINDOW = dt.timedelta(minutes=15)  # failures count within it; a lock lasts as long
FAILURES_PREFIX = "web-login-failures:"
LOCK_PREFIX = "web-login-locked:"
LOCKED_ZH = f"登录失败次数过多，已暂停登录 {int(LOGIN_WINDOW.total_seconds()) // 60} 分钟，请稍后再试"


@dataclass(frozen=True)
class WebUser:
    username: str
    display_name: str
    csrf: str  # this session's CSRF token

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        return f"office:{self.username}"


def session_cookie(store: Store) -> str:
    """The session cookie's name for this desk's campaign. Sessions live in the campaign's own schema
    (or file), so another campaign's token opens nothing there anyway; a name per campaign keeps the
    office logged in to two campaigns' desks on one host (cookies are not kept apart by port)."""
    return f"{SESSION_COOKIE}_{store.campaign_key.replace('-', '_')}" if store.campaign_key else SESSION_COOKIE


def _key(token: str) -> str:
    return KEY_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start_session(store: Store, response: Response, request: Request, username: str, display_name: str) -> None:
    token = secrets.token_urlsafe(32)
    value = json.dumps({"user": username, "name": display_name, "csrf": secrets.token_urlsafe(32)})
    store.state.kv_set(_key(token), value, expires_at=dt.datetime.now(dt.UTC) + SESSION_TTL)
    response.set_cookie(
        session_cookie(store),
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")


def end_session(store: Store, request: Request, response: Response) -> None:
    token = request.cookies.get(session_cookie(store))
    if token:
        store.state.kv_delete(_key(token))
    response.delete_cookie(session_cookie(store), path="/")


def session_user(store: Store, request: Request) -> WebUser | None:
    """The logged-in office user of this request, or None (no cookie, expired, or user disabled)."""
    token = request.cookies.get(session_cookie(store))
    if not token:
        return None
    raw = store.state.kv_get(_key(token))
    if raw is None:
        return None
    data = json.loads(raw)
    user = store.directory.get_user(data["user"])
    if user is None or not user.active:
        return None
    return WebUser(username=user.username, display_name=user.display_name or user.username, csrf=data["csrf"])


def login_redirect(request: Request) -> HTTPException:
    """303 to the login page, coming back here afterwards (raised, so any route can use it)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/login" if target == "/" else f"/login?next={quote(target, safe='')}"
    return HTTPException(status_code=303, detail="请先登录", headers={"Location": location})


def check_csrf(user: WebUser, token: str | None) -> None:
    if not token or not hmac.compare_digest(token, user.csrf):
        raise HTTPException(status_code=403, detail="表单已失效，请刷新页面后重试")


def new_login_csrf(request: Request) -> str:
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_login_csrf(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="lax", secure=_secure(request), path="/"
    )


def check_login_csrf(request: Request, token: str | None) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not token or not cookie or not hmac.compare_digest(token, cookie):
        raise HTTPException(status_code=403, detail="登录表单已失效，请刷新页面后重试")


def safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _subjects(username: str, address: str) -> list[tuple[str, int]]:
    """What a login attempt counts against, each with its limit: the username from this address,
    and the address itself. Hashed: any text a visitor types makes a bounded key."""
    name = username.strip().casefold()
    return [
        (hashlib.sha256(f"user:{name}|addr:{address}".encode()).hexdigest(), LOGIN_MAX_FAILURES),
        (hashlib.sha256(f"addr:{address}".encode()).hexdigest(), ADDRESS_MAX_FAILURES),
    ]


def login_locked(store: Store, username: str, address: str, now: dt.datetime) -> bool:
    return any(store.state.kv_get(LOCK_PREFIX + key, now=now) is not None for key, _ in _subjects(username, address))


def record_login_failure(store: Store, username: str, address: str, now: dt.datetime) -> bool:
    """Count a failed login; True when this one sets a lock."""
    locked = False
    since = now - LOGIN_WINDOW
    for key, limit in _subjects(username, address):
        raw = store.state.kv_get(FAILURES_PREFIX + key, now=now)
        failures = [t for t in (json.loads(raw) if raw else []) if dt.datetime.fromisoformat(t) > since]
        failures.append(now.isoformat())
        if len(failures) >= limit:
            store.state.kv_set(LOCK_PREFIX + key, now.isoformat(), expires_at=now + LOGIN_WINDOW)
            store.state.kv_delete(FAILURES_PREFIX + key)
            locked = True
        else:
            store.state.kv_set(FAILURES_PREFIX + key, json.dumps(failures), expires_at=now + LOGIN_WINDOW)
    return locked


def clear_login_failures(store: Store, username: str, address: str) -> None:
    """A login succeeded: this username's count from this address starts again (the address's own
    count does not, or one known login would reset a sprayer's budget)."""
    key, _ = _subjects(username, address)[0]
    store.state.kv_delete(FAILURES_PREFIX + key)
