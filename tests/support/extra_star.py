"""A follow-up mail from 延边州's registered address that nominates one more star: what a forger
sending in the unit's name adds to its dossier (and what the office voids)."""

from __future__ import annotations

from pathlib import Path

from config.campaign import Campaign
from tests.support.packages import build_eml, complete_city_package, star_spec

FORGED_STAR = "假冒者"
FORGED_SUBJECT = "延边州补充推荐材料"


def extra_star_mail(campaign: Campaign, path: Path, name: str = FORGED_STAR) -> Path:
    """The .eml written to `path`: a form and photos for `name`, no registration tables."""
    spec = complete_city_package(
        campaign,
        stars=[star_spec(campaign, 20, name)],
        projects=[],
        star_register=False,
        project_register=False,
        subject=FORGED_SUBJECT,
        zip_name="延边州补充材料.zip",
        root="延边州补充材料",
    )
    return build_eml(spec, path)
