"""A mail in the 待确认 queue as the desk leaves it, made straight in the store (the desk's own path
is tested in tests/nomdesk/test_desk_unknown_sender.py)."""

from __future__ import annotations

import datetime as dt
import uuid

from storage.repo import Store
from storage.tables import RawState


def waiting_mail(
    store: Store,
    at: dt.datetime,
    sender: str | None = None,
    *,
    guess: str | None = None,
    claim: str | None = None,
    subject: str = "秘密主题",
) -> int:
    """An unregistered sender's mail (another new sender each time unless `sender` is given), with
    the unit guessed from the package (`guess`) or named by her in her reply (`claim`); its
    submission id. One sender's mails all count for the unit she is last named or guessed for."""
    key = uuid.uuid4().hex
    sender = sender or f"stranger-{key[:8]}@163.com"
    raw, _ = store.raw.put(
        f"Message-ID: <{key}@x>\r\nFrom: {sender}\r\nSubject: {subject}\r\n\r\nx".encode(),
        source="cli",
        received_at=at,
    )
    summary: dict = {"unit_guess": guess}
    if claim is not None:
        summary["claim"] = {"unit": claim, "certain": True, "name": "王芳", "phone": None}
    row, _ = store.submissions.add(raw.id, unit_name=None, arrived_at=at, summary=summary)
    store.raw.mark(raw.id, RawState.DONE)
    assert row.id is not None
    return row.id
