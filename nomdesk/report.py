"""The dossier as a clerk reads it: per nominee, what is wrong, the measured value, how to fix it.

One text renderer for the terminal report of `nomdesk check`; replies, bot answers and
digests build on the same grouping (`group_findings`).
"""

from __future__ import annotations

from collections import defaultdict

from intake.models import Dossier
from validators.base import SEVERITY_ORDER, SEVERITY_ZH, Finding, Severity, render

SEVERITY_MARK = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "·"}


def group_findings(dossier: Dossier, findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    """Findings grouped under a heading: the unit first, then each star and project, then files."""
    by_nominee: dict[str | None, list[Finding]] = defaultdict(list)
    for f in findings:
        by_nominee[f.nominee].append(f)
    groups: list[tuple[str, list[Finding]]] = []
    general = [f for f in by_nominee.pop(None, []) if not f.subject.startswith("附件")]
    files = [f for f in findings if f.nominee is None and f.subject.startswith("附件")]
    if general:
        groups.append(("整体情况", general))
    for star in dossier.stars:
        mark = "（典范）" if star.exemplar else ""
        groups.append((f"百姓学习之星 {star.name}{mark}", by_nominee.pop(star.name, [])))
    for project in dossier.projects:
        mark = "（典范）" if project.exemplar else ""
        groups.append((f"终身学习品牌项目 {project.name}{mark}", by_nominee.pop(project.name, [])))
    for name, rest in by_nominee.items():  # nominees the dossier lists under another spelling
        groups.append((str(name), rest))
    if files:
        groups.append(("附件", files))
    for _, items in groups:
        items.sort(key=lambda f: SEVERITY_ORDER[f.severity])
    return groups


def render_text(dossier: Dossier, findings: list[Finding]) -> str:
    errors = sum(f.severity == Severity.ERROR for f in findings)
    warnings = sum(f.severity == Severity.WARNING for f in findings)
    lines = [
        f"推荐单位：{dossier.unit or '（未能识别）'}",
        f"百姓学习之星 {len(dossier.stars)} 名，终身学习品牌项目 {len(dossier.projects)} 个；"
        f"需修改 {errors} 项，需核实 {warnings} 项。",
        "",
    ]
    for heading, items in group_findings(dossier, findings):
        if not items:
            lines.append(f"✓ {heading}：材料齐全，符合要求")
            continue
        lines.append(f"■ {heading}")
        for f in items:
            message, hint = render(f)
            lines.append(f"  {SEVERITY_MARK[f.severity]} [{SEVERITY_ZH[f.severity]}] {message}")
            if hint:
                lines.append(f"      修改建议：{hint}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
