"""What a unit must fix, as blocks of lines for phone screens (bot/paging.py cuts them).

A block is a finding and its fix (they must stay together), or a heading with its first finding.
Findings of one kind repeat: a package of loose photos gives 17 FILE_UNMATCHED lines that differ
only by file name. Past FOLD_KEEP, findings of one code are folded into one line; which codes
fold into a list of their own (a reply such as 「未归属」) is declared here by code, and any other
code repeated past FOLD_AT is folded and its remaining lines are moved to the end of the answer,
so the first screen keeps the count and the first items of each kind. Never by the message text.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bot.wording import simplified
from intake.models import Dossier
from intake.names import fold, project_keys, star_keys
from validators.base import REGISTRY, SEVERITY_ZH, Finding, Severity, render
from validators.checklist import checklist_rows
from validators.report import SEVERITY_MARK, FindingGroup

FOLD_KEEP = 2  # findings of one code shown in place before the rest are folded
FOLD_AT = 4  # a code repeated this often in a group is folded
UNMATCHED = "FILE_UNMATCHED"
UNATTRIBUTED_WORD = "未归属"
# Codes whose folded findings have a reply of their own that lists them all.
FOLDED_LISTS = {UNMATCHED: "另有 {n} 个文件未能归属，回复「" + UNATTRIBUTED_WORD + "」查看"}


@dataclass
class Blocks:
    """An answer's blocks: `body` in order, `tail` (folded findings of a kind without a list of
    their own) after it, so "更多" reaches every finding."""

    body: list[list[str]]
    tail: list[list[str]]

    def all(self) -> list[list[str]]:
        return self.body + self.tail


def finding_blocks(items: list[Finding], given: set[str] | None = None) -> list[list[str]]:
    """A finding's message and, below it, its fix; a fix already given in `given` is not repeated."""
    given = set() if given is None else given
    blocks: list[list[str]] = []
    for f in items:
        message, hint = render(short_paths(f))
        block = [f"{SEVERITY_MARK[f.severity]} {message}"]
        if hint and hint not in given:
            block.append(f"  修改建议：{hint}")
            given.add(hint)
        blocks.append(block)
    return blocks


def group_blocks(group: FindingGroup, *, fold_kinds: bool = True) -> Blocks:
    """A group's heading and findings as blocks, findings of a much repeated code folded."""
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for f in group.findings:
        by_code[f.code].append(f)
    shown: list[Finding] = []
    folded_lines: list[str] = []
    tail: list[Finding] = []
    for code, items in by_code.items():
        listed = code in FOLDED_LISTS and len(items) > FOLD_KEEP
        if not fold_kinds or not (listed or len(items) >= FOLD_AT):
            shown += items
            continue
        shown += items[:FOLD_KEEP]
        rest = items[FOLD_KEEP:]
        if listed:
            folded_lines.append(FOLDED_LISTS[code].format(n=len(rest)))
        else:
            rule = REGISTRY.find(code)
            title = rule.title_zh if rule else code
            folded_lines.append(f"另有 {len(rest)} 项同类问题（{title}），列在最后，回复「更多」查看")
            tail += rest
    given: set[str] = set()
    blocks = finding_blocks(shown, given)
    if folded_lines:  # beside the last finding shown, so the count of the rest is read with it
        blocks[-1] = [*blocks[-1], *folded_lines]
    if blocks:
        blocks[0] = [f"【{group.heading}】", *blocks[0]]
    tail_blocks = finding_blocks(tail, given)
    if tail_blocks:
        tail_blocks[0] = [f"【{group.heading}：同类问题（续）】", *tail_blocks[0]]
    return Blocks(blocks, tail_blocks)


def count_line(unit: str, findings: list[Finding]) -> str:
    """What the first screen must say: how many must be fixed and how many checked, and the marks."""
    shown = [f for f in findings if f.severity != Severity.INFO]
    errors = sum(f.severity == Severity.ERROR for f in shown)
    warnings = sum(f.severity == Severity.WARNING for f in shown)
    marks = sorted({f.severity for f in shown}, key=list(Severity).index)
    legend = "，".join(f"{SEVERITY_MARK[s]} {SEVERITY_ZH[s]}" for s in marks)
    return f"{unit}：需修改 {errors} 项，需核实 {warnings} 项" + (f"（{legend}）" if legend else "")


def nominees_in(dossier: Dossier, text: str) -> list[tuple[str, str]]:
    """(kind, name) of the unit's stars and projects whose name (or a project's distinctive part)
    `text` contains, longest match first: "莫婷婷还缺什么", "夕阳红网校的照片"."""
    texts = {fold(text), fold(simplified(text))}  # typed in 繁体, or a name the dossier spells so
    found: list[tuple[int, str, str]] = []
    for kind, entries, keys in (("star", dossier.stars, star_keys), ("project", dossier.projects, project_keys)):
        for entry in entries:
            hits = [k for k in keys(entry.name) if len(k) >= 2 and any(k in t for t in texts)]
            if hits:
                found.append((max(len(k) for k in hits), kind, entry.name))
    found.sort(key=lambda f: -f[0])
    return list(dict.fromkeys((kind, name) for _, kind, name in found))


def nominee_blocks(dossier: Dossier, findings: list[Finding], name: str) -> list[list[str]]:
    """One nominee's checklist row, then what is wrong with it and how to fix it (or that it is complete)."""
    rows = [r for r in checklist_rows(dossier, findings) if r.name == name]
    if not rows:
        return []
    row = rows[0]
    mine = [f for f in row.findings if f.severity != Severity.INFO]
    errors = sum(f.severity == Severity.ERROR for f in mine)
    warnings = sum(f.severity == Severity.WARNING for f in mine)
    if errors:
        state = f"需修改 {errors} 项" + (f"，需核实 {warnings} 项" if warnings else "")
    elif warnings:
        state = f"材料已齐全，另有 {warnings} 项请核实"
    else:
        state = "材料齐全，符合要求"
    head = [f"{row.heading}：{state}。", row.line]
    body = finding_blocks(mine)
    return [head, *body]


def unattributed_blocks(findings: list[Finding]) -> list[list[str]]:
    """Every file no nominee could be found for, one a line, and the fix once."""
    items = [f for f in findings if f.code == UNMATCHED]
    if not items:
        return []
    lines = [f"{n}. {short_paths(f).params.get('file', '')}" for n, f in enumerate(items, 1)]
    hint = render(items[0])[1]
    head = [f"以下 {len(items)} 个文件未能归属到任何推荐对象（已保存，未计入任何人的材料）："]
    return [head, *[[line] for line in lines], [f"修改建议：{hint.rstrip('。')}。"]]


def short_paths(finding: Finding) -> Finding:
    """The finding with its file's path cut to the file's name: "…/池北书苑/宣传视频.mp4" is wider than a
    phone screen and a WeCom message has only 2048 bytes; the name alone tells the contact which file."""
    value = finding.params.get("file")
    path = finding.evidence.get("path") or value  # the text may say more than the path ("…（邮件「…」中）")
    if not isinstance(value, str) or not isinstance(path, str) or "/" not in path or path not in value:
        return finding
    params = {**finding.params, "file": value.replace(path, path.rsplit("/", 1)[-1], 1)}
    return finding.model_copy(update={"params": params})
