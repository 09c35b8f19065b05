"""The office's answers about all units (汇总, 未交), read from storage's overview.

Kept apart from bot/answers.py, whose answers are about one unit, and which a contact may ask.
"""

from __future__ import annotations

from storage.models import waiting_note, waiting_total
from storage.repo import Store


def campaign_summary(store: Store, name: str, deadline: str) -> str:
    """The campaign at a glance for the office (汇总): units by state, nominees, paper, the queue."""
    rows = [r for r in store.overview.units() if r.known]
    submitted = [r for r in rows if r.submissions]
    failed = [r for r in submitted if r.check_error]  # a rule raised: neither complete nor known not to be
    complete = [r for r in submitted if not r.errors and not r.check_error]
    paper = [r for r in rows if r.paper_received]
    stars = sum(r.stars for r in rows)
    projects = sum(r.projects for r in rows)
    waiting = store.submissions.waiting_by_unit().total()
    return "\n".join(
        [
            name,
            f"单位 {len(rows)} 个：已报送 {len(submitted)}，材料齐全 {len(complete)}，"
            f"有待修改 {len(submitted) - len(complete) - len(failed)}，未报送 {len(rows) - len(submitted)}"
            + (f"，检查未完成 {len(failed)}（{'、'.join(r.name for r in failed)}，需人工核查）" if failed else ""),
            f"百姓学习之星 {stars} 名，品牌项目 {projects} 个",
            f"纸质材料已收 {len(paper)} 个单位",
            waiting_total(waiting),
            deadline,
        ]
    )


def units_pending(store: Store) -> str:
    """The units the office must chase (未交): checks that failed, open errors, nothing sent, by name."""
    rows = [r for r in store.overview.units() if r.known]
    waiting = store.submissions.waiting_by_unit()

    def name(unit: str, more: str = "") -> str:
        notes = [more] if more else []
        if waiting[unit]:
            notes.append(waiting_note(waiting[unit]))
        return unit + (f"（{'，'.join(notes)}）" if notes else "")

    nothing = [name(r.name) for r in rows if not r.submissions]
    errors = [name(r.name, f"{r.errors}项") for r in rows if r.submissions and r.errors and not r.check_error]
    failed = [f"{r.name}（{r.check_error}）" for r in rows if r.submissions and r.check_error]
    lines = []
    if failed:
        lines.append(f"检查未完成，需人工核查（{len(failed)}）：" + "、".join(failed))
    if errors:
        lines.append(f"有待修改（{len(errors)}）：" + "、".join(errors))
    if nothing:
        lines.append(f"未报送（{len(nothing)}）：" + "、".join(nothing))
    total = waiting.total()
    if total:
        lines.append(waiting_total(total))
    return "\n".join(lines) or "所有单位均已报送且材料齐全。"
