"""Real HTTP servers on loopback addresses standing in for cloud drives (and for the desk's own
/healthz that a hostile link aims at): each route answers with a status, headers and a body made
on the fly, and every request is recorded (path, Host header) so a test can tell who was reached."""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# A route: request path -> (status, headers, body chunks). Chunks are written as they come, so a
# body of any size is never held.
Answer = tuple[int, dict[str, str], Iterable[bytes]]
Route = Callable[[], Answer]


@dataclass
class FileServer:
    host: str
    port: int
    routes: dict[str, Route]
    seen: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header) of every request

    def origin(self, name: str | None = None, scheme: str = "http") -> str:
        return f"{scheme}://{name or self.host}:{self.port}"


@contextmanager
def file_server(
    host: str, routes: dict[str, Route], *, port: int = 0, tls: ssl.SSLContext | None = None
) -> Iterator[FileServer]:
    """A threaded HTTP(S) server on `host`:`port` (0: any free port) serving `routes`."""
    state = FileServer(host, port, routes)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            state.seen.append((self.path, self.headers.get("Host", "")))
            route = state.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            status, headers, body = route()
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Connection", "close")  # the body ends when the connection does
                self.close_connection = True
            self.end_headers()
            try:
                for chunk in body:
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client stopped reading: that is what some tests want

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def octets(data: bytes, content_type: str = "application/octet-stream", **headers: str) -> Route:
    """A route answering 200 with `data`, its length declared."""
    return lambda: (200, {"Content-Type": content_type, "Content-Length": str(len(data)), **headers}, [data])


def redirect(location: str, status: int = 302) -> Route:
    return lambda: (status, {"Location": location, "Content-Length": "0"}, [])
