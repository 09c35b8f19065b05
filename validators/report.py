"""The dossier as a clerk reads it: per nominee, what is wrong, the measured value, how to fix it.

One text renderer for the terminal report of `nomdesk check`; replies, bot answers and
digests build on the same grouping (`validators.checklist.group_findings`).
"""

from __future__ import annotations

from intake.models import Dossier
from intake.withdrawal import withdrawn_line
from validators.base import SEVERITY_ZH, Finding, Severity, render
from validators.checklist import group_findings

__all__ = ["SEVERITY_MARK", "group_findings", "render_text"]  # group_findings lives in validators.checklist

SEVERITY_MARK = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "·"}


def render_text(dossier: Dossier, findings: list[Finding]) -> str:
    errors = sum(f.severity == Severity.ERROR for f in findings)
    warnings = sum(f.severity == Severity.WARNING for f in findings)
    lines = [
        f"推荐单位：{dossier.unit or '（未能识别）'}",
        f"百姓学习之星 {len(dossier.stars)} 名，终身学习品牌项目 {len(dossier.projects)} 个；"
        f"需修改 {errors} 项，需核实 {warnings} 项。",
        *filter(None, [withdrawn_line(dossier)]),
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
