"""The desk's side of WeCom's active API: app messages, files, and the group robot.

Built on wechatpy 1.8.18's enterprise client with its sharp edges filed off (see
shared/notes/wecom.md): the API base is configurable, including for gettoken; a bad
or expired token is refreshed at most once per call instead of recursing forever;
uploads re-create the file object for the retry and keep their filename; tokens live
in a pluggable, thread-safe `SessionStorage`. Every failure surfaces as `WeComError`
so a caller (the outbox) has one thing to catch and retry later.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote

import httpx
import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from config.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com/cgi-bin/"
APP_TEXT_LIMIT = 2048  # bytes, app text and markdown content
ROBOT_TEXT_LIMIT = 2048
ROBOT_MARKDOWN_LIMIT = 4096
MEDIA_LIMIT = 20 * 1024 * 1024
TOKEN_ERRORS = frozenset({40014, 42001})  # invalid / expired access_token: refresh once and retry
BUSY = -1  # "system busy": WeCom suggests retrying, at most 3 times
TRUNCATED_NOTE = "\n……（内容较长，其余部分已省略）"

T = TypeVar("T")


# WeCom's codes for requests that are wrong, not unlucky: bad secret (40001), bad corp id (40013),
# bad agent id (40056), missing agent id (41011), no valid recipient (81013), bad robot key (93000).
PERMANENT_ERRCODES = frozenset({40001, 40013, 40056, 41011, 81013, 93000})


class WeComError(RuntimeError):
    """A WeCom call that did not succeed; `errcode` is WeCom's code, None when WeCom was not reached."""

    def __init__(self, message: str, errcode: int | None = None, errmsg: str | None = None) -> None:
        super().__init__(message)
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def permanent(self) -> bool:
        """Trying again cannot help (a wrong secret, agent, robot key or recipient): the outbox
        stops retrying and the row keeps the reason for the office."""
        return self.errcode in PERMANENT_ERRCODES


class _TokenRejected(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        self.errcode, self.errmsg = errcode, errmsg


class MemoryTokenStorage(SessionStorage):
    """In-process token store: thread-safe, and it forgets a value once its TTL has passed."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._data: dict[str, tuple[Any, float | None]] = {}

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return default
            value, expires_at = item
            if expires_at is not None and expires_at <= self._clock():
                del self._data[key]
                return default
            return value

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if value is None:
            return
        with self._lock:
            self._data[key] = (value, None if ttl is None else self._clock() + ttl)

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


def split_utf8(text: str, limit: int) -> list[str]:
    """Cut `text` into parts of at most `limit` UTF-8 bytes whose concatenation is `text`.

    Cuts fall at line ends; a single line longer than `limit` is cut between characters.
    """
    if len(text.encode("utf-8")) <= limit:
        return [text]
    parts: list[str] = []
    current, size = "", 0
    for line in text.splitlines(keepends=True):
        line_size = len(line.encode("utf-8"))
        if size + line_size <= limit:
            current, size = current + line, size + line_size
            continue
        if current:
            parts.append(current)
            current, size = "", 0
        while line_size > limit:
            head = line.encode("utf-8")[:limit].decode("utf-8", errors="ignore")  # drops a cut character
            parts.append(head)
            line = line[len(head) :]
            line_size = len(line.encode("utf-8"))
        current, size = line, line_size
    if current:
        parts.append(current)
    return parts


def _filename_from_disposition(header: str | None, fallback: str) -> str:
    if not header:
        return fallback
    extended = re.search(r"filename\*\s*=\s*([^']*)'[^']*'([^;]+)", header, re.IGNORECASE)
    if extended:
        return unquote(extended.group(2).strip().strip('"'), encoding=extended.group(1) or "utf-8")
    plain = re.search(r'filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;]+)', header, re.IGNORECASE)
    if not plain:
        return fallback
    name = (plain.group(1) if plain.group(1) is not None else plain.group(2)).strip()
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        # WeCom writes raw UTF-8 bytes; HTTP libraries hand them over as latin-1
        name = name.encode("latin-1").decode("utf-8")
    return name or fallback


def _json_error(res: requests.Response) -> tuple[int, str] | None:
    if "json" not in res.headers.get("Content-Type", "") and res.content[:1] != b"{":
        return None
    try:
        body = res.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not int(body.get("errcode") or 0):
        return None
    return int(body["errcode"]), str(body.get("errmsg", ""))


def _check_recipients(users: list[str], result: Any) -> None:
    """WeCom sends to the valid recipients and lists the others in `invaliduser` (not members,
    or outside the app's visible range): all of them invalid is a failure the outbox records."""
    invalid = {u for u in str((result or {}).get("invaliduser") or "").split("|") if u}
    if not invalid:
        return
    if invalid >= set(users):
        raise WeComError(f"企业微信消息的接收人均无效（invaliduser：{'|'.join(sorted(invalid))}）", 81013)
    log.warning("WeCom message/send: %d of %d recipients invalid: %s", len(invalid), len(users), sorted(invalid))


class _Client(WeChatClient):
    """wechatpy's client aimed at a configurable base URL, gettoken included."""

    def __init__(
        self, corp_id: str, secret: str, agent_id: int, api_base: str, session: SessionStorage, timeout: float
    ) -> None:
        self.API_BASE_URL = api_base
        self.agent_id = agent_id
        self._token_lock = threading.Lock()
        # auto_retry off: wechatpy would refetch and recurse without limit on a persistent 40014.
        super().__init__(corp_id, secret, session=session, timeout=timeout, auto_retry=False)
        # wechatpy's own key held the secret's first 10 characters; a row stored under it goes.
        session.delete(f"{corp_id}_{secret[:10]}_access_token")

    @property
    def access_token_key(self) -> str:
        """Where the token is kept: by corp and agent (one token per app), never by the secret."""
        return f"{self.corp_id}_agent{self.agent_id}_access_token"

    def fetch_access_token(self) -> dict[str, Any]:
        with self._token_lock:
            try:
                res = self._http.get(
                    self.API_BASE_URL + "gettoken",
                    params={"corpid": self.corp_id, "corpsecret": self.secret},
                    timeout=self.timeout,
                )
                res.raise_for_status()
                result = res.json()
            except (requests.RequestException, ValueError) as exc:
                # `from None`: the request URL carries the corp secret.
                raise WeComError(f"无法获取企业微信 access_token：{type(exc).__name__}") from None
            errcode = int(result.get("errcode") or 0)
            if errcode or not result.get("access_token"):
                errmsg = str(result.get("errmsg", ""))
                raise WeComError(f"获取企业微信 access_token 失败（{errcode} {errmsg}）", errcode, errmsg)
            expires_in = int(result.get("expires_in") or 7200)
            self.session.set(self.access_token_key, result["access_token"], expires_in)
            self.expires_at = int(time.time()) + expires_in
            return result


class WeComClient:
    """Sends as the desk's WeCom app (agent) and fetches what members send to it."""

    def __init__(
        self,
        corp_id: str,
        secret: str,
        agent_id: int | str,
        *,
        api_base: str | None = None,
        session: SessionStorage | None = None,
        timeout: float = 10.0,
        duplicate_check_interval: int = 60,
        busy_retries: int = 2,
        busy_backoff: float = 0.5,
    ) -> None:
        base = api_base or Settings().wecom_api_base or DEFAULT_API_BASE
        self.api_base = base if base.endswith("/") else base + "/"
        self.agent_id = int(agent_id)
        # Short by default: long enough to make a retried send idempotent, short enough
        # that a member asking the same question twice still gets the answer twice.
        self.duplicate_check_interval = duplicate_check_interval
        self.busy_retries = busy_retries
        self.busy_backoff = busy_backoff
        self._client = _Client(corp_id, secret, self.agent_id, self.api_base, session or MemoryTokenStorage(), timeout)

    @classmethod
    def from_settings(cls, settings: Settings, *, session: SessionStorage | None = None) -> WeComClient:
        if not (settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id):
            raise WeComError("企业微信未配置：需要 NOMDESK_WECOM_CORP_ID、NOMDESK_WECOM_SECRET、NOMDESK_WECOM_AGENT_ID")
        return cls(
            settings.wecom_corp_id,
            settings.wecom_secret.get_secret_value(),
            settings.wecom_agent_id,
            api_base=settings.wecom_api_base,
            session=session,
        )

    # ---- the one retry policy --------------------------------------------------------

    def _call(self, endpoint: str, attempt: Callable[[], T]) -> T:
        """Run `attempt` (which must build its request afresh each time): one token refresh
        on 40014/42001, a few short retries on -1, anything else raised as WeComError."""
        refreshed = False
        busy = 0
        while True:
            try:
                return attempt()
            except WeChatClientException as exc:
                errcode = int(exc.errcode) if exc.errcode is not None else None
                errmsg = str(exc.errmsg or "")
            except _TokenRejected as exc:
                errcode, errmsg = exc.errcode, exc.errmsg
            except requests.RequestException as exc:
                raise WeComError(f"无法连接企业微信接口 {endpoint}：{type(exc).__name__}") from None
            if errcode in TOKEN_ERRORS and not refreshed:
                refreshed = True
                log.info("WeCom %s: access_token rejected (%s), fetching a new one", endpoint, errcode)
                self._client.session.delete(self._client.access_token_key)
                self._client.fetch_access_token()
                continue
            if errcode == BUSY and busy < self.busy_retries:
                busy += 1
                time.sleep(self.busy_backoff * busy)
                continue
            if errcode in TOKEN_ERRORS:
                raise WeComError(
                    f"企业微信接口 {endpoint} 刷新 access_token 后仍拒绝（{errcode} {errmsg}）", errcode, errmsg
                )
            raise WeComError(f"企业微信接口 {endpoint} 返回错误（{errcode} {errmsg}）", errcode, errmsg)

    # ---- messages --------------------------------------------------------------------

    def _send(self, users: list[str], msgtype: str, body: dict[str, Any], *, dedupe: bool = True) -> dict[str, Any]:
        if not users:
            raise WeComError("企业微信消息没有接收人")
        data: dict[str, Any] = {
            "touser": "|".join(users),
            "agentid": self.agent_id,
            "msgtype": msgtype,
            msgtype: body,
            "safe": 0,
        }
        if dedupe:  # WeCom drops an identical request within the interval: a retry cannot deliver twice
            data["enable_duplicate_check"] = 1
            data["duplicate_check_interval"] = self.duplicate_check_interval
        # A fresh dict each attempt: wechatpy serialises `data` and fills `params` in place.
        result = self._call("message/send", lambda: self._client.post("message/send", data=dict(data)))
        _check_recipients(users, result)
        return result

    def _send_parts(self, users: list[str], msgtype: str, content: str) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        seen: set[str] = set()
        for part in split_utf8(content, APP_TEXT_LIMIT):
            # A part repeating an earlier one of the same text must not be taken for a retry.
            results.append(self._send(users, msgtype, {"content": part}, dedupe=part not in seen))
            seen.add(part)
        return results

    def send_text(self, users: list[str], content: str) -> list[dict[str, Any]]:
        """Send `content`, split at line ends into several messages when over 2048 bytes."""
        return self._send_parts(users, "text", content)

    def send_markdown(self, users: list[str], content: str) -> list[dict[str, Any]]:
        return self._send_parts(users, "markdown", content)

    def send_text_card(self, users: list[str], title: str, description: str, url: str, btntxt: str = "详情") -> dict:
        card = {"title": title, "description": description, "url": url, "btntxt": btntxt}
        return self._send(users, "textcard", card)

    def send_file(self, users: list[str], media_id: str) -> dict[str, Any]:
        return self._send(users, "file", {"media_id": media_id})

    # ---- media -----------------------------------------------------------------------

    def upload_file(
        self, filename: str, data: bytes, mime: str = "application/octet-stream", media_type: str = "file"
    ) -> str:
        """Upload as a temporary medium (valid 3 days); returns its media_id."""
        if not data:
            raise WeComError(f"文件 {filename} 为空，无法上传到企业微信")
        if len(data) > MEDIA_LIMIT:
            raise WeComError(f"文件 {filename} 超过企业微信 20MB 的上传上限")

        def attempt() -> dict[str, Any]:
            # A new file object per attempt: a retry must not send an already-read stream.
            files = {"media": (filename, io.BytesIO(data), mime)}
            return self._client.post("media/upload", params={"type": media_type}, files=files)

        result = self._call("media/upload", attempt)
        media_id = result.get("media_id") if isinstance(result, dict) else None
        if not media_id:
            raise WeComError("企业微信上传文件后未返回 media_id")
        return str(media_id)

    def download_media(self, media_id: str) -> tuple[str, bytes]:
        """A file a member sent to the app: (its filename, its bytes)."""

        def attempt() -> tuple[str, bytes]:
            res = self._client._http.get(
                self.api_base + "media/get",
                params={"access_token": self._client.access_token, "media_id": media_id},
                timeout=self._client.timeout,
            )
            res.raise_for_status()
            disposition = res.headers.get("Content-Disposition")
            if not disposition:  # WeCom answers an error as JSON instead of the file
                error = _json_error(res)
                if error is not None:
                    errcode, errmsg = error
                    if errcode in TOKEN_ERRORS:
                        raise _TokenRejected(errcode, errmsg)
                    raise WeChatClientException(errcode, errmsg)
            return _filename_from_disposition(disposition, media_id), res.content

        return self._call("media/get", attempt)


class WebhookRobot:
    """A group robot (群机器人): a plain keyed URL, no token, 20 messages a minute."""

    def __init__(self, key: str, api_base: str | None = None, *, timeout: float = 10.0, max_parts: int = 5) -> None:
        base = api_base or Settings().wecom_api_base or DEFAULT_API_BASE
        self.api_base = base if base.endswith("/") else base + "/"
        self._key = key
        self.timeout = timeout
        self.max_parts = max_parts  # a longer text is cut, not sent as a flood the robot limit would refuse

    def _post(self, endpoint: str, **kwargs: Any) -> dict[str, Any]:
        try:
            res = httpx.post(self.api_base + endpoint, timeout=self.timeout, **kwargs)
            res.raise_for_status()
            result = res.json()
        except (httpx.HTTPError, ValueError) as exc:
            # `from None`: the URL carries the robot's key, which is its only credential.
            raise WeComError(f"无法连接企业微信群机器人接口 {endpoint}：{type(exc).__name__}") from None
        errcode = int(result.get("errcode") or 0)
        if errcode:
            errmsg = str(result.get("errmsg", ""))
            raise WeComError(f"企业微信群机器人 {endpoint} 返回错误（{errcode} {errmsg}）", errcode, errmsg)
        return result

    def _parts(self, content: str, limit: int) -> list[str]:
        parts = split_utf8(content, limit)
        if len(parts) <= self.max_parts:
            return parts
        kept = parts[: self.max_parts]
        note_size = len(TRUNCATED_NOTE.encode("utf-8"))
        last = split_utf8(kept[-1], limit - note_size)[0]
        kept[-1] = last.rstrip("\n") + TRUNCATED_NOTE
        return kept

    def send_text(self, content: str, mentioned: list[str] | None = None) -> list[dict[str, Any]]:
        results = []
        for part in self._parts(content, ROBOT_TEXT_LIMIT):
            text: dict[str, Any] = {"content": part}
            if mentioned:
                text["mentioned_list"] = mentioned
            results.append(
                self._post("webhook/send", params={"key": self._key}, json={"msgtype": "text", "text": text})
            )
        return results

    def send_markdown(self, content: str) -> list[dict[str, Any]]:
        return [
            self._post(
                "webhook/send", params={"key": self._key}, json={"msgtype": "markdown", "markdown": {"content": p}}
            )
            for p in self._parts(content, ROBOT_MARKDOWN_LIMIT)
        ]

    def upload_file(self, filename: str, data: bytes, mime: str = "application/octet-stream") -> str:
        if len(data) > MEDIA_LIMIT:
            raise WeComError(f"文件 {filename} 超过企业微信 20MB 的上传上限")
        result = self._post(
            "webhook/upload_media", params={"key": self._key, "type": "file"}, files={"media": (filename, data, mime)}
        )
        if not result.get("media_id"):
            raise WeComError("企业微信群机器人上传文件后未返回 media_id")
        return str(result["media_id"])

    def send_file(self, media_id: str) -> dict[str, Any]:
        return self._post(
            "webhook/send", params={"key": self._key}, json={"msgtype": "file", "file": {"media_id": media_id}}
        )
