"""A unit's stored submissions as the merge reads them: renumbered in arrival order, and the
files a contact sent to the WeCom app one after another joined into one submission."""

from __future__ import annotations

import datetime as dt

from intake.models import Submission

WECOM_BURST = dt.timedelta(minutes=30)  # files sent in WeCom closer together than this are one submission
WECOM_DOMAIN = "wecom.invalid"  # the sender domain of the mails WeCom files are kept as


def merge_wecom_bursts(subs: list[Submission]) -> list[Submission]:
    """Files a contact sends to the WeCom app one after another are one submission.

    WeCom carries one file a message, so two photos of a person arrive as two messages; as two
    submissions the second would replace the first's photo set (RULES.md "Resubmissions"), and
    the person would seem to have one photo. Files from the same WeCom user, each within
    WECOM_BURST of the one before, are merged into the first submission of the run."""
    merged: list[Submission] = []
    for sub in subs:
        last = merged[-1] if merged else None
        if (
            last is not None
            and _is_wecom(sub)
            and last.sender == sub.sender
            and last.arrived_at is not None
            and sub.arrived_at is not None
            and sub.arrived_at - last.arrived_at <= WECOM_BURST
        ):
            later = sub.model_copy(deep=True)
            for part in later.joined_parts:  # a set joined in the run: its volumes are all the run's
                if part.submission >= last.index:
                    part.submission = later.index
            later = reindex(later, last.index, copy=False)  # the run keeps the place of its first file
            combined = last.model_copy(deep=True)
            for field in (
                "files",
                "registers",
                "star_forms",
                "project_forms",
                "summaries",
                "problems",
                "links",
                "ignored",
                "volumes",
                "joined_volumes",
                "joined_parts",
                "withdraw",
                "restore",
            ):
                setattr(combined, field, [*getattr(last, field), *getattr(later, field)])
            combined.arrived_at = sub.arrived_at  # the run is as late as its last file
            merged[-1] = combined
        else:
            merged.append(sub)
    return merged


def _is_wecom(sub: Submission) -> bool:
    return bool(sub.sender and sub.sender.endswith("@" + WECOM_DOMAIN))


def reindex(submission: Submission, index: int, *, copy: bool = True) -> Submission:
    """The same submission at another position in its unit's dossier (0 = first to arrive).
    `copy=False` renumbers a submission nobody else holds (one just read from the store)."""
    sub = submission.model_copy(deep=True) if copy else submission
    for part in sub.joined_parts:  # its own volumes move with it; earlier mails' stay before it
        part.submission += index - sub.index
    sub.index = index
    for item in (*sub.files, *sub.registers, *sub.star_forms, *sub.project_forms, *sub.summaries):
        item.submission = index
    for item in (*sub.problems, *sub.links, *sub.volumes):
        item.submission = index
    return sub
