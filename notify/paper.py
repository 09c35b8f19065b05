"""What a receipt says of the unit's stamped paper copy: the reminder at most once, and none once
it is recorded or posted.

A clerk told twice in one receipt to post the paper, or told again after writing "已寄出", reads the
receipt as not meant for her. What the desk knows comes in the dossier: `paper_received` (the
office's record in storage, passed in by the evaluation) and `paper_posted` (intake.paper, from the
unit's own mails); notify queries nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from config.campaign import Campaign
from intake.models import Dossier
from validators.base import Finding

# What the footer says of the stamped paper copy. None of these may hold a word of
# `Office.paper_posted_words`: a unit's reply quotes the receipt, and must not read as "posted".
PAPER_RECEIVED_NOTE = "盖章的纸质材料省级办公室已登记收到。"
PAPER_POSTED_NOTE = "贵单位来信说明盖章的纸质材料在寄送途中，省级办公室收到后登记，无需重复邮寄。"


def paper_reminder(campaign: Campaign) -> str:
    return f"盖章的纸质材料请邮寄至{campaign.office.address}（{campaign.office.name}）。"


def paper_line(dossier: Dossier, findings: Sequence[Finding], campaign: Campaign) -> list[str]:
    """The footer's word on the paper copy: the reminder at most once a receipt (not when the
    PAPER_PENDING finding above says it), none once the office recorded the paper (the dossier
    carries `paper_received` from storage) or the unit wrote that it is posted (`paper_posted`)."""
    if dossier.paper_received:
        return [PAPER_RECEIVED_NOTE]
    if dossier.paper_posted:
        return [PAPER_POSTED_NOTE]
    if any(f.code == "PAPER_PENDING" for f in findings):
        return []
    return [paper_reminder(campaign)]
