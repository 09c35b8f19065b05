"""The 清单 (what to send) in the words units know: "2寸免冠彩色证件照", quotas each with its own measure word.

Read where a clerk reads it (the bot's 清单 answer, the reminder's list, a rule's hint), with the
numbers of the campaign config: next year's values change the text, not code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.answers import Answerer
from config.campaign import Campaign
from schedule.reminders import checklist_lines
from storage.repo import Store
from tests.support.dossiers import city_dossier
from validators import run_rules
from validators.base import render
from validators.requirements import exemplar_quota_words, id_photo_words


def _bot_checklist(campaign: Campaign, tmp_path: Path) -> str:
    with Store.open(tmp_path / "var") as store:
        return Answerer(store, campaign, clock=lambda: dt.datetime(2021, 8, 20, tzinfo=dt.UTC)).checklist()


def test_the_bot_checklist_names_the_photo_size_and_each_quota(campaign: Campaign, tmp_path: Path) -> None:
    text = _bot_checklist(campaign, tmp_path)
    assert "每人照片 2 张（其中一张为2寸免冠彩色证件照）" in text
    assert "百姓学习之星不超过 1 名、终身学习品牌项目不超过 1 个" in text
    assert "各不超过" not in text and "1、1" not in text


def test_the_reminder_checklist_names_the_photo_size(campaign: Campaign) -> None:
    assert "（其中一张为2寸免冠彩色证件照）" in "\n".join(checklist_lines(campaign))


def test_the_words_follow_the_config(campaign: Campaign, tmp_path: Path) -> None:
    photo = campaign.star.id_photo.model_copy(update={"size_zh": "1寸"})
    quotas = campaign.quotas.model_copy(update={"exemplar_stars": 2, "exemplar_projects": 0})
    next_year = campaign.model_copy(
        update={"star": campaign.star.model_copy(update={"id_photo": photo}), "quotas": quotas}
    )
    assert id_photo_words(next_year) == "1寸免冠彩色证件照"
    assert exemplar_quota_words(next_year) == "百姓学习之星不超过 2 名"  # a kind not offered is not named
    text = _bot_checklist(next_year, tmp_path)
    assert "1寸免冠彩色证件照" in text and "百姓学习之星不超过 2 名，" in text and "项目不超过 0" not in text


def test_the_photo_count_hint_names_the_size_from_the_config(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.stars[0].photos = d.stars[0].photos[:1]
    (finding,) = [f for f in run_rules(d, campaign, strict=True) if f.code == "STAR_PHOTO_COUNT"]
    assert render(finding)[1] == "每人报送照片 2 张（电子版），其中一张为2寸免冠彩色证件照"
