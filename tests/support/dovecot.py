"""A real Dovecot 2.3 IMAP server on loopback, started by the tests.

The server runs from a throwaway directory with its own config, free ports, a
self-signed certificate and static credentials. Dovecot must be installed
(`apt-get install dovecot-imapd`); a missing server is a failure, never a skip,
so CI cannot silently stop testing the IMAP path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from imapclient import IMAPClient

USER = "desk"
PASSWORD = "secret"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u/Maildir
{extra}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require(binary: str) -> str:
    path = shutil.which(binary) or next(
        (str(p) for p in (Path("/usr/sbin") / binary, Path("/usr/bin") / binary) if p.exists()), None
    )
    if path is None:
        raise RuntimeError(
            f"{binary} not found: the IMAP integration tests need Dovecot 2.3 (apt-get install -y dovecot-imapd)"
        )
    return path


class Dovecot:
    """One Dovecot instance; `start()`/`stop()` may be called repeatedly (same ports, same mail)."""

    def __init__(self, root: Path | None = None, *, user: str = USER, password: str = PASSWORD) -> None:
        self.dovecot_bin = _require("dovecot")
        self.doveadm_bin = _require("doveadm")
        self._own_root = root is None
        # Not under pytest's tmp dir: that is 0700 root-only, and Dovecot's mail processes run as another user.
        self.root = Path(tempfile.mkdtemp(prefix="nomdesk-dovecot-")) if root is None else root
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.user = user
        self.password = password
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.config = self.root / "dovecot.conf"
        self.cert = self.root / "cert.pem"
        self._write_config()

    # -- lifecycle -------------------------------------------------------------------------

    def _write_config(self) -> None:
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(exist_ok=True)
        if os.geteuid() == 0:
            uid, gid, extra = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name, ""
            shutil.chown(self.root / "mail", "nobody", gid)
        else:  # unprivileged: every Dovecot process runs as the current user
            me = pwd.getpwuid(os.geteuid()).pw_name
            uid, gid = str(os.geteuid()), str(os.getegid())
            extra = f"default_internal_user = {me}\ndefault_login_user = {me}\ndefault_internal_group = {gid}\n"
        if not self.cert.exists():
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", str(self.root / "key.pem"), "-out", str(self.cert), "-days", "2", "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                check=True, capture_output=True,
            )  # fmt: skip
            os.chmod(self.root / "key.pem", 0o600)
        self.config.write_text(
            CONFIG.format(
                root=self.root, extra=extra, password=self.password, uid=uid, gid=gid,
                imap_port=self.imap_port, imaps_port=self.imaps_port,
            )
        )  # fmt: skip

    @property
    def pid_file(self) -> Path:
        return self.root / "run" / "master.pid"

    def log_tail(self, lines: int = 30) -> str:
        log = self.root / "dovecot.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"

    def start(self, timeout: float = 15.0) -> None:
        # The daemon inherits our stdio: never hand it a pipe, or waiting for EOF hangs forever.
        errors = self.root / "start.err"
        with errors.open("w") as err:
            proc = subprocess.run([self.dovecot_bin, "-c", str(self.config)], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=err, timeout=timeout)  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"dovecot failed to start: {errors.read_text().strip()}\n{self.log_tail()}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.imap_port), timeout=1) as s:
                if s.recv(64).startswith(b"* OK"):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on port {self.imap_port}\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        if not self.pid_file.exists():
            return
        pid = int(self.pid_file.read_text().strip())
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        # Listeners close with the master; wait until the port is really free for a restart.
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.imap_port), timeout=0.2).close()
            except OSError:
                break
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers for tests -----------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def client(self, *, tls: bool = True) -> IMAPClient:
        if tls:
            client = IMAPClient("127.0.0.1", port=self.imaps_port, ssl=True, ssl_context=self.ssl_context(), timeout=30)
        else:
            client = IMAPClient("127.0.0.1", port=self.imap_port, ssl=False, timeout=30)
        client.login(self.user, self.password)
        return client

    def append(
        self, message: bytes, *, folder: str = "INBOX", flags: tuple[bytes, ...] = (), when: dt.datetime | None = None
    ) -> int:
        """APPEND a raw message and return its UID (from the APPENDUID response)."""
        with self.client(tls=False) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            answer = client.append(folder, message, flags=flags, msg_time=when)
        match = re.search(rb"APPENDUID \d+ (\d+)", answer)
        assert match, answer
        return int(match.group(1))

    def doveadm(self, *args: str) -> str:
        proc = subprocess.run([self.doveadm_bin, "-c", str(self.config), *args], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def kick(self) -> bool:
        """Cut every IMAP connection of the user, as a network drop would; False if nobody was connected."""
        proc = subprocess.run(
            [self.doveadm_bin, "-c", str(self.config), "kick", self.user], capture_output=True, text=True
        )
        if proc.returncode == 68 and "no users kicked" in proc.stdout:  # EX_NOUSER
            return False
        if proc.returncode != 0:
            raise RuntimeError(f"doveadm kick failed: {proc.stdout.strip()} {proc.stderr.strip()}")
        return True

    def maildir(self, folder: str = "INBOX") -> Path:
        base = self.root / "mail" / self.user / "Maildir"
        return base if folder == "INBOX" else base / f".{folder}"

    def mail_owner(self) -> tuple[int, int]:
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            return nobody.pw_uid, nobody.pw_gid
        return os.geteuid(), os.getegid()
