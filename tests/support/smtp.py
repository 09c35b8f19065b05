"""A real SMTP server (aiosmtpd) on loopback that records what it receives; can go down and come back."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from aiosmtpd.controller import Controller

from tests.support.dovecot import free_port


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


class _Recorder:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope) -> str:
        content = envelope.original_content or envelope.content
        with self.sink._lock:
            self.sink._received.append(Envelope(envelope.mail_from, list(envelope.rcpt_tos), bytes(content)))
        return "250 OK"


class SmtpSink:
    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._received: list[Envelope] = []
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Envelope]:
        with self._lock:
            return list(self._received)

    def start(self) -> None:
        if self._controller is None:
            # A fresh controller each time: same port, so a client configured once finds it again.
            self._controller = Controller(_Recorder(self), hostname=self.host, port=self.port)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
