"""Packages whose nominees' names are written one way in 附表2 and another in their folders, forms
and file names (RULES.md "Matching files to nominees"): the middle dot of an ethnic name as GB2312
decoding gives it (・) or as other keyboards type it, full-width spaces, a full stop between the
parts; and 王丹 beside 王丹丹.
"""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

from config import Campaign
from tests.support.archives import zip_bytes
from tests.support.mail import attachment, build_mail, filename_rfc2047
from tests.support.packages import PackageSpec, complete_city_package, package_files, star_spec

REGISTER_DOT = "\u00b7"  # what 附表2 holds (GBK's 0xA1A4)
# (index among the stars, the name's parts): two Uyghur names among the package's stars.
ETHNIC = ((2, ("阿依古丽", "买买提")), (5, ("迪丽娜尔", "阿不都")))


def registered_name(parts: tuple[str, str]) -> str:
    return REGISTER_DOT.join(parts)


def _stars(campaign: Campaign) -> int:
    return max(campaign.quotas.stars.min, 8)


def ethnic_names_package(campaign: Campaign, dots: tuple[str, str], **overrides: Any) -> PackageSpec:
    """The complete package of 8 stars (or the quota's minimum), two of them Uyghur: 附表2 writes
    their names with ·, their folders, file names and 附表1 forms with `dots` (one per person)."""
    spec = complete_city_package(campaign, stars=_stars(campaign), **overrides)
    stars = list(spec.stars)
    for (index, parts), dot in zip(ETHNIC, dots, strict=True):
        star = star_spec(campaign, index, dot.join(parts))
        star.row["name"] = registered_name(parts)
        star.row["intro"] = f"{registered_name(parts)}坚持读书学习，学以致用成效显著。"
        stars[index] = star
    return dataclasses.replace(spec, stars=stars)


def twin_names_package(campaign: Campaign, *, both: bool = True) -> PackageSpec:
    """The complete package with 王丹 and 王丹丹 (or 王丹 only, when not `both`) among its stars."""
    spec = complete_city_package(campaign, stars=_stars(campaign))
    stars = list(spec.stars)
    stars[3] = star_spec(campaign, 3, "王丹")
    if both:
        stars[4] = star_spec(campaign, 4, "王丹丹")
    return dataclasses.replace(spec, stars=stars)


def utf8_zip_eml(spec: PackageSpec, path: Path) -> Path:
    """The package as one mail with a UTF-8 zip: GBK has no ・ or ･, a zip tool writing UTF-8 keeps them."""
    root = f"{spec.root}/" if spec.root else ""
    archive = zip_bytes({f"{root}{rel}": data for rel, data in package_files(spec).items()})
    parts = [attachment(archive, filename_rfc2047(spec.zip_name), content_type="application/zip")]
    sender = f'"=?UTF-8?B?{base64.b64encode(spec.sender_name.encode()).decode()}?=" <{spec.sender}>'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_mail(parts, subject=spec.subject, sender=sender, date=spec.date, text=spec.body))
    return path
