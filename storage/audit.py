"""The audit log: who decided what, when, about which unit (numbers masked before they are kept).

Writes of the other aggregates add their audit row in their own transaction (`Repo._audit_row`);
this is the log read back, and a decision recorded on its own.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from config.jsonable import to_jsonable
from storage.base import Repo
from storage.tables import AuditLog


class AuditRepo(Repo):
    def record(self, actor: str, action: str, unit_name: str | None = None, **detail: Any) -> None:
        """Record a decision; phone and ID numbers in `detail` are masked before they are stored."""
        with self._session() as s:
            self._audit_row(s, actor, action, unit_name, to_jsonable(detail))

    def entries(self, *, unit_name: str | None = None, action: str | None = None, limit: int = 200) -> list[AuditLog]:
        """Newest first."""
        with self._session() as s:
            query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
            if unit_name is not None:
                query = query.where(AuditLog.unit_name == unit_name)
            if action is not None:
                query = query.where(AuditLog.action == action)
            return list(s.exec(query).all())
