"""The WeCom callback endpoint: `/wecom/callback` on the port of `nomdesk serve`.

WeCom waits 5 seconds for an answer and then retries the same MsgId up to three
times, so: every request is signature- and freshness-checked before anything else;
each message is handled once (deduplicated in the database, so two desk processes
agree; a message whose handling failed is not marked, so WeCom's retry is answered;
a process killed while answering leaves a mark a retry takes over, `WeComBot._claim`);
questions are answered by passive reply at once; slow work (a file to read) is stored
in the database, acknowledged at once, and its result sent later through the active
message API (bot/files.py). The handler's database work runs in the threadpool, never
on the event loop, which serves every other request of the port (the dashboard too).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.replies import TextReply

from bot.answers import Answerer
from bot.commands import MENU_KEYS, Command, Intent, parse
from bot.crypto import CallbackCrypto, CallbackRejected
from bot.files import FileHandler, PendingFiles
from bot.wecom_client import TRUNCATED_NOTE, split_utf8
from storage.leases import holder_is_dead, host_id, worker_id
from storage.locks import worker_lock
from storage.repo import Store

log = logging.getLogger(__name__)

PASSIVE_LIMIT = 2048  # bytes of a text message's content (WeCom)
DEDUPE_TTL = dt.timedelta(days=1)
# WeCom drops a passive reply that comes after its 5-second wait and retries the message: an answer
# slower than this is kept with the seen-mark, and the retry (to any desk) returns it.
ANSWER_KEPT_AFTER_SECONDS = 2.0
RETRY_WAIT_SECONDS = 3.5  # a retry waits this long for a live answerer's kept answer (under WeCom's 5 s)
ANSWERED = "\nanswered:"  # seen-mark value: "<worker id>" or "<worker id>\nanswered:<the answer>"
# A WeCom envelope is a few KB (a text message's content is at most 2048 bytes before encryption):
# anything far bigger is refused before it is read, so an unsigned POST cannot fill the memory.
MAX_BODY_BYTES = 1 << 20
REQUIRED_FIELDS = ("FromUserName", "MsgType")
MEDIA_TYPES = ("file", "image", "video")
NAMELESS_EXT = {"image": ".jpg", "video": ".mp4"}  # media messages that carry no file name


class MalformedMessage(ValueError):
    """A decrypted message that is not a WeCom message: refused, never handled."""


class WeComBot:
    def __init__(
        self,
        store: Store,
        crypto: CallbackCrypto,
        answerer: Answerer,
        *,
        on_file: FileHandler | None,
        send_text: Callable[[str, str], None] | None,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.store = store
        self.crypto = crypto
        self.answerer = answerer
        self.on_file = on_file
        self.send_text = send_text  # active message to one user (the outbox in the service)
        self.clock = clock
        tz = answerer.campaign.tz
        self.files = PendingFiles(store, on_file, send_text=send_text, clock=clock, tz=tz)
        # Started with the bot (as its thread pool was): files an earlier run left pending are resumed.
        self.files.start()

    @property
    def pool(self) -> PendingFiles:
        """The file worker under its old name: nomdesk/service.py stops it as `bot.pool.shutdown(...)`."""
        return self.files

    def close(self) -> None:
        self.files.shutdown(wait=True)

    def _claim(self, key: str) -> bool:
        """Whether this process answers the message: True when it is the first to see it, or the
        process that saw it first died before answering; False for a duplicate.

        The seen-mark is written before the answer (two processes getting WeCom's retries must not
        both answer), and names the process answering (`worker_id()`). A process SIGKILLed between
        the mark and its answer leaves its mark; WeCom's retry, to this process or another, finds
        it and takes it over when that process is dead: a process of this host whose pid is gone,
        or on another host one whose liveness lock (`worker_lock`, held by `nomdesk serve` for its
        whole life, released by the database when it dies) is free. A live marker is a duplicate,
        as before. The takeover is made under the message's lock, so two retries never both take
        it. Only a retry pays for this check; a first delivery costs the one write it always did.
        (Queueing the answer in the outbox before marking, the other way, would turn every passive
        reply into an active message; a "done" mark after each answer doubled the callback's
        writes, which on SQLite halved the bot's throughput.)"""
        mark = f"wecom:seen:{key}"
        now = self.clock()
        me = worker_id()
        if self.store.state.kv_add(mark, me, now + DEDUPE_TTL, now=now):
            return True
        with self.store.locks.hold(f"wecom:{key}"):
            value = self.store.state.kv_get(mark, now=now)
            holder = value.partition(ANSWERED)[0] if value is not None else None
            if holder is None:  # deleted after a failed answer (or expired) meanwhile
                return self.store.state.kv_add(mark, me, now + DEDUPE_TTL, now=now)
            if holder == me or not self._dead(holder):
                return False
            self.store.state.kv_set(mark, me, now + DEDUPE_TTL)
        log.warning("WeCom message %s: its answerer (%s) died before answering; answered here", key, holder)
        return True

    def _dead(self, holder: str) -> bool:
        """Whether the process named in a seen-mark is gone ("1", an older desk's mark: answered)."""
        host, sep, _ = holder.partition(":")
        if not sep:
            return False
        if host == host_id():
            return holder_is_dead(holder)
        alive = self.store.locks.try_acquire(worker_lock(holder))
        if alive is None:
            return False
        alive.release()
        return True

    def handle(self, xml: str) -> str | None:
        """The passive reply's text for a decrypted message, or None for no reply."""
        return self.handle_message(*read_message(xml))

    def handle_message(self, msg, raw: dict[str, str]) -> str | None:
        user = getattr(msg, "source", "") or raw.get("FromUserName", "")
        msg_type = raw.get("MsgType", "") or getattr(msg, "type", "")
        if raw.get("MsgId"):
            key = f"msg:{raw['MsgId']}"
        else:  # events carry no MsgId: WeCom's retries repeat sender and CreateTime (and the menu key)
            key = f"event:{user}:{raw.get('CreateTime', '')}:{raw.get('Event', '')}:{raw.get('EventKey', '')}"
        if not self._claim(key):
            kept = self._kept_answer(key)
            log.info("WeCom message %s already handled%s", key, "; its kept answer sent" if kept else "")
            return kept
        started = time.monotonic()
        try:
            answer = self._dispatch(msg, raw, user, msg_type, key)
        except BaseException:
            # Not handled after all: WeCom's retry of this message must be answered, not dropped.
            self.store.state.kv_delete(f"wecom:seen:{key}")
            raise
        if answer is not None and time.monotonic() - started > ANSWER_KEPT_AFTER_SECONDS:
            # Maybe too late for this delivery: WeCom's retry gets it from the mark. Only slow answers
            # pay this second write, so the common callback keeps its one write.
            now = self.clock()
            self.store.state.kv_set(f"wecom:seen:{key}", f"{worker_id()}{ANSWERED}{answer}", now + DEDUPE_TTL)
        return answer

    def _kept_answer(self, key: str) -> str | None:
        """A retry of a message another (live) desk is answering: its answer once kept, waiting a
        little for a slow one; None for a plain duplicate (its answer went out in time)."""
        deadline = time.monotonic() + RETRY_WAIT_SECONDS
        while True:
            value = self.store.state.kv_get(f"wecom:seen:{key}", now=self.clock())
            if value is not None and ANSWERED in value:
                return value.partition(ANSWERED)[2]
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.2)

    def _dispatch(self, msg, raw: dict[str, str], user: str, msg_type: str, key: str) -> str | None:
        if msg_type == "text":
            named = self._name_media(user, msg.content or "")
            return named if named is not None else self.answerer.answer(user, parse(msg.content))
        if msg_type in MEDIA_TYPES:
            return self._file(user, msg_type, raw, key)
        if msg_type == "event":
            event = str(getattr(msg, "event", "")).lower()
            if event == "click":
                intent = MENU_KEYS.get(str(getattr(msg, "key", "")).lower(), Intent.HELP)
                return self.answerer.answer(user, Command(intent=intent))
            if event in ("enter_agent", "subscribe"):
                return "欢迎使用推荐材料受理助手。\n" + self.answerer.answer(user, Command(intent=Intent.HELP))
            return None
        return self.answerer.answer(user, Command(intent=Intent.HELP))

    def _file(self, user: str, msg_type: str, raw: dict[str, str], key: str) -> str:
        if self.store.directory.unit_of_wecom_user(user) is None:
            # Files join a unit's dossier: only a unit's contact can send them (the office attaches by CLI).
            if self.store.directory.is_office(wecom_user=user):
                return "办公室请用 `nomdesk attach 单位 文件` 为单位补充材料。"
            return self.answerer.file_refused(user)  # nothing is stored: the file is no one's
        if self.on_file is None:
            return "暂不能通过企业微信接收文件，请通过邮件报送。"
        media_id = raw.get("MediaId", "")
        default_ext = NAMELESS_EXT.get(msg_type, "")
        filename = raw.get("FileName") or raw.get("Title") or f"{msg_type}-{media_id[:8]}{default_ext}"
        if msg_type not in NAMELESS_EXT:
            self.files.add(key, user, media_id, filename)  # durable before the contact is told it arrived
            return f"已收到文件“{filename}”，正在检查，结果稍后发送给您。"
        # An image or a video carries no name, and files are matched to nominees by name: it is held
        # for a short while so the contact can say whose it is (when the unit has nominees to name).
        unit = self.store.directory.unit_of_wecom_user(user) or ""
        self.files.add(key, user, media_id, filename, hold=bool(self.answerer.nominee_names(unit)))
        return self.answerer.nameless_media_receipt(user, msg_type, self.files.naming_window)

    def _name_media(self, user: str, text: str) -> str | None:
        """A contact's reply naming the nominee of the images/videos they just sent, or None when the
        text does not do that (it is then read as a question)."""
        held = self.files.held(user)
        if not held:
            return None
        unit = self.store.directory.unit_of_wecom_user(user)
        nominee = self.answerer.nominee_named(unit, text) if unit else None
        if nominee is None:
            return None
        count = self.files.name(held, nominee)
        return (
            f"好的，刚才发送的 {count} 个图片/视频已归入“{nominee}”的材料，正在检查，结果稍后发送给您。"
            if count
            else None
        )


def _fields(xml: str) -> dict[str, str]:
    """The message's top-level fields as text (wechatpy 1.8.18 has no class for file messages)."""
    import xmltodict

    data = xmltodict.parse(xml, disable_entities=True).get("xml") or {}
    return {k: str(v) for k, v in data.items() if isinstance(v, str | int)}


def read_message(xml: str) -> tuple[Any, dict[str, str]]:
    """(wechatpy's message, its fields) for a decrypted message, or `MalformedMessage`.

    The envelope's signature only says who sent it, not that its content is a message: a DTD,
    text that is no XML, or a message without sender or type is refused here, before anything
    is marked as handled or stored."""
    from xml.parsers.expat import ExpatError

    if "<!doctype" in xml.lower() or "<!entity" in xml.lower():
        raise MalformedMessage("XML with a DTD")
    try:
        raw = _fields(xml)
    except (ExpatError, ValueError, TypeError, AttributeError) as exc:
        raise MalformedMessage(f"not XML ({type(exc).__name__})") from exc
    missing = [name for name in REQUIRED_FIELDS if not raw.get(name)]
    msg_type = raw.get("MsgType", "").lower()
    if msg_type in MEDIA_TYPES and not raw.get("MediaId"):
        missing.append("MediaId")
    if msg_type == "event" and not raw.get("Event"):
        missing.append("Event")
    if missing:
        raise MalformedMessage("missing " + ", ".join(missing))
    try:
        return parse_message(xml), raw
    except (ExpatError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise MalformedMessage(f"wechatpy cannot parse it ({type(exc).__name__})") from exc


class BodyRefused(Exception):
    """The request body is refused before (or while) it is read: its HTTP status and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, read only while it stays within `limit` bytes: a declared Content-Length over it is
    refused unread, and a body streamed without one (chunked) is cut off as soon as it passes it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise BodyRefused(400, f"bad Content-Length {declared[:20]!r}") from None
        if size > limit:
            raise BodyRefused(413, f"Content-Length {size} over {limit}")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise BodyRefused(413, f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_router(bot: WeComBot) -> APIRouter:
    router = APIRouter()

    @router.get("/wecom/callback")
    def verify(msg_signature: str = "", timestamp: str = "", nonce: str = "", echostr: str = "") -> Response:
        try:
            plain = bot.crypto.verify_url(msg_signature, timestamp, nonce, echostr, now=bot.clock().timestamp())
        except CallbackRejected as exc:
            log.warning("WeCom URL verification rejected: %s", exc)
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse(plain)

    @router.post("/wecom/callback")
    async def callback(request: Request, msg_signature: str = "", timestamp: str = "", nonce: str = "") -> Response:
        try:
            body = (await read_body(request)).decode("utf-8", errors="replace")
        except BodyRefused as exc:
            log.warning("WeCom callback refused unread: %s", exc)
            return PlainTextResponse("request body too large" if exc.status == 413 else "bad request", exc.status)
        # Synchronous database work: on the event loop, one answer waiting for a lock would stall
        # every request of the port. The threadpool keeps the loop free.
        return await run_in_threadpool(_respond, bot, body, msg_signature, timestamp, nonce)

    return router


def _respond(bot: WeComBot, body: str, msg_signature: str, timestamp: str, nonce: str) -> Response:
    try:
        xml = bot.crypto.decrypt(body, msg_signature, timestamp, nonce, now=bot.clock().timestamp())
    except CallbackRejected as exc:
        log.warning("WeCom callback rejected: %s", exc)
        return PlainTextResponse("forbidden", status_code=403)
    try:
        msg, raw = read_message(xml)
    except MalformedMessage as exc:
        # Signed, so from WeCom (or whoever holds its key): WeCom's empty 200 ("received, no reply")
        # stops its retries, which would bring the same unreadable content three more times.
        log.warning("WeCom callback with a malformed message ignored: %s", exc)
        return PlainTextResponse("")
    try:
        text = bot.handle_message(msg, raw)
    except Exception:
        log.exception("WeCom message from %s could not be handled; WeCom will retry", getattr(msg, "source", ""))
        return PlainTextResponse("", status_code=500)
    if not text:
        return PlainTextResponse("")
    parts = _passive_parts(text, can_send_more=bot.send_text is not None)
    if len(parts) > 1 and bot.send_text is not None:
        for part in parts[1:]:
            bot.send_text(msg.source, part)
    now = int(bot.clock().timestamp())  # the injected clock, like the freshness check
    reply = TextReply(content=parts[0], message=msg, time=now).render()
    return Response(bot.crypto.encrypt_reply(reply, nonce, str(now)), media_type="application/xml")


def _passive_parts(text: str, *, can_send_more: bool) -> list[str]:
    """The answer cut into WeCom-sized messages: the first goes as the passive reply, the rest by the
    active API. Without that API the answer is shortened, and says so, instead of being cut silently."""
    parts = split_utf8(text, PASSIVE_LIMIT)
    if len(parts) == 1 or can_send_more:
        return parts
    room = PASSIVE_LIMIT - len(TRUNCATED_NOTE.encode("utf-8"))
    return [split_utf8(text, room)[0].rstrip("\n") + TRUNCATED_NOTE]
