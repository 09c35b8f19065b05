"""The reminder plan, and APScheduler's job kept in the database across restarts."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.service import Service
from schedule import scheduler as sched
from schedule.jobs import Jobs
from schedule.scheduler import JOB_ID, DeskScheduler, make_scheduler
from schedule.slots import digest_due, due_slot, reminder_plan
from storage.repo import Store
from tests.support.campaign_script import contact_email, scripted_campaign
from tests.support.service import outbox_mails, wait_until


def at(campaign: Campaign, day: int, hour: int, minute: int = 0, month: int = 8) -> dt.datetime:
    return dt.datetime(2021, month, day, hour, minute, tzinfo=campaign.tz)


def test_the_plan_follows_the_config_and_a_missed_slot_catches_up_by_the_policy(campaign: Campaign) -> None:
    plan = reminder_plan(campaign)
    assert [s.key for s in plan] == [
        "before-7d:2021-08-23",
        "before-3d:2021-08-27",
        "before-1d:2021-08-29",
        "before-0d:2021-08-30",
        "after-1d:2021-08-31",
    ]
    assert all(s.at.timetz().replace(tzinfo=None) == campaign.reminders.time for s in plan)
    end = campaign.deadline_end

    def due(moment: dt.datetime) -> str | None:
        slot = due_slot(plan, moment, end)
        return slot.key if slot else None

    assert due(at(campaign, 23, 8, 59)) is None
    assert due(at(campaign, 23, 9)) == "before-7d:2021-08-23"
    assert due(at(campaign, 23, 23, 59)) == "before-7d:2021-08-23"  # caught up the same day
    assert due(at(campaign, 25, 9)) == "before-7d:2021-08-23"  # missed: still the latest, before the deadline
    assert due(at(campaign, 27, 9)) == "before-3d:2021-08-27"  # superseded: the 7-day round is never sent now
    assert due(at(campaign, 30, 23, 59)) == "before-0d:2021-08-30"
    assert due(at(campaign, 31, 8)) is None  # the deadline is over: no pre-deadline round any more
    assert due(at(campaign, 31, 12)) == "after-1d:2021-08-31"
    assert due(at(campaign, 5, 12, month=9)) == "after-1d:2021-08-31"  # the final round catches up any later day
    assert digest_due(campaign, at(campaign, 20, 7, 59)) is None
    assert digest_due(campaign, at(campaign, 20, 8)) == dt.date(2021, 8, 20)
    last = campaign.deadline + dt.timedelta(days=campaign.digest.days_after_deadline or 0)
    assert digest_due(campaign, dt.datetime.combine(last, dt.time(9), campaign.tz)) == last
    assert digest_due(campaign, dt.datetime.combine(last + dt.timedelta(days=1), dt.time(9), campaign.tz)) is None


def test_the_job_is_kept_in_the_database_and_a_restart_neither_loses_nor_repeats_it(
    tmp_path: Path, campaign: Campaign
) -> None:
    store = Store.open(tmp_path / "var")
    calls: list[dt.datetime] = []

    class Counting(Jobs):
        def tick(self, now=None):  # type: ignore[override]
            calls.append(dt.datetime.now(dt.UTC))
            return super().tick(at(campaign, 1, 0))

    jobs = Counting(store, campaign)
    first = DeskScheduler(jobs, key="t1", interval=dt.timedelta(hours=1))
    first.start()
    wait_until(lambda: calls, 10, what="the first tick")  # runs at once on a fresh database
    job = first.scheduler.get_job(JOB_ID)
    next_run = job.next_run_time
    first.shutdown()

    # The database holds the job with its next run time (read without a scheduler running).
    jobstore = SQLAlchemyJobStore(engine=store.engine)
    jobstore.start(make_scheduler(engine=store.engine), "default")
    kept = jobstore.lookup_job(JOB_ID)
    assert kept is not None and kept.args == ("t1",) and kept.next_run_time == next_run
    assert kept.coalesce is True and kept.misfire_grace_time is None
    # The desk was down for ten runs: the next start runs the job once, not ten times.
    kept._modify(next_run_time=dt.datetime.now(dt.UTC) - dt.timedelta(hours=10))
    jobstore.update_job(kept)

    calls.clear()
    second = DeskScheduler(Counting(store, campaign), key="t1", interval=dt.timedelta(hours=1))
    second.start()
    wait_until(lambda: calls, 10, what="the catch-up tick")
    time.sleep(0.5)
    assert len(calls) == 1
    assert second.scheduler.get_job(JOB_ID).next_run_time > dt.datetime.now(dt.UTC)
    second.shutdown()
    assert "t1" not in sched._runners
    store.close()


def test_serve_sends_the_due_reminders_once_across_a_restart(tmp_path: Path, campaign: Campaign) -> None:
    c = scripted_campaign(campaign, 3)
    settings = Settings(data_dir=tmp_path / "var")
    now = at(c, 27, 9, 30).astimezone(dt.UTC)
    service = Service.build(settings, c, clock=lambda: now)
    service.poll_interval = 0.05
    service.start()
    try:
        mails = wait_until(lambda: len(outbox_mails(settings.data_dir)) >= 4 and outbox_mails(settings.data_dir), 20)
    finally:
        service.shutdown()
    # Nothing was sent by any unit: each of the three is reminded, and the office gets its digest.
    to = sorted(str(m["To"]) for m in mails)
    assert to == sorted([c.office.email, *(contact_email(i) for i in range(3))])
    assert all("截止前3天" in str(m["Subject"]) for m in mails if str(m["To"]) != c.office.email)

    again = Service.build(settings, c, clock=lambda: now + dt.timedelta(hours=2))
    again.start()
    try:
        assert sched.run_tick(str(settings.data_dir.resolve())) == 0  # the restart's tick finds all done
    finally:
        again.shutdown()
    assert len(outbox_mails(settings.data_dir)) == 4
