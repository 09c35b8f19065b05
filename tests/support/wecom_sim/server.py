"""A local stand-in for WeCom: its documented HTTP API on loopback, and callbacks to the desk.

The API side answers as WeCom does (always HTTP 200, errors as errcode/errmsg JSON),
keeps every request it was sent, and can be told to expire tokens or fail the next
calls of an endpoint. The callback side encrypts with the simulator's own crypto
(`crypto.py`, not wechatpy) and retries on timeout with the same MsgId, as WeCom does.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
from defusedxml import DefusedXmlException
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.support.wecom_sim import crypto
from tests.support.wecom_sim.serve import BackgroundServer

# Tencent's published sample credentials: harmless defaults that also match the test vectors.
DEFAULT_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
DEFAULT_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
DEFAULT_CORP_ID = "ww1436e0e65a779aee"

TEXT_LIMIT = 2048  # bytes, app text and markdown, robot text
ROBOT_MARKDOWN_LIMIT = 4096
MEDIA_LIMIT = 20 * 1024 * 1024
ROBOT_MEDIA_MIN = 5  # bytes; the robot rejects smaller files
MEDIA_TYPES = ("image", "voice", "video", "file")
TOKEN_TTL = 7200

ERRMSG = {
    -1: "system busy",
    40001: "invalid credential",
    40004: "invalid media type",
    40005: "invalid type",
    40006: "invalid file size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40056: "invalid agentid",
    40058: "invalid Request Parameter",
    41001: "access_token missing",
    41005: "media data missing",
    41011: "missing agentid",
    42001: "access_token expired",
    44001: "empty media data",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "api freq out of limit",
    81013: "user & party & tag all invalid",
    93000: "invalid webhook url",
}


def _error(errcode: int, errmsg: str | None = None) -> JSONResponse:
    return JSONResponse({"errcode": errcode, "errmsg": errmsg or ERRMSG.get(errcode, "error")})


def _ok(**extra: Any) -> JSONResponse:
    return JSONResponse({"errcode": 0, "errmsg": "ok", **extra})


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass(frozen=True)
class SentMessage:
    """One message/send call as WeCom received it, and what became of it per member (a recipient
    not among the simulator's `members` is in neither list: it was answered as invaliduser)."""

    agent_id: int | None
    touser: list[str]
    msgtype: str
    payload: dict[str, Any]
    delivered_to: list[str]
    dropped_for: list[str]  # over the per-member rate limit: silently not delivered
    duplicate: bool = False  # enable_duplicate_check suppressed it

    @property
    def content(self) -> str | None:
        body = self.payload.get(self.msgtype)
        return body.get("content") if isinstance(body, dict) else None


@dataclass(frozen=True)
class Media:
    media_id: str
    filename: str
    content_type: str
    data: bytes
    media_type: str = "file"
    created_at: int = field(default_factory=lambda: int(time.time()))


@dataclass(frozen=True)
class WebhookMessage:
    key: str
    msgtype: str
    payload: dict[str, Any]

    @property
    def content(self) -> str | None:
        body = self.payload.get(self.msgtype)
        return body.get("content") if isinstance(body, dict) else None


@dataclass(frozen=True)
class TokenRequest:
    corpid: str | None
    errcode: int
    access_token: str | None


@dataclass(frozen=True)
class CallbackAttempt:
    url: str
    msg_id: str | None
    status: int | None  # None: timed out
    elapsed: float


class WeComSimulator:
    def __init__(
        self,
        *,
        corp_id: str = DEFAULT_CORP_ID,
        secret: str = "sim-secret",
        agent_id: int = 1000002,
        token: str = DEFAULT_TOKEN,
        aes_key: str = DEFAULT_AES_KEY,
        webhook_key: str = "sim-webhook-key",
        member_rate_per_minute: int = 30,
        member_rate_per_hour: int = 1000,
        robot_rate_per_minute: int = 20,
        members: Iterable[str] | None = None,
    ) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id
        self.token = token
        self.aes_key = aes_key
        self.webhook_key = webhook_key
        self.member_rate_per_minute = member_rate_per_minute
        self.member_rate_per_hour = member_rate_per_hour
        self.robot_rate_per_minute = robot_rate_per_minute
        # The corp's members the app may reach; None: anyone (message/send lists the others as invaliduser).
        self.members: set[str] | None = set(members) if members is not None else None
        self._lock = threading.RLock()
        self._tokens: dict[str, float] = {}  # access_token -> expiry (epoch seconds)
        self._faults: dict[str, deque[int]] = defaultdict(deque)
        self._media: dict[str, Media] = {}
        self._member_log: dict[str, deque[float]] = defaultdict(deque)
        self._robot_log: deque[float] = deque()
        self._dupes: dict[str, float] = {}
        self._sent: list[SentMessage] = []
        self._uploaded: list[Media] = []
        self._webhook: list[WebhookMessage] = []
        self._token_requests: list[TokenRequest] = []
        self._callbacks: list[CallbackAttempt] = []
        self.app = self._build_app()
        self._http = BackgroundServer(self.app)

    # ---- lifecycle -------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self._http.url}/cgi-bin/"

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> WeComSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- records (copies, safe to read while the server runs) ------------------------

    @property
    def sent_messages(self) -> list[SentMessage]:
        with self._lock:
            return list(self._sent)

    @property
    def uploaded_media(self) -> list[Media]:
        with self._lock:
            return list(self._uploaded)

    @property
    def webhook_messages(self) -> list[WebhookMessage]:
        with self._lock:
            return list(self._webhook)

    @property
    def token_requests(self) -> list[TokenRequest]:
        with self._lock:
            return list(self._token_requests)

    @property
    def callback_attempts(self) -> list[CallbackAttempt]:
        with self._lock:
            return list(self._callbacks)

    def media(self, media_id: str) -> Media | None:
        with self._lock:
            return self._media.get(media_id)

    # ---- knobs -----------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything (tokens, media, records, faults, rate counters): one running
        simulator can serve many tests."""
        with self._lock:
            for store in (self._tokens, self._faults, self._media, self._member_log, self._dupes):
                store.clear()
            for log in (self._robot_log, self._sent, self._uploaded, self._webhook, self._token_requests):
                log.clear()
            self._callbacks.clear()

    def expire_tokens(self) -> None:
        """Every token issued so far answers 42001 from now on."""
        with self._lock:
            for tok in self._tokens:
                self._tokens[tok] = 0.0

    def fail_next(self, endpoint: str, errcode: int, times: int = 1) -> None:
        """The next `times` calls of `endpoint` (e.g. "message/send", "gettoken") answer `errcode`."""
        with self._lock:
            self._faults[endpoint.strip("/")].extend([errcode] * times)

    def add_media(self, filename: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Stage a file as if a user had sent it to the app; returns its media_id."""
        return self._store_media(filename, data, content_type, "file", record=False).media_id

    # ---- the API ---------------------------------------------------------------------

    def _fault(self, endpoint: str) -> int | None:
        with self._lock:
            queue = self._faults.get(endpoint)
            return queue.popleft() if queue else None

    def _check_token(self, request: Request) -> int | None:
        tok = request.query_params.get("access_token")
        if not tok:
            return 41001
        with self._lock:
            expiry = self._tokens.get(tok)
        if expiry is None:
            return 40014
        if expiry <= time.time():
            return 42001
        return None

    def _store_media(self, filename: str, data: bytes, content_type: str, media_type: str, *, record: bool) -> Media:
        item = Media("sim-" + secrets.token_urlsafe(24), filename, content_type, data, media_type)
        with self._lock:
            self._media[item.media_id] = item
            if record:
                self._uploaded.append(item)
        return item

    async def _read_upload(self, request: Request, *, min_size: int) -> Media | JSONResponse:
        media_type = request.query_params.get("type", "")
        if media_type not in MEDIA_TYPES:
            return _error(40005)
        form = await request.form(max_part_size=MEDIA_LIMIT + 1024)
        part = form.get("media")
        if part is None or isinstance(part, str):
            return _error(41005)
        data = await part.read()
        if not data:
            return _error(44001)
        if len(data) < min_size or len(data) > MEDIA_LIMIT:
            return _error(40006)
        return self._store_media(
            part.filename or "media", data, part.content_type or "application/octet-stream", media_type, record=True
        )

    @staticmethod
    async def _json(request: Request) -> dict[str, Any] | None:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _build_app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.get("/cgi-bin/gettoken")
        def gettoken(request: Request) -> Response:
            corpid = request.query_params.get("corpid")
            errcode = self._fault("gettoken")
            if errcode is None:
                if corpid != self.corp_id:
                    errcode = 40013
                elif request.query_params.get("corpsecret") != self.secret:
                    errcode = 40001
            tok = None
            if errcode is None:
                tok = secrets.token_urlsafe(48)
                with self._lock:
                    self._tokens[tok] = time.time() + TOKEN_TTL
            with self._lock:
                self._token_requests.append(TokenRequest(corpid, errcode or 0, tok))
            if errcode is not None:
                return _error(errcode)
            return _ok(access_token=tok, expires_in=TOKEN_TTL)

        @app.post("/cgi-bin/message/send")
        async def message_send(request: Request) -> Response:
            errcode = self._fault("message/send") or self._check_token(request)
            if errcode:
                return _error(errcode)
            body = await self._json(request)
            if body is None:
                return _error(40058, "Warning: wrong json format.")
            return self._send_app_message(body)

        @app.post("/cgi-bin/media/upload")
        async def media_upload(request: Request) -> Response:
            errcode = self._fault("media/upload") or self._check_token(request)
            if errcode:
                return _error(errcode)
            result = await self._read_upload(request, min_size=1)
            if isinstance(result, JSONResponse):
                return result
            return JSONResponse(
                {
                    "errcode": 0,
                    "errmsg": "",
                    "type": result.media_type,
                    "media_id": result.media_id,
                    "created_at": str(result.created_at),
                }
            )

        @app.get("/cgi-bin/media/get")
        def media_get(request: Request) -> Response:
            errcode = self._fault("media/get") or self._check_token(request)
            if errcode:
                return _error(errcode)
            item = self.media(request.query_params.get("media_id", ""))
            if item is None:
                return _error(40007)
            # WeCom writes the name's raw UTF-8 bytes into the header; latin-1 carries them through.
            raw_name = item.filename.replace('"', "").encode("utf-8").decode("latin-1")
            headers = {
                "Content-Disposition": f'attachment; filename="{raw_name}"',
                "Content-Length": str(len(item.data)),
            }
            return Response(item.data, media_type=item.content_type, headers=headers)

        @app.post("/cgi-bin/webhook/send")
        async def webhook_send(request: Request) -> Response:
            key = request.query_params.get("key", "")
            errcode = self._fault("webhook/send") or (93000 if key != self.webhook_key else None)
            if errcode:
                return _error(errcode)
            body = await self._json(request)
            if body is None:
                return _error(40058, "Warning: wrong json format.")
            return self._send_robot_message(key, body)

        @app.post("/cgi-bin/webhook/upload_media")
        async def webhook_upload(request: Request) -> Response:
            key = request.query_params.get("key", "")
            errcode = self._fault("webhook/upload_media") or (93000 if key != self.webhook_key else None)
            if errcode:
                return _error(errcode)
            result = await self._read_upload(request, min_size=ROBOT_MEDIA_MIN)
            if isinstance(result, JSONResponse):
                return result
            return _ok(type=result.media_type, media_id=result.media_id, created_at=str(result.created_at))

        return app

    def _check_content(
        self, msgtype: str, body: dict[str, Any], limit: int, *, robot: bool = False
    ) -> JSONResponse | None:
        part = body.get(msgtype)
        content = part.get("content") if isinstance(part, dict) else None
        if not isinstance(content, str) or not content:
            return _error(44004)
        size = len(content.encode("utf-8"))
        if size <= limit:
            return None
        if robot:  # the group robot rejects with 40058 and names the field
            return _error(40058, f"{msgtype}.content exceed max length {limit}. invalid Request Parameter")
        return _error(45002, f"content size out of limit: {size} > {limit} bytes")

    def _check_media_ref(self, msgtype: str, body: dict[str, Any]) -> JSONResponse | None:
        part = body.get(msgtype)
        media_id = part.get("media_id") if isinstance(part, dict) else None
        if not media_id or self.media(str(media_id)) is None:
            return _error(40007)
        return None

    def _send_app_message(self, body: dict[str, Any]) -> JSONResponse:
        msgtype = body.get("msgtype")
        if msgtype in ("text", "markdown"):
            problem = self._check_content(msgtype, body, TEXT_LIMIT)
        elif msgtype == "file":
            problem = self._check_media_ref(msgtype, body)
        elif msgtype == "textcard":
            card = body.get("textcard")
            ok = isinstance(card, dict) and card.get("title") and card.get("description") and card.get("url")
            problem = None if ok else _error(40058, "textcard needs title, description and url")
        else:
            problem = _error(40008)
        if problem is not None:
            return problem
        if body.get("agentid") in (None, ""):
            return _error(41011)
        try:
            agent_id: int | None = int(body.get("agentid"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            agent_id = None
        if agent_id != self.agent_id:
            return _error(40056)
        users = [u for u in str(body.get("touser") or "").split("|") if u]
        if not users or len(users) > 1000:
            return _error(81013)
        invalid = [u for u in users if self.members is not None and u not in self.members]
        if len(invalid) == len(users):  # WeCom: all recipients invalid fails the call, still naming them
            return JSONResponse({"errcode": 81013, "errmsg": ERRMSG[81013], "invaliduser": "|".join(invalid)})
        now = time.time()
        with self._lock:
            duplicate = self._is_duplicate(body, now)
            delivered: list[str] = []
            dropped: list[str] = []
            if not duplicate:
                for user in (u for u in users if u not in invalid):
                    (delivered if self._member_allows(user, now) else dropped).append(user)
            self._sent.append(SentMessage(agent_id, users, str(msgtype), body, delivered, dropped, duplicate))
        return _ok(invaliduser="|".join(invalid), invalidparty="", invalidtag="", msgid=secrets.token_hex(16))

    def _is_duplicate(self, body: dict[str, Any], now: float) -> bool:
        if not body.get("enable_duplicate_check"):
            return False
        interval = float(body.get("duplicate_check_interval") or 1800)
        fingerprint = json.dumps(body, sort_keys=True, ensure_ascii=False)
        seen = self._dupes.get(fingerprint)
        if seen is not None and now - seen < interval:
            return True
        self._dupes[fingerprint] = now
        return False

    def _member_allows(self, user: str, now: float) -> bool:
        log = self._member_log[user]
        while log and now - log[0] >= 3600:
            log.popleft()
        last_minute = sum(1 for t in log if now - t < 60)
        if last_minute >= self.member_rate_per_minute or len(log) >= self.member_rate_per_hour:
            return False
        log.append(now)
        return True

    def _send_robot_message(self, key: str, body: dict[str, Any]) -> JSONResponse:
        msgtype = body.get("msgtype")
        if msgtype == "text":
            problem = self._check_content("text", body, TEXT_LIMIT, robot=True)
        elif msgtype == "markdown":
            problem = self._check_content("markdown", body, ROBOT_MARKDOWN_LIMIT, robot=True)
        elif msgtype == "file":
            problem = self._check_media_ref("file", body)
        else:
            problem = _error(40008)
        if problem is not None:
            return problem
        now = time.time()
        with self._lock:
            while self._robot_log and now - self._robot_log[0] >= 60:
                self._robot_log.popleft()
            if len(self._robot_log) >= self.robot_rate_per_minute:
                return _error(45009)
            self._robot_log.append(now)
            self._webhook.append(WebhookMessage(key, str(msgtype), body))
        return _ok()

    # ---- callbacks to the desk -------------------------------------------------------

    def _xml(
        self, from_user: str, msg_type: str, fields: dict[str, str | int], agent_id: int | None, create_time: int | None
    ) -> str:
        parts = [
            f"<ToUserName>{_cdata(self.corp_id)}</ToUserName>",
            f"<FromUserName>{_cdata(from_user)}</FromUserName>",
            f"<CreateTime>{int(create_time if create_time is not None else time.time())}</CreateTime>",
            f"<MsgType>{_cdata(msg_type)}</MsgType>",
        ]
        for name, value in fields.items():
            parts.append(f"<{name}>{value if isinstance(value, int) else _cdata(value)}</{name}>")
        parts.append(f"<AgentID>{agent_id if agent_id is not None else self.agent_id}</AgentID>")
        return "<xml>" + "".join(parts) + "</xml>"

    def text_message(
        self, from_user: str, content: str, msg_id: int, agent_id: int | None = None, create_time: int | None = None
    ) -> str:
        return self._xml(from_user, "text", {"Content": content, "MsgId": msg_id}, agent_id, create_time)

    def file_message(
        self,
        from_user: str,
        media_id: str,
        msg_id: int,
        agent_id: int | None = None,
        create_time: int | None = None,
        file_name: str | None = None,
    ) -> str:
        """A file a member sent to the app (wechatpy 1.8 has no class for it: it parses as UnknownMessage)."""
        fields: dict[str, str | int] = {"MediaId": media_id}
        if file_name:
            fields["FileName"] = file_name
        fields["MsgId"] = msg_id
        return self._xml(from_user, "file", fields, agent_id, create_time)

    def image_message(
        self,
        from_user: str,
        media_id: str,
        msg_id: int,
        agent_id: int | None = None,
        create_time: int | None = None,
        pic_url: str = "",
    ) -> str:
        fields: dict[str, str | int] = {"PicUrl": pic_url, "MediaId": media_id, "MsgId": msg_id}
        return self._xml(from_user, "image", fields, agent_id, create_time)

    def video_message(
        self,
        from_user: str,
        media_id: str,
        msg_id: int,
        agent_id: int | None = None,
        create_time: int | None = None,
        thumb_media_id: str = "",
    ) -> str:
        """A video a member recorded or picked in the app: like an image, it carries no file name."""
        fields: dict[str, str | int] = {"MediaId": media_id, "ThumbMediaId": thumb_media_id, "MsgId": msg_id}
        return self._xml(from_user, "video", fields, agent_id, create_time)

    def event_message(
        self,
        from_user: str,
        event: str,
        event_key: str | None = None,
        agent_id: int | None = None,
        create_time: int | None = None,
    ) -> str:
        fields: dict[str, str | int] = {"Event": event}
        if event_key is not None:
            fields["EventKey"] = event_key
        return self._xml(from_user, "event", fields, agent_id, create_time)

    def send_callback(
        self,
        url: str,
        xml_message: str,
        *,
        timestamp: str | int | None = None,
        nonce: str | None = None,
        bad_signature: bool = False,
        retries_on_timeout: int = 3,
        timeout: float = 5.0,
    ) -> httpx.Response:
        """POST an encrypted message to the desk; on no answer within `timeout`, resend it
        (same MsgId) up to `retries_on_timeout` more times, then raise the timeout."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce or str(secrets.randbelow(10**10))
        body, sig = crypto.encrypted_envelope(
            xml_message, self.token, self.aes_key, self.corp_id, self.agent_id, ts, nonce
        )
        if bad_signature:
            sig = "0" * 40
        msg_id = _find(xml_message, "MsgId")
        params = {"msg_signature": sig, "timestamp": ts, "nonce": nonce}
        last: httpx.TimeoutException | None = None
        for _ in range(1 + retries_on_timeout):
            started = time.monotonic()
            try:
                response = httpx.post(
                    url,
                    params=params,
                    content=body.encode("utf-8"),
                    headers={"Content-Type": "text/xml"},
                    timeout=timeout,
                )
            except httpx.TimeoutException as exc:
                last = exc
                with self._lock:
                    self._callbacks.append(CallbackAttempt(url, msg_id, None, time.monotonic() - started))
                continue
            with self._lock:
                self._callbacks.append(CallbackAttempt(url, msg_id, response.status_code, time.monotonic() - started))
            return response
        assert last is not None
        raise last

    def verify_url(self, url: str, echo: str | None = None, *, timeout: float = 5.0) -> str:
        """WeCom's URL check: GET with an encrypted echostr; the desk must answer `echo` in plain text."""
        echo = echo or str(secrets.randbelow(10**19))
        ts = str(int(time.time()))
        nonce = str(secrets.randbelow(10**10))
        echostr = crypto.encrypt(echo, aes_key=self.aes_key, corp_id=self.corp_id)
        params = {
            "msg_signature": crypto.signature(self.token, ts, nonce, echostr),
            "timestamp": ts,
            "nonce": nonce,
            "echostr": echostr,
        }
        return httpx.get(url, params=params, timeout=timeout).text

    def decrypt_passive_reply(self, body_xml: str) -> str:
        """Check a passive reply's MsgSignature and corp id with the simulator's own crypto; return its XML."""
        root = SafeET.fromstring(body_xml)
        fields = {name: (root.findtext(name) or "") for name in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce")}
        expected = crypto.signature(self.token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
        if not fields["Encrypt"] or fields["MsgSignature"] != expected:
            raise crypto.WeComCryptoError("passive reply signature does not match")
        message, corp_id = crypto.decrypt(fields["Encrypt"], aes_key=self.aes_key)
        if corp_id != self.corp_id:
            raise crypto.WeComCryptoError(f"passive reply encrypted for corp {corp_id!r}")
        return message


def _find(xml_message: str, tag: str) -> str | None:
    try:
        return SafeET.fromstring(xml_message).findtext(tag)
    except (SafeET.ParseError, DefusedXmlException):  # a test may send anything, a DTD too
        return None
