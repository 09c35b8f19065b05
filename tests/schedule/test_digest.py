"""The office's daily digest against a scripted campaign: the WeCom message, the .xlsx, the command."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from config.campaign import Campaign
from schedule.digest import FILLS, HEADER, LATE_FILL, build_digest, digest_markdown, digest_xlsx
from schedule.jobs import Jobs
from schedule.status import UnitState
from storage.repo import Store
from tests.support.campaign_script import Script, missing_form, no_project_video
from tests.support.service import nomdesk
from tests.support.waiting import waiting_mail

NOW = dt.datetime(2021, 8, 28, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory, campaign: Campaign):
    """Three of the config's units have sent something; the others nothing."""
    data = tmp_path_factory.mktemp("digest") / "var"
    store = Store.open(data)
    store.directory.sync_units(campaign)
    script = Script(campaign)
    changchun, jilin, siping = (u.name for u in campaign.units[:3])
    store.state.record_paper(changchun, dt.date(2021, 8, 25), "office")
    script.submit(store, changchun, NOW - dt.timedelta(days=5), exemplars=True)
    script.submit(store, jilin, NOW - dt.timedelta(days=4), breakages=[missing_form(0), no_project_video(1)])
    script.submit(store, siping, campaign.deadline_end + dt.timedelta(hours=3))  # late, and complete
    yield {"data": data, "store": store, "names": (changchun, jilin, siping)}
    store.close()


def test_the_digest_rows_are_the_scripted_ground_truth(scripted, campaign: Campaign) -> None:
    changchun, jilin, siping = scripted["names"]
    digest = build_digest(Jobs(scripted["store"], campaign).statuses(), campaign, NOW)
    rows = {r.unit: r for r in digest.rows}
    assert len(rows) == len(campaign.units)
    a, b, c = rows[changchun], rows[jilin], rows[siping]
    assert (a.state, a.stars, a.projects, a.stars_ok, a.errors, a.late) == (UnitState.COMPLETE, 8, 5, True, 0, False)
    assert a.exemplars == ["朴英子", "“长鼓舞”非遗文化传承学习项目"] and a.paper == dt.date(2021, 8, 25)
    assert (b.state, b.errors, b.exemplars, b.paper) == (UnitState.INCOMPLETE, 2, [], None)
    assert (c.state, c.late, c.warnings) == (UnitState.COMPLETE, True, 1)  # LATE is a warning
    nothing = [r for r in digest.rows if r.state == UnitState.NOTHING]
    assert len(nothing) == len(campaign.units) - 3 and all(r.stars == 0 and not r.submissions for r in nothing)


def test_the_wecom_message_fits_both_limits_and_names_only_what_the_office_acts_on(
    scripted, campaign: Campaign
) -> None:
    _, jilin, siping = scripted["names"]
    digest = build_digest(Jobs(scripted["store"], campaign).statuses(), campaign, NOW)
    robot = digest_markdown(digest, campaign, 4096)
    app = digest_markdown(digest, campaign, 2048)
    assert len(robot.encode()) <= 4096 and len(app.encode()) <= 2048
    for text in (robot, app):
        assert "还剩 2 天" in text
        assert '已报送 <font color="info">3</font>' in text and '待修改 <font color="warning">1</font>' in text
        assert f'未报送 <font color="comment">{len(campaign.units) - 3}</font>' in text
        assert "百姓学习之星 24 名，品牌项目 15 个，典范 2 个" in text
        # Paper: only units whose materials arrived count as missing it (吉林, 四平; not the silent ones).
        assert "纸质材料已收 1 个单位，已报送单位中纸质材料未收 2 个" in text
        assert f"> 逾期报送 1 个：{siping}" in text
        assert f"{jilin}（2项）" not in text  # the units fix their own: the reminders tell them, the .xlsx lists them
        assert len(text.splitlines()) <= 15


def test_the_workbook_has_every_unit_a_frozen_header_filters_and_state_colours(scripted, campaign: Campaign) -> None:
    changchun, jilin, siping = scripted["names"]
    digest = build_digest(Jobs(scripted["store"], campaign).statuses(), campaign, NOW)
    ws = load_workbook(io.BytesIO(digest_xlsx(digest, campaign)))["单位汇总"]
    assert [c.value for c in ws[1]] == HEADER
    last = get_column_letter(len(HEADER))
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref == f"A1:{last}{len(campaign.units) + 1}"
    rows = {r[1].value: r for r in ws.iter_rows(min_row=2)}
    assert len(rows) == len(campaign.units)
    col = {name: i for i, name in enumerate(HEADER)}

    def value(unit: str, name: str) -> object:
        return rows[unit][col[name]].value

    assert value(changchun, "状态") == "材料齐全" and value(changchun, "纸质材料") == "已收（08-25）"
    assert value(jilin, "需修改") == 2 and value(jilin, "状态") == "待修改"
    assert value(siping, "逾期") == "是" and value(siping, "之星是否符合名额") == "是"
    assert rows[changchun][0].fill.start_color.rgb == FILLS[UnitState.COMPLETE]
    assert rows[jilin][0].fill.start_color.rgb == FILLS[UnitState.INCOMPLETE]
    assert rows[campaign.units[5].name][0].fill.start_color.rgb == FILLS[UnitState.NOTHING]
    assert rows[siping][col["逾期"]].fill.start_color.rgb == LATE_FILL
    assert isinstance(value(changchun, "最近来件"), dt.datetime)


def test_nomdesk_digest_prints_the_message_writes_the_workbook_and_sends_once(
    scripted, tmp_path: Path, campaign: Campaign
) -> None:
    data = scripted["data"]
    out = tmp_path / "汇总.xlsx"
    done = nomdesk("digest", "--data-dir", data, "--out", out)
    assert done.returncode == 0, done.stderr
    assert "推荐材料每日汇总" in done.stdout and "已报送" in done.stdout
    assert load_workbook(out)["单位汇总"].max_row == len(campaign.units) + 1  # the header and a row per unit
    first = nomdesk("digest", "--data-dir", data, "--send", "--out", out)
    second = nomdesk("digest", "--data-dir", data, "--send", "--out", out)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "今日汇总已发送过" in second.stderr
    sent = sorted((data / "outbox").glob("*.eml"))
    assert len(sent) == 1 and b"xlsx" in sent[0].read_bytes()


def test_a_unit_whose_first_mail_is_being_checked_is_counted_once(tmp_path: Path, campaign: Campaign) -> None:
    store = Store.open(tmp_path / "var")
    try:
        store.directory.sync_units(campaign)
        Script(campaign).arrive(store, campaign.units[0].name, NOW - dt.timedelta(minutes=5))
        text = digest_markdown(build_digest(Jobs(store, campaign).statuses(), campaign, NOW), campaign, 4096)
    finally:
        store.close()
    assert '已报送 <font color="info">1</font>' in text
    assert f'未报送 <font color="comment">{len(campaign.units) - 1}</font>，检查中 1' in text


def test_nomdesk_digest_send_posts_to_the_office_group_robot(scripted, tmp_path: Path) -> None:
    """`--send` sends through every configured channel at once, not only mail: the robot gets it now."""
    from tests.support.wecom_sim.server import WeComSimulator

    with WeComSimulator() as sim:
        env = {"NOMDESK_WECOM_WEBHOOK_KEY": sim.webhook_key, "NOMDESK_WECOM_API_BASE": sim.base_url}
        done = nomdesk("digest", "--data-dir", scripted["data"], "--send", "--out", tmp_path / "d.xlsx", env=env)
        assert done.returncode == 0, done.stderr
        (posted,) = sim.webhook_messages
    assert "推荐材料每日汇总" in posted.content and len(posted.content.encode()) <= 4096


def test_waiting_mails_are_counted_and_units_nobody_can_be_written_to_are_listed_to_phone(
    tmp_path: Path, campaign: Campaign
) -> None:
    """梅河口's package sits in the 待确认 queue: the digest says so beside it, counts every waiting
    mail (one has no guess at all), and lists the units with no address or WeCom id to phone."""
    meihekou = next(u.name for u in campaign.units if u.name.startswith("梅河口市"))
    # A unit's new contact whose name the office pasted from a unit's mail, as she wrote it.
    pasted = [u.name for u in campaign.units if not u.contacts and u.name != meihekou][-1]
    link = '=HYPERLINK("http://evil.example/x","王芳")'
    reachable = {u.name for u in campaign.units if u.contacts}
    with Store.open(tmp_path / "var") as store:
        store.directory.sync_units(campaign)
        waiting_mail(store, NOW - dt.timedelta(hours=3), guess=meihekou)
        waiting_mail(store, NOW - dt.timedelta(hours=2), claim=meihekou)  # she named her unit in a reply
        waiting_mail(store, NOW - dt.timedelta(hours=1))  # nothing to guess from
        store.contacts.add(meihekou, '=HYPERLINK("http://x")', phone="0435-1234567", actor="office")  # phone only
        store.contacts.add(pasted, link, emails=["wangfang@example.cn"], actor="office")
        jobs = Jobs(store, campaign)
        statuses = jobs.statuses()
        digest = jobs.digest(statuses, NOW)
        queued = jobs.send_digest(statuses, NOW, day=NOW.date())
    status = next(s for s in statuses if s.name == meihekou)
    assert (status.state, status.waiting, status.reachable) == (UnitState.NOTHING, 2, False)
    unreachable = len(campaign.units) - len(reachable) - 1  # 1: the pasted contact has an address
    for limit in (4096, 2048):
        text = digest_markdown(digest, campaign, limit)
        assert len(text.encode()) <= limit
        assert "> 待确认单位 3 封" in text  # all of them, guessed or not
        (phone,) = [line for line in text.splitlines() if line.startswith("> 提醒发不出")]
        assert phone.startswith(f"> 提醒发不出 {unreachable} 个（没有可用的邮箱或企业微信账号），请电话联系：")
        assert phone.endswith(f" 等 {unreachable} 个")  # the long list is cut and says how long it is
        assert not any(name in phone for name in reachable | {pasted})
    (waiting,) = [line for line in digest_markdown(digest, campaign, 4096).splitlines() if "待确认单位" in line]
    assert waiting.endswith(f"推测所属：{meihekou}（有 2 封邮件待确认）")
    mail = next(q for q in queued if q.channel == "mail")
    assert "待确认单位 3 封" in mail.text and "没有可用的邮箱或企业微信账号" in mail.text

    ws = load_workbook(io.BytesIO(digest_xlsx(digest, campaign)))["单位汇总"]
    col = {name: i for i, name in enumerate(HEADER)}
    rows = {r[col["推荐单位"]].value: r for r in ws.iter_rows(min_row=2)}
    assert rows[meihekou][col["待确认"]].value == 2 and rows[meihekou][col["状态"]].value == "未报送"
    cell = rows[meihekou][col["联系人"]]
    assert cell.value.startswith("无（=HYPERLINK") and cell.data_type == "s"  # a name, never a formula
    cell = rows[pasted][col["联系人"]]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (link, "s", True)  # shown, never run
    yanbian = next(iter(sorted(reachable)))
    assert rows[yanbian][col["待确认"]].value == 0
    assert rows[yanbian][col["联系人"]].value == next(u for u in campaign.units if u.name == yanbian).contacts[0].name
    assert rows[campaign.units[0].name][col["联系人"]].value == "无"
