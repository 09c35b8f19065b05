"""What every intake source hands over: a raw message file on disk plus where it came from."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict


class IncomingRef(BaseModel):
    """Provenance of one raw message; `source_ref` is unique per message within its source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["imap", "maildir"]
    source_ref: str  # "imap:{folder}:{uidvalidity}:{uid}" or the Maildir file name
    received_at: AwareDatetime
    size: int


# The sink must have stored the file durably (it may move it away) before it returns;
# sources treat a message as done only then. It must dedupe (sha256 / Message-ID),
# because every source re-delivers after a crash between the sink and its own bookkeeping.
Sink = Callable[[Path, IncomingRef], None]


class MailboxStateStore(Protocol):
    """Per-folder IMAP progress: (UIDVALIDITY, last UID handed to the sink)."""

    def get(self, key: str) -> tuple[int, int] | None: ...

    def set(self, key: str, uidvalidity: int, last_uid: int) -> None: ...


def fsync_dir(directory: Path) -> None:
    """Make a rename or create inside `directory` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def utc_from_timestamp(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC)
