"""Files contacts send to the WeCom app, kept in the database until the desk has them.

The contact is told "已收到文件" at once, so the file must not live only in memory: its
media_id is stored before that answer, and a worker thread downloads the file and hands
it to the desk, retrying with backoff. WeCom keeps a received file for 3 days only; after
that (or when WeCom no longer knows the media_id) the contact and the office are told,
with the cause. A desk started again resumes the files left pending, and a row whose
worker died while "working" goes back to the queue once its lease has run out (storage/leases.py).

Images and videos come without a file name, and files are matched to nominees by name:
such a file is held for `naming_window` so the contact can reply with the nominee's name,
which is then put before the file name (and the file released at once). Unnamed, it goes
to the desk as it came once the window has passed; a desk (re)starting leaves it held, since
another desk process on the same database may be the one the contact is talking to, and every
desk asks the database which files are held (`held`), so a name reaching any of them counts.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot.wecom_client import WeComError
from storage.repo import Store
from storage.tables import WeComFileState, WeComPendingFile

log = logging.getLogger(__name__)

MEDIA_TTL = dt.timedelta(days=3)  # how long WeCom serves a received file
INVALID_MEDIA = 40007  # invalid media_id: no retry will ever fetch the file
PERMANENT_ERRCODES = frozenset({INVALID_MEDIA})
NAMING_WINDOW = dt.timedelta(minutes=10)  # how long a nameless image/video waits for its nominee's name
# A name arriving this close to the end of the window is not taken: the worker may be claiming the file.
NAMING_MARGIN = dt.timedelta(seconds=30)
NAMELESS_KEY = "wecom:nameless:{}"  # kv: the row (by msg_key) is an image/video that came without a name
NAME_KEY = "wecom:named:{}"  # kv: the nominee the contact named for it

FileHandler = Callable[[str, str, str], None]  # (user_id, media_id, filename): download and hand to the desk
SendText = Callable[[str, str], None]  # (user_id, text): an active message, queued in the outbox


class PendingFiles:
    """The durable queue of received files and the one thread that works it off."""

    def __init__(
        self,
        store: Store,
        handler: FileHandler | None,
        *,
        send_text: SendText | None,
        clock: Callable[[], dt.datetime],
        tz: ZoneInfo | None = None,
        poll_seconds: float = 5.0,
        first_backoff: dt.timedelta = dt.timedelta(minutes=1),
        max_backoff: dt.timedelta = dt.timedelta(hours=1),
        naming_window: dt.timedelta = NAMING_WINDOW,
        lease: dt.timedelta | None = None,
    ) -> None:
        """`lease`: how long a claimed file is this process's (real time, renewed by the service's
        heartbeat however long the download and check take); None: NOMDESK_LEASE_SECONDS."""
        self.store = store
        self.lease = lease
        self.handler = handler
        self.send_text = send_text
        self.clock = clock
        self.tz = tz or ZoneInfo("Asia/Shanghai")
        self.poll_seconds = poll_seconds
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.naming_window = naming_window
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the queue --------------------------------------------------------------------------
    def add(self, msg_key: str, user_id: str, media_id: str, filename: str, *, hold: bool = False) -> None:
        """Store the file's media_id (before the contact is told it arrived) and wake the worker.

        `hold`: a nameless image/video, kept back for `naming_window` so the contact can name it."""
        now = self.clock()
        if hold:  # marked before the row exists: the worker never sees it unmarked
            self.store.state.kv_set(NAMELESS_KEY.format(msg_key), "1", now + MEDIA_TTL)
        created = self.store.wecom_files.add(msg_key, user_id, media_id, filename, now)
        if not hold:
            self._wake.set()
            return
        row = self._row(msg_key)
        if created and row is not None and row.state == WeComFileState.PENDING and row.attempts == 0:
            assert row.id is not None
            # Not woken: the worker polls every few seconds, the row is postponed long before that.
            until = now + self.naming_window
            self.store.wecom_files.finish(row.id, WeComFileState.PENDING, now=now, retry_at=until)

    def _row(self, msg_key: str) -> WeComPendingFile | None:
        return next((r for r in self.store.wecom_files.all(WeComFileState.PENDING) if r.msg_key == msg_key), None)

    def held(self, user_id: str) -> list[WeComPendingFile]:
        """The user's nameless images/videos still waiting for a name (oldest first).

        Every text message asks this, and another desk process may hold the file (it took the
        image, this one takes the name), so the database answers, not a cache: one indexed query
        (`WeComFileRepo.waiting`) that almost always finds nothing; the key-value checks run only
        for the rows it found."""
        now = self.clock()
        return [
            row
            for row in self.store.wecom_files.waiting(user_id, now + NAMING_MARGIN)
            if self.store.state.kv_get(NAMELESS_KEY.format(row.msg_key), now)
            and not self.store.state.kv_get(NAME_KEY.format(row.msg_key), now)
        ]

    def name(self, rows: list[WeComPendingFile], nominee: str) -> int:
        """Name held files after `nominee` and release them to the worker at once; how many were named."""
        now = self.clock()
        for row in rows:
            assert row.id is not None
            self.store.state.kv_set(NAME_KEY.format(row.msg_key), nominee, now + MEDIA_TTL)
            self.store.wecom_files.finish(row.id, WeComFileState.PENDING, now=now, retry_at=now)
        if rows:
            self._wake.set()
        return len(rows)

    def _filename(self, row: WeComPendingFile) -> str:
        """The name the desk matches the file by: the nominee the contact named before a nameless one's."""
        nominee = self.store.state.kv_get(NAME_KEY.format(row.msg_key), self.clock())
        return f"{nominee}-{row.filename}" if nominee else row.filename

    def run_once(self) -> int:
        """Work off one due file: 1 if there was one, 0 if none is due."""
        if self.handler is None:
            return 0
        now = self.clock()
        row = self.store.wecom_files.claim(now, self.lease)
        if row is None:
            return 0
        assert row.id is not None
        try:
            self.handler(row.user_id, row.media_id, self._filename(row))
        except Exception as exc:
            log.warning("WeCom file %s (attempt %s) failed", row.id, row.attempts, exc_info=True)
            self._failed(row, exc, now)
        else:
            self.store.wecom_files.finish(row.id, WeComFileState.DONE, now=self.clock(), worker=row.claimed_by)
        return 1

    def _failed(self, row: WeComPendingFile, exc: Exception, now: dt.datetime) -> None:
        assert row.id is not None
        error = f"{type(exc).__name__}: {exc}"
        delay = min(self.first_backoff * 2 ** max(row.attempts - 1, 0), self.max_backoff)
        retry_at = now + delay
        if getattr(exc, "errcode", None) not in PERMANENT_ERRCODES and retry_at < row.received_at + MEDIA_TTL:
            self.store.wecom_files.finish(
                row.id, WeComFileState.PENDING, now=now, error=error, retry_at=retry_at, worker=row.claimed_by
            )
            return
        if self.store.wecom_files.finish(row.id, WeComFileState.EXPIRED, now=now, error=error, worker=row.claimed_by):
            self._tell_gave_up(row, exc, now)

    def _tell_gave_up(self, row: WeComPendingFile, exc: Exception, now: dt.datetime) -> None:
        if self.send_text is None:
            return
        when = f"{row.received_at.astimezone(self.tz):%m月%d日 %H:%M}"
        cause = gave_up_cause(exc, expired=now >= row.received_at + MEDIA_TTL)
        self.send_text(
            row.user_id,
            f"很抱歉，您于 {when} 通过企业微信发送的文件“{row.filename}”未能接收：{cause}。"
            "请重新发送该文件，或通过邮件报送。办公室已收到通知。",
        )
        unit = self.store.directory.unit_of_wecom_user(row.user_id) or "未登记单位"
        text = (
            f"企业微信文件未能接收：{unit} 的联系人（账号 {row.user_id}）于 {when} 发送的文件“{row.filename}”"
            f"经 {row.attempts} 次尝试仍未能下载（{cause}；{_error_label(exc)}），已放弃。"
            "已请对方重新发送或通过邮件报送。"
        )
        for office_user in sorted({c.wecom_user for c in self.store.contacts.list() if c.is_office and c.wecom_user}):
            self.send_text(office_user, text)

    # -- the thread -------------------------------------------------------------------------
    def start(self) -> None:
        """Resume what an earlier run left pending, then keep working off new files."""
        if self._thread is not None or self.handler is None:
            return
        resumed = self.store.wecom_files.resume(self.clock())
        if resumed:
            log.info("resuming %s WeCom file(s) left pending", resumed)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wecom-files", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                busy = self.run_once()
            except Exception:  # the database away for a moment must not end the worker
                log.exception("WeCom file worker step failed")
                busy = 0
            if not busy:
                self._wake.wait(self.poll_seconds)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the worker (a ThreadPoolExecutor's signature, as nomdesk/service.py calls it).

        A file being downloaded when the process ends stays "working" and goes back to the queue
        once its lease has run out (storage/leases.py); nothing that was acknowledged is lost.
        `cancel_futures` changes nothing: what is not done stays in the database.
        """
        self._stop.set()
        self._wake.set()
        if wait and self._thread is not None:
            self._thread.join(timeout=30)
        self._thread = None


def gave_up_cause(exc: Exception, *, expired: bool) -> str:
    """Why a file could not be taken, in the contact's words: the fix differs (resend at once,
    resend because WeCom no longer has it, or wait for the office), so the cause is told apart."""
    days = MEDIA_TTL.days
    errcode = getattr(exc, "errcode", None)
    if errcode == INVALID_MEDIA and not expired:
        return "企业微信提示该文件的 media_id 无效，系统无法下载（文件可能已撤回或未发送完整）"
    if expired or (isinstance(exc, WeComError) and not exc.permanent):
        # WeCom was busy, rate-limiting or out of reach until the time it keeps a file ran out.
        return f"企业微信只保留收到的文件 {days} 天，这期间多次下载均未成功，文件已到期"
    return "系统多次尝试接收该文件均未成功（系统原因，非文件本身问题）"


def _error_label(exc: Exception) -> str:
    """The error for the office by type and WeCom code only: its text may carry a URL or a local path."""
    errcode = getattr(exc, "errcode", None)
    return f"{type(exc).__name__} {errcode}" if errcode is not None else type(exc).__name__
