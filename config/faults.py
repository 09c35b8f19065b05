"""Transient or deterministic: what kind of failure broke the processing of a mail.

A full disk, a permission an administrator got wrong, an I/O error, a locked or unreachable
database heal without touching the mail: the pipeline retries those later (with backoff) and
nobody is told the mail awaits manual handling. Everything else (a reader bug, a mail that
breaks a library) fails the same way every time, and after a few tries a person must look.

It lives on the lowest floor because the archive readers (intake) must tell "the disk is full"
from "the archive is damaged" too: a full disk is no finding about the unit's package.
The database drivers are never imported here: an exception of a driver that is not loaded
cannot be in hand, so `sys.modules` is asked instead (no import cost for `nomdesk check`).
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterator

import tenacity

# The operating system's word for "not now": space, quota, permissions (fixed by an administrator,
# not by the unit), I/O, a read-only remount, too many open files, a busy or timed-out resource,
# memory, a stale NFS handle, and a network or database connection that dropped.
TRANSIENT_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ENOSPC",
        "EDQUOT",
        "EACCES",
        "EPERM",
        "EIO",
        "EROFS",
        "EMFILE",
        "ENFILE",
        "EAGAIN",
        "EWOULDBLOCK",
        "EBUSY",
        "ETIMEDOUT",
        "ENOMEM",
        "EINTR",
        "ESTALE",
        "ENOLCK",
        "ETXTBSY",
        "ECONNREFUSED",
        "ECONNRESET",
        "ECONNABORTED",
        "EHOSTUNREACH",
        "ENETUNREACH",
        "ENETDOWN",
        "EPIPE",
    )
    if hasattr(errno, name)
)
# SQLite's primary result codes that heal: BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN,
# PROTOCOL. ("no such table" and a constraint are deterministic: they do not.)
SQLITE_TRANSIENT_CODES = frozenset({5, 6, 7, 8, 10, 13, 14, 15})
# PostgreSQL SQLSTATE classes that heal: 08 connection, 40 rollback (serialization, deadlock),
# 53 insufficient resources (disk full, memory, too many connections), 57 operator intervention
# (shutdown, statement timeout), 58 system error (I/O); 55P03 is a lock not available.
POSTGRES_TRANSIENT_CLASSES = frozenset({"08", "40", "53", "57", "58"})
POSTGRES_TRANSIENT_STATES = frozenset({"55P03"})


class TransientFailure(RuntimeError):
    """Carries a transient error (its `__cause__`) past code that would take any failure for the
    input's fault, e.g. an archive reader calling a full disk a damaged archive."""


def is_transient(exc: BaseException) -> bool:
    """Whether `exc`, or an error it was raised from or while handling, is one that heals by itself
    (or by an administrator's hand) so that the same work done later succeeds."""
    return any(_transient_here(e) for e in _chain(exc))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then its causes and contexts (`raise X from None` hides the context on purpose)."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if current.__cause__ is not None:
            todo.append(current.__cause__)
        if current.__context__ is not None and not current.__suppress_context__:
            todo.append(current.__context__)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)


def _transient_here(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError | TimeoutError):  # socket timeouts carry no errno
        return True
    if isinstance(exc, OSError):
        return exc.errno in TRANSIENT_ERRNOS
    return _database_transient(exc)


def _database_transient(exc: BaseException) -> bool:
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None:
        if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):  # pool exhausted, link lost
            return True
        if isinstance(exc, sa_exc.DBAPIError):
            # Its driver error (`orig`) is in the chain too (`__cause__`): decided there.
            return bool(exc.connection_invalidated)
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in SQLITE_TRANSIENT_CODES
        text = str(exc).lower()  # older SQLite bindings: the message is all there is
        return any(word in text for word in ("locked", "disk i/o", "is full", "unable to open", "readonly"))
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(exc, psycopg.Error):
        state = getattr(exc, "sqlstate", None)
        if state is None:  # no server answer at all: the connection failed
            return isinstance(exc, psycopg.OperationalError)
        return state[:2] in POSTGRES_TRANSIENT_CLASSES or state in POSTGRES_TRANSIENT_STATES
    return False


def backoff_seconds(failures: int, *, first: float, cap: float) -> float:
    """How long to wait after the `failures`-th failure in a row: `first`, doubling up to `cap`,
    plus up to a tenth of `first` of jitter, so mails that failed together
    (a disk that filled up under many) are not all tried again in the same second.

    tenacity's wait functions do the arithmetic (the project already depends on it); they are
    called with a bare call state because the retry here spans claims of the work queue, not
    calls in one process."""
    wait = tenacity.wait_exponential(multiplier=first, max=cap) + tenacity.wait_random(0, first / 10)
    state = tenacity.RetryCallState(None, None, (), {})  # type: ignore[arg-type]
    state.attempt_number = max(failures, 1)
    return float(wait(state))


def failures_spanning(seconds: float, *, first: float, cap: float) -> int:
    """How many failures in a row the backoff takes (jitter left out) to span `seconds`: the
    point where a mail has kept failing for that long."""
    total, failures = 0.0, 0
    while total < seconds:
        failures += 1
        total += min(cap, first * 2 ** min(failures - 1, 64))
    return max(failures, 1)
