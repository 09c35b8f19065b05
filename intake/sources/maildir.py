"""The drop folder: a Maildir whose new/ messages are handed to the sink, then moved to cur/.

Anything that can write a file can deliver here (an MTA, a person, `cp`), as long as it
writes into tmp/ and renames into new/, the Maildir rule that makes delivery atomic.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from intake.sources.base import IncomingRef, Sink, fsync_dir, utc_from_timestamp

log = logging.getLogger(__name__)

SEEN_INFO = ":2,S"


class MaildirSource:
    def __init__(self, root: Path, sink: Sink) -> None:
        self.root = root
        self.sink = sink
        for sub in ("new", "cur", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def poll_once(self) -> int:
        """Hand every file of new/ to the sink, oldest first; a file leaves new/ only after the sink returned."""
        new, cur = self.root / "new", self.root / "cur"
        entries = [e for e in os.scandir(new) if not e.name.startswith(".") and e.is_file(follow_symlinks=False)]
        entries.sort(key=lambda e: (e.stat().st_mtime, e.name))
        done = 0
        for entry in entries:
            path = Path(entry.path)
            stat = entry.stat()
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
            done += 1
        return done
