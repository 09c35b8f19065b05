"""A unit with nominees and findings, stored as the desk stores an evaluation, for the bot's answers.

延边州's complete city dossier (tests/support/dossiers.py) with one star renamed 莫婷婷 and short
of photos, one project named 夕阳红网校 without its video, and a folder of loose photos (named
IMG_0001.jpg...) that no nominee can be found for: the everyday case of a clerk asking the bot.
Saved through `store.evaluations.save` with the real rules' findings, so the bot reads what it
reads in service.
"""

from __future__ import annotations

from config.campaign import Campaign
from intake.models import Dossier
from storage.repo import Store
from tests.support.dossiers import ROOT, UNIT, city_dossier, photo_file, rename_project, rename_star
from validators import run_rules

CONTACT = "wufengxia"  # 延边朝鲜族自治州教育局's contact in the shipped campaign
STAR = "莫婷婷"
PROJECT = "夕阳红网校"
COMPLETE_STAR = "朴英子"  # the second star, left complete
LOOSE_PHOTOS = 17


def everyday_dossier(campaign: Campaign, loose_photos: int = LOOSE_PHOTOS) -> Dossier:
    dossier = city_dossier(campaign)
    star = rename_star(dossier, 0, STAR)
    star.photos = star.photos[:1]  # her ID photo only: too few photos
    project = rename_project(dossier, 0, PROJECT)
    project.videos = []  # a project's video is required
    dossier.unmatched = [photo_file(f"{ROOT}/照片/IMG_{n:04d}.jpg", 1024, 768) for n in range(1, loose_photos + 1)]
    return dossier


def store_everyday_unit(store: Store, campaign: Campaign, loose_photos: int = LOOSE_PHOTOS) -> Dossier:
    """The dossier saved as 延边州's latest evaluation, with its findings."""
    store.directory.sync_units(campaign)
    dossier = everyday_dossier(campaign, loose_photos)
    store.evaluations.save(UNIT, dossier, run_rules(dossier, campaign))
    return dossier
