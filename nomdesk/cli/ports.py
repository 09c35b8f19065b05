"""`serve`'s HTTP port, taken before the desk says it started.

uvicorn binds only once it runs, after the desk's sources and workers have started and the
"已启动" line was printed; a port another program holds then ends the desk with uvicorn's
English error after that line. The port is bound here first (as uvicorn would: SO_REUSEADDR,
so a port left in TIME_WAIT by the last run is taken) and the bound socket handed to uvicorn.
"""

from __future__ import annotations

import errno
import socket

from nomdesk.cli.common import fail


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port; exit 2 saying why in Chinese when it cannot be."""
    if not 0 < port < 65536:
        fail(f"端口 {port} 无效：请用 1–65535 之间的端口（--port 或 NOMDESK_PORT）")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        fail(f"监听地址 {host} 无法识别：请填写本机的 IP 地址，如 127.0.0.1 或 0.0.0.0（--host）")
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            fail(
                f"端口 {port} 已被占用（{host}:{port}），受理台未启动：可能已有一个 nomdesk serve 在运行；"
                f"请先停止占用该端口的程序，或用 --port 换一个端口"
            )
        if exc.errno == errno.EACCES:
            fail(f"没有权限使用端口 {port}（1024 以下的端口需要管理员权限），请用 --port 换一个端口")
        fail(f"无法在 {host}:{port} 上监听（{exc.strerror or exc}），受理台未启动；请检查 --host 和 --port")
    sock.set_inheritable(True)
    return sock
