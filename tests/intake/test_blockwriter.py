"""The background block writer: the file gets every byte in order, and a failed write is not lost."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest

from intake.blockwriter import BackgroundWriter


def test_every_block_lands_in_order(tmp_path: Path) -> None:
    blocks = [os.urandom(n) for n in [1, 1 << 20, 3 << 20, 7, 2 << 20, 0, 5 << 20, 12345]]
    target = tmp_path / "out.bin"
    with target.open("wb") as out, BackgroundWriter(out) as writer:
        for block in blocks:
            writer.write(block)
        assert writer.thread is not None  # past START_AFTER: the thread did the later writes
    assert target.read_bytes() == b"".join(blocks)


def test_small_files_are_written_in_line(tmp_path: Path) -> None:
    target = tmp_path / "small.bin"
    with target.open("wb") as out, BackgroundWriter(out) as writer:
        writer.write(b"abc")
    assert writer.thread is None and target.read_bytes() == b"abc"


class _FullDisk(io.BytesIO):
    """A file that fills up after `room` bytes, as a full disk does."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def test_a_write_that_fails_in_the_thread_is_raised_to_the_caller() -> None:
    with pytest.raises(OSError, match="No space left"), BackgroundWriter(_FullDisk(6 << 20)) as writer:
        for _ in range(8):
            writer.write(b"x" * (1 << 20))
