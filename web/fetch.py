"""Fetch a file from a unit's large-file link (cloud drive, QQ/163 超大附件) for the office.

The link comes from a unit's mail, so it is not trusted. Two things follow:

- Its host must be on the public internet: the desk's own port and the office's intranet are
  refused (unless the settings allow them, for tests). The host is resolved once per hop, every
  address it gave is checked, and the connection goes to exactly a checked address: the request
  is sent to the IP-literal URL with the original Host header and, for https, the original name
  as TLS SNI, against which the certificate is verified (httpcore's `sni_hostname`). Resolving
  again to connect would let a DNS answer that changes in between (rebinding) reach inside.
  Redirects are followed here, not by httpx, so each hop is checked and pinned the same way.
- Its body may be huge (videos up to the campaign's mail size limit): it is written to a
  temporary file as it arrives, the cap checked while reading (and Content-Length up front),
  so memory stays flat whatever the size and a wrong link cannot fill the disk. The bytes are
  read raw: a body sent with a Content-Encoding (we ask for identity) is refused, not inflated,
  since 1 MB of gzip can inflate to 1 GB before any cap could look at it. Refusing rather than
  inflating under the cap: files that matter here (videos, archives, PDFs) are already compressed
  and cloud drives send them as they are, so only a misconfigured or hostile server sends an
  encoding, and the file it would give is not the file the link names anyway (a .tar.gz served with
  "Content-Encoding: gzip" inflates to a .tar); the office downloads such a file by hand.
- Its server may be slow on purpose: a fetch holds a dashboard thread, so it has an overall
  deadline and a speed floor (`Pace`, from the settings). A watchdog shuts the connection's socket
  at the deadline wherever the fetch waits (connecting, headers, body), and the speed is checked
  as each piece of the body arrives; a stopped fetch leaves no file.

The file name comes from Content-Disposition, else the URL's last path segment.
"""

from __future__ import annotations

import contextlib
import email.message
import ipaddress
import os
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote

import httpx

from intake.archive.base import human_bytes

if TYPE_CHECKING:
    from config.settings import Settings

TIMEOUT = httpx.Timeout(30.0, read=120.0)
MAX_REDIRECTS = 5
CHUNK = 1 << 20
REDIRECTS = {301, 302, 303, 307, 308}
KEEP_ALIVE_SECONDS = 60.0  # a long download keeps its scratch folder fresh for the work-folder sweep

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]  # (host, port) -> its addresses; injectable so tests stub DNS
AllowPolicy = Callable[[IPAddress], bool]


class FetchError(Exception):
    """Why a link could not be fetched, in Chinese for the office."""


def _duration(seconds: float) -> str:
    return f"{round(seconds, 1):g} 秒" if seconds < 120 else f"{round(seconds / 60, 1):g} 分钟"


@dataclass(frozen=True)
class Pace:
    """How long a fetch may take: `deadline_seconds` in all, and at least `min_bytes_per_second`
    over every `window_seconds` (0: no floor). Defaults are the settings' defaults."""

    deadline_seconds: float = 1800.0
    min_bytes_per_second: int = 1024
    window_seconds: float = 60.0

    @classmethod
    def of(cls, settings: Settings) -> Pace:
        return cls(
            settings.fetch_deadline_seconds, settings.fetch_min_bytes_per_second, settings.fetch_slow_window_seconds
        )

    def timeout(self) -> httpx.Timeout:
        """Silence for a whole window is slower than any floor: the read timeout is the window then."""
        read = min(TIMEOUT.read, self.window_seconds) if self.min_bytes_per_second else TIMEOUT.read
        return httpx.Timeout(TIMEOUT.connect, read=read)


class _Watch:
    """One fetch's clock. A timer shuts down every socket the fetch opened once the deadline has
    passed (httpcore's `trace` extension hands each one over as it is connected), which wakes a
    read blocked anywhere; `check` is called as body bytes arrive and enforces the speed floor.
    After the timer fired nothing the connection gave counts: an EOF it caused looks like the end
    of a body without a length."""

    def __init__(self, pace: Pace) -> None:
        self.pace = pace
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(pace.deadline_seconds, self._fire)
        self._timer.daemon = True
        self._window_start = time.monotonic()
        self._window_size = 0

    def __enter__(self) -> _Watch:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        sock = info["return_value"].get_extra_info("socket")
        with self._lock:
            self._sockets.append(sock)
            late = self.fired
        if late:
            self._shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed, or detached into its TLS socket (shut on its own)
            sock.shutdown(socket.SHUT_RDWR)

    def overdue(self) -> FetchError:
        limit = _duration(self.pace.deadline_seconds)
        return FetchError(f"下载超过 {limit} 仍未完成（服务器太慢或没有响应），已停止，请手动下载后上传")

    def too_slow(self) -> FetchError:
        floor = self.pace.min_bytes_per_second * self.pace.window_seconds
        return FetchError(
            f"下载速度过慢（{_duration(self.pace.window_seconds)}内不足 {human_bytes(int(floor))}），已停止，"
            "请稍后再试或手动下载后上传"
        )

    def body_starts(self) -> None:
        """The speed is the body's: waiting for the headers is bounded by the read timeout (`Pace.timeout`)."""
        self._window_start, self._window_size = time.monotonic(), 0

    def check(self, size: int) -> None:
        """Called with the body's bytes received so far, as each piece arrives."""
        if self.fired:
            raise self.overdue()
        now = time.monotonic()
        elapsed = now - self._window_start
        if self.pace.min_bytes_per_second and elapsed >= self.pace.window_seconds:
            if size - self._window_size < self.pace.min_bytes_per_second * elapsed:
                raise self.too_slow()
            self._window_start, self._window_size = now, size


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for `host`, each once, in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def public_only(ip: IPAddress) -> bool:
    """The default policy: only addresses on the public internet."""
    return ip.is_global


def private_too(ip: IPAddress) -> bool:
    """`fetch_private_hosts` (tests' own file servers): loopback and private networks as well."""
    return ip.is_global or ip.is_private or ip.is_loopback


def too_big(max_bytes: int, outcome: str = "，未下载") -> FetchError:
    return FetchError(f"文件超过 {human_bytes(max_bytes)} 的上限{outcome}")


def copy_capped(
    chunks: Iterable[bytes],
    dest_dir: Path,
    max_bytes: int,
    *,
    outcome: str = "，未下载",
    watch: Callable[[int], None] | None = None,
) -> Path:
    """Write `chunks` to a new file under `dest_dir`, stopping with FetchError once more than
    `max_bytes` arrived (or `watch`, told the size so far after each chunk, raises); the file is
    removed on any error. The caller removes it when done."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest_dir, prefix="fetch-", suffix=".part")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            size, fresh = 0, time.monotonic()
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise too_big(max_bytes, outcome)
                fh.write(chunk)
                if watch is not None:
                    watch(size)
                if time.monotonic() - fresh > KEEP_ALIVE_SECONDS:
                    # The desk sweeps work folders by their own age; a download of an hour is not a leftover.
                    os.utime(dest_dir)
                    fresh = time.monotonic()
    except BaseException as exc:
        path.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # the disk, not the link: full, or not writable
            raise FetchError(f"保存文件时出错（{exc.strerror or type(exc).__name__}），请稍后再试或联系管理员") from exc
        raise
    return path


def copy_stream_capped(stream: BinaryIO, dest_dir: Path, max_bytes: int) -> Path:
    """`copy_capped` of an open file (an upload), read a block at a time."""
    return copy_capped(iter(lambda: stream.read(CHUNK), b""), dest_dir, max_bytes, outcome="")


def _filename(response: httpx.Response, url: httpx.URL) -> str:
    disposition = response.headers.get("content-disposition")
    if disposition:
        msg = email.message.EmailMessage()
        msg["Content-Disposition"] = disposition
        name = msg.get_filename()
        if name:
            return PurePosixPath(name.replace("\\", "/")).name
    name = PurePosixPath(unquote(url.path)).name
    return name or "下载文件"


def _checked_addresses(url: httpx.URL, resolver: Resolver, allow: AllowPolicy) -> list[IPAddress]:
    """Every address `url`'s host resolves to, once; all must pass `allow`, or none is used."""
    if url.scheme not in ("http", "https"):
        raise FetchError("只能下载 http 或 https 链接")
    host = url.raw_host.decode("ascii")
    if not host:
        raise FetchError("链接不完整：没有服务器地址")
    try:
        names = [str(ipaddress.ip_address(host))]  # a literal address: nothing to resolve
    except ValueError:
        try:
            names = resolver(host, url.port or (443 if url.scheme == "https" else 80))
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"下载失败：找不到服务器 {url.host}") from exc
    if not names:
        raise FetchError(f"下载失败：找不到服务器 {url.host}")
    addresses = [ipaddress.ip_address(name.split("%", 1)[0]) for name in names]
    if not all(allow(ip) for ip in addresses):
        raise FetchError(f"链接指向内部网络地址（{url.host}），出于安全原因不下载，请手动下载后上传")
    return addresses


def _send_pinned(client: httpx.Client, url: httpx.URL, ip: IPAddress, watch: _Watch) -> httpx.Response:
    """GET `url` from the address `ip` itself: Host header and TLS name stay `url`'s."""
    extensions: dict[str, Any] = {"trace": watch.trace}
    if url.scheme == "https":
        extensions["sni_hostname"] = url.raw_host.decode("ascii")
    request = client.build_request(
        "GET",
        url.copy_with(host=str(ip)),
        headers={"Host": url.netloc.decode("ascii"), "Accept-Encoding": "identity"},
        extensions=extensions,
    )
    return client.send(request, stream=True)


def _open(
    url: httpx.URL, resolver: Resolver, allow: AllowPolicy, verify: ssl.SSLContext | bool, watch: _Watch
) -> tuple[httpx.Client, httpx.Response]:
    """The response of one hop, from the first checked address that accepts a connection. A new
    client per hop: a pooled connection opened for one name is never reused for another."""
    addresses = _checked_addresses(url, resolver, allow)
    client = httpx.Client(timeout=watch.pace.timeout(), verify=verify, trust_env=False, follow_redirects=False)
    try:
        for n, ip in enumerate(addresses):
            try:
                response = _send_pinned(client, url, ip, watch)
            except httpx.ConnectError:
                if n == len(addresses) - 1:
                    raise
                continue
            return client, response
    except BaseException:
        client.close()
        raise
    raise AssertionError("unreachable")  # pragma: no cover


def _encoding(response: httpx.Response) -> str | None:
    """The Content-Encoding the body was sent in, None when it is the file's own bytes."""
    codings = [c.strip().lower() for c in response.headers.get_list("content-encoding", split_commas=True)]
    codings = [c for c in codings if c and c != "identity"]
    return ", ".join(codings)[:40] if codings else None


def fetch_link(
    url: str,
    max_bytes: int,
    dest_dir: Path,
    *,
    allow_private: bool = False,
    allow: AllowPolicy | None = None,
    resolver: Resolver = system_resolver,
    verify: ssl.SSLContext | bool = True,
    pace: Pace | None = None,
) -> tuple[str, Path]:
    """(file name, a file under `dest_dir` holding what `url` serves). The caller removes the file.

    `allow` decides which addresses may be connected to (default: public only; `allow_private`
    adds loopback and private networks). Proxy settings from the environment are not used: a
    proxy would resolve the name itself, and what was checked would not be what is reached.
    `pace` bounds the time (default `Pace()`; the dashboard passes `Pace.of(settings)`)."""
    allow = allow or (private_too if allow_private else public_only)
    try:
        current = httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise FetchError("链接格式不正确") from exc
    with _Watch(pace or Pace()) as watch:
        try:
            return _follow(current, max_bytes, dest_dir, allow, resolver, verify, watch)
        except httpx.InvalidURL as exc:
            raise FetchError("链接格式不正确") from exc
        except httpx.HTTPError as exc:
            if watch.fired:  # the watchdog shut the socket: that is why it failed
                raise watch.overdue() from exc
            if isinstance(exc, httpx.TimeoutException):
                if isinstance(exc, httpx.ReadTimeout) and watch.pace.min_bytes_per_second:
                    raise watch.too_slow() from exc  # silent for a whole window
                raise FetchError("下载失败：服务器长时间没有响应，请稍后再试或手动下载后上传") from exc
            raise FetchError(f"下载失败：{type(exc).__name__}") from exc


def _follow(
    current: httpx.URL,
    max_bytes: int,
    dest_dir: Path,
    allow: AllowPolicy,
    resolver: Resolver,
    verify: ssl.SSLContext | bool,
    watch: _Watch,
) -> tuple[str, Path]:
    """`fetch_link`'s hops: redirects followed here, each checked and pinned."""
    for _hop in range(MAX_REDIRECTS + 1):
        if watch.fired:
            raise watch.overdue()
        client, response = _open(current, resolver, allow, verify, watch)
        try:
            location = response.headers.get("location")
            if response.status_code in REDIRECTS and location:
                current = current.join(location).copy_with(fragment=None)
                continue
            if response.status_code != 200:
                raise FetchError(f"下载失败：服务器返回 {response.status_code}（链接可能已过期或需要登录）")
            if response.headers.get("content-type", "").startswith("text/html"):
                raise FetchError("链接打开的是网页而不是文件（可能需要登录或已过期），请手动下载后上传")
            encoding = _encoding(response)
            if encoding:
                raise FetchError(f"服务器返回了压缩传输的内容（{encoding}），无法安全下载，请手动下载后上传")
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise too_big(max_bytes)
            # Raw: each piece as the network gives it (at most 64 KiB), never inflated.
            watch.body_starts()
            path = copy_capped(response.iter_raw(), dest_dir, max_bytes, watch=watch.check)
            if watch.fired:  # the body "ended" because the watchdog shut the socket: it is cut short
                path.unlink(missing_ok=True)
                raise watch.overdue()
            return _filename(response, current), path
        finally:
            response.close()
            client.close()
    raise FetchError(f"下载失败：跳转超过 {MAX_REDIRECTS} 次")
