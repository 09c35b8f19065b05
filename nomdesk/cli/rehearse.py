"""`nomdesk rehearse`: a month of the campaign in minutes, on a copy of the office's own data.

The office wants to see, before the call goes out, which reminders and digests the desk will send
and to whom. A rehearsal runs the desk (drop folder, pipeline, reminders, digest, outbox) on a
stepped clock (config/clock.py `SteppedClock`) that starts at `--from` and keeps `--speed` times
the real pace, over a copy of the data directory: the database (with the office's units and
contacts), the file store (hard links: blobs never change) and the keys. Nothing it does reaches
the real data or anybody: SMTP, IMAP and WeCom are switched off and every mail is written as an
.eml into the rehearsal's outbox folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nomdesk.cli.common import CampaignOption, DataDirOption, campaign_of, err, settings_of, setup_logging

if TYPE_CHECKING:
    from config.campaign import Campaign
    from config.clock import SteppedClock
    from config.settings import Settings
    from intake.sources.base import IncomingRef
    from nomdesk.desk import Desk
    from schedule.jobs import Queued

MARKER = ".nomdesk-rehearsal"  # a rehearsal folder says so: only such a folder is ever replaced
DB_FILE = "nomdesk.sqlite3"
WEEKDAYS = "一二三四五六日"


# ---- the copy ----------------------------------------------------------------------------------


def _link_tree(source: Path, target: Path) -> None:
    """The file store as hard links (fast, no space); copies where links cannot cross a device."""

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link, dirs_exist_ok=True)


def prepare(source: Settings, target: Path, *, fresh: bool, db_file: str = DB_FILE) -> str:
    """Make `target` a rehearsal folder holding a copy of `source`'s data; what was copied, in words.
    A folder that is not a rehearsal's is refused (ValueError), never emptied. `db_file`: the
    campaign's database file (storage.db.sqlite_filename: a keyed campaign has its own)."""
    if target.resolve() == source.data_dir.resolve():
        raise ValueError("演练目录不能是数据目录本身")
    if target.exists() and any(target.iterdir()):
        if not (target / MARKER).exists():
            raise ValueError(f"{target} 已存在且不是演练目录，请换一个 --into 目录")
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    (target / MARKER).write_text("nomdesk rehearse\n", encoding="utf-8")
    database = source.data_dir / db_file
    if fresh or not database.exists():
        why = "按 --fresh" if fresh else f"{source.data_dir} 中还没有数据库"
        return f"{why}，从空数据库开始（单位和联系人取自活动配置）"
    if source.database_url:
        raise ValueError("数据库不是数据目录中的 SQLite 文件（NOMDESK_DATABASE_URL），无法复制；请加 --fresh")
    for item in source.data_dir.iterdir():
        if item.is_file() and not (item.name.startswith("nomdesk") and ".sqlite3" in item.name):
            shutil.copy2(item, target / item.name)  # the keys: sealed data stays readable
    # SQLite's backup: a consistent copy even while `serve` writes the database.
    with (
        contextlib.closing(sqlite3.connect(database)) as src,
        contextlib.closing(sqlite3.connect(target / db_file)) as dst,
    ):
        src.backup(dst)
    if source.store_dir.is_dir():
        _link_tree(source.store_dir, target / "store")
    return f"已复制 {source.data_dir} 的数据库、文件库和密钥（原数据不受影响）"


def rehearsal_settings(source: Settings, target: Path) -> Settings:
    """The source's settings on the copy, with every way out of the machine switched off."""
    off = dict.fromkeys(
        (
            "database_url",
            "imap_host",
            "imap_user",
            "imap_password",
            "smtp_host",
            "wecom_corp_id",
            "wecom_agent_id",
            "wecom_secret",
            "wecom_token",
            "wecom_aes_key",
            "wecom_webhook_key",
            "clock_start",
        )
    )
    return source.model_copy(update={**off, "data_dir": target, "clock_speed": 1.0})


# ---- the run -----------------------------------------------------------------------------------


@dataclass
class Summary:
    queued: list[tuple[dt.datetime, Queued]] = field(default_factory=list)
    mails_in: int = 0
    written: int = 0  # .eml files the outbox worker wrote
    ticks: int = 0
    real_seconds: float = 0.0  # how long it took: a slow machine keeps a lower pace than asked


OFFICE_NOTICES = {"unreachable": "每轮提醒后“未能提醒的单位”", "reminder": "截止后“仍不完整的单位”"}


def describe(item: Queued, campaign: Campaign) -> str:
    from schedule.slots import slot_label

    who = "省级办公室" if item.unit == campaign.office.name else item.unit
    what = "每日汇总" if item.slot.startswith("digest:") else slot_label(item.slot)
    if item.dedupe_key.startswith("unreachable:"):
        what += "：未能提醒的单位"
    return f"{what} -> {who}（{item.channel}，{len(item.recipients)} 个收件地址）"


def run(
    desk: Desk,
    clock: SteppedClock,
    *,
    until: dt.datetime,
    step: dt.timedelta,
    speed: float,
    echo: bool = True,
    summary: Summary | None = None,
) -> Summary:
    """Tick the desk from the clock's instant to `until`: take dropped mail, process it, run the
    scheduled jobs, write the outbox, then wait the step's share of real time at `speed`."""
    from intake.sources.maildir import MaildirSource
    from nomdesk import wiring

    campaign = desk.campaign
    summary = summary if summary is not None else Summary()  # the caller's: kept when interrupted

    def sink(path: Path, ref: IncomingRef) -> None:
        summary.mails_in += 1
        if echo:
            when = clock().astimezone(campaign.tz)
            typer.echo(f"  {when:%m-%d %H:%M} 收到投递目录中的邮件 {path.name}，回复写入发件目录")
        desk.accept(path, ref.model_copy(update={"received_at": clock()}))

    maildir = MaildirSource(desk.settings.inbox_dir, sink, settle_seconds=2.0)
    jobs = wiring.jobs(desk)
    worker = wiring.outbox_worker(desk)
    desk.recover()
    began = time.monotonic()
    day: dt.date | None = None
    while clock() < until:
        now = clock()
        local = now.astimezone(campaign.tz)
        maildir.poll_once()
        desk.process_pending()
        report = jobs.tick(now)
        while written := worker.run_once(limit=500):
            summary.written += written
        summary.ticks += 1
        for item in report.queued:
            summary.queued.append((now, item))
            if echo:
                if local.date() != day:
                    day = local.date()
                    typer.echo(f"== {day:%Y-%m-%d}（周{WEEKDAYS[day.weekday()]}）")
                typer.echo(f"  {local:%H:%M} {describe(item, campaign)}")
        clock.advance(step)
        lag = began + summary.ticks * step.total_seconds() / speed - time.monotonic()
        if lag > 0:
            time.sleep(lag)
        summary.real_seconds = time.monotonic() - began
    return summary


def print_summary(summary: Summary, campaign: Campaign, outbox: Path, start: dt.datetime, end: dt.datetime) -> None:
    from schedule.slots import slot_label

    tz = campaign.tz
    typer.echo("")
    span = f"{start.astimezone(tz):%Y-%m-%d %H:%M} 至 {end.astimezone(tz):%Y-%m-%d %H:%M}"
    typer.echo(f"演练结束：{span}（{summary.ticks} 次检查，用时 {summary.real_seconds / 60:.1f} 分钟）")
    digests = sorted({q.slot for _, q in summary.queued if q.dedupe_key.startswith("digest:")})
    if digests:
        first, last = digests[0].removeprefix("digest:"), digests[-1].removeprefix("digest:")
        typer.echo(f"每日汇总 {len(digests)} 份（{first} 至 {last}）")
    else:
        typer.echo("每日汇总 0 份")
    rounds: dict[str, set[str]] = {}
    for _, q in summary.queued:
        if q.dedupe_key.startswith("reminder:") and q.unit != campaign.office.name:
            rounds.setdefault(q.slot, set()).add(q.unit)
    for slot in sorted(rounds, key=lambda s: s.split(":", 1)[1]):
        typer.echo(f"{slot_label(slot)}：{len(rounds[slot])} 个单位")
    office = Counter(q.dedupe_key.split(":", 1)[0] for _, q in summary.queued if q.unit == campaign.office.name)
    for prefix, words in OFFICE_NOTICES.items():
        if office[prefix]:
            typer.echo(f"给办公室的{words}名单：{office[prefix]} 条")
    if summary.mails_in:
        typer.echo(f"收到投递目录中的邮件 {summary.mails_in} 封")
    typer.echo(f"写入发件目录 {summary.written} 封：{outbox}")


def rehearse(
    start: Annotated[
        str | None, typer.Option("--from", help="演练从哪天开始（如 2021-08-01，活动所在时区；默认截止日前 30 天）")
    ] = None,
    speed: Annotated[float, typer.Option("--speed", help="时钟倍速：600 即 1 天约 2.4 分钟，30 天 72 分钟")] = 600.0,
    days: Annotated[int | None, typer.Option("--days", help="演练多少天（默认到每日汇总停发为止）")] = None,
    step: Annotated[int, typer.Option("--step", help="每隔多少（演练）分钟检查一次，同 serve 的 5 分钟")] = 5,
    into: Annotated[Path | None, typer.Option("--into", help="演练目录（默认 数据目录/rehearsal，每次重建）")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="不复制数据库：单位和联系人取自活动配置")] = False,
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="只打印最后的汇总")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="同时打印受理台的日志")] = False,
) -> None:
    """演练：在加速的时钟上运行受理台，看一个月会发出哪些提醒和每日汇总。

    数据目录的数据库（含单位和联系人）、文件库和密钥复制到演练目录（默认 DATA_DIR/rehearsal）。

    真实数据不受影响：SMTP、IMAP、企业微信一律不用，所有邮件写成 .eml 放在演练目录的 outbox/。

    演练期间放进演练目录 inbox/new/ 的邮件按演练时间受理并回复。
    """
    from config.clock import SteppedClock, parse_start
    from nomdesk.wiring import open_desk
    from storage.db import sqlite_filename

    # Units nobody can be written to are logged at each round: the summary says so once, in Chinese.
    setup_logging(verbose, level=logging.INFO if verbose else logging.ERROR)
    source = settings_of(data_dir, campaign_file)
    campaign = campaign_of(source.campaign)
    if not speed > 0 or step < 1 or (days is not None and days < 1):
        err.print("--speed 须大于 0，--step 和 --days 至少为 1", style="red", markup=False)
        raise typer.Exit(2)
    try:
        begin = (
            parse_start(start, campaign.tz)
            if start
            else dt.datetime.combine(campaign.deadline - dt.timedelta(days=30), dt.time(), campaign.tz)
        )
        target = into or source.data_dir / "rehearsal"
        copied = prepare(source, target, fresh=fresh, db_file=sqlite_filename(campaign.key or ""))
    except (ValueError, OSError, sqlite3.Error) as exc:
        err.print(f"无法开始演练：{exc}", style="red", markup=False)
        raise typer.Exit(2) from None
    if days is None:
        last = campaign.deadline + dt.timedelta(days=campaign.digest.days_after_deadline or 14)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), campaign.tz)
        if end <= begin:
            end = begin + dt.timedelta(days=30)
    else:
        end = begin + dt.timedelta(days=days)
    settings = rehearsal_settings(source, target)
    clock = SteppedClock(begin, speed)
    typer.echo(copied)
    span = (end - begin).total_seconds()
    typer.echo(
        f"演练 {begin.astimezone(campaign.tz):%Y-%m-%d %H:%M} 至 {end.astimezone(campaign.tz):%Y-%m-%d %H:%M}，"
        f"{speed:g} 倍速（约 {span / speed / 60:.1f} 分钟）；邮件只写入 {settings.outbox_dir}"
    )
    typer.echo(f"可把邮件放入 {settings.inbox_dir / 'new'}，按演练时间受理")
    desk = open_desk(settings, campaign, clock=clock)
    summary = Summary()
    try:
        run(desk, clock, until=end, step=dt.timedelta(minutes=step), speed=speed, echo=not quiet, summary=summary)
    except KeyboardInterrupt:
        typer.echo("（已中断）")
    finally:
        desk.store.close()
    print_summary(summary, campaign, settings.outbox_dir, begin, min(clock(), end))
