"""What comes in, kept before anything reads it: the sources' mail, a mail file handed in, a file
sent to the WeCom app, and the records of what the office does.

Everything the desk processes is a raw message in the store, so a WeCom file, a file the office
attached and an office action are kept as mails the desk writes itself (source "wecom" or
"office"): they take the pipeline's one path, the merge replays them in arrival order with the
unit's mails, and the raw store keeps a record of each. Keeping one wakes the pipeline.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import io
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import BinaryIO

from config.campaign import Campaign
from intake.headers import read_envelope
from intake.models import NOMINEE_KIND_ZH, UNIT_PAGE_SUBJECT_PREFIX, WECOM_SUBJECT_PREFIX
from intake.removals import REMOVE_HEADER
from intake.sources.base import IncomingRef
from intake.withdrawal import ACTION_HEADER, ACTOR_HEADER, LINK_PREFIX, NOMINEE_HEADER, VERB_ZH, actor_label
from nomdesk.stored import WECOM_DOMAIN
from storage.repo import Store
from storage.tables import RawMessageRecord

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
WECOM_USER_HEADER = "X-Nomdesk-WeCom-User"
OFFICE_SOURCE = "office"  # raw messages only the desk writes for the office; their source_ref is "office:<unit>"
SCRATCH = "tmp"  # under DIR/work
BASE64_BLOCK = 57 * 16384  # whole 76-character base64 lines, about 1 MB a block
SCRATCH_MAX_AGE_SECONDS = 6 * 3600.0  # no download or copy goes this long without writing a byte
OFFICE_MAIL_HEADROOM = 64 * 1024  # an office file mail's headers and text part, long file names too


def wecom_file_mail(user_id: str, media_id: str, filename: str, data: bytes, *, to: str, now: dt.datetime) -> bytes:
    """A file a contact sent to the WeCom app as a mail from them, the file its attachment."""
    msg = EmailMessage()
    msg["From"] = f"{user_id}@{WECOM_DOMAIN}"
    msg["To"] = to
    msg["Subject"] = f"{WECOM_SUBJECT_PREFIX}{filename}"
    msg["Date"] = email.utils.format_datetime(now)
    # One Message-ID per WeCom file, so a hand-off repeated after a crash is the same mail.
    msg["Message-ID"] = f"<wecom-{hashlib.sha256(media_id.encode()).hexdigest()[:24]}@{WECOM_DOMAIN}>"
    msg[WECOM_USER_HEADER] = user_id
    msg.set_content(f"{user_id} 通过企业微信发送的文件：{filename}\n", cte="base64")
    # The type is sniffed from content downstream, like every attachment's.
    msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
    # A fixed boundary too: the same file handed over again is then the same body, which is
    # what makes a copy under a known Message-ID a duplicate rather than a new mail.
    msg.set_boundary(f"nomdesk-wecom-{hashlib.sha256(media_id.encode()).hexdigest()[:32]}")
    return msg.as_bytes()


def _desk_note(subject: str, *, mail_from: str, domain: str, now: dt.datetime) -> EmailMessage:
    """A mail the desk writes to itself to keep a record of what the office did (its own Message-ID domain)."""
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = mail_from
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = email.utils.make_msgid(domain=domain)
    return msg


def named_for(filename: str, for_name: str | None) -> str:
    """The file name a file for a nominee or project is kept under: files are matched to nominees by
    their names, so the name goes before it unless the name already holds it."""
    for_name = (for_name or "").strip()
    return f"{for_name}_{filename}" if for_name and for_name not in filename else filename


def largest_office_file(max_mail_bytes: int) -> int:
    """The largest file the office may attach: the pipeline holds every mail to the campaign's mail
    size cap, and the mail of a file is a third bigger (base64: 77 bytes a line of 57) plus headers."""
    return max(0, (max_mail_bytes - OFFICE_MAIL_HEADROOM) // 77 * 57)


def scratch_dir(work_root: Path) -> Path:
    """DIR/work/tmp: files on their way into the store (a fetched link, an upload, the mail made of
    it). Made when needed: the desk sweeps old work folders, this one too once it sits unused.
    Files a killed process left here are removed by their own age (one being written is fresh)."""
    path = work_root / SCRATCH
    path.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - SCRATCH_MAX_AGE_SECONDS
    for leftover in path.iterdir():
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except (FileNotFoundError, IsADirectoryError):
            continue
    return path


def office_file_mail(
    unit: str,
    filename: str,
    data: bytes | Path,
    *,
    actor: str,
    origin: str,
    mail_from: str,
    domain: str,
    now: dt.datetime,
    dest_dir: Path,
) -> Path:
    """A file the office attached for `unit`, as a mail from the desk to itself, written to a new
    file under `dest_dir` (the caller removes it once stored).

    The file can be gigabytes of video, so the mail is never held in memory: the standard library
    writes the mail around a placeholder attachment (every header as before: the file name
    RFC 2231-encoded, the actor), and the file is base64-encoded into the placeholder's place block
    by block, in lines of 76 characters as the library writes them (57 bytes a line)."""
    msg = _desk_note(f"办公室补充附件：{filename}", mail_from=mail_from, domain=domain, now=now)
    msg[ACTOR_HEADER] = actor_label(actor)  # what the office did is never the unit's late delivery
    msg.set_content(f"{actor} 为 {unit} 补充的附件：{filename}\n来源：{origin or '上传'}\n", cte="base64")
    return streamed_mail(msg, filename, data, dest_dir)


def streamed_mail(msg: EmailMessage, filename: str, data: bytes | Path, dest_dir: Path) -> Path:
    """`msg` with `data` as its attachment, written to a new file under `dest_dir` without ever
    holding the file in memory (see `office_file_mail`)."""
    placeholder = secrets.token_bytes(42)  # one line of base64, no padding, in no other mail
    msg.add_attachment(placeholder, maintype="application", subtype="octet-stream", filename=filename)
    head, line, tail = msg.as_bytes().partition(base64.b64encode(placeholder) + b"\n")
    if not line or line in tail:
        raise RuntimeError("the attachment's place in the office mail was not found once")
    fd, name = tempfile.mkstemp(dir=dest_dir, prefix="office-", suffix=".eml")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, _opened(data) as source:
            out.write(head)
            while block := source.read(BASE64_BLOCK):
                out.write(base64.encodebytes(block))
            out.write(tail)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _opened(data: bytes | Path) -> BinaryIO:
    return io.BytesIO(data) if isinstance(data, bytes) else open(data, "rb")  # closed by the caller


def page_file_mail(
    unit: str,
    filename: str,
    data: bytes | Path,
    *,
    actor: str,
    removes: list[str],
    mail_from: str,
    domain: str,
    now: dt.datetime,
    dest_dir: Path,
) -> Path:
    """A file uploaded on a unit's page (by a unit contact, or the office acting there), as a mail
    from the desk to itself (written under `dest_dir`, streamed as `office_file_mail`'s). `removes`:
    REMOVE_HEADER values of the files it takes the place of (intake.removals), applied first."""
    actor = actor_label(actor)  # a link actor: the unit's own delivery (late if late); the office's is not
    page = actor.startswith(LINK_PREFIX)
    subject = f"{UNIT_PAGE_SUBJECT_PREFIX}上传：{filename}" if page else f"办公室补充附件：{filename}"
    msg = _desk_note(subject, mail_from=mail_from, domain=domain, now=now)
    msg[ACTOR_HEADER] = actor
    for value in removes:
        msg[REMOVE_HEADER] = value
    verb = "替换原文件" if removes else "上传"
    where = "在本单位材料页面" if page else f"由 {actor} 在材料页面"
    msg.set_content(f"{unit} {where}{verb}：{filename}\n", cte="base64")
    return streamed_mail(msg, filename, data, dest_dir)


def removal_mail(
    *, unit: str, removes: list[str], names: list[str], actor: str, mail_from: str, domain: str, now: dt.datetime
) -> bytes:
    """The record of files taken out of the unit's dossier (REMOVE_HEADER values), by the unit's page
    (a link actor) or the office; `names` say which for a person reading the mail."""
    prefix = UNIT_PAGE_SUBJECT_PREFIX if actor.startswith(LINK_PREFIX) else "办公室"
    msg = _desk_note(f"{prefix}删除文件：{'、'.join(names)}", mail_from=mail_from, domain=domain, now=now)
    msg[ACTOR_HEADER] = actor_label(actor)
    for value in removes:
        msg[REMOVE_HEADER] = value
    msg.set_content(f"{actor} 从 {unit} 的材料中删除了：{'、'.join(names)}。\n文件仍保存在系统中。\n", cte="base64")
    return msg.as_bytes()


def action_mail(
    *,
    unit: str,
    action: str,
    kind: str,
    name: str,
    actor: str,
    mail_from: str,
    domain: str,
    now: dt.datetime,
) -> bytes:
    """The raw message an action is kept as: the headers say what, the text says it for a person."""
    name = " ".join(name.split())  # a header holds one line
    verb = VERB_ZH[action]
    by = "企业微信" if actor.startswith("wecom:") else "办公室"
    by = UNIT_PAGE_SUBJECT_PREFIX if actor.startswith(LINK_PREFIX) else by
    subject = f"{by}{verb}：{NOMINEE_KIND_ZH[kind]} {name}"
    msg = _desk_note(subject, mail_from=mail_from, domain=domain, now=now)
    msg[ACTION_HEADER] = action
    msg[NOMINEE_HEADER] = name
    msg[ACTOR_HEADER] = actor
    msg.set_content(
        f"{actor} {verb}了 {unit} 的{NOMINEE_KIND_ZH[kind]} {name}。\n该推荐对象已收到的材料仍完整保存。\n",
        cte="base64",
    )
    return msg.as_bytes()


class Accepting:
    """The desk's way in: every method keeps raw bytes durably, then wakes the pipeline."""

    def __init__(self, campaign: Campaign, store: Store, *, clock: Clock, mail_from: str, own_domain: str) -> None:
        self.campaign = campaign
        self.store = store
        self.clock = clock
        self.mail_from = mail_from
        self.own_domain = own_domain  # of the Message-IDs the desk writes
        self._work = threading.Event()

    # -- waking the pipeline --------------------------------------------------------------------
    def wake(self) -> None:
        """Something was queued: the pipeline loop waiting in `wait_for_work` takes it at once."""
        self._work.set()

    def wait_for_work(self, timeout: float) -> bool:
        """The pipeline loop's idle wait: returns when woken or after `timeout` seconds (False).
        Cleared on return, before the loop looks for work, so a wake never goes unseen."""
        woken = self._work.wait(timeout)
        self._work.clear()
        return woken

    # -- the sources, `nomdesk ingest`, WeCom ------------------------------------------------
    def accept(self, path: Path, ref: IncomingRef) -> None:
        """The sources' sink: store the raw bytes durably (deduplicated) before anything else."""
        record, created = self.store.raw.put(
            path,
            source=ref.source,
            source_ref=ref.source_ref,
            received_at=ref.received_at,
            dedupe_message_id=True,
        )
        log.info("raw message %s %s from %s", record.id, "stored" if created else "already stored", ref.source)
        self.wake()

    def ingest_file(self, path: Path, *, received_at: dt.datetime | None = None) -> RawMessageRecord:
        """`nomdesk ingest`: a mail file handed in by hand; its arrival is its Date header unless given."""
        if received_at is None:
            received_at = read_envelope(path, self.campaign.tz).date
        record, _ = self.store.raw.put(
            path, source="cli", source_ref=path.name, received_at=received_at or self.clock(), dedupe_message_id=True
        )
        self.wake()
        return record

    def accept_wecom_file(self, user_id: str, media_id: str, filename: str, data: bytes) -> RawMessageRecord:
        """A file a contact sent to the WeCom app, kept as a mail so it takes the same path as mail."""
        now = self.clock()
        record, _ = self.store.raw.put(
            wecom_file_mail(user_id, media_id, filename, data, to=self.mail_from, now=now),
            source="wecom",
            source_ref=f"wecom:{user_id}:{media_id}",
            received_at=now,
            dedupe_message_id=True,
        )
        self.wake()
        return record

    def keep_written_mail(self, unit: str, mail: Path, *, received_at: dt.datetime) -> RawMessageRecord:
        """`keep_office_record` of a mail file the desk wrote in its scratch folder, removed once kept."""
        try:
            return self.keep_office_record(unit, mail, received_at=received_at)
        finally:
            mail.unlink(missing_ok=True)

    def keep_office_record(self, unit: str, data: bytes | Path, *, received_at: dt.datetime) -> RawMessageRecord:
        """A mail the desk wrote for what the office (or a contact in WeCom) did about `unit` (its bytes,
        or a file of them, streamed into the store)."""
        record, _ = self.store.raw.put(data, source=OFFICE_SOURCE, source_ref=f"office:{unit}", received_at=received_at)
        self.wake()
        return record
