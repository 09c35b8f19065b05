"""A cache for generated fixtures, so each is made once per test run (and reused across runs).

Fixtures are keyed by the builder's name and its parameters; the cache lives under
`.cache/fixtures` in the checkout (or `NOMDESK_FIXTURE_CACHE`), which git ignores.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = Path(os.environ.get("NOMDESK_FIXTURE_CACHE", ROOT / ".cache" / "fixtures"))


def cached_file(name: str, params: dict, suffix: str, build: Callable[[Path], None]) -> Path:
    """Return the path of a fixture file, building it with `build(path)` only if not cached yet.

    `build` writes the file at the path it is given; it is written to a temporary name and
    renamed, so a crashed or parallel build never leaves a half-written fixture behind.
    """
    key = hashlib.sha256(json.dumps([name, params], sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    target = CACHE_DIR / f"{name}-{key}{suffix}"
    if target.exists():
        return target
    fd, tmp = tempfile.mkstemp(dir=CACHE_DIR, suffix=suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        build(tmp_path)
        tmp_path.replace(target)
    finally:
        tmp_path.unlink(missing_ok=True)
    return target
