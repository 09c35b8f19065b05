"""A TCP proxy in front of a test server that breaks the connection the way a bad network does:
it forwards both ways, counts the bytes going to the server, and once `drop_after` bytes went
through it cuts every connection at once and refuses new ones until `enable()` (a phone that
lost its signal, then found it again). The page under test is opened through it."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BUFFER = 64 * 1024


class DropProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.sent = 0  # bytes forwarded client -> server since the last `count_from_zero`
        self.limit: int | None = None
        self.up = True
        self.open: set[socket.socket] = set()
        self.closing = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop_after(self, limit: int) -> None:
        """Cut everything once `limit` more bytes went to the server."""
        with self.lock:
            self.limit = self.sent + limit

    def enable(self) -> None:
        with self.lock:
            self.up, self.limit = True, None

    def count_from_zero(self) -> None:
        with self.lock:
            self.sent = 0

    def serve(self) -> None:
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                _close(client)  # refused: the network is down
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                _close(client)
                continue
            with self.lock:
                self.open |= {client, server}
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, to_server: bool) -> None:
        try:
            while data := source.recv(BUFFER):
                if to_server:
                    with self.lock:
                        if not self.up:
                            break
                        self.sent += len(data)
                        cut = self.limit is not None and self.sent >= self.limit
                    if cut:
                        self._drop_all()
                        break
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                _close(sock)
            with self.lock:
                self.open -= {source, target}

    def _drop_all(self) -> None:
        with self.lock:
            self.up, self.limit = False, None
            doomed = list(self.open)
            self.open.clear()
        for sock in doomed:
            _close(sock)

    def close(self) -> None:
        self.closing = True
        _close(self.listener)
        self._drop_all()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@contextmanager
def drop_proxy(upstream_url: str) -> Iterator[DropProxy]:
    """A proxy in front of `upstream_url` (http://127.0.0.1:PORT), serving on its own thread."""
    proxy = DropProxy(int(upstream_url.rsplit(":", 1)[1]))
    thread = threading.Thread(target=proxy.serve, name="drop-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.close()
        thread.join(5)
