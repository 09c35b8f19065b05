"""The reply a clerk reads: per nominee what is wrong, and a checklist that says which item is the trouble."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from config.campaign import Campaign
from nomdesk.check import check_paths
from notify.compose import compose_reply
from tests.conftest import SHARED

SAMPLE = SHARED / "samples" / "changbaishan_missing" / "1.eml"


def test_reply_marks_each_checklist_item_with_its_measured_value(tmp_path: Path, campaign: Campaign) -> None:
    result = check_paths([SAMPLE], campaign, workdir=tmp_path)
    assert result is not None
    reply = compose_reply(result.dossier, result.findings, campaign, now=dt.datetime(2021, 8, 25, tzinfo=dt.UTC))
    lines = reply.text.splitlines()
    line = {ln.split("：", 1)[0].strip(): ln for ln in lines if ln.strip().startswith(("✓", "✗"))}
    # The short video is the one ✗ item of 池北书苑, with the duration measured.
    assert "视频 2分30秒✗" in line["✗ 终身学习品牌项目 “池北书苑”全民阅读项目"]
    assert "照片5张✓" in line["✗ 终身学习品牌项目 “池北书苑”全民阅读项目"]
    assert "照片12张✗" in line["✗ 终身学习品牌项目 “二道白河”社区学堂"]
    assert "推荐表✗（未收到）" in line["✗ 终身学习品牌项目 “林下经济”农民实用技术培训"]
    assert "推荐表✗" in line["✗ 百姓学习之星 宋丽萍"] and "照片2张✓" in line["✗ 百姓学习之星 宋丽萍"]
    assert line["✓ 百姓学习之星 乔长林"].endswith("推荐表✓，照片2张✓，无视频")
    # Each fix on its own line under its problem, not run on after it.
    problem = next(i for i, ln in enumerate(lines) if "2分30秒，要求 4-5 分钟" in ln)
    assert lines[problem + 1].strip().startswith("修改建议：")
    assert "还剩 5 天" in reply.text
