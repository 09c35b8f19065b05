"""The drop folder: a Maildir whose new/ messages are handed to the sink, then moved to cur/.

Anything that can write a file can deliver here (an MTA, a person, `cp`). The Maildir rule is
to write into tmp/ and rename into new/, which makes delivery atomic; people `cp` straight
into new/ all the same, so a file still being written (fresh, and grown since the last look)
is left for the next poll rather than stored half-copied.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from intake.sources.base import IncomingRef, Sink, fsync_dir, utc_from_timestamp

log = logging.getLogger(__name__)

SEEN_INFO = ":2,S"


class MaildirSource:
    def __init__(self, root: Path, sink: Sink, *, settle_seconds: float = 0.0) -> None:
        """`settle_seconds` > 0: a file younger than that is taken only once it stood still for a poll
        (0 trusts every writer to keep the Maildir rule)."""
        self.root = root
        self.sink = sink
        self.settle_seconds = settle_seconds
        self._last_look: dict[str, tuple[int, int]] = {}  # name -> (size, mtime_ns) at the previous poll
        for sub in ("new", "cur", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def poll_once(self) -> int:
        """Hand every file of new/ to the sink, oldest first; a file leaves new/ only after the sink returned."""
        new, cur = self.root / "new", self.root / "cur"
        entries = [e for e in os.scandir(new) if not e.name.startswith(".") and e.is_file(follow_symlinks=False)]
        entries.sort(key=lambda e: (e.stat().st_mtime, e.name))
        done = 0
        looks: dict[str, tuple[int, int]] = {}
        now = time.time()
        for entry in entries:
            path = Path(entry.path)
            stat = entry.stat()
            look = (stat.st_size, stat.st_mtime_ns)
            looks[entry.name] = look
            if now - stat.st_mtime < self.settle_seconds and self._last_look.get(entry.name) != look:
                continue  # maybe still being copied in: taken once it has stood still for one poll
            ref = IncomingRef(
                source="maildir",
                source_ref=entry.name,
                received_at=utc_from_timestamp(stat.st_mtime),
                size=stat.st_size,
            )
            self.sink(path, ref)
            if path.exists():  # the sink may have moved it into the store
                base = entry.name.split(":", 1)[0]
                os.replace(path, cur / f"{base}{SEEN_INFO}")
                fsync_dir(new)
                fsync_dir(cur)
            looks.pop(entry.name, None)
            done += 1
        self._last_look = looks
        return done
