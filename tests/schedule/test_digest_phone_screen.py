"""The office's digest read on a phone, for a 70-unit campaign where almost nobody has sent anything:
one screen (at most 15 lines, well under WeCom's 4,096 bytes), the counts, what changed since
yesterday's digest, the few units the office must act on; the long lists only in the .xlsx."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from config.campaign import Campaign, Contact, Unit
from schedule.digest import digest_markdown, digest_xlsx
from schedule.digest_changes import SNAPSHOT_KEY, keep_snapshot, previous_snapshot
from schedule.jobs import APP_MARKDOWN_LIMIT, ROBOT_LIMIT, Jobs
from storage.repo import Store
from tests.support.campaign_script import Script, missing_form, no_project_video, scripted_campaign
from tests.support.waiting import waiting_mail

TZ = dt.timezone(dt.timedelta(hours=8))
DAY1 = dt.datetime(2021, 8, 27, 8, 0, tzinfo=TZ)
DAY2 = DAY1 + dt.timedelta(days=1)
PHONE_BYTES = 2048  # a phone screen's worth, half of what WeCom takes


def seventy_units(base: Campaign) -> Campaign:
    """The config's 68 units, each with a contact, and two more: a campaign of 70."""
    campaign = scripted_campaign(base, len(base.units))
    kind = campaign.units[0].kind
    extra = [
        Unit(name=name, kind=kind, aliases=[], contacts=[Contact(name=f"联系人{name[:2]}", emails=[f"x{n}@e.cn"])])
        for n, name in enumerate(("长白山管委会教育局", "吉林省教育学院"))
    ]
    return campaign.model_copy(update={"units": [*campaign.units, *extra]})


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, campaign: Campaign):
    """Day 1: four units sent something (66 nothing), two of them posted their paper (68 lack it).
    Day 2, after a night of mail: one unit's first package, two resubmissions (one fixed, one broken),
    two mails from unregistered senders waiting for 确认, one more paper copy."""
    big = seventy_units(campaign)
    assert len(big.units) == 70
    store = Store.open(tmp_path_factory.mktemp("phone") / "var")
    store.directory.sync_units(big)
    script = Script(big)
    a, b, c, d, e = (u.name for u in big.units[:5])
    store.state.record_paper(a, dt.date(2021, 8, 25), "office")
    store.state.record_paper(c, dt.date(2021, 8, 26), "office")
    script.submit(store, a, DAY1 - dt.timedelta(days=3), exemplars=True)
    script.submit(store, b, DAY1 - dt.timedelta(days=2), breakages=[missing_form(0)])
    script.submit(store, c, DAY1 - dt.timedelta(days=2))
    script.submit(store, d, DAY1 - dt.timedelta(hours=20))
    jobs = Jobs(store, big)
    statuses = jobs.statuses()
    day1_digest = jobs.digest(statuses, DAY1)
    day1_sent = jobs.send_digest(statuses, DAY1)

    script.submit(store, e, DAY2 - dt.timedelta(hours=10))  # first time, complete
    script.submit(store, b, DAY2 - dt.timedelta(hours=9))  # fixed
    script.submit(store, d, DAY2 - dt.timedelta(hours=8), breakages=[no_project_video(0)])  # broken now
    waiting_mail(store, DAY2 - dt.timedelta(hours=5))
    waiting_mail(store, DAY2 - dt.timedelta(hours=4))
    store.state.record_paper(b, dt.date(2021, 8, 27), "office")
    jobs = Jobs(store, big)
    statuses = jobs.statuses()
    day2_digest = jobs.digest(statuses, DAY2)
    day2_sent = jobs.send_digest(statuses, DAY2)
    later = Jobs(store, big)  # `nomdesk digest` run again that afternoon
    again = later.digest(later.statuses(), DAY2 + dt.timedelta(hours=6))
    yield {
        "campaign": big,
        "names": (a, b, c, d, e),
        "day1": (day1_digest, day1_sent),
        "day2": (day2_digest, day2_sent),
        "again": again,
    }
    store.close()


def _messages(digest, sent, campaign: Campaign) -> list[str]:
    """Every form the office reads it in: the app's and the robot's markdown, the mail's text."""
    mail = next(q.text for q in sent if q.channel == "mail")
    return [digest_markdown(digest, campaign, APP_MARKDOWN_LIMIT), digest_markdown(digest, campaign, ROBOT_LIMIT), mail]


def test_the_first_digest_fits_one_phone_screen_and_names_none_of_the_66(run) -> None:
    campaign = run["campaign"]
    digest, sent = run["day1"]
    silent = [r.unit for r in digest.rows if not r.submissions]
    assert len(silent) == 66 and sum(1 for r in digest.rows if not r.paper) == 68
    for text in _messages(digest, sent, campaign):
        assert len(text.strip().splitlines()) <= 15, text
        assert len(text.encode()) <= PHONE_BYTES, len(text.encode())
        assert "单位 70 个" in text and "已报送" in text and "未报送" in text
        assert "未报送 66" in text.replace('<font color="comment">', "").replace("</font>", "")
        assert "材料齐全" in text and "待修改" in text
        assert "百姓学习之星 32 名，品牌项目 20 个" in text
        assert (
            "纸质材料已收 2 个单位，已报送单位中纸质材料未收 2 个" in text
        )  # not 68: silent units are not "paper missing"
        assert "待确认单位 0 封" in text
        assert "较上次汇总" not in text  # the first digest has nothing to compare with
        assert [u for u in silent if u in text] == []
        assert "每日汇总-20210827.xlsx" in text


def test_a_day_later_the_digest_says_what_is_new(run) -> None:
    campaign = run["campaign"]
    _, b, _, d, e = run["names"]
    digest, sent = run["day2"]
    silent = [r.unit for r in digest.rows if not r.submissions]
    assert len(silent) == 65
    for text in _messages(digest, sent, campaign):
        assert len(text.strip().splitlines()) <= 15 and len(text.encode()) <= PHONE_BYTES, text
        assert "较上次汇总（08月27日）" in text
        assert "新增报送 3 次（其中 1 个单位首次报送），新增待确认邮件 2 封，新收纸质材料 1 个单位" in text
        assert f"新增材料齐全 2 个：{b}、{e}" in text
        assert f"新出现问题 1 个：{d}" in text
        assert "待确认单位 2 封" in text
        assert "纸质材料已收 3 个单位，已报送单位中纸质材料未收 2 个" in text  # d and e
        assert [u for u in silent if u in text] == []
    # Built again later that day (the office runs `nomdesk digest`): still compared with yesterday's.
    assert run["again"].changes is not None and run["again"].changes.since.day == dt.date(2021, 8, 27)
    assert run["again"].changes.newly_complete == [b, e]


def test_the_workbook_lists_every_unit_the_message_only_counts(run) -> None:
    campaign = run["campaign"]
    _, b, _, d, e = run["names"]
    digest, _ = run["day1"]
    wb = load_workbook(io.BytesIO(digest_xlsx(digest, campaign)))
    silent = [r.unit for r in digest.rows if not r.submissions]
    listed = [row[1] for row in wb["未报送（66）"].iter_rows(min_row=2, values_only=True)]
    assert listed == silent
    summary = wb["单位汇总"]
    header = [cell.value for cell in summary[1]]
    paper = [row[header.index("纸质材料")] for row in summary.iter_rows(min_row=2, values_only=True)]
    assert len(paper) == 70 and paper.count("未收") == 68
    missing = [row[1] for row in wb["纸质材料未收（2）"].iter_rows(min_row=2, values_only=True)]
    assert missing == [b, d]

    changed = load_workbook(io.BytesIO(digest_xlsx(run["day2"][0], campaign)))["较上次变化"]
    rows = [(kind, unit) for kind, unit, _ in changed.iter_rows(min_row=2, values_only=True)]
    assert rows == [("首次报送", e), ("新增材料齐全", b), ("新增材料齐全", e), ("新出现问题", d), ("新收纸质材料", b)]


def test_many_units_to_act_on_are_counted_with_five_names(tmp_path: Path, campaign: Campaign) -> None:
    """Seven late units: five named, then "等 7 个"; the .xlsx's 需办公室处理 lists all seven."""
    big = scripted_campaign(campaign, 12)
    late = [u.name for u in big.units[:7]]
    with Store.open(tmp_path / "var") as store:
        store.directory.sync_units(big)
        script = Script(big)
        for unit in late:
            script.submit(store, unit, big.deadline_end + dt.timedelta(hours=2))
        jobs = Jobs(store, big)
        now = big.deadline_end + dt.timedelta(days=1)
        digest = jobs.digest(jobs.statuses(), now)
    text = digest_markdown(digest, big, APP_MARKDOWN_LIMIT)
    assert f"> 逾期报送 7 个：{'、'.join(late[:5])} 等 7 个" in text
    assert late[5] not in text and late[6] not in text
    act = load_workbook(io.BytesIO(digest_xlsx(digest, big)))["需办公室处理"]
    assert [unit for what, unit, _ in act.iter_rows(min_row=2, values_only=True) if what == "逾期报送"] == late


def test_paper_that_came_before_the_materials_is_received_not_missing(tmp_path: Path, campaign: Campaign) -> None:
    """纸质材料未收 counts units whose materials arrived: the paper of a unit that sent nothing
    electronic yet is received, and the silent units lack nothing but their materials."""
    small = scripted_campaign(campaign, 5)
    first, second, third = (u.name for u in small.units[:3])
    with Store.open(tmp_path / "var") as store:
        store.directory.sync_units(small)
        store.state.record_paper(first, dt.date(2021, 8, 20), "office")  # posted before mailing anything
        Script(small).submit(store, second, DAY1 - dt.timedelta(days=1))
        jobs = Jobs(store, small)
        digest = jobs.digest(jobs.statuses(), DAY1)
    text = digest_markdown(digest, small, APP_MARKDOWN_LIMIT)
    assert "纸质材料已收 1 个单位，已报送单位中纸质材料未收 1 个" in text
    sheet = load_workbook(io.BytesIO(digest_xlsx(digest, small)))["纸质材料未收（1）"]
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == [second]
    assert third not in text


def test_a_second_send_the_same_day_keeps_the_snapshot_the_office_read(tmp_path: Path, campaign: Campaign) -> None:
    """The snapshot tomorrow compares with is the first digest sent today; an unreadable one is
    forgotten (the digest is sent without the changes, never fails)."""
    small = scripted_campaign(campaign, 4)
    first = small.units[0].name
    with Store.open(tmp_path / "var") as store:
        store.directory.sync_units(small)
        jobs = Jobs(store, small)
        jobs.send_digest(jobs.statuses(), DAY1)
        Script(small).submit(store, first, DAY1 + dt.timedelta(hours=1))
        keep_snapshot(store, jobs.digest(jobs.statuses(), DAY1 + dt.timedelta(hours=2)).snapshot())
        assert previous_snapshot(store, DAY2.date()).units[first].submissions == 0  # the 08:00 one
        assert "新增报送 1 次（其中 1 个单位首次报送）" in digest_markdown(jobs.digest(jobs.statuses(), DAY2), small)
        store.state.kv_set(SNAPSHOT_KEY, "{not json")
        digest = jobs.digest(jobs.statuses(), DAY2)
    assert digest.changes is None and "较上次汇总" not in digest_markdown(digest, small)
