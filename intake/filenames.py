"""File names as Chinese senders' tools write them: charsets, raw GBK bytes, unsafe archive paths."""

from __future__ import annotations

import binascii
import codecs
import re

_GB_ALIASES = {"gb2312", "gbk", "x-gbk", "cp936", "gb_2312-80", "euc-cn", "euccn", "x-euc-cn", "gb18030"}
_JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db", ".localized"}
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def codec_for(charset: str | None) -> str:
    """A Python codec for a MIME charset label; gb2312/gbk are read as their superset gb18030."""
    label = (charset or "").strip().strip('"').lower()
    if label in _GB_ALIASES:
        return "gb18030"
    if label in ("big5", "big5-hkscs", "x-big5"):
        return "big5hkscs"
    try:
        return codecs.lookup(label).name if label else "utf-8"
    except LookupError:
        return "utf-8"


def decode_bytes(raw: bytes, charset: str | None = None) -> str:
    """Bytes in a declared charset, else UTF-8 if valid, else GBK (the usual unlabelled Chinese)."""
    if charset:
        codec = codec_for(charset)
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", "replace")


def unescape_raw(text: str) -> str:
    """A header value read with surrogateescape: its raw 8-bit bytes decoded as UTF-8 or GBK."""
    if not any("\udc80" <= c <= "\udcff" for c in text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"))


def decode_words(value: str) -> str:
    """A header value with RFC 2047 encoded words (also inside quoted parameters, as clients do).

    Not email.header.decode_header: next to an encoded word it turns raw non-ASCII text
    ("[补充] =?UTF-8?B?...?=", a client mixing raw UTF-8 with encoded words) into literal
    \\uXXXX escapes. Whitespace between two encoded words is dropped (RFC 2047 section 6.2).
    """
    value = unescape_raw(value)
    if "=?" not in value:
        return value
    out: list[str] = []
    pos = 0
    after_word = False
    for m in _ENCODED_WORD.finditer(value):
        between = value[pos : m.start()]
        if between.strip() or not after_word:
            out.append(between)
        decoded = _decode_word(*m.groups())
        out.append(m.group(0) if decoded is None else decoded)
        after_word = decoded is not None
        pos = m.end()
    out.append(value[pos:])
    return "".join(out)


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")


def _decode_word(charset: str, encoding: str, text: str) -> str | None:
    """One encoded word's text, or None when it is malformed (then it is kept as written)."""
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix: =?utf-8*zh?B?...?=
    raw = text.encode("ascii", "replace")
    try:
        if encoding in "Bb":
            data = binascii.a2b_base64(raw + b"=" * (-len(raw) % 4))
        else:
            data = binascii.a2b_qp(raw, header=True)
    except (binascii.Error, ValueError):
        return None
    return decode_bytes(data, charset)


def decode_param(value: str | tuple[str | None, str | None, str] | None) -> str | None:
    """A MIME parameter as email.message.Message.get_param returns it (RFC 2231 gives a tuple)."""
    if value is None:
        return None
    if isinstance(value, tuple):
        charset, _lang, text = value
        raw = text.encode("latin-1", "surrogateescape") if text else b""
        return decode_bytes(raw, charset)
    return decode_words(value)


def zip_entry_name(raw_name: str, flag_bits: int, extra: bytes = b"") -> str:
    """An entry name as zipfile gives it, re-decoded: UTF-8 flag, Info-ZIP Unicode field, else UTF-8/GBK."""
    if flag_bits & 0x800:
        return raw_name
    unicode_name = _infozip_unicode_path(extra)
    if unicode_name:
        return unicode_name
    try:
        raw = raw_name.encode("cp437")
    except UnicodeEncodeError:
        return raw_name
    return decode_bytes(raw)


def _infozip_unicode_path(extra: bytes) -> str | None:
    pos = 0
    while pos + 4 <= len(extra):
        tag = int.from_bytes(extra[pos : pos + 2], "little")
        size = int.from_bytes(extra[pos + 2 : pos + 4], "little")
        body = extra[pos + 4 : pos + 4 + size]
        if tag == 0x7075 and len(body) > 5 and body[0] == 1:
            try:
                return body[5:].decode("utf-8")
            except UnicodeDecodeError:
                return None
        pos += 4 + size
    return None


class UnsafePath(ValueError):
    """An archive entry name that would escape the folder it is unpacked in."""


def entry_parts(name: str) -> list[str]:
    """The folder/file parts of an archive entry name; backslashes are separators.

    Raises UnsafePath for absolute paths, drive letters and `..`.
    """
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or _DRIVE.match(normalized):
        raise UnsafePath(name)
    parts = [p for p in normalized.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafePath(name)
    return [_CONTROL.sub("", p).strip() or "_" for p in parts]


def is_junk(parts: list[str]) -> bool:
    """Files that operating systems leave in archives and folders, never material."""
    if any(p == "__MACOSX" for p in parts):
        return True
    last = parts[-1] if parts else ""
    low = last.lower()
    return low in _JUNK_NAMES or last.startswith("~$") or last.startswith("._")


def attachment_basename(name: str) -> str:
    """An attachment's file name without any client-side folder (old Outlook sends C:\\...\\x.zip)."""
    base = re.split(r"[\\/]", name.strip())[-1]
    base = _CONTROL.sub("", base).strip()
    return base


def unique(path: str, taken: set[str]) -> str:
    """`path`, or `path` with " (2)", " (3)"... before its extension if already taken."""
    if path not in taken:
        taken.add(path)
        return path
    head, slash, tail = path.rpartition("/")
    stem, dot, ext = tail.rpartition(".")
    if not dot or not stem:
        stem, ext, dot = tail, "", ""
    n = 2
    while True:
        candidate = f"{head}{slash}{stem} ({n}){dot}{ext}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        n += 1
