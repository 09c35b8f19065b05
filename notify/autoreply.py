"""When an automatic reply must not be sent (RFC 3834 section 2 and what Zammad/RT do), and how often one may be.

A reply to a robot starts mail loops; a reply to a list spams its members. So the desk
answers a person's mail only, and at most a few times per sender per hour.
"""

from __future__ import annotations

import datetime as dt
import email.message
import re
from collections.abc import Mapping
from email.utils import getaddresses, parseaddr

BULK_PRECEDENCE = {"bulk", "list", "junk"}
LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post", "list-help", "list-subscribe", "list-owner", "list-archive")
ROBOT_LOCALPARTS = {"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply"}
# The same words inside a local part, however mailers dress them: noreply+tag, no_reply,
# notice-noreply, DoNotReply.Service.
_ROBOT_WORD = re.compile(r"(?:^|[._+-])(?:no[._-]?reply|do[._-]?not[._-]?reply|mailer-daemon|postmaster)(?:$|[._+-])")
# A deliverable address: no control characters, spaces or brackets; a dotted domain.
_ATOM = r"[^\s@<>()\[\],;:\\\"\x00-\x1f\x7f]"
_ADDRESS = re.compile(rf"{_ATOM}+@{_ATOM}+\.{_ATOM}+")


def _get(headers: email.message.Message | Mapping[str, str], name: str) -> str | None:
    if isinstance(headers, email.message.Message):
        value = headers.get(name)
    else:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return None if value is None else str(value).strip()


def deliverable(address: str) -> bool:
    """Whether `address` can go on a To line: a NUL or a space in it would only bounce, or retry forever;
    a domain under .invalid (RFC 2606; the desk's stand-in for a WeCom user's files) exists nowhere."""
    return bool(_ADDRESS.fullmatch(address or "")) and not _domain(address).endswith(".invalid")


def is_robot_localpart(local: str) -> bool:
    local = local.lower()
    return local in ROBOT_LOCALPARTS or bool(_ROBOT_WORD.search(local))


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip("<> ").lower()


def reply_suppression(
    headers: email.message.Message | Mapping[str, str], *, own_addresses: set[str], own_msgid_domains: set[str]
) -> str | None:
    """None if an automatic reply to this mail is allowed, else the reason code why not.

    Our own mail is recognised by the office's exact addresses and by the Message-ID domain
    only the desk uses, never by the mail provider's domain: the office's mailbox is on a
    public provider (126.com) where many units' contacts have their addresses too.
    """
    own_ids = {d.lower() for d in own_msgid_domains}
    own_addrs = {a.lower() for a in own_addresses}

    return_path = _get(headers, "return-path")
    if return_path is not None and parseaddr(return_path)[1] == "" and "<>" in return_path.replace(" ", ""):
        return "null_return_path"

    sender = parseaddr(_get(headers, "reply-to") or _get(headers, "from") or "")[1]
    if not sender or not deliverable(sender):
        return "no_sender"
    senders = [a for _, a in getaddresses([v for v in (_get(headers, "from"), _get(headers, "sender"), sender) if v])]
    for address in senders:
        local = address.rpartition("@")[0].lower()
        if is_robot_localpart(local):
            return "mailer_daemon"
        if local.startswith("owner-") or local.endswith("-request") or local.endswith("-bounces"):
            return "list_mail"

    content_type = (_get(headers, "content-type") or "").lower()
    if content_type.startswith("multipart/report") and "delivery-status" in content_type:
        return "delivery_status_report"
    if content_type.startswith(("multipart/report", "message/disposition-notification")):
        return "machine_report"  # a read receipt (RFC 8098), an abuse report: a mail client speaking

    auto_submitted = (_get(headers, "auto-submitted") or "no").split(";", 1)[0].strip().lower()
    if auto_submitted != "no":
        return "auto_submitted"

    if (_get(headers, "precedence") or "").lower() in BULK_PRECEDENCE:
        return "precedence_bulk"
    if any(_get(headers, name) is not None for name in LIST_HEADERS):
        return "list_mail"

    suppress = {p.strip().lower() for p in (_get(headers, "x-auto-response-suppress") or "").split(",")}
    if suppress & {"all", "autoreply", "oof"}:
        return "x_auto_response_suppress"

    if _get(headers, "x-loop") is not None:
        return "x_loop"

    message_id = _get(headers, "message-id") or ""
    if _domain(message_id) in own_ids:
        return "own_message"
    if any(address.lower() in own_addrs for address in senders):
        return "own_message"
    return None


class RateLimiter:
    """At most `per_hour` replies to one sender within any sliding hour."""

    @staticmethod
    def allowed(sender: str, sent_times: list[dt.datetime], now: dt.datetime, per_hour: int) -> bool:
        window_start = now - dt.timedelta(hours=1)
        recent = sum(1 for t in sent_times if window_start < t <= now)
        return recent < per_hour
