"""The 清单 answer is written from the campaign config: next year's numbers change it, not code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.answers import Answerer
from config.campaign import Campaign
from storage.repo import Store


def checklist(campaign: Campaign, tmp_path: Path) -> str:
    with Store.open(tmp_path / "var") as store:
        return Answerer(store, campaign, clock=lambda: dt.datetime(2021, 8, 20, tzinfo=dt.UTC)).checklist()


def test_checklist_reads_the_call_from_the_config(campaign: Campaign, tmp_path: Path) -> None:
    text = checklist(campaign, tmp_path)
    assert "百姓学习之星 8-10 名" in text and "终身学习品牌项目 5-8 个" in text
    assert "鼓励报送视频（MP4、3-4 分钟）" in text
    assert "视频（MP4、4-5 分钟）" in text
    assert "（MP4、H.264、1280×720、25 帧/秒、4-5 分钟）" in text and "仅市州" in text
    assert "2 寸" not in text

    exemplar = campaign.exemplar.model_copy(
        update={"video": campaign.exemplar.video.model_copy(update={"fps": 30, "min_seconds": 150})}
    )
    next_year = campaign.model_copy(update={"exemplar": exemplar})
    assert "（MP4、H.264、1280×720、30 帧/秒、2分30秒-5分钟）" in checklist(next_year, tmp_path / "2022")
