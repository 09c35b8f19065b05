"""A link from a unit's mail is not trusted: the desk never fetches from its own machine or network."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from web.fetch import FetchError, fetch_link


@pytest.fixture
def local_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/hop":  # a public-looking link that redirects inside
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/secret")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            self.wfile.write(b"internal data")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_loopback_and_private_hosts_are_refused(local_server: str) -> None:
    with pytest.raises(FetchError, match="内部网络"):
        fetch_link(f"{local_server}/secret", 1 << 20)
    with pytest.raises(FetchError, match="内部网络"):
        fetch_link("http://10.1.2.3/file.zip", 1 << 20)  # refused before any connection is tried
    with pytest.raises(FetchError, match="内部网络"):
        fetch_link(f"http://localhost:{local_server.rsplit(':', 1)[1]}/hop", 1 << 20)
    # Allowed explicitly (the tests' own file server), the same link is fetched.
    assert fetch_link(f"{local_server}/secret", 1 << 20, allow_private=True)[1] == b"internal data"
