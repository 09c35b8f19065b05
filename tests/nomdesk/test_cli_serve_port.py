"""`nomdesk serve` takes its port before it says it started; its log names each reply sent, and to
whom (masked); alembic's lines only under -v."""

from __future__ import annotations

import email
import email.policy
import socket
import time
from pathlib import Path

from tests.conftest import SHARED
from tests.support.dovecot import free_port
from tests.support.service import ServeProcess, deliver, nomdesk, wait_until

SAMPLE = SHARED / "samples" / "yanbian_complete" / "1.eml"


def test_a_port_in_use_is_said_at_once_and_nothing_starts(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        started = time.monotonic()
        done = nomdesk("serve", "--port", port, "--data-dir", tmp_path / "var", timeout=60)
        took = time.monotonic() - started
    assert done.returncode == 2, done.stderr
    assert f"端口 {port} 已被占用（127.0.0.1:{port}），受理台未启动" in done.stderr
    assert "已启动" not in done.stderr and "Traceback" not in done.stderr
    assert took < 30


def test_the_log_says_when_a_reply_went_and_to_whom_masked(tmp_path: Path) -> None:
    data = tmp_path / "var"
    sender = email.message_from_bytes(SAMPLE.read_bytes(), policy=email.policy.default)["From"].addresses[0]
    address = sender.addr_spec
    with ServeProcess(data) as serve:
        deliver(data, SAMPLE.read_bytes())
        line = wait_until(
            lambda: next((ln for ln in serve.stderr().splitlines() if "notify.outbox" in ln and " sent " in ln), None),
            timeout=120,
            what="the outbox's line for the reply",
        )
        log = serve.stderr()
    assert f"to {address[:2]}***@{address.split('@')[1]}" in line and "reply:1" in line
    assert "延边朝鲜族自治州教育局" in line
    assert address not in log
    assert "alembic" not in log  # migrations are not news to the operator
    assert "已启动" in log


def test_alembic_speaks_under_verbose(tmp_path: Path) -> None:
    with ServeProcess(tmp_path / "var", verbose=True) as serve:
        log = serve.stderr()
    assert "alembic.runtime.migration" in log
