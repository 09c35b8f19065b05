"""Reminder rounds the desk missed, units it cannot reach, mail still being checked, and the
checklist's words, against a real store: what the units and the office would receive."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from config.campaign import Campaign, Range, Unit
from schedule.jobs import Jobs, Queued
from schedule.slots import AFTER, reminder_plan
from storage.repo import Store
from tests.support.campaign_script import Script, contact_email, scripted_campaign
from tests.support.clock import Clock

COMPLETE, NOTHING, UNREACHABLE, CHECKING = range(4)


def at(campaign: Campaign, day: int, hour: int, month: int = 8) -> dt.datetime:
    return dt.datetime(2021, month, day, hour, tzinfo=campaign.tz)


@pytest.fixture
def desk(tmp_path: Path, campaign: Campaign):
    """Four units: one complete, one with nothing sent, one with nothing sent and no address or
    WeCom id, one whose first mail (the day before the deadline) the desk has not checked yet."""
    c = scripted_campaign(campaign, 4, unreachable=[UNREACHABLE])
    store = Store.open(tmp_path / "var")
    store.directory.sync_units(c)
    script = Script(c)
    names = [u.name for u in c.units]
    script.submit(store, names[COMPLETE], at(c, 20, 10))
    script.arrive(store, names[CHECKING], at(c, 29, 16))
    yield c, store, Jobs(store, c), names
    store.close()


def reminders(queued: list[Queued]) -> list[tuple[str, str, str]]:
    return sorted((q.unit, q.slot, q.channel) for q in queued if q.dedupe_key.startswith("reminder:"))


def test_the_final_round_catches_up_on_a_later_day_once_and_the_office_hears_of_every_unit(desk) -> None:
    c, store, jobs, names = desk
    after = f"after-{c.reminders.after_deadline_days}d:2021-08-31"
    # The desk was down on the final notice's day; it comes back two days later.
    first = jobs.tick(at(c, 2, 10, month=9)).queued
    expected = [(unit, after, channel) for unit in (names[NOTHING], c.office.name) for channel in ("mail", "wecom")]
    assert reminders(first) == sorted(expected)
    office = next(q for q in first if q.unit == c.office.name and q.slot == after and q.channel == "mail")
    listed = {line[2:].split("：")[0]: line for line in office.text.splitlines() if line.startswith("- ")}
    assert list(listed) == [names[NOTHING], names[UNREACHABLE], names[CHECKING]]  # not the complete one
    assert "仍有 3 个单位材料不完整" in office.text
    assert "未能通知（没有可用的邮箱或企业微信账号）" in listed[names[UNREACHABLE]]
    assert "未能通知" not in listed[names[NOTHING]]
    assert "已报送" in listed[names[CHECKING]] and "材料正在检查" in listed[names[CHECKING]]
    assert "其中 1 个单位已收到系统发出的截止通知" in office.text
    assert f"未能通知（没有可用的邮箱或企业微信账号）：{names[UNREACHABLE]}，请电话联系" in office.text
    assert "以上单位已收到" not in office.text
    # At most once: later ticks, that day or any other, send nothing of the round.
    assert reminders(jobs.tick(at(c, 2, 11, month=9)).queued) == []
    assert reminders(Jobs(store, c).tick(at(c, 9, 10, month=9)).queued) == []


def test_a_missed_pre_deadline_round_goes_out_late_with_the_true_countdown_and_never_once_superseded(
    desk,
) -> None:
    c, store, jobs, names = desk
    seven = "before-7d:2021-08-23"
    # Down on the 7-days-before day, up on the 25th: that round, saying how many days are really left.
    late = [q for q in jobs.tick(at(c, 25, 10)).queued if q.dedupe_key.startswith("reminder:")]
    assert reminders(late) == [(names[NOTHING], seven, "mail"), (names[NOTHING], seven, "wecom")]
    mail = next(q for q in late if q.channel == "mail")
    assert mail.recipients == (contact_email(NOTHING),)
    assert "还剩 5 天" in mail.text and "还剩 7 天" not in mail.text
    assert reminders(jobs.tick(at(c, 25, 11)).queued) == []
    # Down again from the 26th to the 30th at 10:00: the 3- and 1-day rounds were superseded by the
    # deadline day's, the only one sent then.
    on_the_day = reminders(jobs.tick(at(c, 30, 10)).queued)
    assert on_the_day == [
        (names[NOTHING], "before-0d:2021-08-30", "mail"),
        (names[NOTHING], "before-0d:2021-08-30", "wecom"),
    ]
    # The deadline is over: the deadline day's round is not sent late, and before the final notice's
    # time nothing is due.
    assert reminders(Jobs(store, c).tick(at(c, 31, 8)).queued) == []
    # The unit nobody can reach is in the audit log, once for the round, however often the desk ticks.
    audited = store.audit.entries(action="reminder.unreachable")
    assert [(a.unit_name, a.detail["slot"]) for a in audited] == [
        (names[UNREACHABLE], "before-0d:2021-08-30"),
        (names[UNREACHABLE], seven),
    ]


def test_the_checklist_takes_its_numbers_and_words_from_the_campaign(tmp_path: Path, campaign: Campaign) -> None:
    star = campaign.star.model_copy(update={"photos": Range(min=3, max=3)})
    video = campaign.project.video.model_copy(
        update={"containers": ["mp4", "mov"], "min_seconds": 120, "max_seconds": 180}
    )
    project = campaign.project.model_copy(update={"photos": Range(min=6, max=12), "video": video})
    c = scripted_campaign(campaign.model_copy(update={"star": star, "project": project}), 1)
    with Store.open(tmp_path / "var") as store:
        store.directory.sync_units(c)
        [mail] = [
            q for q in Jobs(store, c).tick(at(c, 23, 9)).queued if q.channel == "mail" and q.unit == c.units[0].name
        ]
    assert "每人照片 3 张（其中一张为2寸免冠彩色证件照）" in mail.text
    assert "照片 6-12 张，视频（MP4/MOV，2-3 分钟）" in mail.text
    star_video = campaign.star.video
    assert f"鼓励报送视频（MP4，{star_video.min_seconds // 60}-{star_video.max_seconds // 60} 分钟）" in mail.text
    assert "2 寸" not in mail.text and "视频 1 个" not in mail.text


def test_a_desk_started_long_after_the_campaign_sends_no_final_notice(desk) -> None:
    c, store, jobs, _ = desk
    assert reminders(jobs.tick(at(c, 1, 10, month=12)).queued) == []  # months later: nobody to remind
    final = dt.datetime.combine(c.deadline + dt.timedelta(days=c.reminders.after_deadline_days), c.reminders.time, c.tz)
    last_chance = final + dt.timedelta(days=c.reminders.catch_up_days)
    assert reminders(Jobs(store, c).tick(last_chance).queued)  # the last moment of the catch-up still sends it


def test_without_the_wecom_app_nothing_is_queued_for_wecom(desk) -> None:
    """A WeCom message with no WeCom app configured could never leave: it would wait forever."""
    c, store, _, names = desk
    queued = Jobs(store, c, wecom=False).tick(at(c, 23, 10)).queued
    assert reminders(queued) == [(names[NOTHING], "before-7d:2021-08-23", "mail")]


def test_of_70_units_each_with_a_contact_gets_every_round_once_and_the_office_hears_of_the_rest(
    tmp_path: Path, campaign: Campaign
) -> None:
    """The shipped campaign and two more units; contacts registered in the database by mail only,
    WeCom only or both, one by name and phone only, one added between rounds. Several ticks per
    round and a second desk ticking too: every unit with a contact gets each round once per channel,
    the others get nothing and are named to the office at the end of every round."""
    extra = [Unit(name=f"测试{i}号单位", kind=campaign.units[-1].kind) for i in (1, 2)]
    c = campaign.model_copy(update={"units": [*campaign.units, *extra]})
    assert len(c.units) == 70
    names = [u.name for u in c.units]
    seeded = {u.name for u in c.units if u.contacts}  # the TOML's own contacts (mail and WeCom)
    free = [n for n in names if n not in seeded]
    mail_only, wecom_only, both = free[0:5], free[5:10], free[10:15]
    phone_only, late = free[15], free[16]
    clock = Clock(reminder_plan(c)[0].at - dt.timedelta(days=1))
    with Store.open(tmp_path / "var") as store:
        store.directory.sync_units(c)
        for i, unit in enumerate(mail_only):
            store.contacts.add(unit, f"邮件{i}", emails=[f"clerk{i}@mail.example.cn"], actor="office")
        for i, unit in enumerate(wecom_only):
            store.contacts.add(unit, f"微信{i}", wecom_user=f"wecom-clerk{i}", actor="office")
        for i, unit in enumerate(both):
            store.contacts.add(unit, f"两者{i}", emails=[f"both{i}@x.cn"], wecom_user=f"both{i}", actor="office")
        store.contacts.add(phone_only, "赵六", phone="0431-8000000", actor="office")
        jobs, other_desk = Jobs(store, c, clock=clock), Jobs(store, c, clock=clock)
        plan = reminder_plan(c)
        for n, slot in enumerate(plan):
            for later in (dt.timedelta(0), dt.timedelta(minutes=1), dt.timedelta(hours=5)):
                clock.now = slot.at + later
                jobs.tick()
                other_desk.tick()
            if n == 0:  # the office learns the late unit's address after the first round
                store.contacts.add(late, "后来登记", emails=["later@late.example.cn"], actor="office")
        rows = [r for r in store.outbox.all(limit=100_000) if not r.dedupe_key.startswith("digest:")]

    def rounds(unit: str, channel: str) -> list[str]:
        return sorted(r.dedupe_key.split(":", 2)[2] for r in rows if r.unit_name == unit and r.channel == channel)

    def expected(channel: str) -> list[str]:
        return sorted(f"{slot.key}:{channel}" for slot in plan)

    for unit in [*seeded, *both]:
        assert rounds(unit, "mail") == expected("mail") and rounds(unit, "wecom") == expected("wecom"), unit
    for unit in mail_only:
        assert rounds(unit, "mail") == expected("mail") and rounds(unit, "wecom") == [], unit
        (row,) = [r for r in rows if r.unit_name == unit and r.dedupe_key.endswith(f"{plan[0].key}:mail")]
        assert row.recipients == [f"clerk{mail_only.index(unit)}@mail.example.cn"]
    for unit in wecom_only:
        assert rounds(unit, "wecom") == expected("wecom") and rounds(unit, "mail") == [], unit
    # Registered after the first round: every later round, not the one before.
    assert rounds(late, "mail") == [k for k in expected("mail") if not k.startswith(plan[0].key)]
    unreachable = [n for n in names if n not in {*seeded, *mail_only, *wecom_only, *both, late}]
    assert phone_only in unreachable and len(unreachable) == 70 - len(seeded) - 16
    assert not [r for r in rows if r.unit_name in unreachable]
    # The office: one notice per round and channel naming every unit it could not reach.
    office = [r for r in rows if r.unit_name is None]
    for n, slot in enumerate(plan):
        notices = {r.channel: r for r in office if slot.key in r.dedupe_key}
        assert sorted(notices) == ["mail", "wecom"], slot.key
        text = notices["mail"].body_text
        missed = [u for u in names if u in unreachable or (u == late and n == 0)]  # in the config's order
        if slot.kind == AFTER:
            assert notices["mail"].dedupe_key.startswith("reminder:")
            assert f"未能通知（没有可用的邮箱或企业微信账号）：{'、'.join(missed)}，请电话联系" in text
        else:
            assert notices["mail"].dedupe_key == f"unreachable:{c.office.name}:{slot.key}:mail"
            lead = f"以下 {len(missed)} 个单位没有可用的邮箱或企业微信账号，未能提醒，请电话联系："
            assert f"{lead}\n{'、'.join(missed)}\n" in text
            assert f"- {phone_only}：未报送，联系人赵六未登记邮箱和企业微信账号" in text
            assert not any(unit in text for unit in mail_only)
    assert len(office) == 2 * len(plan)


def test_a_round_that_reaches_every_unit_sends_the_office_nothing_before_the_deadline(desk) -> None:
    c, store, _, names = desk
    store.contacts.add(names[UNREACHABLE], "新联系人", emails=["new@unit.example.cn"], actor="office")
    queued = Jobs(store, c).tick(at(c, 23, 10)).queued
    assert {q.unit for q in queued if q.slot.startswith("before")} == {names[NOTHING], names[UNREACHABLE]}
    assert not [q for q in queued if q.unit == c.office.name and q.dedupe_key.startswith(("unreachable", "reminder"))]
