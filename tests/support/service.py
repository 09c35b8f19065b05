"""Run `nomdesk serve` as a real subprocess, feed it mail, and look at what it did.

The service is driven only through its public surfaces: environment variables and
command-line options in, the drop folder / IMAP mailbox in, the outbox folder / SMTP
out, the data directory's database and blob store for the record. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import httpx

from config.campaign import DEFAULT_CAMPAIGN
from config.settings import Settings
from storage import keys, pii
from storage.db import make_engine
from storage.repo import Store
from tests.support.dovecot import free_port
from tests.support.mail import Part, build_mail

if TYPE_CHECKING:
    from tests.support.wecom_sim.server import WeComSimulator

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.1, what: str = "condition") -> T:
    """The predicate's first truthy value; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def wecom_settings(sim: WeComSimulator, data_dir: Path, **extra: object) -> Settings:
    """A desk's settings for the WeCom app the simulator plays. Files are answered at once (no
    settle time): the tests send them one at a time and wait for each answer."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "wecom_corp_id": sim.corp_id,
        "wecom_agent_id": str(sim.agent_id),
        "wecom_secret": sim.secret,
        "wecom_token": sim.token,
        "wecom_aes_key": sim.aes_key,
        "wecom_api_base": sim.base_url,
        "wecom_answer_settle_seconds": 0,
    }
    return Settings(**{**values, **extra})


@contextlib.contextmanager
def serving_wecom(sim: WeComSimulator, data_dir: Path, mails: Iterable[Path], **extra: object):
    """`nomdesk serve` in this process with its WeCom callback on a loopback port, the given mails
    already read and answered: yields (service, server). Loops poll every 0.1 s."""
    from config.campaign import load_campaign
    from nomdesk.app import create_app
    from nomdesk.service import Service
    from tests.support.wecom_sim.serve import BackgroundServer

    service = Service.build(wecom_settings(sim, data_dir, **extra), load_campaign())
    service.poll_interval = 0.1
    for path in mails:
        service.desk.ingest_file(path)
    service.desk.process_pending()
    service.start()
    try:
        with BackgroundServer(create_app(service)) as server:
            yield service, server
    finally:
        service.shutdown()


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any NOMDESK_* setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOMDESK_")}
    env["PYTHONPATH"] = str(ROOT)
    env["NOMDESK_SENDER_AUTH_DNS"] = "false"  # no test asks the Internet's DNS (tests/conftest.py)
    env.update(extra or {})
    return env


def nomdesk(
    *args: str | Path, env: Mapping[str, str] | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess:
    """One `nomdesk` command run to completion (not `serve`)."""
    return subprocess.run(
        [sys.executable, "-m", "nomdesk.cli", *map(str, args)],
        cwd=ROOT,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


class ServeProcess:
    """`nomdesk serve --data-dir DIR --port P` in a subprocess; stderr collected across restarts."""

    def __init__(
        self,
        data_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        verbose: bool = False,
        campaign: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.env = dict(env or {})
        self.verbose = verbose
        self.campaign = campaign
        self.port = free_port()
        self.log = data_dir.parent / f"{data_dir.name}-serve.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: bool = True, timeout: float = 30.0) -> ServeProcess:
        args = [
            sys.executable,
            "-m",
            "nomdesk.cli",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
        ]
        if self.campaign is not None:
            args += ["--campaign", str(self.campaign)]
        if self.verbose:
            args.append("-v")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                args, cwd=ROOT, env=clean_env(self.env), stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        if wait:
            wait_until(self.healthy, timeout, what=f"nomdesk serve on port {self.port}\n{self.stderr()[-3000:]}")
        return self

    def healthy(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(
                f"nomdesk serve exited ({self.proc and self.proc.returncode}):\n{self.stderr()[-3000:]}"
            )
        try:
            return httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        self.proc = None

    def stop(self) -> None:
        """A clean stop (SIGINT, as Ctrl-C), SIGKILL if it does not end in time."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def stderr(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def open_store(data_dir: Path, database_url: str | None = None) -> Store:
    """The data dir's store, opened beside a running service: no migration, no sweep of its temp files."""
    url = database_url or f"sqlite:///{(data_dir / 'nomdesk.sqlite3').resolve()}"  # as the service's
    sealer = pii.Sealer(pii.load_or_create_secret(data_dir, None))  # the key file the service made (or will)
    return Store(data_dir, make_engine(url), keys.load_or_create_key(data_dir), sealer)


def deliver(data_dir: Path, message: bytes, name: str | None = None) -> Path:
    """Drop a mail into DIR/inbox the Maildir way: written into tmp/, renamed into new/."""
    inbox = data_dir / "inbox"
    for sub in ("tmp", "new", "cur"):
        (inbox / sub).mkdir(parents=True, exist_ok=True)
    name = name or f"{time.time():.6f}.{uuid.uuid4().hex}.test"
    tmp = inbox / "tmp" / name
    tmp.write_bytes(message)
    target = inbox / "new" / name
    os.replace(tmp, target)
    return target


def mail(
    sender: str,
    *,
    subject: str = "推荐材料",
    text: str = "您好！推荐材料见附件。",
    message_id: str | None = None,
    parts: Iterable[Part] = (),
    extra_headers: Iterable[bytes] = (),
    date: str | None = "Sat, 21 Aug 2021 14:20:00 +0800",
) -> bytes:
    """A small multipart mail with its own Message-ID (build_mail's is fixed)."""
    raw = build_mail(
        list(parts), subject=subject, sender=sender, text=text, date=date, extra_headers=list(extra_headers)
    )
    message_id = message_id or f"<{uuid.uuid4().hex}@test.example.cn>"
    return raw.replace(b"Message-ID: <test.0001@163.com>", f"Message-ID: {message_id}".encode(), 1)


def message_id_of(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return str(msg["Message-ID"]).strip()


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def body_text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None, "the reply has no text/plain part"
    return part.get_content()


def outbox_mails(data_dir: Path) -> list[EmailMessage]:
    """The replies written to DIR/outbox (no SMTP configured), in outbox order."""
    return [parse(p.read_bytes()) for p in sorted((data_dir / "outbox").glob("*.eml"))]


def replies_to(messages: Iterable[EmailMessage], message_id: str) -> list[EmailMessage]:
    return [m for m in messages if str(m.get("In-Reply-To", "")).strip() == message_id]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def campaign_with_contacts(
    target: Path, contacts: Mapping[str, Iterable[str]], source: Path = DEFAULT_CAMPAIGN
) -> Path:
    """A copy of the campaign TOML where each named unit gets one more contact with these addresses."""
    text = source.read_text(encoding="utf-8")
    for n, (unit, addresses) in enumerate(contacts.items()):
        head = f'[[units]]\nname = "{unit}"\n'
        start = text.index(head)
        end = text.find("\n[[units]]\n", start + len(head))
        end = len(text) if end < 0 else end + 1
        quoted = ", ".join(f'"{a}"' for a in addresses)
        block = f'[[units.contacts]]\nname = "测试联系人{n}"\nemails = [{quoted}]\n'
        body = text[start:end]
        if not body.endswith("\n"):
            body += "\n"
        text = text[:start] + body + block + text[end:]
    target.write_text(text, encoding="utf-8")
    return target


@contextlib.contextmanager
def store_of(data_dir: Path, database_url: str | None = None):
    store = open_store(data_dir, database_url)
    try:
        yield store
    finally:
        store.close()
