"""The drop folder: new/ -> sink -> cur/, and nothing leaves new/ unless the sink took it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from intake.sources import IncomingRef, MaildirSource


def deliver(root: Path, name: str, data: bytes) -> Path:
    tmp = root / "tmp" / name
    tmp.write_bytes(data)
    target = root / "new" / name
    os.replace(tmp, target)
    return target


def test_new_to_cur(tmp_path: Path) -> None:
    got: list[tuple[bytes, IncomingRef]] = []
    source = MaildirSource(tmp_path / "inbox", lambda p, r: got.append((p.read_bytes(), r)))
    root = tmp_path / "inbox"
    assert all((root / d).is_dir() for d in ("new", "cur", "tmp"))
    path = deliver(root, "1700000000.M1P2.host", b"Subject: a\r\n\r\nx\r\n")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    assert source.poll_once() == 1
    assert source.poll_once() == 0
    data, ref = got[0]
    assert data == b"Subject: a\r\n\r\nx\r\n"
    assert ref.source == "maildir" and ref.source_ref == "1700000000.M1P2.host" and ref.size == len(data)
    assert ref.received_at.timestamp() == 1_700_000_000 and ref.received_at.tzinfo is not None
    assert not list((root / "new").iterdir())
    assert [p.name for p in (root / "cur").iterdir()] == ["1700000000.M1P2.host:2,S"]


def test_failing_sink_leaves_mail_in_new(tmp_path: Path) -> None:
    root = tmp_path / "inbox"

    def broken(path: Path, ref: IncomingRef) -> None:
        raise OSError("database down")

    source = MaildirSource(root, broken)
    deliver(root, "a", b"Subject: a\r\n\r\n")
    with pytest.raises(OSError):
        source.poll_once()
    assert [p.name for p in (root / "new").iterdir()] == ["a"]
    got: list[str] = []
    assert MaildirSource(root, lambda p, r: got.append(r.source_ref)).poll_once() == 1
    assert got == ["a"]


def test_sink_that_moves_the_file(tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    store = tmp_path / "store"
    store.mkdir()
    source = MaildirSource(root, lambda p, r: os.replace(p, store / r.source_ref))
    deliver(root, "b", b"Subject: b\r\n\r\n")
    assert source.poll_once() == 1
    assert (store / "b").read_bytes() == b"Subject: b\r\n\r\n"
    assert not list((root / "cur").iterdir())
