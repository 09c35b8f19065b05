"""Rules, findings and the one registry.

A rule only reports: it takes a dossier and the campaign and returns findings as code +
parameters. What to do about them (reply, remind, block) is decided elsewhere, and the
Chinese text is rendered from the rule's templates where a reply or report is written.
Rules are pure: no database, no network, no clock (the dossier carries the times).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from config.campaign import Campaign
from intake.models import Dossier, ProjectEntry, StarEntry


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
SEVERITY_ZH = {Severity.ERROR: "必须修改", Severity.WARNING: "请核实", Severity.INFO: "提示"}

# What a rule's findings are about: a nominee (an item of theirs or the whole of them), the unit
# (its quotas, its mails, its tables), or a file of the package meant for no item in particular.
About = Literal["nominee", "unit", "file"]
E = TypeVar("E", StarEntry, ProjectEntry)


class Finding(BaseModel):
    """What a rule found: stable code, parameters, and where it points. No prose is stored."""

    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity
    subject: str  # "百姓学习之星 张三", "终身学习品牌项目 “书香南关”…", "附件 视频.mp4", "推荐单位 …"
    params: dict[str, Any] = Field(default_factory=dict)
    evidence: dict[str, Any] = Field(default_factory=dict)
    nominee: str | None = None  # the star's or project's name, for grouping
    item: str | None = None  # which item of the nominee's checklist it speaks about (intake.models.ITEMS)


class Rule:
    """One finding code: its default severity, its Chinese message and hint, and its check.

    What the reply, the bot and the dashboard need to know about a rule's findings is declared
    here on the class (`about`, `item`, `reason_zh`, `unusable_zh`, `defers_to`), so none of them
    ever guesses it from the message text or keeps a table of codes of its own.
    """

    code: ClassVar[str]
    severity: ClassVar[Severity]
    title_zh: ClassVar[str]  # a short name for the rule, for checklists and digests
    message_zh: ClassVar[str]  # str.format template over the finding's params
    hint_zh: ClassVar[str]  # how to fix it, same template rules
    about: ClassVar[About] = "unit"  # what its findings are about; a report groups them by it
    # The checklist item its findings belong to (intake.models.ITEMS), None for the unit's or a
    # file's own; checklists and replies read this, never the message text.
    item: ClassVar[str | None] = None
    # Why the item is ✗ when the item's label does not already say it ("必填项未填"); None: the title.
    reason_zh: ClassVar[str | None] = None
    # For a file rule: what its finding says of a file meant for a nominee's item ("视频 无法打开✗");
    # None for a rule whose findings leave the file usable.
    unusable_zh: ClassVar[str | None] = None
    # The codes that judge, in this rule's stead, the nominees they claim (`claims`): an exemplar's
    # photos are EXEMPLAR_PHOTOS' to count, a name's second copy is DUPLICATE_NOMINEE's to report.
    # Declared here rather than as early returns in `check`, and applied in one place (`judged`).
    defers_to: ClassVar[frozenset[str]] = frozenset()
    # The bracketed label a reply shows before the message, when the severity's word ("请核实") would
    # misname it: a late mail is "截止后收到", nothing for the unit to verify. None: the severity's.
    label_zh: ClassVar[str | None] = None

    def check(self, dossier: Dossier, campaign: Campaign) -> Iterable[Finding]:
        raise NotImplementedError

    def claims(self, entry: StarEntry | ProjectEntry, dossier: Dossier) -> bool:
        """Whether this rule judges the nominee in the stead of the rules that defer to it."""
        return False

    def judged(self, entries: list[E], dossier: Dossier) -> list[E]:
        """The nominees this rule judges: those no code of its `defers_to` claims."""
        claimants = [REGISTRY.get(code) for code in self.defers_to]
        return [e for e in entries if not any(c.claims(e, dossier) for c in claimants)]

    def finding(
        self,
        subject: str,
        *,
        severity: Severity | None = None,
        nominee: str | None = None,
        item: str | None = None,
        evidence: dict[str, Any] | None = None,
        **params: Any,
    ) -> Finding:
        return Finding(
            code=self.code,
            severity=severity or self.severity,
            subject=subject,
            params=params,
            evidence=evidence or {},
            nominee=nominee,
            item=item or (self.item if nominee is not None else None),
        )

    @classmethod
    def template_fields(cls) -> set[str]:
        names: set[str] = set()
        for template in (cls.message_zh, cls.hint_zh):
            for _, name, _, _ in string.Formatter().parse(template):
                if name:
                    names.add(name.split(".")[0].split("[")[0])
        return names


class DuplicateRuleError(Exception):
    pass


class Registry:
    """The one place rules are registered; a second rule with the same code is refused."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def register(self, cls: type[Rule]) -> type[Rule]:
        code = cls.code
        if code in self._rules:
            raise DuplicateRuleError(f"finding code {code} is registered twice")
        for attr in ("severity", "title_zh", "message_zh", "hint_zh"):
            if not hasattr(cls, attr):
                raise TypeError(f"rule {code} lacks {attr}")
        self._rules[code] = cls()
        return cls

    def __iter__(self):
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, code: object) -> bool:
        return code in self._rules

    def get(self, code: str) -> Rule:
        return self._rules[code]

    def find(self, code: str) -> Rule | None:
        """The rule of a code, None for one not registered (a stored finding of an older version)."""
        return self._rules.get(code)

    def codes(self) -> list[str]:
        return list(self._rules)


REGISTRY = Registry()


def rule(cls: type[Rule]) -> type[Rule]:
    """Class decorator: register a rule in the one registry."""
    return REGISTRY.register(cls)


def render(finding: Finding) -> tuple[str, str]:
    """The Chinese message and hint of a finding, from its rule's templates."""
    r = REGISTRY.get(finding.code)
    params = _SafeParams(finding.params)
    return r.message_zh.format_map(params), r.hint_zh.format_map(params)


def label_of(finding: Finding) -> str:
    """The label a finding is shown under: its rule's `label_zh`, else its severity's word."""
    r = REGISTRY.find(finding.code)
    return (r.label_zh if r else None) or SEVERITY_ZH[finding.severity]


class _SafeParams(dict):
    def __missing__(self, key: str) -> str:
        return "？"


RuleCheck = Callable[[Dossier, Campaign], Iterable[Finding]]
