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


def test_a_file_still_being_copied_into_new_waits_until_it_stands_still(tmp_path: Path) -> None:
    """`cp big.eml inbox/new/` breaks the Maildir rule: the half-written file must not be taken."""
    root = tmp_path / "inbox"
    got: list[bytes] = []
    source = MaildirSource(root, lambda p, r: got.append(p.read_bytes()), settle_seconds=30)
    target = root / "new" / "copied.eml"
    with open(target, "wb") as out:
        out.write(b"Subject: big\r\n\r\nfirst half ")
        out.flush()
        assert source.poll_once() == 0  # fresh and never seen: wait
        out.write(b"second half\r\n")
        out.flush()
        assert source.poll_once() == 0  # it grew since the last look: still wait
    assert source.poll_once() == 1  # unchanged since the last look: taken, whole
    assert got == [b"Subject: big\r\n\r\nfirst half second half\r\n"]
    old = root / "new" / "old.eml"
    old.write_bytes(b"Subject: old\r\n\r\n")
    os.utime(old, (1_700_000_000, 1_700_000_000))
    assert source.poll_once() == 1  # an old file is no copy in progress: taken at once
