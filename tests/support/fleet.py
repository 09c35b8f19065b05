"""Several `nomdesk serve` processes on shared state, fed mail and WeCom callbacks while one of them
is killed now and then: the harness of the several-desks tests and bench.

A fleet is N `serve` subprocesses with the same settings: either one PostgreSQL database and one S3
bucket with a data directory each (separate machines), or one SQLite data directory shared by all.
They read the same IMAP mailbox, send through the same SMTP sink and talk to the same WeCom
simulator, so whatever any of them did is counted where it arrives. Every process runs on the
campaign's clock (NOMDESK_CLOCK_START) at the same campaign instant: a process restarted later
starts its clock where the others' are, as one wall clock would have it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import defusedxml.ElementTree as SafeET
import httpx

from config.campaign import DEFAULT_CAMPAIGN, load_campaign
from storage.tables import OutboxState, RawState, WeComFileState
from tests.support.mail import attachment, filename_rfc2047
from tests.support.service import ServeProcess, message_id_of, parse, wait_until
from tests.support.wecom_sim import crypto

if TYPE_CHECKING:
    from storage.repo import Store
    from tests.support.dovecot import Dovecot
    from tests.support.smtp import Envelope, SmtpSink
    from tests.support.wecom_sim.server import WeComSimulator

# Several machines share one database: they share its keys too, as an office sets them on each.
ID_KEY_ENV, SECRET_KEY_ENV = "NOMDESK_ID_HASH_KEY", "NOMDESK_SECRET_KEY"
CAMPAIGN_TZ = dt.timezone(dt.timedelta(hours=8))
# The campaign's clock runs CLOCK_SPEED times the real pace from 5 campaign minutes before the
# 3-days-before reminder round of the 2021 call (deadline 2021-08-30, rounds at 09:00): the
# 7-days-before round is caught up at once, the 3-days-before one falls due 30 s into the run, and
# the scheduler ticks every 30 s (5 campaign minutes), so it is sent during the run.
CLOCK_START = dt.datetime(2021, 8, 27, 8, 55, tzinfo=CAMPAIGN_TZ)
CLOCK_SPEED = 10.0
STARTUP_SECONDS = 1.5  # about how long `serve` takes from exec to making its clock


def _small_jpeg() -> bytes:
    """A small picture (a few hundred bytes): a small package's photo, read in milliseconds."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (120, 140, 160)).save(out, "JPEG")
    return out.getvalue()


JPEG = _small_jpeg()


@dataclass(frozen=True)
class Sender:
    unit: str
    address: str


@dataclass(frozen=True)
class FleetCampaign:
    """The campaign TOML the fleet runs, with the senders and WeCom ids it registered."""

    path: Path
    senders: list[Sender]  # one address per mail (replies to one address never supersede each other)
    wecom_users: dict[str, str]  # WeCom id -> unit


def fleet_campaign(target: Path, *, units: int, addresses_per_unit: int) -> FleetCampaign:
    """A copy of the shipped campaign where each of the first `units` units gets one more contact
    with `addresses_per_unit` mail addresses and a WeCom id."""
    text = DEFAULT_CAMPAIGN.read_text(encoding="utf-8")
    names = [u.name for u in load_campaign(DEFAULT_CAMPAIGN).units][:units]
    senders: list[Sender] = []
    wecom: dict[str, str] = {}
    for n, unit in enumerate(names):
        head = f'[[units]]\nname = "{unit}"\n'
        start = text.index(head)
        end = text.find("\n[[units]]\n", start + len(head))
        end = len(text) if end < 0 else end + 1
        addresses = [f"fleet{n:02d}.{k:03d}@desk-test.cn" for k in range(addresses_per_unit)]
        senders += [Sender(unit, a) for a in addresses]
        wecom[f"fleetwx{n:02d}"] = unit
        quoted = ", ".join(f'"{a}"' for a in addresses)
        block = f'[[units.contacts]]\nname = "测试联系人{n}"\nemails = [{quoted}]\nwecom_user = "fleetwx{n:02d}"\n'
        body = text[start:end]
        if not body.endswith("\n"):
            body += "\n"
        text = text[:start] + body + block + text[end:]
    target.write_text(text, encoding="utf-8")
    # Round robin over the units: units mail at the same time, and one unit's mails queue behind its
    # lock (a dossier is evaluated by one process at a time) while the others' do not.
    senders.sort(key=lambda s: (s.address.split(".")[1], s.address))
    return FleetCampaign(target, senders, wecom)


def small_mail(sender: Sender, n: int) -> bytes:
    """A small package: one photo, its own Message-ID (so its own bytes)."""
    from tests.support.service import mail

    name = filename_rfc2047(f"活动照片{n:03d}.jpg")
    return mail(
        sender.address,
        subject=f"{sender.unit}推荐材料（第{n}封）",
        text=f"您好！推荐材料见附件（第{n}封）。",
        message_id=f"<fleet-{n:04d}-{uuid.uuid4().hex[:12]}@desk-test.cn>",
        parts=[attachment(JPEG, name, content_type="image/jpeg")],
        date=None,
    )


def campaign_now(t0: float, start: dt.datetime = CLOCK_START, speed: float = CLOCK_SPEED) -> dt.datetime:
    """The fleet's campaign instant now, when its clock started at `start` at wall time `t0`."""
    return start + dt.timedelta(seconds=(time.time() - t0) * speed)


@dataclass
class Fleet:
    """N `serve` processes over shared state. `data_dirs` has one entry per process (the same
    directory N times on SQLite)."""

    root: Path
    data_dirs: list[Path]
    env: dict[str, str]
    campaign: Path
    database_url: str | None = None
    clock_start: dt.datetime = CLOCK_START
    processes: list[ServeProcess] = field(default_factory=list)
    t0: float = field(default_factory=time.time)
    kills: int = 0
    _live: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for i, data in enumerate(self.data_dirs):
            process = ServeProcess(data, env=self.env, campaign=self.campaign)
            process.log = self.root / f"serve-{i}.log"  # one log per process, even on one data dir
            self.processes.append(process)

    def _launch(self, i: int) -> ServeProcess:
        process = self.processes[i]
        # The clock a process makes starts where the fleet's campaign time is when it makes it.
        start = campaign_now(self.t0, self.clock_start) + dt.timedelta(seconds=STARTUP_SECONDS * CLOCK_SPEED)
        process.env["NOMDESK_CLOCK_START"] = start.isoformat()
        process.env["NOMDESK_CLOCK_SPEED"] = str(CLOCK_SPEED)
        return process.start(wait=False)

    def _serving(self, i: int, timeout: float = 120.0) -> None:
        """Waits until process `i` answers on its port; then it is live (callbacks go to it)."""
        process = self.processes[i]
        wait_until(process.healthy, timeout, what=f"serve-{i} on port {process.port}\n{process.stderr()[-3000:]}")
        with self._lock:
            self._live.add(i)

    def start(self) -> Fleet:
        self.t0 = time.time()
        for i in range(len(self.processes)):
            self._launch(i)
            self._serving(i)
        return self

    def live(self) -> list[ServeProcess]:
        with self._lock:
            return [self.processes[i] for i in sorted(self._live)]

    def kill_and_restart(self, rng: random.Random, errors: list[str]) -> bool:
        """SIGKILL a random live process (as a power cut would) and start it again at once; it is
        live again once it answers. One process at least stays live. False: none could be killed."""
        with self._lock:
            if len(self._live) < 2:
                return False
            i = rng.choice(sorted(self._live))
            self._live.discard(i)
        self.processes[i].kill()
        self.kills += 1
        self._launch(i)

        def serving() -> None:
            try:
                self._serving(i)
            except Exception as exc:  # a process that does not come back is a finding
                errors.append(f"serve-{i}: {type(exc).__name__}: {exc}"[:3000])

        threading.Thread(target=serving, name=f"fleet-start-{i}", daemon=True).start()
        return True

    def wait_all_live(self, timeout: float = 180.0) -> None:
        wait_until(lambda: len(self.live()) == len(self.processes), timeout, what="every process serving again")

    def stop(self) -> None:
        with self._lock:
            self._live.clear()
        for process in self.processes:
            with contextlib.suppress(Exception):
                process.stop()

    def logs(self, tail: int = 4000) -> str:
        return "\n".join(f"--- serve-{i} ---\n{p.stderr()[-tail:]}" for i, p in enumerate(self.processes))

    def grep(self, *needles: str) -> list[str]:
        """Log lines of every process (all runs) containing any of `needles`."""
        found = []
        for i, process in enumerate(self.processes):
            for line in process.stderr().splitlines():
                if any(n in line for n in needles):
                    found.append(f"serve-{i}: {line}")
        return found

    @contextlib.contextmanager
    def store(self) -> Iterator[Store]:
        """The shared database, opened beside the running processes (no migration, no sweep)."""
        from storage import pii
        from storage.db import make_engine
        from storage.repo import Store

        data = self.data_dirs[0]
        url = self.database_url or f"sqlite:///{(data / 'nomdesk.sqlite3').resolve()}"
        sealer = pii.Sealer(self.env[SECRET_KEY_ENV].encode())
        store = Store(data, make_engine(url), self.env[ID_KEY_ENV].encode(), sealer)
        try:
            yield store
        finally:
            store.close()


class Chaos:
    """A thread that SIGKILLs a random process of the fleet every few seconds and restarts it."""

    def __init__(self, fleet: Fleet, every: tuple[float, float] = (2.0, 5.0), seed: int = 16) -> None:
        self.fleet = fleet
        self.every = every
        self.rng = random.Random(seed)
        self.stopped = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, name="fleet-chaos", daemon=True)

    def _run(self) -> None:
        while not self.stopped.wait(self.rng.uniform(*self.every)):
            self.fleet.kill_and_restart(self.rng, self.errors)

    def __enter__(self) -> Chaos:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(120)
        self.fleet.wait_all_live()


@dataclass
class Attempt:
    port: int
    status: int | None  # None: no answer (connection refused or cut, or 5 s passed)
    answer: str | None  # the passive reply's text, decrypted; "" for an empty 200
    error: str = ""  # why there was no answer (the httpx exception's name: ReadTimeout, ConnectError, ...)
    seconds: float = 0.0


@dataclass
class Callback:
    msg_id: int
    user: str
    xml: str
    question: str | None  # the text asked; None for a file
    filename: str | None = None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def answers(self) -> list[str]:
        return [a.answer for a in self.attempts if a.answer]

    @property
    def acknowledged(self) -> bool:
        return any(a.status == 200 for a in self.attempts)


class WeComClient:
    """WeCom in front of a load balancer: each callback, encrypted and signed, goes to a random live
    process; no answer within 5 s (or a refused connection, or a 5xx) and it is sent again, same
    MsgId, to another."""

    def __init__(self, sim: WeComSimulator, fleet: Fleet, seed: int = 7, timeout: float = 5.0) -> None:
        self.sim = sim
        self.fleet = fleet
        self.rng = random.Random(seed)
        self.timeout = timeout
        self.callbacks: list[Callback] = []
        self._lock = threading.Lock()
        self._next_id = 7_000_000_000_000_000_000

    def _msg_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def text(self, user: str, question: str) -> Callback:
        msg_id = self._msg_id()
        return Callback(msg_id, user, self.sim.text_message(user, question, msg_id), question)

    def file(self, user: str, filename: str, data: bytes) -> Callback:
        msg_id = self._msg_id()
        media_id = self.sim.add_media(filename, data, "image/jpeg")
        xml = self.sim.file_message(user, media_id, msg_id, file_name=filename)
        return Callback(msg_id, user, xml, None, filename)

    def _post(self, process: ServeProcess, callback: Callback) -> Attempt:
        # Stamped with the campaign's time: the desk checks a callback's freshness on its own clock.
        ts = str(int(campaign_now(self.fleet.t0, self.fleet.clock_start).timestamp()))
        nonce = str(self.rng.randrange(10**10))
        body, sig = crypto.encrypted_envelope(
            callback.xml, self.sim.token, self.sim.aes_key, self.sim.corp_id, self.sim.agent_id, ts, nonce
        )
        params = {"msg_signature": sig, "timestamp": ts, "nonce": nonce}
        began = time.monotonic()
        try:
            response = httpx.post(
                process.url + "/wecom/callback",
                params=params,
                content=body.encode(),
                headers={"Content-Type": "text/xml"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            return Attempt(process.port, None, None, type(exc).__name__, time.monotonic() - began)
        answer: str | None = None
        if response.status_code == 200:
            answer = ""
            if response.text.strip():
                answer = SafeET.fromstring(self.sim.decrypt_passive_reply(response.text)).findtext("Content") or ""
        return Attempt(process.port, response.status_code, answer, "", time.monotonic() - began)

    def send(self, callback: Callback, max_attempts: int = 12) -> Callback:
        with self._lock:
            self.callbacks.append(callback)
        tried: set[int] = set()
        for _ in range(max_attempts):
            live = self.fleet.live()
            fresh = [p for p in live if p.port not in tried] or live
            if not fresh:
                time.sleep(0.5)
                continue
            process = self.rng.choice(fresh)
            tried.add(process.port)
            attempt = self._post(process, callback)
            callback.attempts.append(attempt)
            if attempt.status == 200:
                break
            # No answer: straight to another process. An error (another process is answering it
            # now): WeCom's retry comes a little later.
            time.sleep(0.2 if attempt.status is None else 1.0)
        return callback

    def send_all(self, callbacks: Sequence[Callback], workers: int = 6, pace: float = 0.0) -> None:
        with ThreadPoolExecutor(workers) as pool:
            for callback in callbacks:
                pool.submit(self.send, callback)
                if pace:
                    time.sleep(pace)


# -- what arrived -----------------------------------------------------------------------------------


def header(envelope: Envelope, name: str) -> str:
    return str(parse(envelope.content).get(name, "") or "").strip()


def replies_by_mail(sink: SmtpSink, message_ids: Sequence[str]) -> dict[str, int]:
    """How many distinct replies (by their own Message-ID) the SMTP sink received to each of these
    mails (by In-Reply-To). The same reply delivered twice is one here: `resent_message_ids` counts it."""
    distinct = {(header(e, "In-Reply-To"), header(e, "Message-ID")) for e in sink.received}
    counts = Counter(in_reply_to for in_reply_to, _ in distinct)
    return {m: counts.get(m, 0) for m in message_ids}


def resent_message_ids(sink: SmtpSink) -> dict[str, int]:
    """Message-IDs the sink received more than once: one outbox row sent twice."""
    counts = Counter(header(e, "Message-ID") for e in sink.received)
    return {m: n for m, n in counts.items() if n > 1}


@dataclass
class Backlog:
    """What the shared database still has to do."""

    mails_stored: int
    raw_waiting: int  # new or processing
    outbox_waiting: int  # pending or sending
    files_waiting: int  # WeCom files pending or working
    quarantined: int

    @property
    def drained(self) -> bool:
        return not (self.raw_waiting or self.outbox_waiting or self.files_waiting)


def backlog(store: Store, message_ids: set[str]) -> Backlog:
    raws = store.raw.all(limit=1_000_000)
    outbox = store.outbox.all(limit=1_000_000)
    files = store.wecom_files.all()
    return Backlog(
        mails_stored=sum(1 for r in raws if r.message_id in message_ids),
        raw_waiting=sum(1 for r in raws if r.state in (RawState.NEW, RawState.PROCESSING)),
        outbox_waiting=sum(1 for r in outbox if r.state in (OutboxState.PENDING, OutboxState.SENDING)),
        files_waiting=sum(1 for f in files if f.state in (WeComFileState.PENDING, WeComFileState.WORKING)),
        quarantined=sum(1 for r in raws if r.state == RawState.QUARANTINED),
    )


def stored_message_ids(store: Store) -> Counter[str]:
    return Counter(r.message_id or "" for r in store.raw.all(limit=1_000_000) if r.source != "wecom")


def duplicates(values: Mapping[str, int], expected: int = 1) -> dict[str, int]:
    return {k: v for k, v in values.items() if v != expected}


def by_key(rows: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for key, value in rows:
        grouped[key].append(value)
    return grouped


def fleet_env(
    *,
    campaign: Path,
    sim: WeComSimulator,
    sink: SmtpSink,
    dovecot: Dovecot | None = None,
    database_url: str | None = None,
    s3: Mapping[str, str] | None = None,
    folder: str = "INBOX",
) -> dict[str, str]:
    """The NOMDESK_* settings every process of a fleet shares."""
    env = {
        "NOMDESK_CAMPAIGN": str(campaign),
        ID_KEY_ENV: uuid.uuid4().hex + uuid.uuid4().hex,
        SECRET_KEY_ENV: uuid.uuid4().hex + uuid.uuid4().hex,
        "NOMDESK_SMTP_HOST": sink.host,
        "NOMDESK_SMTP_PORT": str(sink.port),
        "NOMDESK_SMTP_STARTTLS": "false",
        "NOMDESK_MAIL_FROM": "jlqmxx@126.com",
        "NOMDESK_WECOM_CORP_ID": sim.corp_id,
        "NOMDESK_WECOM_AGENT_ID": str(sim.agent_id),
        "NOMDESK_WECOM_SECRET": sim.secret,
        "NOMDESK_WECOM_TOKEN": sim.token,
        "NOMDESK_WECOM_AES_KEY": sim.aes_key,
        "NOMDESK_WECOM_API_BASE": sim.base_url,
        "NOMDESK_WECOM_ANSWER_SETTLE_SECONDS": "0",
        "NOMDESK_WECOM_MAX_SKEW_SECONDS": "900",
        # Every mail's reply is due at once: the test counts replies, not the rate limit.
        "NOMDESK_REPLY_RATE_PER_HOUR": "100000",
        # Short leases and standby: a killed process's work and singletons are taken over in seconds.
        "NOMDESK_LEASE_SECONDS": "5",
        "NOMDESK_STANDBY_SECONDS": "2",
    }
    if dovecot is not None:
        env |= {
            "NOMDESK_IMAP_HOST": "127.0.0.1",
            "NOMDESK_IMAP_PORT": str(dovecot.imap_port),
            "NOMDESK_IMAP_USER": dovecot.user,
            "NOMDESK_IMAP_PASSWORD": dovecot.password,
            "NOMDESK_IMAP_FOLDER": folder,
            "NOMDESK_IMAP_TLS": "false",
        }
    if database_url is not None:
        env["NOMDESK_DATABASE_URL"] = database_url
    env |= dict(s3 or {})
    return env


def message_ids(raws: Sequence[bytes]) -> list[str]:
    return [message_id_of(raw) for raw in raws]
