"""An accelerated campaign: 11 units, 20 days, hour by hour, a restart and two desks in the middle.

The script below is the ground truth: who sent what when. The test asserts every reminder
queued and delivered (to whom, when, what it lists), the office's notice after the
deadline, one digest a day, and that nothing is sent twice.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import threading
from pathlib import Path

import pytest

from config.campaign import Campaign
from notify.outbox import OutboxWorker
from schedule.jobs import MARKDOWN_CHANNEL, Jobs, Queued
from storage.repo import Store
from storage.tables import OutboxState
from tests.support.campaign_script import (
    Script,
    contact_email,
    contact_wecom,
    missing_form,
    no_project_video,
    scripted_campaign,
    too_few_photos,
)
from validators.base import Severity, render

S7, S3, S1, S0 = "before-7d:2021-08-23", "before-3d:2021-08-27", "before-1d:2021-08-29", "before-0d:2021-08-30"
SA = "after-1d:2021-08-31"
SLOT_DAY = {S7: 23, S3: 27, S1: 29, S0: 30, SA: 31}


def local(campaign: Campaign, month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2021, month, day, hour, minute, tzinfo=campaign.tz)


class Recorder:
    """A chat channel's sender that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[list[str], str]] = []
        self.lock = threading.Lock()

    def __call__(self, recipients: list[str], text: str) -> None:
        with self.lock:
            self.sent.append((list(recipients), text))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, campaign: Campaign):
    """Run the whole campaign once; the tests below look at what it left."""
    c = scripted_campaign(campaign, 11)
    names = [u.name for u in c.units]
    data = tmp_path_factory.mktemp("campaign") / "var"
    store = Store.open(data)
    store.directory.sync_units(c)
    script = Script(c)
    # (local time, unit index, breakages, exemplars) in time order; None breakages: complete.
    events = [
        ((8, 16, 10, 30), 0, [], False),
        ((8, 18, 9, 0), 7, [], False),
        ((8, 20, 15, 0), 2, [missing_form(0)], False),
        ((8, 21, 11, 0), 8, [], True),
        ((8, 22, 11, 0), 3, [too_few_photos(0), no_project_video(1)], False),
        ((8, 23, 10, 0), 5, [no_project_video(0)], False),
        ((8, 25, 16, 0), 4, [], False),
        ((8, 26, 14, 0), 7, [missing_form(1)], False),
        ((8, 28, 12, 0), 2, [], False),
        ((8, 29, 8, 0), 5, [], False),
        ((8, 29, 9, 30), 6, [missing_form(2)], False),
        ((8, 31, 8, 0), 6, [], False),
        ((8, 31, 9, 0), 10, [too_few_photos(1)], False),  # late, incomplete, at the final notice's time
        ((9, 1, 10, 0), 9, [], False),
    ]
    pending = [(local(c, *when), i, b, ex) for when, i, b, ex in events]
    paper_day = local(c, 8, 24, 15)

    now = local(c, 8, 14, 0)
    end = local(c, 9, 2, 23)
    restart_at = local(c, 8, 27, 5)
    clock = [now]
    channels = {"wecom": Recorder(), MARKDOWN_CHANNEL: Recorder(), "webhook": Recorder()}
    queued: list[tuple[dt.datetime, Queued]] = []

    def desk(s: Store) -> tuple[Jobs, OutboxWorker]:
        jobs = Jobs(s, c, webhook=True, clock=lambda: clock[0])
        worker = OutboxWorker(s, smtp=None, outbox_dir=data / "outbox", clock=lambda: clock[0], channels=channels)
        return jobs, worker

    desks = [desk(store)]
    restarted = False
    while now <= end:
        clock[0] = now
        while pending and pending[0][0] <= now:
            at, i, breakages, exemplars = pending.pop(0)
            script.submit(desks[0][0].store, names[i], at, breakages=breakages, exemplars=exemplars)
        if paper_day and now >= paper_day:
            desks[0][0].store.state.record_paper(names[8], paper_day.date(), "office")
            paper_day = None
        if not restarted and now >= restart_at:
            # The desk stops; two desks come up on the same database and tick side by side.
            for jobs, _ in desks:
                jobs.store.close()
            desks = [desk(Store.open(data)), desk(Store.open(data))]
            restarted = True
        results: list[list[Queued]] = [[] for _ in desks]

        def tick(n: int, jobs: Jobs, results: list[list[Queued]] = results, now: dt.datetime = now) -> None:
            results[n] = jobs.tick(now).queued

        threads = [threading.Thread(target=tick, args=(n, j)) for n, (j, _) in enumerate(desks)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for result in results:
            queued += [(now, q) for q in result]
        for _, worker in desks:
            worker.run_once(limit=100)
        now += dt.timedelta(hours=1)

    # A third desk replays the whole campaign's clock: everything it finds due was done.
    replay = Jobs(desks[0][0].store, c, webhook=True)
    hours = [local(c, 8, 14, h) + dt.timedelta(days=d) for d in range(20) for h in (0, 8, 9, 10, 23)]
    again = [q for moment in hours for q in replay.tick(moment).queued]
    yield {
        "campaign": c,
        "names": names,
        "script": script,
        "queued": queued,
        "again": again,
        "channels": channels,
        "store": desks[0][0].store,
        "data": data,
    }
    for jobs, _ in desks:
        jobs.store.close()


EXPECTED = {
    0: [],
    1: [S7, S3, S1, S0, SA],
    2: [S7, S3],
    3: [S7, S3, S1, S0, SA],
    4: [S7],
    5: [S7, S3],
    6: [S7, S3, S1, S0],
    7: [S3, S1, S0, SA],
    8: [],
    9: [S7, S3, S1, S0, SA],
    10: [S7, S3, S1, S0],  # its late mail came at the final notice's time: it got the check's reply instead
}


def test_every_reminder_went_to_the_right_units_once_per_channel_at_its_time(run) -> None:
    c, names = run["campaign"], run["names"]
    reminders = [(at, q) for at, q in run["queued"] if q.dedupe_key.startswith("reminder:") and q.unit in names]
    for i, name in enumerate(names):
        mine = [(at, q) for at, q in reminders if q.unit == name]
        for channel, recipient in (("mail", contact_email(i)), ("wecom", contact_wecom(i))):
            got = [(at, q.slot) for at, q in mine if q.channel == channel]
            assert [slot for _, slot in got] == EXPECTED[i], (name, channel)
            assert all(q.recipients == (recipient,) for _, q in mine if q.channel == channel)
            # Each at the slot's own time: 09:00 of its day, the first tick after it.
            assert [at for at, _ in got] == [local(c, 8, SLOT_DAY[slot], 9) for slot in EXPECTED[i]]
    assert run["again"] == []


def test_each_reminder_lists_exactly_what_was_missing_then(run) -> None:
    names, script = run["names"], run["script"]
    for at, q in run["queued"]:
        if not q.dedupe_key.startswith("reminder:") or q.unit not in names:
            continue
        sent = script.state_at(q.unit, at)
        if sent is None:
            assert "尚未收到" in q.text
            continue
        errors = [f for f in sent.findings if f.severity == Severity.ERROR]
        assert errors, f"{q.unit} was complete at {at} but got {q.slot}"
        assert f"还有 {len(errors)} 处必须修改" in q.text
        for f in errors:
            message, _ = render(f)
            assert message in q.text
            assert f.nominee is None or f.nominee in q.text
    # The mail that reached 辽源 at the last reminder names both of its problems.
    store: Store = run["store"]
    row = store.outbox.by_key(f"reminder:{names[3]}:{S0}:mail")
    assert row is not None and row.state == OutboxState.SENT
    mail = email.message_from_bytes(store.outbox.eml(row), policy=email.policy.default)
    assert mail["To"] == contact_email(3) and mail["Auto-Submitted"] == "auto-generated"
    assert mail["Subject"] == f"【今日截止提醒】{names[3]}：推荐材料尚不完整"
    body = mail.get_body(("plain",)).get_content()
    assert "金哲洙" in body and "“布尔哈通河”市民读书会" in body


def test_after_the_deadline_the_office_hears_who_is_still_incomplete(run) -> None:
    c, names = run["campaign"], run["names"]
    office = [q for _, q in run["queued"] if q.unit == c.office.name and q.slot == SA]
    assert sorted(q.channel for q in office) == ["mail", "webhook", "wecom"]
    mail = next(q for q in office if q.channel == "mail")
    assert mail.recipients == (c.office.email,)
    # Every unit not complete at that time, reminded or not: 10 sent late and incomplete.
    incomplete = [names[i] for i in (1, 3, 7, 9, 10)]
    listed = [line for line in mail.text.splitlines() if line.startswith("- ")]
    assert [line[2:].split("：")[0] for line in listed] == incomplete
    assert "仍有 5 个单位材料不完整" in mail.text
    late = next(line for line in listed if line.startswith(f"- {names[10]}："))
    assert "需修改 1 项" in late and "检查结果已另行回复该单位" in late
    assert "其中 4 个单位已收到系统发出的截止通知" in mail.text
    wecom = next(q for q in office if q.channel == "wecom")
    assert wecom.recipients == ("wuxiaohui",)


def test_one_digest_a_day_on_every_channel_and_everything_delivered(run) -> None:
    c = run["campaign"]
    digests = [(at, q) for at, q in run["queued"] if q.dedupe_key.startswith("digest:")]
    days = [local(c, 8, 14, 8) + dt.timedelta(days=n) for n in range(20)]
    for channel in ("mail", MARKDOWN_CHANNEL, "webhook"):
        assert [at for at, q in digests if q.channel == channel] == days
    store: Store = run["store"]
    assert {r.state for r in store.outbox.all()} == {OutboxState.SENT}
    channels = run["channels"]
    assert len(channels["webhook"].sent) == 20 + 1  # the digests, and the notice after the deadline
    assert all(len(text.encode()) <= 4096 for _, text in channels["webhook"].sent)
    assert all(len(text.encode()) <= 2048 for _, text in channels[MARKDOWN_CHANNEL].sent)
    reminders_in_wecom = sum(len(v) for v in EXPECTED.values()) + 1  # the units', and the office's notice
    assert len(channels["wecom"].sent) == reminders_in_wecom
    outbox_files = sorted(Path(run["data"], "outbox").glob("*.eml"))
    assert len(outbox_files) == sum(len(v) for v in EXPECTED.values()) + 1 + 20
