"""Whether a unit's mail says its stamped paper copy is already posted.

A clerk who wrote "纸质材料已寄出，快递单号 …" and is asked again in the receipt to post it thinks
the desk did not read her mail. The words are the campaign's (`Office.paper_posted_words`), read in
the subject and the body the unit wrote; what the office recorded for the unit is not the unit's word.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from config.campaign import Campaign
from intake.models import Submission


def says_posted(submission: Submission, campaign: Campaign) -> bool:
    """The mail's subject or body names the posting ("已寄出", "快递单号")."""
    if (submission.actor or "").startswith("office:"):
        return False
    text = unicodedata.normalize("NFKC", f"{submission.subject or ''}\n{submission.body_text}")
    return any(unicodedata.normalize("NFKC", word) in text for word in campaign.office.paper_posted_words)


def paper_posted(submissions: Iterable[Submission], campaign: Campaign) -> bool:
    return any(says_posted(s, campaign) for s in submissions)
