"""Outlook's winmail.dat (TNEF): the attachments it wraps."""

from __future__ import annotations

from pathlib import Path

import tnefparse

from intake.filenames import attachment_basename, decode_bytes


class TnefUnreadable(Exception):
    pass


def extract_tnef(path: Path, dest: Path) -> list[tuple[str, Path]]:
    """Write each attachment of a TNEF file into `dest`; returns (file name, local path) pairs."""
    try:
        tnef = tnefparse.TNEF(path.read_bytes(), do_checksum=False)
    except Exception as exc:  # tnefparse raises assorted errors on damaged data
        raise TnefUnreadable(str(exc)) from exc
    dest.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, Path]] = []
    for n, attachment in enumerate(tnef.attachments, start=1):
        name = _name(attachment) or f"附件{n}"
        local = dest / f"{n:05d}"
        data = attachment.data if isinstance(attachment.data, bytes) else bytes(attachment.data or b"")
        local.write_bytes(data)
        out.append((attachment_basename(name) or f"附件{n}", local))
    return out


def _name(attachment: tnefparse.TNEFAttachment) -> str:
    try:
        long_name = attachment.long_filename()
    except Exception:
        long_name = None
    if isinstance(long_name, bytes):
        long_name = decode_bytes(long_name.rstrip(b"\0"))
    if long_name:
        return long_name.strip("\0")
    raw = getattr(attachment, "_name", b"")  # tnefparse decodes titles as UTF-8 only; Chinese Outlook writes GBK
    if isinstance(raw, bytes):
        return decode_bytes(raw.rstrip(b"\0"))
    return str(raw).strip("\0")
