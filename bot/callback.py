"""The WeCom callback endpoint: `/wecom/callback` on the port of `nomdesk serve`.

WeCom waits 5 seconds for an answer and then retries the same MsgId up to three
times, so: every request is signature- and freshness-checked before anything else;
each message is handled once (deduplicated in the database, so two desk processes
agree; a message whose handling failed is not marked, so WeCom's retry is answered);
questions are answered by passive reply at once; slow work (a file to read) is stored
in the database, acknowledged at once, and its result sent later through the active
message API (bot/files.py). The handler's database work runs in the threadpool, never
on the event loop, which serves every other request of the port (the dashboard too).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.replies import TextReply

from bot.answers import Answerer
from bot.commands import MENU_KEYS, Command, Intent, parse
from bot.crypto import CallbackCrypto, CallbackRejected
from bot.files import FileHandler, PendingFiles
from bot.wecom_client import split_utf8
from storage.repo import Store

log = logging.getLogger(__name__)

PASSIVE_LIMIT = 2048  # bytes of a text message's content (WeCom)
DEDUPE_TTL = dt.timedelta(days=1)


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

    def _first_time(self, key: str) -> bool:
        now = self.clock()
        return self.store.kv_add(f"wecom:seen:{key}", "1", now + DEDUPE_TTL, now=now)

    def handle(self, xml: str) -> str | None:
        """The passive reply's text for a decrypted message, or None for no reply."""
        return self.handle_message(parse_message(xml), _fields(xml))

    def handle_message(self, msg, raw: dict[str, str]) -> str | None:
        user = getattr(msg, "source", "") or raw.get("FromUserName", "")
        msg_type = raw.get("MsgType", "") or getattr(msg, "type", "")
        if raw.get("MsgId"):
            key = f"msg:{raw['MsgId']}"
        else:  # events carry no MsgId: WeCom's retries repeat sender and CreateTime (and the menu key)
            key = f"event:{user}:{raw.get('CreateTime', '')}:{raw.get('Event', '')}:{raw.get('EventKey', '')}"
        if not self._first_time(key):
            log.info("WeCom message %s already handled", key)
            return None
        try:
            return self._dispatch(msg, raw, user, msg_type, key)
        except BaseException:
            # Not handled after all: WeCom's retry of this message must be answered, not dropped.
            self.store.kv_delete(f"wecom:seen:{key}")
            raise

    def _dispatch(self, msg, raw: dict[str, str], user: str, msg_type: str, key: str) -> str | None:
        if msg_type == "text":
            return self.answerer.answer(user, parse(msg.content))
        if msg_type in ("file", "image", "video"):
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
        if self.store.unit_of_wecom_user(user) is None:
            # Files join a unit's dossier: only a unit's contact can send them (the office attaches by CLI).
            if self.store.is_office(wecom_user=user):
                return "办公室请用 `nomdesk attach 单位 文件` 为单位补充材料。"
            return self.answerer.answer(user, Command(intent=Intent.STATUS))  # the polite refusal
        if self.on_file is None:
            return "暂不能通过企业微信接收文件，请通过邮件报送。"
        media_id = raw.get("MediaId", "")
        default_ext = {"image": ".jpg", "video": ".mp4"}.get(msg_type, "")
        filename = raw.get("FileName") or raw.get("Title") or f"{msg_type}-{media_id[:8]}{default_ext}"
        self.files.add(key, user, media_id, filename)  # durable before the contact is told it arrived
        return f"已收到文件“{filename}”，正在检查，结果稍后发送给您。"


def _fields(xml: str) -> dict[str, str]:
    """The message's top-level fields as text (wechatpy 1.8.18 has no class for file messages)."""
    import xmltodict

    data = xmltodict.parse(xml, disable_entities=True).get("xml") or {}
    return {k: str(v) for k, v in data.items() if isinstance(v, str | int)}


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
        body = (await request.body()).decode("utf-8", errors="replace")
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
    msg = parse_message(xml)
    try:
        text = bot.handle_message(msg, _fields(xml))
    except Exception:
        log.exception("WeCom message from %s could not be handled; WeCom will retry", getattr(msg, "source", ""))
        return PlainTextResponse("", status_code=500)
    if not text:
        return PlainTextResponse("")
    parts = split_utf8(text, PASSIVE_LIMIT)
    if len(parts) > 1 and bot.send_text is not None:
        for part in parts[1:]:
            bot.send_text(msg.source, part)
    now = int(bot.clock().timestamp())  # the injected clock, like the freshness check
    reply = TextReply(content=parts[0], message=msg, time=now).render()
    return Response(bot.crypto.encrypt_reply(reply, nonce, str(now)), media_type="application/xml")
