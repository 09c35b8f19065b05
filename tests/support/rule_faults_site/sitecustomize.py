"""Breaks rules in a real `nomdesk` process (see tests/support/rule_faults.py): the rules named in
NOMDESK_TEST_BREAK_RULES (comma-separated, "*" for all) raise. No hook in the desk's own code."""

from __future__ import annotations

import os

_wanted = os.environ.get("NOMDESK_TEST_BREAK_RULES", "")
if _wanted:
    from tests.support.rule_faults import raising
    from validators import REGISTRY

    for _rule in REGISTRY:
        if _wanted == "*" or _rule.code in _wanted.split(","):
            _rule.check = raising(_rule.code)  # type: ignore[method-assign]
