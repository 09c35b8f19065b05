"""The WeCom bot answers about a stamped scan as the mail reply does: "状态" lists the form as
"推荐表 扫描件（自动识别）" or "推荐表✓，盖章扫描件✓", "缺什么" gives the warning that asks for the
Word version (a ! to check, not a ✗ to fix)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.answers import Answerer
from config.campaign import Campaign
from storage.repo import Store
from tests.support.dossiers import STAR_NAMES, UNIT
from tests.support.scanned_forms import build, scan_of, scan_path, submission_of, with_forms
from validators import run_rules

KIM, PARK = STAR_NAMES[0], STAR_NAMES[1]


def test_the_bot_marks_scans_and_asks_for_the_word_form(campaign: Campaign, tmp_path: Path) -> None:
    sub = submission_of(campaign, scanned_only={KIM: ("phone",)})
    park = next(f for f in sub.star_forms if f.fields.name == PARK)
    dossier = build(campaign, with_forms(sub, scan_of(park, scan_path(park), 0)))
    latest = (dossier, run_rules(dossier, campaign))
    with Store.open(tmp_path / "var") as store:
        bot = Answerer(store, campaign, clock=lambda: dt.datetime(2021, 8, 20, tzinfo=dt.UTC))
        status, missing = bot.status(UNIT, latest=latest), bot.missing(UNIT, latest=latest)
    assert "材料已齐全，另有 1 项请核实" in status
    assert f"⚠ 百姓学习之星 {KIM}：推荐表 扫描件（自动识别）⚠，照片2张✓" in status
    assert f"✓ 百姓学习之星 {PARK}：推荐表✓，盖章扫描件✓，照片2张✓" in status
    assert f"! {KIM} 的附表1 扫描件中以下栏目未能自动识别：联系电话，请补发 Word 版推荐表" in missing
    assert "✗" not in missing
