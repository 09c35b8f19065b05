"""A link from a unit's mail is not trusted: the desk never fetches from its own machine or
network, connects to exactly the address it checked (a DNS answer that changes between the check
and the connection reaches nothing), checks every redirect again, and writes the body to disk
under the cap as it arrives."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import ipaddress
import os
import socket
import ssl
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import web.fetch
from tests.support.http_files import file_server, octets, redirect
from web.fetch import FetchError, Pace, fetch_link

FILE = "网盘文件".encode() * 1000
DESK = "127.0.0.2"  # plays the desk's own port: what a rebinding answer points at


def only(*addresses: str) -> Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address], bool]:
    """An allow-policy admitting these loopback addresses alone, as the default admits the internet."""
    allowed = {ipaddress.ip_address(a) for a in addresses}
    return lambda ip: ip in allowed


def names(table: dict[str, list[list[str]]]) -> Callable[[str, int], list[str]]:
    """A resolver stub: each name gives its answers in turn (the last one again once used up)."""
    asked: dict[str, int] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "no such name")
        n = asked[host] = asked.get(host, 0) + 1
        answers = table[host]
        return answers[min(n, len(answers)) - 1]

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    path = tmp_path / "work" / "tmp"
    path.mkdir(parents=True)  # as the desk has it: a refusal before any byte leaves it empty, not absent
    return path


@pytest.fixture
def desk_health() -> Iterator:
    """A server on 127.0.0.2 standing in for the desk's /healthz; it counts who reached it."""
    with file_server(DESK, {"/file": octets(b'{"ok": true}'), "/healthz": octets(b"ok")}) as server:
        yield server


def test_loopback_and_private_hosts_are_refused(scratch: Path) -> None:
    with file_server("127.0.0.1", {"/secret": octets(b"internal data"), "/hop": lambda: (0, {}, [])}) as server:
        server.routes["/hop"] = redirect(f"{server.origin()}/secret")
        with pytest.raises(FetchError, match="内部网络"):
            fetch_link(f"{server.origin()}/secret", 1 << 20, scratch)
        with pytest.raises(FetchError, match="内部网络"):
            fetch_link("http://10.1.2.3/file.zip", 1 << 20, scratch)  # refused before any connection is tried
        with pytest.raises(FetchError, match="内部网络"):
            fetch_link(f"{server.origin('localhost')}/hop", 1 << 20, scratch)
        assert server.seen == []
        # Allowed explicitly (the tests' own file server), the same link is fetched, to a file.
        name, path = fetch_link(f"{server.origin()}/secret", 1 << 20, scratch, allow_private=True)
        assert (name, path.read_bytes(), path.parent) == ("secret", b"internal data", scratch)


@pytest.mark.parametrize("dns", ["injected", "system"])
def test_a_rebinding_answer_reaches_nothing(
    dns: str, scratch: Path, desk_health, monkeypatch: pytest.MonkeyPatch
) -> None:
    """files.example answers 127.0.0.1 (allowed) when checked and 127.0.0.2 (the desk) after: the file
    comes from the address that was checked, and the desk's server sees no request at all."""
    with file_server("127.0.0.1", {"/file": octets(FILE)}, port=desk_health.port) as files:
        resolver = names({"files.example": [["127.0.0.1"], [DESK]]})
        kwargs: dict = {"allow": only("127.0.0.1")}
        if dns == "injected":
            kwargs["resolver"] = resolver
        else:  # the system's DNS itself changes its answer: also what httpx would ask if it resolved again
            real = socket.getaddrinfo

            def getaddrinfo(host, port, *args, **kw):  # type: ignore[no-untyped-def]
                if host != "files.example":
                    return real(host, port, *args, **kw)
                return real(resolver(host, port)[0], port, *args, **kw)

            monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        name, path = fetch_link(f"{files.origin('files.example')}/file", 1 << 20, scratch, **kwargs)
        assert path.read_bytes() == FILE and name == "file"
        assert files.seen == [("/file", f"files.example:{files.port}")]  # the name, not the address
        assert desk_health.seen == []


def test_every_redirect_is_checked_and_pinned_again(scratch: Path, desk_health) -> None:
    with (
        file_server("127.0.0.1", {}) as files,
        file_server("127.0.0.3", {"/mirror/%E8%A7%86%E9%A2%91.mp4": octets(FILE)}) as mirror,
    ):
        resolver = names(
            {
                "files.example": [["127.0.0.1"]],
                "mirror.example": [["127.0.0.3"]],
                "intranet.example": [["127.0.0.3", DESK]],  # one allowed address and one not: refused
            }
        )
        allow = only("127.0.0.1", "127.0.0.3")
        files.routes.update(
            {
                "/to-desk": redirect(f"http://{DESK}:{desk_health.port}/healthz"),
                "/to-intranet": redirect(f"http://intranet.example:{mirror.port}/mirror/x"),
                "/to-mirror": redirect(f"{mirror.origin('mirror.example')}/mirror/%E8%A7%86%E9%A2%91.mp4", 307),
                "/a/b/relative": redirect("../../to-mirror", 301),
                "/loop": redirect("/loop"),
                "/to-file-scheme": redirect("file:///etc/passwd"),
            }
        )

        def fetch(path: str) -> tuple[str, Path]:
            url = f"{files.origin('files.example')}{path}"
            return fetch_link(url, 1 << 20, scratch, allow=allow, resolver=resolver)

        for path in ("/to-desk", "/to-intranet"):
            with pytest.raises(FetchError, match="链接指向内部网络地址"):
                fetch(path)
        assert desk_health.seen == [] and mirror.seen == []
        name, body = fetch("/a/b/relative")  # relative Location, then a redirect to another allowed host
        assert name == "视频.mp4" and body.read_bytes() == FILE
        assert mirror.seen == [("/mirror/%E8%A7%86%E9%A2%91.mp4", f"mirror.example:{mirror.port}")]
        assert resolver.asked["mirror.example"] == 1  # type: ignore[attr-defined]
        with pytest.raises(FetchError, match="跳转超过 5 次"):
            fetch("/loop")
        assert sum(path == "/loop" for path, _ in files.seen) == 6
        with pytest.raises(FetchError, match="只能下载 http 或 https"):
            fetch("/to-file-scheme")
    assert sorted(p.name for p in scratch.iterdir()) == [body.name]  # only the file fetched is left


def test_the_cap_holds_while_reading_and_before(scratch: Path) -> None:
    cap = 1 << 20
    release = threading.Event()

    def endless() -> Iterator[bytes]:
        for _ in range(64):  # 64 MB, no length declared: only the cap stops it
            yield b"\0" * (1 << 20)

    def declared_too_long() -> Iterator[bytes]:
        release.wait(10)  # a client that read the body would wait here
        yield b"\0" * 1024

    routes = {
        "/endless": lambda: (200, {"Content-Type": "video/mp4"}, endless()),
        "/declared": lambda: (200, {"Content-Length": str(100 << 20)}, declared_too_long()),
        "/exact": octets(b"\1" * cap),
    }
    with file_server("127.0.0.1", routes) as files:
        with pytest.raises(FetchError, match="文件超过 1 MiB 的上限"):
            fetch_link(f"{files.origin()}/endless", cap, scratch, allow_private=True)
        assert list(scratch.iterdir()) == []  # the part written is gone
        started = time.monotonic()
        with pytest.raises(FetchError, match="文件超过 1 MiB 的上限"):
            fetch_link(f"{files.origin()}/declared", cap, scratch, allow_private=True)
        assert time.monotonic() - started < 5, "the body was waited for although its length was over the cap"
        release.set()
        assert list(scratch.iterdir()) == []
        _, path = fetch_link(f"{files.origin()}/exact", cap, scratch, allow_private=True)
        assert path.stat().st_size == cap  # the cap itself is allowed


def _tls_for(name: str, tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A CA made here, and (server context with a certificate for `name` only, client context trusting the CA)."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nomdesk test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = tmp_path / f"{name}.pem"
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pem)
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server, client


def test_https_is_pinned_and_verified_against_the_name(scratch: Path, tmp_path: Path) -> None:
    """The connection goes to the checked address, and the certificate is verified for the link's
    name (it names files.example only, no address): a certificate for another name is refused."""
    server_tls, client_tls = _tls_for("files.example", tmp_path)
    resolver = names({"files.example": [["127.0.0.1"]], "other.example": [["127.0.0.1"]]})
    with file_server("127.0.0.1", {"/file": octets(FILE)}, tls=server_tls) as files:
        kwargs = {"allow": only("127.0.0.1"), "resolver": resolver, "verify": client_tls}
        _, path = fetch_link(f"{files.origin('files.example', 'https')}/file", 1 << 20, scratch, **kwargs)
        assert path.read_bytes() == FILE
        with pytest.raises(FetchError, match="下载失败"):
            fetch_link(f"{files.origin('other.example', 'https')}/file", 1 << 20, scratch, **kwargs)
    assert files.seen == [("/file", f"files.example:{files.port}")]


def test_a_full_disk_is_told_and_leaves_nothing(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ENOSPC while writing the download: the office reads why, and no partial file stays."""
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fh):  # type: ignore[no-untyped-def]
            self.fh = fh

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with file_server("127.0.0.1", {"/file": octets(FILE)}) as files:
        monkeypatch.setattr(web.fetch.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
        with pytest.raises(FetchError, match="保存文件时出错（No space left on device）"):
            fetch_link(f"{files.origin()}/file", 1 << 20, scratch, allow_private=True)
        monkeypatch.undo()
    assert list(scratch.iterdir()) == []


def _gzip_bomb(inflated: int) -> bytes:
    """A gzip stream of `inflated` zero bytes, made a MiB at a time (it is ~1/1000 of that)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    return b"".join(packer.compress(zeros) for _ in range(inflated >> 20)) + packer.flush()


def test_an_encoded_body_is_refused_not_inflated(scratch: Path) -> None:
    """We ask for identity; a server sending gzip anyway (here 250 KB that inflate to 256 MB) is
    refused before its body is read: little memory, nothing on disk. A plain body is fetched."""
    bomb = _gzip_bomb(256 << 20)
    assert len(bomb) < 1 << 20
    routes = {
        "/bomb": octets(bomb, "video/mp4", **{"Content-Encoding": "gzip"}),
        "/bomb-chunked": lambda: (200, {"Content-Encoding": "x-gzip, identity"}, [bomb]),
        "/plain": lambda: (200, {"Content-Encoding": "identity"}, [FILE[:5000], FILE[5000:]]),
    }
    with file_server("127.0.0.1", routes) as files:
        tracemalloc.start()
        try:
            for path, named in (("/bomb", "gzip"), ("/bomb-chunked", "x-gzip")):
                with pytest.raises(FetchError) as refused:
                    fetch_link(f"{files.origin()}{path}", 1 << 20, scratch, allow_private=True)
                assert str(refused.value) == f"服务器返回了压缩传输的内容（{named}），无法安全下载，请手动下载后上传"
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 8 << 20, f"{peak >> 20} MiB allocated while refusing"
        assert list(scratch.iterdir()) == []
        name, path = fetch_link(f"{files.origin()}/plain", 1 << 20, scratch, allow_private=True)
        assert (name, path.read_bytes()) == ("plain", FILE)


def trickle(stop: threading.Event, every: float = 0.2) -> Iterator[bytes]:
    """A byte at a time, for as long as the client listens (or the test ends)."""
    while not stop.wait(every):
        yield b"x"


def silence(stop: threading.Event) -> Iterator[bytes]:
    """Nothing at all, after the headers."""
    stop.wait(30)
    yield b""


@contextmanager
def header_trickler(stop: threading.Event) -> Iterator[str]:
    """A server that sends its status line, then one header a byte at a time: it never gets to the body."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nX-Slow: ")
                while not stop.wait(0.2):
                    conn.sendall(b"a")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/video.mp4"
    finally:
        stop.set()
        listener.close()


def test_a_trickling_server_is_stopped_at_the_deadline(scratch: Path) -> None:
    """A byte every 0.2 s is never silent long enough for a read timeout: only the deadline (2 s
    here, `fetch_deadline_seconds`) ends the fetch, wherever it waits, and no part stays."""
    stop = threading.Event()
    routes = {
        "/no-length": lambda: (200, {"Content-Type": "video/mp4"}, trickle(stop)),
        "/with-length": lambda: (200, {"Content-Length": "100000"}, trickle(stop)),
        "/file": octets(FILE),
    }
    pace = Pace(deadline_seconds=2, min_bytes_per_second=0)
    try:
        with file_server("127.0.0.1", routes) as files, header_trickler(stop) as headers_url:
            for url in (f"{files.origin()}/no-length", f"{files.origin()}/with-length", headers_url):
                started = time.monotonic()
                with pytest.raises(FetchError) as stopped:
                    fetch_link(url, 1 << 20, scratch, allow_private=True, pace=pace)
                took = time.monotonic() - started
                assert str(stopped.value) == "下载超过 2 秒 仍未完成（服务器太慢或没有响应），已停止，请手动下载后上传"
                assert 1.9 < took < 4, (url, took)
                assert list(scratch.iterdir()) == []
            _, path = fetch_link(f"{files.origin()}/file", 1 << 20, scratch, allow_private=True, pace=pace)
            assert path.read_bytes() == FILE  # a quick answer is fetched as before
    finally:
        stop.set()


def test_a_server_below_the_speed_floor_is_stopped(scratch: Path) -> None:
    """5 bytes a second, or silence after the headers, against a floor of 1 KiB/s over 1 s
    (`fetch_min_bytes_per_second`, `fetch_slow_window_seconds`): stopped after about a second."""
    stop = threading.Event()
    routes = {
        "/slow": lambda: (200, {"Content-Type": "video/mp4"}, trickle(stop)),
        "/silent": lambda: (200, {"Content-Length": "100"}, silence(stop)),
        "/file": octets(FILE),
    }
    pace = Pace(deadline_seconds=60, min_bytes_per_second=1024, window_seconds=1)
    try:
        with file_server("127.0.0.1", routes) as files:
            for path in ("/slow", "/silent"):
                started = time.monotonic()
                with pytest.raises(FetchError) as stopped:
                    fetch_link(f"{files.origin()}{path}", 1 << 20, scratch, allow_private=True, pace=pace)
                assert str(stopped.value) == "下载速度过慢（1 秒内不足 1 KiB），已停止，请稍后再试或手动下载后上传"
                assert time.monotonic() - started < 4
                assert list(scratch.iterdir()) == []
            _, path = fetch_link(f"{files.origin()}/file", 1 << 20, scratch, allow_private=True, pace=pace)
            assert path.read_bytes() == FILE  # a server that keeps up is fetched as before
    finally:
        stop.set()
