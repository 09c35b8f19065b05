"""Claiming from several threads at once, for the queues' "never handed out twice" tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def claim_in_threads(claim: Callable[[], T | None], *, most: int, threads: int = 4) -> list[T]:
    """Everything `claim` hands out, called from `threads` threads until it gives None.

    Each thread claims at most `most` times, so a queue that hands a row out again fails the
    caller's count instead of looping forever."""
    claimed: list[T] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(most):
            if (row := claim()) is None:
                return
            with lock:
                claimed.append(row)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return claimed
