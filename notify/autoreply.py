"""When an automatic reply must not be sent (RFC 3834 section 2 and what Zammad/RT do), and how often one may be.

A reply to a robot starts mail loops; a reply to a list spams its members. So the desk
answers a person's mail only, and at most a few times per sender per hour.

An autoresponder that does not say so in its headers (a vacation reply without Auto-Submitted)
is known by its subject or its words:
- the subject: a marker used as a label at its start ("自动回复：…", "Automatic reply: …",
  "Out of Office: …", "Auto: …", "【休假】…") always; a marker phrase anywhere ("…（自动回复）",
  "休假中", "I am out of the office") only when the mail carries no attachment (its top
  Content-Type is text or multipart/alternative). So a unit's package titled "休假前报送材料",
  with its files attached, is a package: a word in a title is not a label, and a mail with
  attachments is answered unless its subject is labelled as an automatic reply;
- the text (`autoreply_by_content`): the first kilobyte of the words the sender wrote (a quoted
  earlier mail cut off) of a small mail with no attachment, for the phrases these replies use
  ("我现在休假", "此邮件为自动回复", "I am out of the office").
Both mean a machine answered: the mail is kept, not a submission, and not answered.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.message
import re
from email.utils import getaddresses, parseaddr
from pathlib import Path

from intake.filenames import decode_bytes, decode_words
from intake.headers import HEADERS_PARSER, Headers, header_value, mailbox
from intake.htmltext import html_to_text
from intake.unit import own_words

BULK_PRECEDENCE = {"bulk", "list", "junk"}
LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post", "list-help", "list-subscribe", "list-owner", "list-archive")
ROBOT_LOCALPARTS = {"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply"}
# The same words inside a local part, however mailers dress them: noreply+tag, no_reply,
# notice-noreply, DoNotReply.Service.
_ROBOT_WORD = re.compile(r"(?:^|[._+-])(?:no[._-]?reply|do[._-]?not[._-]?reply|mailer-daemon|postmaster)(?:$|[._+-])")
# A deliverable address: no control characters, spaces or brackets; a dotted domain.
_ATOM = r"[^\s@<>()\[\],;:\\\"\x00-\x1f\x7f]"
_ADDRESS = re.compile(rf"{_ATOM}+@{_ATOM}+\.{_ATOM}+")


# Why a reply was not sent, as the office reads it (the reason codes of `reply_suppression`, of
# notify.replies and of the desk's sender authentication).
SUPPRESSION_ZH = {
    "null_return_path": "退信地址为空（系统邮件）",
    "no_sender": "没有可回复的发件地址",
    "mailer_daemon": "系统退信或不接收回复的地址",
    "list_mail": "邮件列表来信",
    "delivery_status_report": "退信通知",
    "machine_report": "已读回执等系统通知",
    "auto_submitted": "自动发送的邮件",
    "precedence_bulk": "群发邮件",
    "x_auto_response_suppress": "发件方要求不自动回复",
    "x_loop": "邮件循环",
    "own_message": "本系统自己发出的邮件",
    "autoreply_subject": "自动回复（按主题识别）",
    "autoreply_content": "自动回复（按正文识别）",
    "unknown_daily": "未登记发件人：24 小时内已回复过一次",
    "sender_unauthenticated": "发件人身份验证未通过（SPF/DMARC），不回复以免误发给他人",
}

# Autoresponder markers (see the module's docstring). A label: the marker at the subject's start,
# followed by a colon, or in brackets.
_MARKERS = (
    r"自动回复|自動回覆|自動回復|自动答复|自動答覆|自动应答|假期自动回复|"
    r"automatic\s+reply|auto[\s_-]?reply|autoreply|auto[\s_-]?response|auto|"
    r"out\s+of\s+(?:the\s+)?office|ooo|vacation|休假中?|外出中?|不在办公室|不在辦公室"
)
_SUBJECT_LABEL = re.compile(rf"^\s*(?:(?:{_MARKERS})\s*[:：]|[\[【(（]\s*(?:{_MARKERS})\s*[\]】)）])", re.IGNORECASE)
# In a subject (of a mail without attachment): a phrase of an automatic reply, or a marker alone.
_SUBJECT_PHRASES = re.compile(
    r"自动回复|自動回覆|自動回復|自动答复|自動答覆|自动应答|"
    r"automatic\s+reply|auto[\s_-]?reply|autoreply|out\s+of\s+(?:the\s+)?office|on\s+vacation|"
    r"正在休假|休假中|外出中|不在办公室|不在辦公室",
    re.IGNORECASE,
)
_SUBJECT_ALONE = re.compile(rf"\s*[\[【(（]?\s*(?:{_MARKERS})\s*[\]】)）]?\s*", re.IGNORECASE)
# In the sender's own first words: what automatic replies say and a person writing to the desk
# hardly does ("我下周外出，材料周五前补齐" is a person: travelling is not a marker here).
_BODY_PHRASES = re.compile(
    r"(?:此|本|这|這)(?:是)?(?:一)?(?:封)?(?:邮件|郵件|信)?(?:为|是|為|系)(?:一封)?(?:假期)?(?:系统)?"
    r"自[动動](?:回复|回覆|回復|答复|答覆|应答)|假期自动回复|自动回复邮件|"
    r"我(?:现在|目前|正在|正|这几天|近期)?(?:在)?休假|正在休假|休假中|休假期间|"
    r"(?:目前|现在|暂时|暫時)不在办公室|"
    r"(?:i\s+am|i'm)\s+(?:currently\s+)?(?:out\s+of\s+(?:the\s+)?office|on\s+(?:vacation|holiday|annual\s+leave))|"
    r"automatic\s+reply|auto[\s_-]?reply|autoreply",
    re.IGNORECASE,
)
# Where a reply's own words end and the mail it quotes begins (Chinese and English clients).
CONTENT_SCAN_BYTES = 256 * 1024  # an autoresponder's mail is small; a bigger one is not read for this
CONTENT_SCAN_CHARS = 1024  # the first kilobyte of what the sender wrote
NO_ATTACHMENT_TYPES = ("text/", "multipart/alternative")


def _without_attachments(headers: Headers) -> bool:
    """Whether the top-level Content-Type says the mail carries its text alone (a missing one is text)."""
    content_type = (header_value(headers, "content-type") or "text/plain").lower()
    return content_type.startswith(NO_ATTACHMENT_TYPES)


def autoreply_subject(headers: Headers) -> bool:
    """Whether the subject marks the mail as an automatic reply (see the module's docstring)."""
    subject = header_value(headers, "subject")
    if not subject:
        return False
    with contextlib.suppress(Exception):  # an undecodable subject is read as it came
        subject = decode_words(subject)  # as the clerk sees it (a raw-policy value is still encoded)
    if _SUBJECT_LABEL.search(subject):
        return True
    alone = bool(_SUBJECT_ALONE.fullmatch(subject)) or bool(_SUBJECT_PHRASES.search(subject))
    return alone and _without_attachments(headers)


def _own_words(text: str) -> str:
    """The first kilobyte of what the sender wrote: a quoted earlier mail (ours, say) cut off."""
    return own_words(text)[:CONTENT_SCAN_CHARS]


def _is_attachment(part: email.message.Message) -> bool:
    """A file rather than the mail's text: named, marked as an attachment, or not text at all."""
    return (
        part.get_content_maintype() != "text"
        or part.get_filename() is not None
        or (part.get_content_disposition() or "") == "attachment"
    )


def autoreply_by_content(path: Path) -> bool:
    """Whether a mail with no attachment reads as an automatic reply ("我现在休假，…", "I am out of
    the office"): small mails only, the sender's own first kilobyte of text. Never raises: a mail
    that cannot be read for this is not an autoresponder's."""
    try:
        if path.stat().st_size > CONTENT_SCAN_BYTES:
            return False
        message = HEADERS_PARSER.parsebytes(path.read_bytes())
        leaves = [part for part in message.walk() if not part.is_multipart()]
        if any(_is_attachment(part) for part in leaves):
            return False
        texts: list[str] = []
        for part in leaves:
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                continue
            text = decode_bytes(payload, part.get_content_charset())
            texts.append(html_to_text(text) if part.get_content_type() == "text/html" else text)
            if part.get_content_type() == "text/plain":
                break  # the plain text alone when there is one; its HTML twin says the same
        return any(_BODY_PHRASES.search(_own_words(text)) for text in texts)
    except Exception:
        return False


def deliverable(address: str) -> bool:
    """Whether `address` can go on a To line: a NUL or a space in it would only bounce, or retry forever;
    a domain under .invalid (RFC 2606; the desk's stand-in for a WeCom user's files) exists nowhere."""
    return bool(_ADDRESS.fullmatch(address or "")) and not _domain(address).endswith(".invalid")


def is_robot_localpart(local: str) -> bool:
    local = local.lower()
    return local in ROBOT_LOCALPARTS or bool(_ROBOT_WORD.search(local))


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip("<> ").lower()


def reply_suppression(headers: Headers, *, own_addresses: set[str], own_msgid_domains: set[str]) -> str | None:
    """None if an automatic reply to this mail is allowed, else the reason code why not.

    Our own mail is recognised by the office's exact addresses and by the Message-ID domain
    only the desk uses, never by the mail provider's domain: the office's mailbox is on a
    public provider (126.com) where many units' contacts have their addresses too.
    """
    own_ids = {d.lower() for d in own_msgid_domains}
    own_addrs = {a.lower() for a in own_addresses}

    return_path = header_value(headers, "return-path")
    if return_path is not None and parseaddr(return_path)[1] == "" and "<>" in return_path.replace(" ", ""):
        return "null_return_path"

    sender = mailbox(header_value(headers, "reply-to") or header_value(headers, "from"))[1]
    if not sender or not deliverable(sender):
        return "no_sender"
    claimed = (header_value(headers, "from"), header_value(headers, "sender"), sender)
    senders = [a for _, a in getaddresses([v for v in claimed if v])]
    for address in senders:
        local = address.rpartition("@")[0].lower()
        if is_robot_localpart(local):
            return "mailer_daemon"
        if local.startswith("owner-") or local.endswith("-request") or local.endswith("-bounces"):
            return "list_mail"

    content_type = (header_value(headers, "content-type") or "").lower()
    if content_type.startswith("multipart/report") and "delivery-status" in content_type:
        return "delivery_status_report"
    if content_type.startswith(("multipart/report", "message/disposition-notification")):
        return "machine_report"  # a read receipt (RFC 8098), an abuse report: a mail client speaking

    auto_submitted = (header_value(headers, "auto-submitted") or "no").split(";", 1)[0].strip().lower()
    if auto_submitted != "no":
        return "auto_submitted"
    if autoreply_subject(headers):
        return "autoreply_subject"  # a vacation reply that does not say so in its headers

    if (header_value(headers, "precedence") or "").lower() in BULK_PRECEDENCE:
        return "precedence_bulk"
    if any(header_value(headers, name) is not None for name in LIST_HEADERS):
        return "list_mail"

    suppress = {p.strip().lower() for p in (header_value(headers, "x-auto-response-suppress") or "").split(",")}
    if suppress & {"all", "autoreply", "oof"}:
        return "x_auto_response_suppress"

    if header_value(headers, "x-loop") is not None:
        return "x_loop"

    message_id = header_value(headers, "message-id") or ""
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
