"""How and when a unit's material came, in the words of the bot's answers.

"邮件 2 封、企业微信文件 3 批": a contact who sent files in the chat must never read that they
sent mails, and an office action (a withdrawal, a restoration) brought no file at all. Late
arrivals are summed up in one line however many there were (a contact may send dozens of files).
Kept apart from bot/answers.py, which decides what to answer; this only says how things came.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from intake.models import Dossier, Submission, SubmissionMeta
from intake.withdrawal import VERB_ZH
from storage.repo import Store
from validators.base import Finding, render

LATE = "LATE"  # one finding per late submission: summarised in one line, however many files came late
# How each raw message source is counted: a WeCom file (a run of them is one submission) is no mail.
CHANNEL_ZH = {"wecom": ("企业微信文件", "批"), "office": ("办公室补充文件", "份")}
# A withdrawal or restoration is kept as an office record too, but brought no file: by who acted,
# the prefix of its subject ("企业微信撤回：…", "办公室恢复：…", nomdesk.accept.action_mail).
ACTION_ZH = {"企业微信": ("企业微信操作", "次"), "办公室": ("办公室操作", "次")}
MAIL_ZH = ("邮件", "封")


def received_words(store: Store, submissions: list[Submission] | list[SubmissionMeta]) -> str:
    """ "邮件 2 封、企业微信文件 3 批": what came by which way, never calling a WeCom file a mail."""
    counts = Counter(_channel(store, s) for s in submissions)
    return "、".join(f"{noun} {n} {measure}" for (noun, measure), n in counts.items())


def _channel(store: Store, sub: Submission | SubmissionMeta) -> tuple[str, str]:
    """How a submission came, from its raw message's source (the service's submissions are "raw:<id>")."""
    raw_id = sub.source.removeprefix("raw:")
    record = store.raw.get(int(raw_id)) if sub.source.startswith("raw:") and raw_id.isdigit() else None
    if record is not None and record.source == "office":
        for by, label in ACTION_ZH.items():
            if any((sub.subject or "").startswith(by + verb) for verb in VERB_ZH.values()):
                return label
    return CHANNEL_ZH.get(record.source if record else "", MAIL_ZH)


def late_lines(store: Store, dossier: Dossier, late: list[Finding]) -> list[str]:
    """One line however many submissions came late (a contact may send dozens of WeCom files),
    with the first and the latest arrival in time order, and the hint once."""
    late = sorted(late, key=_arrival)
    by_index = {s.index: s for s in dossier.submissions}
    subs = [by_index[f.evidence["submission"]] for f in late if f.evidence.get("submission") in by_index]
    deadline = late[0].params.get("deadline", "")
    via = f"（{received_words(store, subs)}）" if subs else ""
    if len(late) == 1:
        line = f"! 材料于 {late[0].params.get('arrived', '')} 送达{via}，晚于截止时间 {deadline}"
    else:
        line = (
            f"! 截止时间 {deadline} 后收到材料 {len(late)} 次{via}："
            f"最早 {late[0].params.get('arrived', '')}，最近 {late[-1].params.get('arrived', '')}"
        )
    return [line, f"  修改建议：{render(late[0])[1]}"]


def _arrival(finding: Finding) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(str(finding.evidence.get("arrived_at")))
    except ValueError:
        return dt.datetime.max.replace(tzinfo=dt.UTC)
