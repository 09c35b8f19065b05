"""What the office reads: `status` of every unit or one dossier, the daily `digest`, the `export`s."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from nomdesk.cli.common import CampaignOption, DataDirOption, err, opened_desk, unit_name

if TYPE_CHECKING:
    from storage.models import WaitingMail


def status(
    unit: Annotated[str | None, typer.Argument(help="单位名称（不填则列出全部单位）")] = None,
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Print the dossiers: every unit in one table, or one unit's dossier per nominee."""
    from rich.table import Table

    from intake.models import Dossier
    from storage.models import waiting_by_unit, waiting_note
    from validators.report import render_text

    # Piped (a script, a mail to the office), rich would cut the table to 80 columns and the unit names with it.
    out = Console() if sys.stdout.isatty() else Console(width=200)
    with opened_desk(data_dir, campaign_file) as desk:
        if unit is None:
            waiting = desk.store.submissions.waiting_mails()  # read once: the column and the list below
            guessed = waiting_by_unit(waiting)
            table = Table(title=desk.campaign.name)
            for col in ("单位", "类别", "报送", "最近报送", "之星", "项目", "需修改", "需核实", "纸质材料", "待确认"):
                table.add_column(col)
            for row in desk.store.overview.units():
                table.add_row(
                    row.name,
                    str(row.kind),
                    str(row.submissions),
                    row.last_arrival.astimezone(desk.campaign.tz).strftime("%m-%d %H:%M") if row.last_arrival else "—",
                    str(row.stars),
                    str(row.projects),
                    str(row.errors),
                    str(row.warnings),
                    "已收" if row.paper_received else "未收",
                    # 梅河口 with nothing assigned but its package in the queue is not silent
                    f"{guessed[row.name]} 封" if guessed[row.name] else "",
                )
            out.print(table)
            for row in desk.store.overview.units():  # a rule raised on its latest check: never read as complete
                if row.check_error:
                    out.print(f"检查未完成 {row.name}：{row.check_error}（请人工核查）", markup=False, highlight=False)
            _print_waiting_for_a_person(desk, out, waiting)
            return
        # A unit the campaign names (as a clerk types it), else one only the submissions know.
        name = unit if desk.store.submissions.of_unit(unit, include_voided=True) else unit_name(desk, unit)
        snapshot = desk.store.evaluations.latest_dossier(name)
        count = desk.store.submissions.waiting_by_unit()[name]
        queued = f"{waiting_note(count)}（运行 nomdesk status 查看，nomdesk assign 指定单位）" if count else ""
        if snapshot is None:
            typer.echo(f"{name}：尚未收到材料" + (f"；{queued}" if queued else ""))
            return
        dossier = Dossier.model_validate(snapshot.dossier)
        typer.echo(render_text(dossier, desk.store.evaluations.current_findings(name), snapshot.check_error))
        for voided in desk.store.submissions.voided_of(name):  # not counted above, kept in the store
            ref = desk.campaign.submission_ref(name, voided.unit_index or 0)
            typer.echo(
                f"已作废：{ref}（{voided.voided_by}：{voided.void_reason}）—— 如需撤销：nomdesk unvoid {voided.id}"
            )
        if queued:
            typer.echo(queued)


def _print_waiting_for_a_person(desk, out: Console, waiting: list[WaitingMail]) -> None:
    """Mail the desk could not finish on its own: quarantined, or from a sender of no known unit."""
    from rich.markup import escape

    from storage.models import HELD_PREFIX
    from storage.tables import RawState

    tz = desk.campaign.tz
    for row in desk.store.raw.all(RawState.QUARANTINED):
        when = row.received_at.astimezone(tz).strftime("%m-%d %H:%M")
        out.print(
            f"[red]待人工处理[/red] 来件 #{row.id}（{when}，{escape(row.sender or '无发件人')}，"
            f"主题：{escape(row.subject or '无')}）：{escape(row.last_error or '')}"
            f" —— 处理后运行 nomdesk retry {row.id}",
            markup=True,
            highlight=False,
        )
    for mail in waiting:
        if mail.held_unit:  # a registered contact's address that failed sender authentication (nomdesk.held)
            out.print(
                f"[red]待确认[/red] 报送 #{mail.submission_id}（来件 #{mail.raw_id}，"
                f"{escape(mail.sender)}，{escape(mail.held_unit)} 的登记联系人，"
                f"主题：{escape(mail.subject or '无')}）：{HELD_PREFIX}{escape(mail.held_reason or '')}"
                f" —— 核实后运行 nomdesk assign {mail.submission_id} {escape(mail.held_unit)}，"
                f"或 nomdesk reject {mail.submission_id}",
                markup=True,
                highlight=False,
            )
            continue
        # Her own words first: the unit and name she gave in a reply (intake.sender_claim).
        claimed = f"，自称：{mail.claim_name}" if mail.claim_name else ""
        out.print(
            f"[yellow]待确认单位[/yellow] 报送 #{mail.submission_id}（来件 #{mail.raw_id}，"
            f"{escape(mail.sender or '无发件人')}{escape(claimed)}，主题：{escape(mail.subject or '无')}，"
            f"推测：{escape(mail.guess or '无法推测')}）"
            f" —— 核实后运行 nomdesk assign {mail.submission_id} 单位全称",
            markup=True,
            highlight=False,
        )


def digest(
    out: Annotated[Path | None, typer.Option("--out", help="汇总表 .xlsx（默认 数据目录/digests/）")] = None,
    send: Annotated[bool, typer.Option("--send", help="同时发送（邮件、企业微信）")] = False,
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Print today's digest as the WeCom message reads, write its .xlsx; --send also sends it."""
    from nomdesk import wiring
    from schedule.digest import digest_filename, digest_markdown, digest_xlsx

    with opened_desk(data_dir, campaign_file) as desk:
        jobs = wiring.jobs(desk)
        now = desk.clock()
        statuses = jobs.statuses()
        result = jobs.digest(statuses, now)  # counts every waiting mail, guessed or not
        target = out or desk.settings.data_dir / "digests" / digest_filename(result)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(digest_xlsx(result, desk.campaign))
        typer.echo(digest_markdown(result, desk.campaign))
        err.print(f"汇总表：{target}")
        if send:
            queued = jobs.send_digest(statuses, now)
            channels, _ = wiring.chat_channels(desk.settings, desk.store)  # WeCom app, group robot
            worker = wiring.outbox_worker(desk, channels)
            worker.run_once(limit=len(queued) or 1, only_keys=[q.dedupe_key for q in queued])  # not others' mail
            err.print(f"已发送 {len(queued)} 条（今日已发送过的不再重复）" if queued else "今日汇总已发送过")


def export_roster(
    file: Annotated[Path, typer.Argument(help="输出 .xlsx")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """The roster: a sheet of stars and one of projects, a row per nominee."""
    from nomdesk.exports import roster_xlsx
    from schedule.status import collect_status

    with opened_desk(data_dir, campaign_file) as desk:
        statuses = collect_status(desk.store, desk.campaign)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(roster_xlsx(desk.store, statuses))
        stars = sum(s.stars for s in statuses)
        projects = sum(s.projects for s in statuses)
        typer.echo(f"已导出 {file}：百姓学习之星 {stars} 名，终身学习品牌项目 {projects} 个")


def export_materials(
    directory: Annotated[Path, typer.Argument(help="输出目录")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """The materials as a clean tree: 单位/百姓学习之星/姓名/文件."""
    from nomdesk.exports import export_materials as write_materials
    from schedule.status import collect_status

    with opened_desk(data_dir, campaign_file) as desk:
        written = write_materials(desk.store, collect_status(desk.store, desk.campaign), directory)
        typer.echo(f"已导出 {len(written)} 个文件到 {directory}")
