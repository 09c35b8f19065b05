"""`nomdesk void` and `nomdesk unvoid`: the office's CLI over the desk's one home of voiding."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from storage.repo import Store
from tests.conftest import SHARED
from tests.support.extra_star import FORGED_STAR, FORGED_SUBJECT, extra_star_mail
from tests.support.service import nomdesk

YANBIAN = "延边朝鲜族自治州教育局"
REASON = "冒用联系人邮箱发送"


@pytest.fixture
def data(tmp_path: Path, campaign: Campaign) -> Path:
    """延边州's package (延边-01), then a mail in its name that adds one star (延边-02)."""
    data = tmp_path / "var"
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        desk = Desk(Settings(data_dir=data), campaign, store)
        desk.ingest_file(SHARED / "samples" / "yanbian_complete" / "1.eml")
        desk.ingest_file(extra_star_mail(campaign, tmp_path / "forged.eml"))
        desk.process_pending()
    return data


def test_void_by_the_receipts_reference_then_take_it_back(data: Path) -> None:
    before = nomdesk("status", "延边州", "--data-dir", data)
    assert "百姓学习之星 9 名" in before.stdout

    done = nomdesk("void", "延边-02", "--reason", REASON, "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert "已作废：延边-02（报送 #2，" in done.stdout and f"主题：{FORGED_SUBJECT}）" in done.stdout
    assert f"原因：{REASON}" in done.stdout
    assert f"该次报送不再计入 {YANBIAN} 的材料，已重新检查；原始邮件和文件仍保存。" in done.stdout
    assert "当前：百姓学习之星 8 名，终身学习品牌项目 5 个" in done.stdout
    assert "如需撤销：nomdesk unvoid 2" in done.stdout
    status = nomdesk("status", "延边州", "--data-dir", data)
    assert "百姓学习之星 8 名" in status.stdout and FORGED_STAR not in status.stdout
    assert f"已作废：延边-02（office:cli：{REASON}）—— 如需撤销：nomdesk unvoid 2" in status.stdout

    twice = nomdesk("void", "2", "--reason", "再来一次", "--data-dir", data)
    assert twice.returncode == 2 and "已由 office:cli 作废，无需重复操作" in twice.stderr
    no_reason = nomdesk("void", "延边-01", "--data-dir", data)
    assert no_reason.returncode == 2 and "请填写作废原因" in no_reason.stderr
    unknown = nomdesk("void", "延边-09", "--reason", REASON, "--data-dir", data)
    assert unknown.returncode == 2 and "找不到报送：延边-09" in unknown.stderr

    back = nomdesk("unvoid", "2", "--data-dir", data)
    assert back.returncode == 0, back.stderr
    assert "已撤销作废：延边-02" in back.stdout and "当前：百姓学习之星 9 名" in back.stdout

    with Store.open(data) as store:
        actions = [(a.action, a.actor) for a in store.audit.entries(unit_name=YANBIAN) if "void" in a.action]
    assert sorted(actions) == [("submission.unvoided", "office:cli"), ("submission.voided", "office:cli")]
