"""A failed check is never a pass, in the desk (issue 13, item 11).

The desk reads 延边's complete sample while one rule raises: the unit's receipt says its package
was received and is being checked by hand (never "材料齐全"), the office is told once with the
error (masked), and the office's digest, `status` and the bot show 检查未完成 with the rule's code.
Once the rule works again the next check clears it.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.answers import Answerer
from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from notify.outbox import OutboxWorker
from schedule.digest import HEADER, build_digest, digest_markdown, digest_xlsx
from schedule.status import UnitState, collect_status
from storage.repo import Store
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.rule_faults import LEAKED_ID, break_rules
from tests.support.service import body_text, outbox_mails

UNIT = "延边朝鲜族自治州教育局"
SENDER = "ybjyj_zcjy@163.com"  # the registered contact of 延边州
SAMPLE = SHARED / "samples" / "yanbian_complete" / "1.eml"
BROKEN = "STAR_QUOTA"  # silent on the complete sample: its crash would have read as a pass

pytestmark = pytest.mark.rule_faults


@pytest.fixture
def store(tmp_path: Path, campaign: Campaign):
    store = Store.open(tmp_path / "var")
    store.directory.sync_units(campaign)
    yield store
    store.close()


def _desk(tmp_path: Path, campaign: Campaign, store: Store, clock: Clock) -> Desk:
    return Desk(Settings(data_dir=tmp_path / "var", reply_rate_per_hour=100), campaign, store, clock=clock)


def _deliver(desk: Desk, tmp_path: Path, clock: Clock, raw: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(raw)
    desk.ingest_file(path, received_at=clock())
    desk.process_pending()


def _sent(tmp_path: Path, store: Store, clock: Clock) -> list:
    OutboxWorker(store, smtp=None, outbox_dir=tmp_path / "var" / "outbox", clock=clock).run_once()
    return outbox_mails(tmp_path / "var")


def _to(mails: list, address: str) -> list:
    return [m for m in mails if address in str(m["To"])]


def _status(tmp_path: Path, *unit: str) -> str:
    from nomdesk import cli

    result = CliRunner().invoke(cli.app, ["status", *unit, "--data-dir", str(tmp_path / "var")])
    assert result.exit_code == 0, result.output
    return result.stdout


def _digest(store: Store, campaign: Campaign, clock: Clock):
    return build_digest(collect_status(store, campaign), campaign, clock())


def test_a_raising_rule_is_checked_by_hand_not_complete(
    tmp_path: Path, campaign: Campaign, store: Store, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = _desk(tmp_path, campaign, store, clock)
    break_rules(monkeypatch, [BROKEN])
    _deliver(desk, tmp_path, clock, SAMPLE.read_bytes(), "1.eml")
    mails = _sent(tmp_path, store, clock)

    # The unit: received, being checked by hand, what was received; never "材料齐全", no ✓.
    [receipt] = _to(mails, SENDER)
    text = body_text(receipt)
    assert "材料齐全" not in str(receipt["Subject"]) + text and "✓" not in text
    assert "正在由省级办公室人工核查" in str(receipt["Subject"])
    assert "省级办公室正在人工检查贵单位的材料" in text
    assert "本次收到" in text and "百姓学习之星 金哲洙" in text  # the list of what was received
    assert BROKEN not in text and LEAKED_ID not in text  # the unit is not shown the bug

    # The office: told once, with the rule and the error (masked).
    [notice] = _to(mails, campaign.office.email)
    assert "检查未完成" in str(notice["Subject"]) and UNIT in str(notice["Subject"])
    notice_text = body_text(notice)
    assert f"规则 {BROKEN} 出错" in notice_text and "test fault" in notice_text
    assert LEAKED_ID not in notice_text and LEAKED_ID[:4] + "*" in notice_text  # masked, not dropped

    # Where the office looks: the digest (message and workbook), the bot's status and lists.
    assert LEAKED_ID not in (store.evaluations.check_error(UNIT) or "x" * 18)
    digest = _digest(store, campaign, clock)
    [row] = [r for r in digest.rows if r.unit == UNIT]
    assert row.state == UnitState.CHECK_FAILED
    markdown = digest_markdown(digest, campaign)
    assert "检查未完成" in markdown and f"{UNIT}（规则 {BROKEN} 出错" in markdown
    assert '材料齐全 <font color="info">0</font>' in markdown
    ws = load_workbook(io.BytesIO(digest_xlsx(digest, campaign))).active
    cells = next(r for r in ws.iter_rows(values_only=True) if r[HEADER.index("推荐单位")] == UNIT)
    assert cells[HEADER.index("状态")] == "检查未完成" and BROKEN in cells[HEADER.index("检查问题")]

    answerer = Answerer(store, campaign, clock=clock)
    office_status = answerer.status(UNIT, office=True)
    assert "检查未完成" in office_status and BROKEN in office_status and "材料齐全" not in office_status
    contact_status = answerer.status(UNIT)
    assert "人工核查" in contact_status and "材料齐全" not in contact_status and BROKEN not in contact_status
    assert "没有需要修改" not in answerer.missing(UNIT)
    assert f"检查未完成，需人工核查（1）：{UNIT}（规则 {BROKEN}" in answerer.pending()
    assert "材料齐全 0" in answerer.summary() and "检查未完成 1" in answerer.summary()

    # `nomdesk status`: the table marks it, a line gives the error; the unit's own report calls nothing complete.
    table = _status(tmp_path)
    assert f"检查未完成 {UNIT}：规则 {BROKEN} 出错" in table and LEAKED_ID not in table
    one = _status(tmp_path, UNIT)
    assert f"检查未完成：规则 {BROKEN} 出错" in one and "材料齐全" not in one

    # Another mail while the rule is still broken: the unit is answered the same, the office not again.
    clock.now += dt.timedelta(minutes=30)
    _deliver(desk, tmp_path, clock, SAMPLE.read_bytes().replace(b"Message-ID: <", b"Message-ID: <again-"), "2.eml")
    mails = _sent(tmp_path, store, clock)
    assert len(_to(mails, campaign.office.email)) == 1
    replies = _to(mails, SENDER)
    assert len(replies) == 2 and all("材料齐全" not in body_text(m) for m in replies)

    # The rule works again: the next check clears the state everywhere.
    monkeypatch.undo()
    desk.evaluate(UNIT)
    assert store.evaluations.check_error(UNIT) is None
    [row] = [r for r in _digest(store, campaign, clock).rows if r.unit == UNIT]
    assert row.state == UnitState.COMPLETE
    assert "材料齐全" in answerer.status(UNIT) and "检查未完成" not in answerer.status(UNIT, office=True)
    assert "检查未完成" not in _status(tmp_path)


def test_a_restart_after_the_rule_is_fixed_checks_the_unit_again(
    tmp_path: Path, campaign: Campaign, store: Store, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fixed rule is deployed by a restart: the unit left 检查未完成 is checked again at start,
    not when it happens to send its next mail; and its receipt's "核查结果将另行告知" is kept: its
    contacts get the receipt of the finished check, once."""
    desk = _desk(tmp_path, campaign, store, clock)
    break_rules(monkeypatch, [BROKEN])
    _deliver(desk, tmp_path, clock, SAMPLE.read_bytes(), "1.eml")
    assert store.evaluations.check_error(UNIT) is not None
    [told] = _to(_sent(tmp_path, store, clock), SENDER)
    assert "核查结果将另行告知" in body_text(told)

    monkeypatch.undo()  # the fixed release
    clock.now += dt.timedelta(hours=2)
    restarted = _desk(tmp_path, campaign, store, clock)
    restarted.recover()
    restarted.process_pending()
    assert store.evaluations.check_error(UNIT) is None
    [row] = [r for r in _digest(store, campaign, clock).rows if r.unit == UNIT]
    assert row.state == UnitState.COMPLETE

    [_, result] = _to(_sent(tmp_path, store, clock), SENDER)  # the promised word
    text = str(result["Subject"]) + body_text(result)
    assert "人工核查" not in text and "另行告知" not in text and "材料齐全" in text
    restarted.recover()  # another restart: nothing left to tell
    restarted.process_pending()
    assert len(_to(_sent(tmp_path, store, clock), SENDER)) == 2
