"""WeCom callback security: signature, freshness, decryption (wechatpy's WeCom crypto).

wechatpy compares signatures with `!=` and never looks at the timestamp (see
shared/notes/wecom.md), so both are checked here first, in constant time, before
anything is decrypted. Every failure is one exception type the endpoint turns into 403.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time

from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException


class CallbackRejected(Exception):
    """The callback is not from WeCom (or not fresh): answer 403 and process nothing."""


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


class CallbackCrypto:
    def __init__(self, token: str, aes_key: str, corp_id: str, *, max_skew_seconds: int) -> None:
        self.token = token
        self.max_skew_seconds = max_skew_seconds
        self._crypto = WeChatCrypto(token, aes_key, corp_id)

    def _check(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str, *, now: float | None) -> None:
        expected = signature(self.token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected, (msg_signature or "").lower()):
            raise CallbackRejected("bad signature")
        try:
            skew = abs((now if now is not None else time.time()) - int(timestamp))
        except ValueError as exc:
            raise CallbackRejected("bad timestamp") from exc
        if skew > self.max_skew_seconds:
            raise CallbackRejected(f"stale timestamp ({int(skew)} s)")

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str, *, now: float | None = None):
        self._check(msg_signature, timestamp, nonce, echostr, now=now)
        try:
            return self._crypto.check_signature(msg_signature, timestamp, nonce, echostr)
        except (InvalidSignatureException, InvalidCorpIdException, UnicodeDecodeError, struct.error, ValueError) as exc:
            raise CallbackRejected(f"cannot decrypt echostr: {type(exc).__name__}") from exc

    def decrypt(self, body: str, msg_signature: str, timestamp: str, nonce: str, *, now: float | None = None) -> str:
        encrypt = _encrypt_field(body)
        self._check(msg_signature, timestamp, nonce, encrypt, now=now)
        try:
            return self._crypto.decrypt_message(body, msg_signature, timestamp, nonce)
        except (InvalidSignatureException, InvalidCorpIdException, UnicodeDecodeError, struct.error, ValueError) as exc:
            raise CallbackRejected(f"cannot decrypt message: {type(exc).__name__}") from exc

    def encrypt_reply(self, xml: str, nonce: str, timestamp: str) -> str:
        return self._crypto.encrypt_message(xml, nonce, timestamp)


def _encrypt_field(body: str) -> str:
    import xml.etree.ElementTree as ET  # the body is WeCom's tiny envelope; no entities expected

    if "<!DOCTYPE" in body or "<!ENTITY" in body:
        raise CallbackRejected("XML with a DTD")
    try:
        node = ET.fromstring(body).find("Encrypt")
    except ET.ParseError as exc:
        raise CallbackRejected("body is not XML") from exc
    if node is None or not node.text:
        raise CallbackRejected("no Encrypt element")
    return node.text
