"""The real type of a file, from its bytes (never trusting the extension).

Units rename files freely (a .docx saved as .doc, an .xls that is really xlsx, a .mov
called .mp4), so every later stage works from what `sniff` says. Extensions are used
only where the content is genuinely ambiguous (Kingsoft .wps is an OLE Word document).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

ARCHIVE_TYPES = frozenset({"zip", "rar", "7z", "tar", "gzip", "bzip2", "xz"})

# The extension a decoded file is given on disk, so tools that look at names
# (openpyxl, LibreOffice) accept it.
EXTENSIONS: dict[str, str] = {
    "zip": ".zip", "rar": ".rar", "7z": ".7z", "tar": ".tar", "gzip": ".gz", "bzip2": ".bz2",
    "xz": ".xz", "xlsx": ".xlsx", "xls": ".xls", "docx": ".docx", "doc": ".doc", "wps": ".wps",
    "et": ".et", "pptx": ".pptx", "ppt": ".ppt", "odt": ".odt", "ods": ".ods", "odp": ".odp",
    "pdf": ".pdf", "jpeg": ".jpg", "png": ".png", "heic": ".heic", "avif": ".avif", "gif": ".gif",
    "bmp": ".bmp", "webp": ".webp", "tiff": ".tif", "mp4": ".mp4", "mov": ".mov", "m4a": ".m4a",
    "3gp": ".3gp", "avi": ".avi", "mkv": ".mkv", "flv": ".flv", "webm": ".webm", "wmv": ".wmv",
    "mpeg": ".mpg", "ts": ".ts", "mp3": ".mp3", "wav": ".wav", "txt": ".txt", "rtf": ".rtf",
    "html": ".html", "xml": ".xml", "tnef": ".dat", "eml": ".eml",
}  # fmt: skip

_HEAD = 4096
_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
MAIL_HEADERS = {  # header fields that make a block of "Name: value" lines a mail
    "received", "from", "to", "cc", "date", "subject", "message-id", "mime-version", "return-path",
    "delivered-to", "reply-to", "content-type", "x-mailer", "sender", "x-originating-ip",
}  # fmt: skip
_HEADER_LINE = re.compile(rb"^([!-9;-~]+):[ \t]?")


def sniff(path: Path, name: str | None = None) -> str:
    """The file's real type ("zip", "xlsx", "jpeg", "mov", ... or "unknown")."""
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEAD)
    except OSError:
        return "unknown"
    return sniff_bytes(head, path, name or path.name)


def sniff_bytes(head: bytes, path: Path | None = None, name: str = "") -> str:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not head:
        return "unknown"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return _zip_flavour(path, ext) if path else "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole_flavour(path, ext) if path else "doc"
    if head.startswith(b"%PDF") or b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"BM") and len(head) > 14 and head[6:10] == b"\0\0\0\0":
        return "bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WEBP": "webp", b"AVI ": "avi", b"WAVE": "wav"}.get(head[8:12], "unknown")
    if head[4:8] == b"ftyp":
        return _ftyp_flavour(head)
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip") and ext in ("mov", "mp4"):
        return "mov"  # old QuickTime files start without ftyp
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "mkv"
    if head.startswith(b"FLV\x01"):
        return "flv"
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "wmv"
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return "mpeg"
    if len(head) > 376 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return "ts"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh") and len(head) > 4 and head[3:4].isdigit():
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if head.startswith(b"\x78\x9f\x3e\x22"):
        return "tnef"
    if _utf16_text(head):  # before MP3: the BOM FF FE looks like an MPEG frame sync
        return "txt"
    if head.startswith(b"ID3") or (head[0] == 0xFF and len(head) > 1 and head[1] & 0xE0 == 0xE0):
        return "mp3"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    return _text_flavour(head)


def _ftyp_flavour(head: bytes) -> str:
    major = head[8:12]
    size = int.from_bytes(head[0:4], "big")
    brands = {major} | {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    if major == b"qt  ":
        return "mov"
    if major in (b"avif", b"avis"):  # AVIF lists the HEIF brand mif1 too: its own brand decides
        return "avif"
    if major in _HEIC_BRANDS or (brands & _HEIC_BRANDS and major not in (b"isom", b"mp41", b"mp42")):
        return "heic"
    if major.startswith(b"3g"):
        return "3gp"
    if major in (b"M4A ", b"M4B "):
        return "m4a"
    return "mp4"


_OFFICE_PARTS = (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx"))
_OFFICE_EXTENSIONS = {"docx": "docx", "docm": "docx", "xlsx": "xlsx", "xlsm": "xlsx", "pptx": "pptx"}
_LOCAL_HEADER = b"PK\x03\x04"
# What an Office Open XML package starts with (Word, Excel, WPS and LibreOffice all write one of these first).
_OFFICE_FIRST_ENTRIES = ("[Content_Types].xml", "_rels/", "docProps/", "word/", "xl/", "ppt/", "customXml/")


def _zip_flavour(path: Path, ext: str) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if names and names[0] == "mimetype":
                mime = zf.read("mimetype")[:100].decode("ascii", "replace")
                for suffix, kind in (("text", "odt"), ("spreadsheet", "ods"), ("presentation", "odp")):
                    if mime.endswith("opendocument." + suffix):
                        return kind
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError):
        return _truncated_zip_flavour(path, ext)
    names_set = set(names)
    if "[Content_Types].xml" in names_set:
        for prefix, kind in _OFFICE_PARTS:
            if any(n.startswith(prefix) for n in names):
                return kind
    # A damaged Office file (its [Content_Types].xml lost) is still that file, never a folder
    # of parts to unpack: the reader then says it cannot be opened.
    office = _office_kind(names)
    if office:
        return office
    if ext in ("docx", "xlsx", "pptx"):
        return ext
    if ext in ("pages", "numbers", "key") and any(n.startswith("Index/") for n in names):
        return ext
    return "zip"


def _office_kind(names: list[str]) -> str | None:
    """docx/xlsx/pptx when the zip's entry names include that format's XML parts."""
    for prefix, kind in _OFFICE_PARTS:
        if any(n.startswith(prefix) and n.endswith(".xml") for n in names):
            return kind
    return None


def _truncated_zip_flavour(path: Path, ext: str, window: int = 1 << 20) -> str:
    """A zip without its central directory (a download or copy cut short) is still what it was.

    The central directory sits at the end, so a truncated .docx cannot be listed; the local
    entry headers at the front still name its parts (word/document.xml, xl/workbook.xml).
    A truncated Word or Excel file must be reported as that file, not as a broken archive.
    """
    try:
        with path.open("rb") as fh:
            data = fh.read(window)
    except OSError:
        return "zip"
    first = _local_name(data, 0)
    if not first or not first.startswith(_OFFICE_FIRST_ENTRIES):
        return "zip"  # an archive's own first entry; Office files inside a stored zip must not decide
    names = [_local_name(data, m.start()) for m in re.finditer(re.escape(_LOCAL_HEADER), data)]
    return _office_kind([n for n in names if n]) or _OFFICE_EXTENSIONS.get(ext, "zip")


def _local_name(data: bytes, offset: int) -> str | None:
    """The entry name of the local file header at `offset` (ASCII for Office parts), if whole."""
    header = data[offset : offset + 30]
    if len(header) < 30:
        return None
    length = int.from_bytes(header[26:28], "little")
    raw = data[offset + 30 : offset + 30 + length]
    return raw.decode("ascii", "replace") if len(raw) == length else None


def _utf16_text(head: bytes) -> bool:
    """A UTF-16 text (Windows Notepad's "Unicode"): a byte-order mark and text behind it."""
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            body = head[2 : 2 + (len(head) - 2) // 2 * 2]
            text = body.decode(codec, "replace")
            bad = sum(1 for c in text if c == "\ufffd" or (ord(c) < 32 and c not in "\r\n\t\f"))
            return bad <= max(1, len(text) // 100)  # a surrogate pair cut by the window's end
    return False


_OLE_STREAMS = (
    ("WordDocument".encode("utf-16-le"), "doc"),
    ("Workbook".encode("utf-16-le"), "xls"),
    ("Book".encode("utf-16-le") + b"\0\0", "xls"),
    ("PowerPoint Document".encode("utf-16-le"), "ppt"),
)


def _ole_flavour(path: Path, ext: str) -> str:
    """Word, Excel or PowerPoint, from the names in the compound file's directory.

    The directory sits anywhere in the file; reading the first and last few MiB finds
    it in every real Office file, without an OLE parser for the whole file.
    """
    window = 4 << 20
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            data = fh.read(window)
            if size > window:
                fh.seek(max(window, size - window))
                data += fh.read(window)
    except OSError:
        return "unknown"
    for marker, kind in _OLE_STREAMS:
        if marker in data:
            if kind == "doc" and ext == "wps":
                return "wps"
            if kind == "xls" and ext == "et":
                return "et"
            return kind
    return {"wps": "wps", "et": "et", "xls": "xls", "doc": "doc", "ppt": "ppt"}.get(ext, "unknown")


def looks_like_mail(head: bytes) -> bool:
    """RFC 822 headers: field lines at the top, at least one of them a mail header."""
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[0].startswith(b"From "):  # an mbox envelope line
        lines = lines[1:]
    fields = 0
    known = False
    for line in lines[:60]:
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if fields == 0:
                return False
            continue
        match = _HEADER_LINE.match(line)
        if not match:
            return False
        fields += 1
        known = known or match.group(1).decode("ascii").lower() in MAIL_HEADERS
    return fields >= 2 and known


def _text_flavour(head: bytes) -> str:
    if looks_like_mail(head):
        return "eml"
    if b"\0" in head.lstrip(b"\xff\xfe\xfe\xff")[:1024] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "unknown"
    lowered = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:512]:
        return "html"
    if lowered.startswith(b"<?xml"):
        return "xml"
    for encoding in ("utf-8", "gb18030", "utf-16"):
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError as exc:
            # a multibyte character cut by the end of the window is still text
            if encoding != "utf-16" and exc.start >= len(head) - 4:
                text = head[: exc.start].decode(encoding, "replace")
            else:
                continue
        controls = sum(1 for c in text if ord(c) < 32 and c not in "\r\n\t\f")
        if controls <= len(text) // 100:
            return "txt"
    return "unknown"
