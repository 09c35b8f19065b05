"""A fault for service tests: reading a mail that carries `X-Test-Break: yes` raises.

A `nomdesk serve` started with this folder first on PYTHONPATH imports it at start-up
(Python's sitecustomize hook), so a test can break the pipeline of a real service process
without any test hook in the desk's own code. No other mail is affected.
"""

from __future__ import annotations

from pathlib import Path

import intake.package

_real_read = intake.package.read_submission
MARKER = b"X-Test-Break: yes"


def _breaking_read(path: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
    with open(path, "rb") as fh:
        if MARKER in fh.read(64 * 1024):
            raise RuntimeError("test fault: the reader broke on this mail")
    return _real_read(path, *args, **kwargs)


intake.package.read_submission = _breaking_read
