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

`run_rules` is the one entry point: every registered rule over one merged dossier,
findings sorted by severity, then subject. Rules only report (code + params); the
Chinese text comes from each rule's templates (`render`, `finding_to_json`).
"""

from __future__ import annotations

import logging
from typing import Any

from config.campaign import Campaign
from config.jsonable import to_jsonable
from intake.models import Dossier
from validators import rules as _rules  # noqa: F401  (registers every rule)
from validators.base import REGISTRY, SEVERITY_ORDER, Finding, Registry, Rule, Severity, render, rule
from validators.rules.exemplar import is_exemplar_mark

log = logging.getLogger(__name__)

__all__ = [
    "REGISTRY",
    "Finding",
    "Rule",
    "Severity",
    "finding_to_json",
    "is_exemplar_mark",
    "render",
    "rule",
    "run_rules",
    "sort_findings",
]


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.subject, f.code))


def run_rules(
    dossier: Dossier, campaign: Campaign, *, strict: bool = False, registry: Registry = REGISTRY
) -> list[Finding]:
    """Every rule over the dossier. A rule that fails is logged and skipped (unless `strict`),
    so one bug never withholds the rest of a unit's reply."""
    findings: list[Finding] = []
    for r in registry:
        try:
            findings.extend(r.check(dossier, campaign))
        except Exception:
            if strict:
                raise
            log.exception("rule %s failed on the dossier of %s", r.code, dossier.unit)
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
