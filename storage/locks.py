"""Cross-process locks: one holder of a name among every desk process sharing the database.

Several `nomdesk serve` processes share one database (PostgreSQL, or one SQLite data directory).
Some work must run in exactly one of them (the IMAP poller, the drop-folder watcher, the
scheduler's tick) and some must not run twice at once (one unit's evaluation and reply
decision). A lock here is released by the operating system or the database when its holder
dies, SIGKILL included, so a dead process never leaves a name held:

- PostgreSQL: a session advisory lock on a connection of its own, outside the engine's pool.
  A pooled session would hand the lock to whoever takes the connection next, and the pool's
  pre-ping and recycling would drop it silently; a dedicated connection is held exactly as long
  as the lock, and the server frees the lock when that connection goes (the process died, or
  the network did: `Held.alive()` then says so and the holder stops its role).
- SQLite: a lock file (`filelock`, flock(2)) under DATA_DIR/locks/; the kernel frees it when
  the process dies. The processes of one SQLite database share its data directory, so they
  share these files. A local folder (the drop folder) is always locked this way, whatever the
  database, since only the processes of this machine see it (`Locks.local`).

Names are scoped by the store's campaign key, so two campaigns in one database hold their own
singletons. Within a process a name is also a `threading.Lock`: two threads of one process
exclude each other without a second connection, and the file lock (which is per open file)
never has to count re-entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from sqlalchemy.engine import Engine

from storage.db import is_sqlite

log = logging.getLogger(__name__)

LOCK_DIR = "locks"
# A blocking `hold` waits at most this long (a unit's evaluation takes seconds, the largest a few
# minutes): a lock that never comes is an error the pipeline retries, not a thread stuck for good.
HOLD_TIMEOUT_SECONDS = 30 * 60.0
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def worker_lock(worker: str) -> str:
    """The lock a process holds for its whole life (`nomdesk serve`): free means it is dead, as
    another host sees it (its database connection, and so the lock, went with it)."""
    return f"worker:{worker}"


def lock_key(scoped: str) -> int:
    """A signed 64-bit advisory lock key for a scoped name (PostgreSQL's bigint)."""
    digest = hashlib.blake2b(scoped.encode("utf-8"), digest_size=8, person=b"nomdesk-lock").digest()
    return int.from_bytes(digest, "big", signed=True)


class Held:
    """A lock this process holds until `release()` (or its death)."""

    def __init__(self, name: str, release: Callable[[], None], alive: Callable[[], bool]) -> None:
        self.name = name
        self._release = release
        self._alive = alive
        self._released = False
        self._guard = threading.Lock()

    def alive(self) -> bool:
        """Still held: False once released, or when the database connection holding it is gone."""
        with self._guard:
            if self._released:
                return False
            try:
                return self._alive()
            except Exception:  # a broken connection: the server has let the lock go
                return False

    def release(self) -> None:
        with self._guard:
            if self._released:
                return
            self._released = True
            try:
                self._release()
            except Exception:  # the connection is gone already: so is the lock
                log.debug("releasing lock %s failed", self.name, exc_info=True)

    def __enter__(self) -> Held:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class _Backend(ABC):
    @abstractmethod
    def try_lock(self, scoped: str) -> tuple[Callable[[], None], Callable[[], bool]] | None: ...

    @abstractmethod
    def lock(self, scoped: str, timeout: float) -> tuple[Callable[[], None], Callable[[], bool]]: ...


class _FileBackend(_Backend):
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, scoped: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        readable = _SAFE.sub("_", scoped)[:60].strip("_") or "lock"
        digest = hashlib.sha256(scoped.encode("utf-8")).hexdigest()[:16]
        return self.directory / f"{readable}-{digest}.lock"

    def _acquire(self, scoped: str, timeout: float) -> tuple[Callable[[], None], Callable[[], bool]] | None:
        lock = FileLock(self._path(scoped), thread_local=False)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            return None
        return (lambda: lock.release(force=True)), (lambda: lock.is_locked)

    def try_lock(self, scoped: str) -> tuple[Callable[[], None], Callable[[], bool]] | None:
        return self._acquire(scoped, 0)

    def lock(self, scoped: str, timeout: float) -> tuple[Callable[[], None], Callable[[], bool]]:
        got = self._acquire(scoped, timeout)
        if got is None:
            raise TimeoutError(f"lock {scoped!r} not acquired in {timeout:.0f} s")
        return got


class _AdvisoryBackend(_Backend):
    """Session advisory locks, each on a DB-API connection of its own (not the engine's pool)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _connect(self) -> Any:
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        connection = self.engine.dialect.connect(*cargs, **cparams)
        connection.autocommit = True
        return connection

    def _holding(self, connection: Any, key: int) -> tuple[Callable[[], None], Callable[[], bool]]:
        def release() -> None:
            try:
                connection.execute("SELECT pg_advisory_unlock(%s)", (key,))
            finally:
                connection.close()

        def alive() -> bool:
            if connection.closed:
                return False
            row = connection.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                " AND granted AND objid = (%s::bigint & 4294967295)::oid"
                " AND classid = ((%s::bigint >> 32) & 4294967295)::oid",
                (key, key),
            ).fetchone()
            return bool(row and row[0])

        return release, alive

    def try_lock(self, scoped: str) -> tuple[Callable[[], None], Callable[[], bool]] | None:
        key = lock_key(scoped)
        connection = self._connect()
        try:
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        except BaseException:
            connection.close()
            raise
        if not (row and row[0]):
            connection.close()
            return None
        return self._holding(connection, key)

    def lock(self, scoped: str, timeout: float) -> tuple[Callable[[], None], Callable[[], bool]]:
        key = lock_key(scoped)
        connection = self._connect()
        try:
            connection.execute(f"SET lock_timeout = {int(timeout * 1000)}")
            connection.execute("SELECT pg_advisory_lock(%s)", (key,))
            connection.execute("SET lock_timeout = 0")
        except BaseException:
            connection.close()
            raise
        return self._holding(connection, key)


class Locks:
    """`store.locks`: `hold(name)` for short critical sections, `try_acquire(name)` for singletons."""

    def __init__(self, engine: Engine, data_dir: Path, scope: Callable[[], str] | None = None) -> None:
        self._scope = scope or (lambda: "")
        files = _FileBackend(Path(data_dir) / LOCK_DIR)
        self._backend: _Backend = files if is_sqlite(engine) else _AdvisoryBackend(engine)
        self._threads: dict[str, threading.Lock] = {}
        self._owners: dict[str, tuple[int, int]] = {}  # name -> (thread holding it by `hold`, depth)
        self._threads_guard = threading.Lock()
        # The drop folder is this machine's: its lock is a file whatever the database is.
        self.local = self if isinstance(self._backend, _FileBackend) else Locks._files(files, self._scope)

    @classmethod
    def _files(cls, backend: _FileBackend, scope: Callable[[], str]) -> Locks:
        locks = cls.__new__(cls)
        locks._scope = scope
        locks._backend = backend
        locks._threads = {}
        locks._owners = {}
        locks._threads_guard = threading.Lock()
        locks.local = locks
        return locks

    def scoped(self, name: str) -> str:
        scope = self._scope()
        return f"{scope}/{name}" if scope else name

    def _thread_lock(self, scoped: str) -> threading.Lock:
        with self._threads_guard:
            return self._threads.setdefault(scoped, threading.Lock())

    def try_acquire(self, name: str) -> Held | None:
        """The lock if no one (in any process) holds it now, else None at once."""
        scoped = self.scoped(name)
        local = self._thread_lock(scoped)
        if not local.acquire(blocking=False):
            return None
        try:
            got = self._backend.try_lock(scoped)
        except BaseException:
            local.release()
            raise
        if got is None:
            local.release()
            return None
        release, alive = got

        def release_both() -> None:
            try:
                release()
            finally:
                local.release()

        return Held(name, release_both, alive)

    @contextlib.contextmanager
    def hold(self, name: str, timeout: float = HOLD_TIMEOUT_SECONDS) -> Iterator[None]:
        """Run the block while no other thread or process holds `name` (waits for it). Re-entrant
        in one thread: a unit's evaluation holds its unit, and so does the mail's whole handling
        around it."""
        scoped = self.scoped(name)
        me = threading.get_ident()
        with self._threads_guard:
            owner = self._owners.get(scoped)
            if owner is not None and owner[0] == me:
                self._owners[scoped] = (me, owner[1] + 1)
                nested = True
            else:
                nested = False
        if nested:
            try:
                yield
            finally:
                with self._threads_guard:
                    self._owners[scoped] = (me, self._owners[scoped][1] - 1)
            return
        local = self._thread_lock(scoped)
        if not local.acquire(timeout=timeout):
            raise TimeoutError(f"lock {scoped!r} not acquired in {timeout:.0f} s")
        try:
            release, _alive = self._backend.lock(scoped, timeout)
            with self._threads_guard:
                self._owners[scoped] = (me, 1)
            try:
                yield
            finally:
                with self._threads_guard:
                    self._owners.pop(scoped, None)
                try:
                    release()
                except Exception:
                    log.debug("releasing lock %s failed", scoped, exc_info=True)
        finally:
            local.release()
