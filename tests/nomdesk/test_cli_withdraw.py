"""`nomdesk withdraw` and `nomdesk restore`: the office's CLI over the desk's one method for each."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from storage.repo import Store
from tests.conftest import SHARED
from tests.support.service import nomdesk

YANBIAN = "延边朝鲜族自治州教育局"
STAR = "朴英子"


@pytest.fixture
def data(tmp_path: Path, campaign: Campaign) -> Path:
    data = tmp_path / "var"
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        desk = Desk(Settings(data_dir=data), campaign, store)
        desk.ingest_file(SHARED / "samples" / "yanbian_complete" / "1.eml")
        desk.process_pending()
    return data


def test_withdraw_then_restore_from_the_cli(data: Path) -> None:
    done = nomdesk("withdraw", "延边州", STAR, "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert f"已撤回：{YANBIAN} 的百姓学习之星 {STAR}（已收到的材料仍保存在系统中）" in done.stdout
    assert f"nomdesk restore {YANBIAN} {STAR}" in done.stdout
    assert "回执已排队，将发给该单位联系人：" in done.stdout  # the unit hears of it, by its receipt
    status = nomdesk("status", "延边州", "--data-dir", data)
    assert "百姓学习之星 7 名" in status.stdout  # processed at once, not left for the service
    assert f"已撤回：百姓学习之星 {STAR}（办公室 cli）" in status.stdout

    again = nomdesk("withdraw", "延边州", STAR, "--data-dir", data)
    assert again.returncode == 2 and "已撤回，无需重复操作" in again.stderr
    unknown = nomdesk("withdraw", "延边州", "王五", "--data-dir", data)
    assert unknown.returncode == 2 and "没有“王五”" in unknown.stderr and "金哲洙" in unknown.stderr

    back = nomdesk("restore", "延边州", STAR, "--data-dir", data)
    assert back.returncode == 0, back.stderr
    assert f"已恢复：{YANBIAN} 的百姓学习之星 {STAR}" in back.stdout
    status = nomdesk("status", "延边州", "--data-dir", data)
    assert "百姓学习之星 8 名" in status.stdout and "已撤回" not in status.stdout
    twice = nomdesk("restore", "延边州", STAR, "--data-dir", data)
    assert twice.returncode == 2 and "没有撤回，仍在推荐名单中" in twice.stderr

    with Store.open(data) as store:
        actions = [
            (a.action, a.actor) for a in store.audit.entries(unit_name=YANBIAN) if a.action.startswith("nominee.")
        ]
    assert sorted(actions) == [("nominee.restored", "office:cli"), ("nominee.withdrawn", "office:cli")]


def test_an_unknown_unit_is_refused(data: Path) -> None:
    done = nomdesk("withdraw", "不存在的单位", STAR, "--data-dir", data)
    assert done.returncode == 2 and "找不到单位" in done.stderr
