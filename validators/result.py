"""What a check of one dossier comes to: the dossier, its findings, and where the desk kept them.

Here, beside the rules, because every floor above hands it on: `nomdesk check` prints it, the
desk's pipeline makes it, and the reply policy (notify) and the WeCom answer describe it.
"""

from __future__ import annotations

from pydantic import BaseModel

from intake.models import Dossier
from validators.base import Finding


class CheckResult(BaseModel):
    dossier: Dossier
    findings: list[Finding]
    unreadable: list[tuple[str, str]] = []  # (path, reason) of inputs that could not be read at all
    # The service: the evaluation kept (its version), and each raw message's submission in the dossier
    # (a WeCom run of files is one submission), for the receipt.
    version: int | None = None
    raw_index: dict[int, int] = {}

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)
