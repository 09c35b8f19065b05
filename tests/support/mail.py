"""Raw .eml files as Chinese mail clients send them, written byte by byte.

The standard library's email generator would "fix" exactly what these fixtures need to
show: raw 8-bit GBK file names, gb2312 labels on GBK-only characters, RFC 2231
parameters, nested messages and winmail.dat.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass
from urllib.parse import quote

CRLF = b"\r\n"


@dataclass
class Part:
    """One MIME leaf: its header lines (raw bytes, without the final blank line) and encoded body."""

    headers: bytes
    body: bytes


def _b64_lines(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return CRLF.join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def filename_rfc2047(name: str, charset: str = "UTF-8", codec: str | None = None) -> bytes:
    word = base64.b64encode(name.encode(codec or charset)).decode()
    return f'"=?{charset}?B?{word}?="'.encode()


def filename_rfc2231(name: str, charset: str = "UTF-8", codec: str | None = None) -> bytes:
    return f"{charset}''{quote(name.encode(codec or charset))}".encode()


def attachment(
    data: bytes,
    filename: bytes | None,
    *,
    content_type: str = "application/octet-stream",
    rfc2231: bool = False,
    cte: str = "base64",
) -> Part:
    """An attachment part; `filename` is the parameter value exactly as it goes on the wire."""
    lines = [f"Content-Type: {content_type}".encode()]
    if filename is not None:
        param = b"filename*=" if rfc2231 else b"filename="
        lines[0] += b";" + CRLF + b"\tname=" + (filename if not rfc2231 else b'"attachment"')
        lines.append(b"Content-Disposition: attachment;" + CRLF + b"\t" + param + filename)
    else:
        lines.append(b"Content-Disposition: attachment")
    lines.append(f"Content-Transfer-Encoding: {cte}".encode())
    if cte == "base64":
        body = _b64_lines(data)
    elif cte == "quoted-printable":  # binary-safe: CR and LF encoded, soft breaks only on the wire
        body = binascii.b2a_qp(data, istext=False).replace(b"=\n", b"=" + CRLF)
    else:
        body = data
    return Part(CRLF.join(lines), body)


def text_part(text: str, subtype: str = "plain", charset: str = "UTF-8", codec: str | None = None) -> Part:
    headers = f'Content-Type: text/{subtype}; charset="{charset}"\r\nContent-Transfer-Encoding: base64'
    return Part(headers.encode(), _b64_lines(text.encode(codec or charset)))


def message_part(message: bytes) -> Part:
    """A forwarded message attached as message/rfc822."""
    headers = b'Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename="fwd.eml"'
    return Part(headers, message)


def multipart(parts: list[Part], subtype: str, boundary: str) -> Part:
    chunks = [b"This is a multi-part message in MIME format.", b""]
    for part in parts:
        chunks += [f"--{boundary}".encode(), part.headers, b"", part.body]
    chunks.append(f"--{boundary}--".encode())
    headers = f'Content-Type: multipart/{subtype};\r\n\tboundary="{boundary}"'.encode()
    return Part(headers, CRLF.join(chunks) + CRLF)


def build_mail(
    parts: list[Part],
    *,
    subject: str = "延边州推荐材料",
    sender: str = '"=?UTF-8?B?5LyN5Yek6Zye?=" <YBJYJ_zcjy@163.com>',
    date: str | None = "Sat, 21 Aug 2021 14:20:00 +0800",
    text: str = "吴老师：\n您好！推荐材料见附件。",
    html: str | None = None,
    received: list[str] | None = None,
    extra_headers: list[bytes] | None = None,
) -> bytes:
    """A multipart/mixed message: the text (and HTML) body first, then `parts`."""
    body_parts = [text_part(text)]
    if html is not None:
        body_parts.append(text_part(html, "html"))
    body = multipart(body_parts, "alternative", "----=_Part_alt_0001") if html is not None else body_parts[0]
    top = multipart([body, *parts], "mixed", "----=_Part_mixed_0001")
    subject_word = base64.b64encode(subject.encode()).decode()
    lines: list[bytes] = [f"Received: {r}".encode() for r in received or []]
    if date:
        lines.append(f"Date: {date}".encode())
    lines += [
        f"From: {sender}".encode(),
        b"To: jlqmxx@126.com",
        f"Subject: =?UTF-8?B?{subject_word}?=".encode(),
        b"Message-ID: <test.0001@163.com>",
        b"MIME-Version: 1.0",
        *(extra_headers or []),
        top.headers,
    ]
    return CRLF.join(lines) + CRLF + CRLF + top.body


def tnef_bytes(files: dict[str, bytes], name_codec: str = "gbk") -> bytes:
    """A winmail.dat carrying `files`, titles in the sender's ANSI code page (GBK on Chinese Outlook)."""

    def attribute(level: int, attr_id: int, attr_type: int, data: bytes) -> bytes:
        checksum = sum(data) & 0xFFFF
        return struct.pack("<BHHI", level, attr_id, attr_type, len(data)) + data + struct.pack("<H", checksum)

    out = bytearray(struct.pack("<IH", 0x223E9F78, 0x0001))
    out += attribute(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # attTnefVersion
    for name, data in files.items():
        out += attribute(2, 0x9002, 0x0006, b"\0" * 14)  # attAttachRendData: a new attachment
        out += attribute(2, 0x8010, 0x0001, name.encode(name_codec) + b"\0")  # attAttachTitle
        out += attribute(2, 0x800F, 0x0006, data)  # attAttachData
    return bytes(out)
