"""`nomdesk rehearse` and the rehearsal clock, run as the office runs them (the real command).

A month of the campaign on a copy of an office's data directory (the TOML's units and contacts, a
contact the office added, a unit already complete) must leave in the rehearsal's outbox folder
exactly the reminders and digests the campaign's plan says, each on its own campaign day, and
nothing in the real data directory. A reply composed on the rehearsal's clock before the deadline
counts the days left; the same mail on a clock after the deadline says the deadline has passed.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.clock import CampaignClock, arrival_time, campaign_clock, parse_start, real_now
from config.settings import Settings
from nomdesk.desk import Desk
from notify.outbox import OutboxWorker
from schedule.slots import reminder_plan
from storage.repo import Store
from storage.tables import OutboxState
from tests.support.clock import Clock
from tests.support.packages import build_eml, complete_city_package, run_nomdesk

FROM = "2021-08-15"
DAYS = 30
ADDED_UNIT = "白城市教育局"  # no contact in the TOML: the office added one in its database
ADDED_EMAIL = "baicheng-jyj@example.cn"


def clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment without any NOMDESK_* setting (no SMTP, no clock) of the runner's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOMDESK_")}
    return {**env, **extra}


def outbox_files(folder: Path) -> dict[int, email.message.EmailMessage]:
    """The .eml files of an outbox folder by the outbox row id their name carries."""
    found = {}
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found[int(path.stem)] = message
    return found


@dataclass
class Office:
    data: Path  # the office's real data directory
    units_reachable: list[str]  # units with an address, not complete
    complete: str
    outbox_rows: int
    outbox_files: set[str]


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory, campaign: Campaign) -> Office:
    """An office's data directory: 延边 sent a complete package (answered), 白城 has a contact the
    office added (not in the TOML), 长白山 has its TOML contact and sent nothing."""
    data = tmp_path_factory.mktemp("office") / "var"
    package = build_eml(complete_city_package(campaign))
    clock = Clock(dt.datetime(2021, 8, 14, 2, 0, tzinfo=dt.UTC))
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        store.contacts.add(ADDED_UNIT, "白城联系人", emails=[ADDED_EMAIL])
        desk = Desk(Settings(data_dir=data), campaign, store, clock=clock)
        desk.ingest_file(package, received_at=clock())
        desk.process_pending()
        OutboxWorker(store, smtp=None, outbox_dir=data / "outbox", clock=clock).run_once(limit=50)
        rows = store.outbox.all(limit=10_000)
        assert all(r.state == OutboxState.SENT for r in rows), "the office's desk sent its receipts"
        reachable = sorted({c.unit_name for c in store.contacts.list(office=False) if c.emails})
    complete = "延边朝鲜族自治州教育局"
    assert complete in reachable and ADDED_UNIT in reachable
    return Office(
        data=data,
        units_reachable=[u for u in reachable if u != complete],
        complete=complete,
        outbox_rows=len(rows),
        outbox_files={p.name for p in (data / "outbox").iterdir()},
    )


@dataclass
class Rehearsal:
    folder: Path
    stdout: str
    files: dict[int, email.message.EmailMessage]
    rows: dict[int, object]  # outbox rows of the rehearsal's database by id


@pytest.fixture(scope="module")
def rehearsal(office: Office, tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    folder = tmp_path_factory.mktemp("rehearsal") / "run"
    # Hourly checks (the plan's times are on the hour) at a speed the machine cannot keep: seconds.
    done = run_nomdesk(
        "rehearse",
        "--data-dir",
        office.data,
        "--into",
        folder,
        "--from",
        FROM,
        "--days",
        str(DAYS),
        "--speed",
        "1000000",
        "--step",
        "60",
        env=clean_env(),
    )
    assert done.code == 0, done.stderr
    with Store.open(folder) as store:
        rows = {r.id: r for r in store.outbox.all(limit=10_000)}
    return Rehearsal(folder, done.stdout, outbox_files(folder / "outbox"), rows)


def expected_keys(campaign: Campaign, office: Office) -> Counter[str]:
    """Every message the campaign's plan sends in the window, by dedupe key: the digest each day
    from its time to `days_after_deadline`, each reminder round to each reachable unit not complete,
    the office's list of the units a pre-deadline round could not reach, and its after-deadline list."""
    tz = campaign.tz
    start = dt.datetime.combine(dt.date.fromisoformat(FROM), dt.time(), tz)
    end = start + dt.timedelta(days=DAYS)
    office_name = campaign.office.name
    keys: Counter[str] = Counter()
    last_digest = campaign.deadline + dt.timedelta(days=campaign.digest.days_after_deadline or 0)
    day = start.date()
    while day < end.date():
        if dt.datetime.combine(day, campaign.digest.time, tz) >= start and day <= last_digest:
            keys[f"digest:{office_name}:digest:{day.isoformat()}:mail"] += 1
        day += dt.timedelta(days=1)
    for slot in reminder_plan(campaign):
        if not start <= slot.at < end:
            continue
        for unit in office.units_reachable:
            keys[f"reminder:{unit}:{slot.key}:mail"] += 1
        prefix = "reminder" if slot.kind == "after" else "unreachable"  # 65 units have no address
        keys[f"{prefix}:{office_name}:{slot.key}:mail"] += 1
    return keys


def test_a_month_sends_exactly_the_planned_reminders_and_digests(
    rehearsal: Rehearsal, office: Office, campaign: Campaign
) -> None:
    new = {i: r for i, r in rehearsal.rows.items() if r.sent_at and r.sent_at.year == 2021 and i in rehearsal.files}
    landed = Counter(r.dedupe_key for r in new.values())
    expected = expected_keys(campaign, office)
    assert landed == expected
    # 30 digests (08-15 .. 09-13), 5 rounds x 2 units, 4 unreachable lists and the after-deadline list.
    assert sum(1 for k in landed if k.startswith("digest:")) == 30
    per_unit = Counter(r.unit_name for r in new.values() if r.dedupe_key.startswith("reminder:") and r.unit_name)
    assert per_unit == {"长白山管委会教育科技局": 5, ADDED_UNIT: 5}
    # Every file in the folder is one of them: the receipts the office sent before were not resent.
    assert set(rehearsal.files) == set(new)


def test_each_message_is_sent_on_its_campaign_day_to_its_unit(rehearsal: Rehearsal, campaign: Campaign) -> None:
    tz = campaign.tz
    plan = {s.key: s for s in reminder_plan(campaign)}
    for row_id, message in rehearsal.files.items():
        row = rehearsal.rows[row_id]
        sent = row.sent_at.astimezone(tz)
        assert message["To"] == ", ".join(row.recipients)
        assert email.utils.parsedate_to_datetime(message["Date"]) == row.sent_at  # dated on the rehearsal's day
        if row.dedupe_key.startswith("digest:"):
            day = dt.date.fromisoformat(row.dedupe_key.split(":")[3])
            assert (sent.date(), sent.time()) == (day, campaign.digest.time)
            assert f"（{day:%m月%d日}）" in message["Subject"]
        else:
            slot = plan[row.dedupe_key.split(":")[2] + ":" + row.dedupe_key.split(":")[3]]
            assert sent == slot.at
            if row.unit_name:
                assert row.unit_name in message["Subject"]
                assert message["To"] == (ADDED_EMAIL if row.unit_name == ADDED_UNIT else "2295831465@qq.com")
    key = f"reminder:{ADDED_UNIT}:before-7d:2021-08-23:mail"
    (first,) = [m for i, m in rehearsal.files.items() if rehearsal.rows[i].dedupe_key == key]
    assert "还剩 7 天" in first.get_body(("plain",)).get_content()


def test_the_real_data_directory_is_untouched(rehearsal: Rehearsal, office: Office) -> None:
    with Store.open(office.data) as store:
        assert len(store.outbox.all(limit=10_000)) == office.outbox_rows
    assert {p.name for p in (office.data / "outbox").iterdir()} == office.outbox_files
    assert "每日汇总 30 份（2021-08-15 至 2021-09-13）" in rehearsal.stdout
    assert "截止前7天提醒（2021年8月23日）：2 个单位" in rehearsal.stdout


def test_a_folder_that_is_not_a_rehearsal_is_never_emptied(office: Office, tmp_path: Path) -> None:
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("keep me", encoding="utf-8")
    done = run_nomdesk("rehearse", "--data-dir", office.data, "--into", keep, "--days", "1", env=clean_env())
    assert done.code == 2
    assert "不是演练目录" in done.stderr
    assert (keep / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_the_rehearsal_keeps_its_pace(office: Office, tmp_path: Path) -> None:
    """One campaign day at 43,200 times the real pace takes two real seconds, not less."""
    began = time.monotonic()
    done = run_nomdesk(
        "rehearse", "--data-dir", office.data, "--into", tmp_path / "r", "--from", "2021-08-20",
        "--days", "1", "--speed", "43200", "--step", "60", "-q", env=clean_env(),
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert time.monotonic() - began >= 2.0
    assert "每日汇总 1 份（2021-08-20 至 2021-08-20）" in done.stdout


# ---- the clock -----------------------------------------------------------------------------------


def test_the_campaign_clock_starts_at_its_instant_and_runs_faster(campaign: Campaign) -> None:
    real = [dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)]
    clock = CampaignClock(parse_start("2021-08-01", campaign.tz), 600, real=lambda: real[0])
    assert clock().astimezone(campaign.tz) == dt.datetime(2021, 8, 1, tzinfo=campaign.tz)
    real[0] += dt.timedelta(minutes=10)  # ten real minutes are 100 campaign hours at 600x
    assert clock().astimezone(campaign.tz) == dt.datetime(2021, 8, 5, 4, 0, tzinfo=campaign.tz)
    # A mail a source saw a real minute after the start arrived ten campaign hours in.
    seen = dt.datetime(2026, 12, 3, 2, 1, tzinfo=dt.UTC)
    assert arrival_time(clock, seen) - parse_start("2021-08-01", campaign.tz) == dt.timedelta(hours=10)
    assert arrival_time(real_now, seen) == seen
    assert campaign_clock(None, None, campaign.tz) is real_now
    with pytest.raises(ValueError, match="无法识别"):
        campaign_clock("8月1日", None, campaign.tz)


@pytest.fixture(scope="module")
def package(campaign: Campaign) -> Path:
    return build_eml(complete_city_package(campaign))


def ingest_reply(package: Path, folder: Path, start: str) -> str:
    """`nomdesk ingest` on a clock set by NOMDESK_CLOCK_START (as README shows): the reply's text."""
    done = run_nomdesk("ingest", "--data-dir", folder, package, env=clean_env(NOMDESK_CLOCK_START=start))
    assert done.code == 0, done.stderr
    (reply,) = outbox_files(folder / "outbox").values()
    return reply.get_body(("plain",)).get_content()


def test_a_reply_on_the_rehearsal_clock_before_the_deadline_counts_the_days_left(package: Path, tmp_path: Path) -> None:
    text = ingest_reply(package, tmp_path / "var", "2021-08-22")
    assert "报送截止时间为 2021年08月30日，还剩 8 天。" in text
    assert "已过" not in text


def test_the_same_reply_after_the_deadline_says_it_has_passed(package: Path, tmp_path: Path) -> None:
    text = ingest_reply(package, tmp_path / "var", "2021-09-02T10:00")
    assert "报送截止时间（2021年08月30日）已过" in text


def test_serve_on_the_rehearsal_clock(package: Path, tmp_path: Path, campaign: Campaign) -> None:
    """NOMDESK_CLOCK_START / _SPEED reach `serve`'s desk: its clock, a scheduler ticking as often in
    campaign time, and a mail the drop folder sees now arriving on the rehearsal's day (not late)."""
    from intake.sources.base import IncomingRef
    from nomdesk.service import Service

    settings = Settings(data_dir=tmp_path / "var", clock_start="2021-08-23T09:00", clock_speed=600)
    service = Service.build(settings, campaign)
    try:
        assert dt.datetime(2021, 8, 23, 9, 0, tzinfo=campaign.tz) <= service.desk.clock()
        assert service.desk.clock() < dt.datetime(2021, 8, 23, 12, 0, tzinfo=campaign.tz)
        assert service.scheduler is not None and service.scheduler.interval == dt.timedelta(seconds=1)
        ref = IncomingRef(source="maildir", source_ref="1.eml", received_at=real_now(), size=package.stat().st_size)
        service.accept(package, ref)
        (raw,) = service.store.raw.all()
        assert raw.received_at.astimezone(campaign.tz).date() == dt.date(2021, 8, 23)
    finally:
        service.shutdown()


def test_readme_first_reply_is_true_today(tmp_path: Path) -> None:
    """README's "Trying it out" ingests a sample on a clock set inside the campaign and quotes the
    reply's deadline line: run its very command and find that line (not "已过") in the reply."""
    import re

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^NOMDESK_CLOCK_START=(\S+) \.venv/bin/nomdesk ingest (\S+)$", readme, re.MULTILINE)
    quoted = re.search(r'^ls var/outbox/ .*"(报送截止时间[^"]+)"', readme, re.MULTILINE)
    assert found and quoted, "README's first reply example changed: update this test with it"
    start, sample = found.groups()
    text = ingest_reply(ROOT / sample, tmp_path / "var", start)
    assert quoted.group(1) in text
    assert "已过" not in text


def test_a_mail_dropped_during_a_rehearsal_arrives_on_the_rehearsal_day(
    package: Path, tmp_path: Path, campaign: Campaign
) -> None:
    from config.clock import SteppedClock
    from nomdesk.cli.rehearse import prepare, rehearsal_settings, run
    from nomdesk.wiring import open_desk

    source = Settings(data_dir=tmp_path / "var", smtp_host="smtp.example.cn")  # never used by a rehearsal
    folder = tmp_path / "rehearsal"
    prepare(source, folder, fresh=True)
    settings = rehearsal_settings(source, folder)
    assert not settings.smtp_configured and settings.outbox_dir == folder / "outbox"
    start = dt.datetime(2021, 8, 22, 12, 0, tzinfo=campaign.tz)
    clock = SteppedClock(start, 1e9)
    desk = open_desk(settings, campaign, clock=clock)
    dropped = settings.inbox_dir / "new" / "package.eml"
    dropped.write_bytes(package.read_bytes())
    os.utime(dropped, (time.time() - 60, time.time() - 60))  # copied a minute ago: it stands still
    try:
        summary = run(desk, clock, until=start + dt.timedelta(hours=2), step=dt.timedelta(hours=1), speed=1e9)
        (raw,) = desk.store.raw.all()
        assert raw.received_at == start  # the tick that saw it, not the file's real time
    finally:
        desk.store.close()
    assert summary.mails_in == 1
    (reply,) = [m for m in outbox_files(folder / "outbox").values() if "材料受理回执" in m["Subject"]]
    text = reply.get_body(("plain",)).get_content()
    assert "还剩 8 天" in text and "逾期" not in text
