"""Fetch a file from a unit's large-file link (cloud drive, QQ/163 超大附件) for the office.

Only http(s); redirects followed; the download stops at the campaign's mail size limit,
so a wrong link cannot fill the disk. The link comes from a unit's mail, so it is not
trusted: hosts on loopback or private networks (the desk's own port, the office's
intranet) are refused, on every redirect too, unless the settings allow them. The file
name comes from Content-Disposition, else the URL's last path segment.
"""

from __future__ import annotations

import email.message
import ipaddress
import socket
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx

TIMEOUT = httpx.Timeout(30.0, read=120.0)


class FetchError(Exception):
    """Why a link could not be fetched, in Chinese for the office."""


def _filename(response: httpx.Response, url: str) -> str:
    disposition = response.headers.get("content-disposition")
    if disposition:
        msg = email.message.EmailMessage()
        msg["Content-Disposition"] = disposition
        name = msg.get_filename()
        if name:
            return PurePosixPath(name.replace("\\", "/")).name
    name = PurePosixPath(unquote(urlsplit(str(response.url) or url).path)).name
    return name or "下载文件"


def _public_only(request: httpx.Request) -> None:
    """Refuse a request (the first or a redirect's) to a host that is not on the public internet."""
    host = request.url.host
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, request.url.port or 443)}
    except OSError as exc:
        raise FetchError(f"下载失败：找不到服务器 {host}") from exc
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global:
            raise FetchError(f"链接指向内部网络地址（{host}），出于安全原因不下载，请手动下载后上传")


def fetch_link(
    url: str, max_bytes: int, *, client: httpx.Client | None = None, allow_private: bool = False
) -> tuple[str, bytes]:
    """(file name, bytes) of the file behind `url`."""
    url = url.strip()
    if urlsplit(url).scheme not in ("http", "https"):
        raise FetchError("只能下载 http 或 https 链接")
    own = client is None
    hooks = {} if allow_private else {"request": [_public_only]}
    client = client or httpx.Client(follow_redirects=True, timeout=TIMEOUT, event_hooks=hooks)
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise FetchError(f"下载失败：服务器返回 {response.status_code}（链接可能已过期或需要登录）")
            if response.headers.get("content-type", "").startswith("text/html"):
                raise FetchError("链接打开的是网页而不是文件（可能需要登录或已过期），请手动下载后上传")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(f"文件超过 {max_bytes // (1 << 20)} MB 上限，未下载")
                chunks.append(chunk)
            return _filename(response, url), b"".join(chunks)
    except httpx.HTTPError as exc:
        raise FetchError(f"下载失败：{type(exc).__name__}") from exc
    finally:
        if own:
            client.close()
