"""Write a stream of blocks to a file from a second thread."""

from __future__ import annotations

import queue
import threading
from typing import BinaryIO


class BackgroundWriter:
    """Hands a big file's blocks to a thread that writes them to disk.

    Base64 decoding holds the GIL and a disk write does not, so writing one block while the
    next is decoded (or read out of an archive) hides most of the write time of a 300 MB mail.
    Small files never start the thread. The queue is short: memory stays a few blocks
    whatever the file's size. A write error is raised in the caller, at its next write or at
    the end of the `with` block.
    """

    START_AFTER = 4 << 20  # bytes written in line before the thread is worth starting
    QUEUE_BLOCKS = 4

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.written = 0
        self.queue: queue.Queue[bytes | None] | None = None
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def write(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        if self.queue is not None:
            self.queue.put(data)
            return
        self.out.write(data)
        self.written += len(data)
        if self.written >= self.START_AFTER:
            self.queue = queue.Queue(self.QUEUE_BLOCKS)
            self.thread = threading.Thread(target=self._drain, name="block-writer", daemon=True)
            self.thread.start()

    def _drain(self) -> None:
        assert self.queue is not None
        while (data := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.out.write(data)
                except BaseException as exc:
                    self.error = exc

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.queue is not None and self.thread is not None:
            self.queue.put(None)
            self.thread.join()
        if self.error is not None and exc_info[0] is None:
            raise self.error
