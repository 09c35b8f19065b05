"""The call's requirements in the words units know them, for every text that lists what to send.

The 清单 the bot answers, the reminders and the rules' hints name the ID photo and the exemplar
quotas the same way, from the campaign config: "2寸免冠彩色证件照" (the size as the call says it,
not "2 寸" nor pixels), "百姓学习之星不超过 1 名、终身学习品牌项目不超过 1 个" (never "各不超过 1、1 个").
"""

from __future__ import annotations

from config.campaign import Campaign


def id_photo_words(campaign: Campaign) -> str:
    """ "2寸免冠彩色证件照"."""
    return f"{campaign.star.id_photo.size_zh}免冠彩色证件照"


def exemplar_quota_words(campaign: Campaign) -> str:
    """How many exemplars a unit may mark, each kind with its own measure word; a kind of quota 0 is
    not offered. "" when neither is."""
    q = campaign.quotas
    parts = []
    if q.exemplar_stars:
        parts.append(f"百姓学习之星不超过 {q.exemplar_stars} 名")
    if q.exemplar_projects:
        parts.append(f"终身学习品牌项目不超过 {q.exemplar_projects} 个")
    return "、".join(parts)
