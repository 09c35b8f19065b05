"""The `nomdesk` command."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from config.campaign import Campaign, CampaignError, load_campaign

app = typer.Typer(help="Nomination Desk：百姓学习之星、终身学习品牌项目推荐材料受理台", no_args_is_help=True)
err = Console(stderr=True)

CampaignOption = Annotated[
    Path | None,
    typer.Option("--campaign", envvar="NOMDESK_CAMPAIGN", help="campaign TOML (default: the shipped 2021 call)"),
]


def _campaign(path: Path | None) -> Campaign:
    try:
        return load_campaign(path)
    except CampaignError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _setup_logging(verbose: bool, level: int = logging.WARNING) -> None:
    from nomdesk.privacy import MaskingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else level)


@app.command()
def check(
    paths: Annotated[list[Path], typer.Argument(help=".eml、压缩包或文件夹；多个路径按先后顺序视为同一单位的多次报送")],
    unit: Annotated[str | None, typer.Option("--unit", help="推荐单位全称（不填则自动识别）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON（DESIGN.md 约定的格式）")] = False,
    campaign_file: CampaignOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Check one unit's package(s) offline against every rule of the call.

    Exit 0: no error finding; 1: at least one error finding; 2: nothing could be read.
    """
    from nomdesk.check import check_paths, result_json
    from nomdesk.report import render_text

    _setup_logging(verbose)
    campaign = _campaign(campaign_file)
    workdir = Path(tempfile.mkdtemp(prefix="nomdesk-check-"))
    show_progress = err.is_terminal
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not show_progress,
        ) as progress:
            task = progress.add_task("正在检查照片和视频", total=0)

            def on_unpacked(sub) -> None:
                from intake.package import count_media

                progress.update(task, total=(progress.tasks[0].total or 0) + count_media(sub))

            result = check_paths(
                paths,
                campaign,
                workdir=workdir,
                explicit_unit=unit,
                on_unpacked=on_unpacked,
                on_probed=lambda _f: progress.advance(task),
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    if result is None:
        message = "无法读取任何输入文件：" + "、".join(str(p) for p in paths)
        if as_json:
            typer.echo(json.dumps({"error": message}, ensure_ascii=False))
        err.print(f"[red]{message}[/red]")
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(result_json(result), ensure_ascii=False, indent=2))
    else:
        typer.echo(render_text(result.dossier, result.findings))
        for path, reason in result.unreadable:
            err.print(f"[yellow]未能读取 {path}：{reason}[/yellow]")
    raise typer.Exit(1 if result.has_errors else 0)


@app.command()
def templates(directory: Annotated[Path, typer.Argument(help="输出目录")]) -> None:
    """Write the four blank forms (附表1-4) from the field list the readers use."""
    from intake.forms.templates import write_templates

    directory.mkdir(parents=True, exist_ok=True)
    for path in write_templates(directory):
        typer.echo(str(path))


DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", envvar="NOMDESK_DATA_DIR", help="数据目录（默认 ./var）")
]


def _settings(data_dir: Path | None, campaign_file: Path | None):
    from config.settings import Settings

    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if campaign_file is not None:
        overrides["campaign"] = campaign_file
    settings = Settings(**overrides)  # type: ignore[arg-type]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def _open_desk(data_dir: Path | None, campaign_file: Path | None):
    from nomdesk.desk import Desk
    from storage.repo import Store

    settings = _settings(data_dir, campaign_file)
    campaign = _campaign(settings.campaign)
    store = Store.open(settings.data_dir, settings.database_url)
    store.sync_units(campaign)
    return Desk(settings, campaign, store)


@app.command()
def serve(
    port: Annotated[int | None, typer.Option("--port", envvar="NOMDESK_PORT", help="HTTP 端口（默认 8080）")] = None,
    host: Annotated[str, typer.Option("--host", help="监听地址")] = "127.0.0.1",
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the desk: mail sources (IMAP, else the drop folder DIR/inbox), pipeline, outbox, HTTP."""
    import uvicorn

    from nomdesk.app import create_app
    from nomdesk.service import Service

    _setup_logging(verbose, level=logging.INFO)
    settings = _settings(data_dir, campaign_file)
    campaign = _campaign(settings.campaign)
    service = Service.build(settings, campaign)
    service.start()
    source = (
        f"IMAP {settings.imap_host}/{settings.imap_folder}" if service.imap else f"投递目录 {settings.inbox_dir}/new"
    )
    sink = f"SMTP {settings.smtp_host}" if settings.smtp_configured else f"发件目录 {settings.outbox_dir}"
    err.print(f"Nomination Desk 已启动：收件 {source}；回复 {sink}；http://{host}:{port or settings.port}/")
    try:
        uvicorn.run(create_app(service), host=host, port=port or settings.port, log_level="warning")
    finally:
        service.shutdown()


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="要导入的 .eml 文件")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
    send: Annotated[bool, typer.Option("--send/--no-send", help="处理后立即发送回复")] = True,
) -> None:
    """Store mail files, process them now, and send (or write) the replies."""
    from notify.outbox import OutboxWorker

    _setup_logging(False)
    desk = _open_desk(data_dir, campaign_file)
    try:
        for path in files:
            if not path.is_file():
                err.print(f"[red]找不到文件：{path}[/red]")
                raise typer.Exit(2)
            record = desk.ingest_file(path)
            typer.echo(f"已保存 {path} -> 原始邮件 #{record.id}")
        desk.process_pending()
        if send:
            worker = OutboxWorker(
                desk.store, smtp=_smtp_sender(desk.settings), outbox_dir=desk.settings.outbox_dir, clock=desk.clock
            )
            sent = worker.run_once(limit=1000)
            typer.echo(f"已发送回复 {sent} 封")
    finally:
        desk.store.close()


def _smtp_sender(settings):
    if not settings.smtp_configured:
        return None
    from notify.smtp import SmtpSender

    return SmtpSender(
        settings.smtp_host or "",
        settings.smtp_port or 25,
        settings.smtp_user,
        settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        tls=settings.smtp_tls,
        starttls=settings.smtp_starttls,
    )


@app.command()
def status(
    unit: Annotated[str | None, typer.Argument(help="单位名称（不填则列出全部单位）")] = None,
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Print the dossiers: every unit in one table, or one unit's dossier per nominee."""
    from rich.table import Table

    from intake.models import Dossier
    from nomdesk.report import render_text

    _setup_logging(False)
    desk = _open_desk(data_dir, campaign_file)
    out = Console()
    try:
        if unit is None:
            table = Table(title=desk.campaign.name)
            for col in ("单位", "类别", "报送", "最近报送", "之星", "项目", "需修改", "需核实", "纸质材料"):
                table.add_column(col)
            for row in desk.store.unit_overview():
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
                )
            out.print(table)
            return
        config_unit = desk.campaign.unit_by_exact_name(unit) or desk.campaign.unit_named(unit)
        name = config_unit.name if config_unit else unit
        snapshot = desk.store.latest_dossier(name)
        if snapshot is None:
            typer.echo(f"{name}：尚未收到材料")
            return
        dossier = Dossier.model_validate(snapshot.dossier)
        typer.echo(render_text(dossier, desk.store.current_findings(name)))
    finally:
        desk.store.close()


@app.command()
def assign(
    submission_id: Annotated[int, typer.Argument(help="报送编号（见办公室通知邮件）")],
    unit: Annotated[str, typer.Argument(help="单位全称")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Confirm the unit of a mail from an unregistered sender; it is then checked and answered."""
    _setup_logging(False)
    desk = _open_desk(data_dir, campaign_file)
    try:
        result = desk.assign(submission_id, unit)
        typer.echo(f"报送 #{submission_id} 已归入 {result.dossier.unit}；回复已排队发送")
    finally:
        desk.store.close()


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
