"""The dossier as a clerk reads it: findings grouped under what they are about, and marked.

Grouping is decided by the findings' fields and their rules' metadata (`Finding.nominee`, the
rule's `about`), never by their text, so the terminal report of `nomdesk check`, the reply, the
bot's answer and the reminder all list the same problems under the same headings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from intake.models import NOMINEE_KIND_ZH, Dossier
from intake.withdrawal import withdrawn_line
from validators.base import REGISTRY, SEVERITY_ORDER, About, Finding, Severity, label_of, render

SEVERITY_MARK = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "·"}
GENERAL = "整体情况"  # the heading of the unit's own findings
FILES = "附件"  # the heading of the findings about files meant for no nominee


@dataclass
class FindingGroup:
    """Findings under one heading. Callers tell groups apart by `about` (the unit, a nominee, the
    files), never by the heading's words."""

    about: About
    heading: str
    findings: list[Finding]

    def __iter__(self) -> Iterator[str | list[Finding]]:
        """A group unpacks as the (heading, findings) pair a report prints."""
        return iter((self.heading, self.findings))


def about(finding: Finding) -> About:
    """What the finding is about, by its rule (a code no longer registered: the unit)."""
    r = REGISTRY.find(finding.code)
    return r.about if r else "unit"


def is_file_finding(finding: Finding) -> bool:
    """About a file of the package (unreadable, unmatched, a link to fetch...), not the unit's own."""
    return about(finding) == "file"


def group_findings(dossier: Dossier, findings: list[Finding]) -> list[FindingGroup]:
    """Findings grouped under a heading: the unit first, then each star and project, then files.

    A finding about a nominee (a file meant for one included) goes under that nominee; one about
    no nominee goes under 附件 when its rule is about a file, else under the unit as a whole."""
    by_nominee: dict[str | None, list[Finding]] = defaultdict(list)
    for f in findings:
        by_nominee[f.nominee].append(f)
    unowned = by_nominee.pop(None, [])
    general = [f for f in unowned if not is_file_finding(f)]
    files = [f for f in unowned if is_file_finding(f)]
    groups: list[FindingGroup] = []
    if general:
        groups.append(FindingGroup("unit", GENERAL, general))
    for kind, entries in (("star", dossier.stars), ("project", dossier.projects)):
        for entry in entries:
            mark = "（典范）" if entry.exemplar else ""
            heading = f"{NOMINEE_KIND_ZH[kind]} {entry.name}{mark}"
            groups.append(FindingGroup("nominee", heading, by_nominee.pop(entry.name, [])))
    for name, rest in by_nominee.items():  # nominees the dossier lists under another spelling
        groups.append(FindingGroup("nominee", str(name), rest))
    if files:
        groups.append(FindingGroup("file", FILES, files))
    for group in groups:
        group.findings.sort(key=lambda f: SEVERITY_ORDER[f.severity])
    return groups


def render_text(dossier: Dossier, findings: list[Finding], check_error: str | None = None) -> str:
    """The terminal report of `nomdesk check`: counts, then each group's findings with their fixes.
    `check_error`: the rules that raised; then nothing is called complete (their silence proves nothing)."""
    errors = sum(f.severity == Severity.ERROR for f in findings)
    warnings = sum(f.severity == Severity.WARNING for f in findings)
    lines = [
        f"推荐单位：{dossier.unit or '（未能识别）'}",
        f"百姓学习之星 {len(dossier.stars)} 名，终身学习品牌项目 {len(dossier.projects)} 个；"
        f"需修改 {errors} 项，需核实 {warnings} 项。",
        *filter(None, [withdrawn_line(dossier)]),
        *([f"检查未完成：{check_error}，以下结果不完整，需人工核查。"] if check_error else []),
        "",
    ]
    for heading, items in group_findings(dossier, findings):
        if not items:
            lines.append(f"？ {heading}：检查未完成，需人工核查" if check_error else f"✓ {heading}：材料齐全，符合要求")
            continue
        lines.append(f"■ {heading}")
        for f in items:
            message, hint = render(f)
            lines.append(f"  {SEVERITY_MARK[f.severity]} [{label_of(f)}] {message}")
            if hint:
                lines.append(f"      修改建议：{hint}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
