"""What a check of one dossier comes to: the dossier, its findings, the rules that could not
finish, and where the desk kept them.

Here, beside the rules, because every floor above hands it on: `nomdesk check` prints it, the
desk's pipeline makes it, and the reply policy (notify) and the WeCom answer describe it.

A rule that raised (`RuleError`) makes the check *incomplete*: its silence is no evidence that the
package is fine, so an incomplete check is never "材料齐全" (issue 13).
"""

from __future__ import annotations

from pydantic import BaseModel

from config.masking import mask_text
from intake.models import Dossier
from validators.base import Finding

RULE_ERROR_MAX_CHARS = 300  # of one rule's error text: enough to find the bug, short enough for a notice


class RuleError(BaseModel):
    """A rule that raised instead of judging: its code and the error, masked (an exception's text may
    quote a field of the dossier, an ID or phone number among them)."""

    code: str
    error: str

    @classmethod
    def of(cls, code: str, exc: BaseException) -> RuleError:
        return cls(code=code, error=mask_text(f"{type(exc).__name__}: {exc}")[:RULE_ERROR_MAX_CHARS])

    def __str__(self) -> str:
        return f"规则 {self.code} 出错（{self.error}）"


def describe_rule_errors(errors: list[RuleError]) -> str | None:
    """The one line the office reads (and the desk stores as the evaluation's `check_error`); None: none."""
    return "；".join(str(e) for e in errors) or None


class CheckResult(BaseModel):
    dossier: Dossier
    findings: list[Finding]
    # Rules that raised: what they would have found is unknown, so the check did not finish.
    rule_errors: list[RuleError] = []
    unreadable: list[tuple[str, str]] = []  # (path, reason) of inputs that could not be read at all
    # The service: the evaluation kept (its version), and each raw message's submission in the dossier
    # (a WeCom run of files is one submission), for the receipt.
    version: int | None = None
    raw_index: dict[int, int] = {}

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    @property
    def incomplete(self) -> bool:
        """A rule could not finish: the findings are not the whole answer and never a pass."""
        return bool(self.rule_errors)

    @property
    def check_error(self) -> str | None:
        return describe_rule_errors(self.rule_errors)
