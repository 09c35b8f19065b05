"""Masking of personal numbers (mobile phones, ID numbers) wherever text leaves the data store.

Logs and the audit log must never carry a full phone or ID number. `mask_text` finds them
in free text (and credentials in URLs); `MaskingFilter` applies it to every log record a
handler emits.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

# An 18-character ID number (17 digits + check digit, X allowed) or a legacy 15-digit one.
# Lookarounds keep us from matching inside longer digit runs (order numbers, Message-IDs).
# Letters around the number do not protect it: file names like sfz2201….docx or
# tel139….jpg are common, and a hash that happens to hold 15 digits in a row is only masked.
_ID_RE = re.compile(r"(?<!\d)(?:\d{17}[0-9Xx]|\d{15})(?![0-9Xx])")
# A mainland mobile number, optionally with +86 / 86 and written in 3-4-4 groups.
_MOBILE_RE = re.compile(r"(?<!\d)(?:(?:\+?86)[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
# Credentials in URLs and forms a library may log at debug level (WeCom's gettoken?corpsecret=,
# ?access_token=, the group robot's ?key=).
_SECRET_RE = re.compile(r"\b(corpsecret|access_token|secret|key|password|passwd|token)=([^&\s'\"]+)")

# A landline with its area code ("0431-88886666", "(0433) 2513420", "0433 251 3420"): only for
# deciding what storage encrypts (`has_personal_number`), not masked in logs, where such runs are
# more often other numbers.
_LANDLINE_RE = re.compile(r"(?<!\d)\(?0\d{2,3}\)?[\s-]?\d{3,4}[\s-]?\d{4}(?!\d)")

# Keys whose values are personal numbers whatever their shape ("phone": "0433 251 3420").
_SENSITIVE_KEYS = {"phone", "mobile", "tel", "telephone", "id_number", "id_no", "idcard", "id_card"}


def is_sensitive_key(key: str | None) -> bool:
    """A JSON key whose value is a phone or ID number whatever it looks like."""
    return (key or "").lower() in _SENSITIVE_KEYS


def has_personal_number(text: str) -> bool:
    """The text holds something shaped like an ID number, a mobile or a landline anywhere in it."""
    return bool(text) and any(r.search(text) for r in (_ID_RE, _MOBILE_RE, _LANDLINE_RE))


def mask_phone(phone: str) -> str:
    """138****5678 for a mobile; for any other number, all but the last 4 digits hidden."""
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return phone
    if len(digits) >= 11 and digits[-11] == "1":
        mobile = digits[-11:]
        return f"{mobile[:3]}****{mobile[-4:]}"
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_id_number(id_number: str) -> str:
    """2201**********1234: region prefix and last 4 kept, birth date and sequence hidden."""
    text = (id_number or "").strip()
    if len(text) <= 8:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def mask_address(address: str) -> str:
    """zh***@163.com: who a message went to, readable in a log without the whole address; a WeCom
    account or anything without an @ keeps its first two characters."""
    text = (address or "").strip()
    local, at, domain = text.rpartition("@")
    if not at:
        local, domain = text, ""
    shown = local[:2] if len(local) > 3 else local[:1]
    return f"{shown}***{at}{domain}"


def mask_text(text: str) -> str:
    """The text with every ID number and mobile number in it masked."""
    if not text:
        return text
    text = _ID_RE.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _MOBILE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _SECRET_RE.sub(lambda m: f"{m.group(1)}=***", text)


def mask_value(value: Any, key: str | None = None) -> Any:
    """A JSON-like value with personal numbers masked: in every string, and wholly under phone/ID keys."""
    if isinstance(value, Mapping):
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [mask_value(v, key) for v in value]
    if isinstance(value, str):
        lowered = (key or "").lower()
        if lowered in _SENSITIVE_KEYS:
            return mask_id_number(value) if "id" in lowered else mask_phone(value)
        return mask_text(value)
    return value


class MaskingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) with personal numbers masked.

    Logger filters do not see records propagated from child loggers, so install this
    on handlers (see `install_masking`), not on a logger.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = mask_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_masking(logger: logging.Logger | None = None) -> MaskingFilter:
    """Add one MaskingFilter to every handler of `logger` (the root logger by default)."""
    logger = logger or logging.getLogger()
    masking = MaskingFilter()
    for handler in logger.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(masking)
    return masking
