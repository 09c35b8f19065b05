"""Withdrawing and restoring a nominee as a submission of its own.

The office (dashboard, CLI) and a unit contact in WeCom act through `Desk.withdraw` and
`Desk.restore`. Each action is kept as a raw message the desk itself writes (source
"office"), carrying the action in headers, so the merge replays it in arrival order with
the unit's mails (RULES.md "Resubmissions"), the raw store keeps a record of it, and the
nominee's files stay where they are. Only such a record may restore: a unit's mail saying
"恢复 张三" is read as nothing, and headers a unit's mail carries are never looked at.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from email.message import EmailMessage, Message

from intake.models import NOMINEE_KIND_ZH, Dossier, Submission
from intake.withdrawal import find_nominee, find_withdrawn, roster_zh
from storage.tables import RawMessageRecord

ACTION_HEADER = "X-Nomdesk-Action"  # "withdraw" or "restore"
NOMINEE_HEADER = "X-Nomdesk-Nominee"  # one header per nominee, as the dossier spells the name
ACTOR_HEADER = "X-Nomdesk-Actor"  # "office:<username>" or "wecom:<userid>"
WITHDRAW, RESTORE = "withdraw", "restore"
VERB_ZH = {WITHDRAW: "撤回", RESTORE: "恢复"}
AUDIT_ACTION = {WITHDRAW: "nominee.withdrawn", RESTORE: "nominee.restored"}
RESTORE_OFFICE_ONLY = "恢复已撤回的推荐对象只能由省级办公室在工作台或命令行操作"


@dataclass(frozen=True)
class NomineeAction:
    """What an office action queued: its raw message, and the nominee as the dossier names it."""

    record: RawMessageRecord
    action: str  # WITHDRAW or RESTORE
    name: str
    kind: str  # "star" or "project"

    @property
    def label(self) -> str:
        """ "百姓学习之星 张三": how a confirmation names the nominee."""
        return f"{NOMINEE_KIND_ZH[self.kind]} {self.name}"


def actor_label(actor: str) -> str:
    """Who acted, as the audit log and `Withdrawn.by` name them: a bare username is an office user."""
    actor = actor.strip()
    return actor if actor.startswith(("office:", "wecom:")) else f"office:{actor or 'unknown'}"


def is_office_actor(actor: str) -> bool:
    return actor_label(actor).startswith("office:")


def withdraw_target(unit: str, dossier: Dossier, name: str) -> tuple[str, str]:
    """(kind, name) of the current nominee `name` means, or a ValueError saying in Chinese why not."""
    found = find_nominee(dossier, name)
    if found is not None:
        return found
    gone = find_withdrawn(dossier, name)
    if gone is not None:
        raise ValueError(f"{unit} 的{NOMINEE_KIND_ZH[gone.kind]} {gone.name} 已撤回，无需重复操作")
    raise ValueError(f"{unit} 当前的推荐对象中没有“{name}”。现有推荐对象：{roster_zh(dossier)}")


def restore_target(unit: str, dossier: Dossier, name: str) -> tuple[str, str]:
    """(kind, name) of the withdrawn nominee `name` means, or a ValueError saying in Chinese why not."""
    gone = find_withdrawn(dossier, name)
    if gone is not None:
        return gone.kind, gone.name
    current = find_nominee(dossier, name)
    if current is not None:
        raise ValueError(f"{unit} 的{NOMINEE_KIND_ZH[current[0]]} {current[1]} 没有撤回，仍在推荐名单中，无需恢复")
    withdrawn = "、".join(w.name for w in dossier.withdrawn) or "（无）"
    raise ValueError(f"{unit} 没有已撤回的“{name}”。已撤回的推荐对象：{withdrawn}")


def action_mail(
    *,
    unit: str,
    action: str,
    kind: str,
    name: str,
    actor: str,
    mail_from: str,
    domain: str,
    now: dt.datetime,
) -> bytes:
    """The raw message an action is kept as: the headers say what, the text says it for a person."""
    name = " ".join(name.split())  # a header holds one line
    verb = VERB_ZH[action]
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = mail_from
    msg["Subject"] = f"{'企业微信' if actor.startswith('wecom:') else '办公室'}{verb}：{NOMINEE_KIND_ZH[kind]} {name}"
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = email.utils.make_msgid(domain=domain)
    msg[ACTION_HEADER] = action
    msg[NOMINEE_HEADER] = name
    msg[ACTOR_HEADER] = actor
    msg.set_content(
        f"{actor} {verb}了 {unit} 的{NOMINEE_KIND_ZH[kind]} {name}。\n该推荐对象已收到的材料仍完整保存。\n",
        cte="base64",
    )
    return msg.as_bytes()


def take_actions(submission: Submission, headers: Message | None, *, words_count: bool = True) -> None:
    """Who may withdraw or restore through a record: `headers` are those of a record the desk wrote
    itself (an office record), None for everything else. A unit's own mail withdraws by its words
    (read at intake, `words_count`) and never restores; a WeCom file carries files only (withdrawing
    in WeCom asks to confirm and then comes as an office record)."""
    if headers is None:
        if not words_count:
            submission.withdraw = []
        submission.restore = []
        submission.actor = None
        return
    action = str(headers.get(ACTION_HEADER) or "").strip().lower()
    names = [" ".join(str(v).split()) for v in headers.get_all(NOMINEE_HEADER) or []]
    names = [n for n in names if n]
    submission.withdraw = names if action == WITHDRAW else []
    submission.restore = names if action == RESTORE else []
    actor = str(headers.get(ACTOR_HEADER) or "").strip()
    submission.actor = actor_label(actor) if actor else None
