"""What one submission did, as the receipt's lines say it: where each file went, what was replaced,
added, removed, withdrawn or set aside (RULES.md "Resubmissions: nothing a unit sent disappears
unnamed"). notify.compose puts these lines at the head of a receipt."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

from intake.models import ITEM_PHOTOS, Change, ChangeAction, Outcome, Placement, SubmissionLog
from validators.checklist import ITEM_ZH, KIND_ZH, SCAN_READ, STAMPED_SCAN

UNPLACED_DEFAULT = "文件名或文件夹名中没有推荐对象的姓名"


def file_name(path: str) -> str:
    return PurePosixPath(path).name or path


def display_paths(paths: Sequence[str]) -> dict[str, str]:
    """Each path as short as it can be and still tell it from the others: its file name, else as
    many of its last folders as it takes ("乔长林/照片1.jpg"), never the archive's long prefix."""
    parts = {p: [x for x in p.split("/") if x] or [p] for p in paths}
    out: dict[str, str] = {}
    for path, names in parts.items():
        for k in range(1, len(names) + 1):
            tail = names[-k:]
            if sum(1 for other in parts.values() if other[-k:] == tail) == 1 or k == len(names):
                out[path] = "/".join(tail)
                break
    return out


def unit_document_kind(path: str) -> str:
    name = file_name(path)
    if "目录" in name or "清单" in name:
        return "材料清单"
    if "报送函" in name:
        return "报送函"
    if "函" in name:
        return "推荐函"
    if "说明" in name:
        return "说明"
    if any(word in name for word in ("登记表", "汇总表", "附表")):
        return "登记表扫描件"
    return "单位文件"


def where_filed(p: Placement) -> str:
    """Where one file went, as the unit reads it: "张三 照片（新增）", "单位文件（推荐函）"."""
    who = p.nominee or ""
    item = ITEM_ZH.get(p.item or "", "")
    what = f"{who} {item}".strip() if item else f"{who} 的材料"
    if p.scan and p.outcome in (Outcome.FILED, Outcome.REPLACED):
        if not item:  # beside the Word form, which stays the form
            return f"{who} {STAMPED_SCAN}"
        what = f"{what} {SCAN_READ}"
    if p.outcome == Outcome.FILED:
        return what
    if p.outcome == Outcome.ADDED:
        return f"{what}（新增）"
    if p.outcome == Outcome.REPLACED:
        if p.item == ITEM_PHOTOS and not p.replaced:  # one of a complete new set: "搁置" names the old set
            return f"{what}（整套更换）"
        if p.item == ITEM_PHOTOS and all(file_name(r) == file_name(p.path) for r in p.replaced):
            return f"{what}（替换同名照片）"
        old = "、".join(file_name(r) for r in p.replaced)
        return f"{what}（替换原{item or '文件'}" + (f" {old}" if old else "") + "）"
    if p.outcome == Outcome.SAME:
        return "与已收文件相同，未重复计入"
    if p.outcome == Outcome.REGISTER:
        return "推荐登记表（已按推荐对象逐条合并）"
    if p.outcome == Outcome.UNIT_DOCUMENT:
        return f"单位文件（{unit_document_kind(p.path)}）"
    if p.outcome == Outcome.WITHDRAWN_NOMINEE:
        return f"{who}（已撤回）：文件已保存，但不计入"
    if p.outcome == Outcome.UNPLACED:
        return f"未能归属（{p.reason or UNPLACED_DEFAULT}）"
    if p.outcome == Outcome.VOLUME:  # "分卷压缩包 材料.7z 的第 1 卷（共 2 卷），等待 材料.7z.002"
        return p.reason or "分卷压缩包的一卷"
    # UNUSABLE: its file finding says why, in the problems below
    reason = f"{p.reason}，" if p.reason else ""
    return (f"{what}：" if p.nominee else "") + f"无法使用（{reason}见下方问题）"


def nominee_label(kind: str | None, name: str | None) -> str:
    return f"{KIND_ZH.get(kind or '', '')} {name or ''}".strip()


def change_lines(log: SubmissionLog) -> list[str]:
    """What the submission changed: replaced, added, withdrawn, set aside, left out of a table."""
    lines: list[str] = []
    # A nominee's item once, however many of its files replaced (a set of photos); a new set's photos
    # replaced nothing by name: its "搁置" line says what they took the place of.
    # A file put in the place of one the same record took out has a line of its own (`_removal_line`).
    took_place = {c.replaced_by for c in log.changes if c.action == ChangeAction.REMOVED and c.replaced_by}
    replaced = dict.fromkeys(
        f"{p.nominee} {ITEM_ZH.get(p.item or '', '文件')}"
        for p in log.placements
        if p.outcome == Outcome.REPLACED and (p.replaced or p.item != ITEM_PHOTOS) and p.path not in took_place
    )
    if replaced:
        lines.append("替换：" + "、".join(replaced))
    added: dict[str, int] = {}
    for p in log.placements:
        if p.outcome == Outcome.ADDED and p.nominee:
            added[p.nominee] = added.get(p.nominee, 0) + 1
    if added:
        lines.append("新增：" + "、".join(f"{name} 照片 {n} 张" for name, n in added.items()))
    for action, title in ((ChangeAction.NOMINATED, "新增推荐对象"), (ChangeAction.ROW_UPDATED, "登记信息已更新")):
        by_kind: dict[str, list[str]] = {}
        for c in log.changes:
            if c.action == action and c.nominee:
                by_kind.setdefault(KIND_ZH.get(c.nominee_kind or "", ""), []).append(c.nominee)
        if by_kind:
            lines.append(f"{title}：" + "；".join(f"{k} {'、'.join(names)}".strip() for k, names in by_kind.items()))
    for c in log.changes:
        who = nominee_label(c.nominee_kind, c.nominee)
        if c.action in (ChangeAction.NOMINATED, ChangeAction.ROW_UPDATED):
            continue
        elif c.action == ChangeAction.SET_ASIDE:
            names = "、".join(file_name(p) for p in c.paths)
            lines.append(f"搁置：{c.nominee} 原有照片 {names}（本次报送了整套新照片，原照片仍保存，不再计入）")
        elif c.action == ChangeAction.WITHDRAWN:
            lines.append(f"已撤回：{who}（材料仍保留）")
        elif c.action == ChangeAction.RESTORED:
            lines.append(f"已恢复：{who}")
        elif c.action == ChangeAction.WITHDRAWN_LISTED:
            lines.append(f"登记表中列出的{who}此前已撤回，本次未计入；如需恢复请联系省办公室")
        elif c.action == ChangeAction.WITHDRAW_UNKNOWN:
            lines.append(f"未能撤回“{c.nominee}”：已推荐对象中没有这个姓名或项目名称，请核对后重新发送")
        elif c.action == ChangeAction.OMITTED:
            names = "、".join(c.names or ([c.nominee] if c.nominee else []))
            lines.append(
                f"最新登记表未列出：{names}，仍按已推荐处理；"
                "如确实不再推荐，请在邮件主题或正文第一行写“撤回 姓名”（项目写项目名称）"
            )
        elif c.action in (ChangeAction.REMOVED, ChangeAction.REMOVE_UNKNOWN):
            lines.append(removal_line(c))
    return lines


REMOVED_WHERE_ZH = {"unit_document": "单位文件", "unplaced": "未归属文件"}


def removal_line(c: Change) -> str:
    """ "已删除：张三 照片 a.jpg（文件仍保存在系统中）", "替换：张三 照片 a.jpg → b.jpg（…）", or why not."""
    old = "、".join(file_name(p) for p in c.paths)
    if c.action == ChangeAction.REMOVE_UNKNOWN:
        return f"未删除 {old}：该文件已不在当前材料中（可能已被替换或删除）"
    what = REMOVED_WHERE_ZH.get(c.where or "", "文件")
    if c.nominee:
        what = f"{c.nominee} {ITEM_ZH.get(c.item or '', '文件')}"
    if c.replaced_by:
        return f"替换：{what} {old} → {file_name(c.replaced_by)}（原文件仍保存在系统中，不再计入）"
    return f"已删除：{what} {old}（文件仍保存在系统中）"
