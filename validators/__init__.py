"""Validators: one rule object per finding code of RULES.md, all in one registry, and what is
read off their findings.

- `base`: `Rule`, `Finding` and the one `Registry`, which refuses a second rule for a code. A rule
  declares on its class what the reply, the bot and the dashboard need to know of its findings:
  `about` (a nominee, the unit or a file), `item` (the checklist item), `reason_zh` and
  `unusable_zh` (words for a ✗ item), `defers_to` (the codes that judge in its stead; applied in
  one place, `Rule.judged`).
- `rules/`: the rules, one module per scope (star, project, exemplar, unit, files), one class per
  code; `rules.common` holds the subjects and field readers they share.
- `checklist`: a nominee's checklist row and its marks; what changed between two evaluations.
- `report`: findings grouped by what they are about, the severity marks, and the text report of
  `nomdesk check`.
- `measure`: photos and videos measured against a spec, the measurement said in Chinese.
- `requirements`: the call's requirements in the words units know them (the 清单, the hints).

`check_dossier` is the one entry point of the desk and `nomdesk check`: every registered rule over
one merged dossier, findings sorted by severity, then subject, and every rule that raised as a
`RuleError` beside them (so one bug never withholds the rest of a unit's reply, and never reads as
a pass either: a check with a failed rule is incomplete). `run_rules` gives the findings alone and
is strict by default: a rule that raises raises, so a test asserting "no findings" cannot pass on
a crash. Rules only report (code + params); the Chinese text comes from each rule's templates
(`render`, `finding_to_json`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from config.campaign import Campaign
from config.jsonable import to_jsonable
from intake.models import Dossier
from validators import rules as _rules  # noqa: F401  (registers every rule)
from validators.base import REGISTRY, SEVERITY_ORDER, Finding, Registry, Rule, Severity, render, rule
from validators.result import RuleError
from validators.rules.exemplar import is_exemplar_mark

log = logging.getLogger(__name__)

__all__ = [
    "REGISTRY",
    "Finding",
    "Rule",
    "RuleError",
    "RuleRun",
    "Severity",
    "check_dossier",
    "finding_to_json",
    "is_exemplar_mark",
    "render",
    "rule",
    "run_rules",
    "sort_findings",
]


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.subject, f.code))


@dataclass
class RuleRun:
    """Every rule's findings, and the rules that raised instead of judging (`failures`)."""

    findings: list[Finding] = field(default_factory=list)
    failures: list[RuleError] = field(default_factory=list)

    @property
    def incomplete(self) -> bool:
        """A rule could not judge: no finding of its code means nothing, so this is no pass."""
        return bool(self.failures)


def check_dossier(dossier: Dossier, campaign: Campaign, *, registry: Registry = REGISTRY) -> RuleRun:
    """Every rule over the dossier. A rule that raises is logged and its error kept in `failures`:
    the other rules still report (one bug never withholds the rest of a unit's reply), and the
    caller says the check is incomplete instead of calling the package complete."""
    run = RuleRun()
    for r in registry:
        try:
            run.findings.extend(r.check(dossier, campaign))
        except Exception as exc:
            log.exception("rule %s failed on the dossier of %s", r.code, dossier.unit)
            run.failures.append(RuleError.of(r.code, exc))
    run.findings = sort_findings(run.findings)
    return run


def run_rules(
    dossier: Dossier, campaign: Campaign, *, strict: bool = True, registry: Registry = REGISTRY
) -> list[Finding]:
    """The findings of every rule. Strict by default: a rule that raises raises, so "no findings"
    is never a crash. `strict=False` logs and skips it, for a caller that only measures (a bench);
    anything that tells a unit or the office where it stands uses `check_dossier`."""
    if not strict:
        return check_dossier(dossier, campaign, registry=registry).findings
    findings: list[Finding] = []
    for r in registry:
        findings.extend(r.check(dossier, campaign))
    return sort_findings(findings)


def finding_to_json(f: Finding) -> dict[str, Any]:
    """The finding as DESIGN.md's JSON shows it; evidence holds the evidence and the params."""
    message, hint = render(f)
    evidence = {**to_jsonable(f.params), **to_jsonable(f.evidence)}
    if f.nominee is not None:
        evidence.setdefault("nominee", f.nominee)
    return {
        "code": f.code,
        "severity": f.severity.value,
        "subject": f.subject,
        "message_zh": message,
        "hint_zh": hint,
        "evidence": evidence,
    }
