"""Running the desk: `serve` (every source and worker, the HTTP port) and `ingest` (mail files by hand)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from nomdesk.cli.common import CampaignOption, DataDirOption, campaign_of, err, opened_desk, settings_of, setup_logging


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

    setup_logging(verbose, level=logging.INFO)
    settings = settings_of(data_dir, campaign_file)
    campaign = campaign_of(settings.campaign)
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


def ingest(
    files: Annotated[list[Path], typer.Argument(help="要导入的 .eml 文件")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
    send: Annotated[bool, typer.Option("--send/--no-send", help="处理后立即发送回复")] = True,
) -> None:
    """Store mail files, process them now, and send (or write) the replies."""
    from nomdesk import wiring

    with opened_desk(data_dir, campaign_file) as desk:
        for path in files:
            if not path.is_file():
                err.print(f"[red]找不到文件：{path}[/red]")
                raise typer.Exit(2)
            record = desk.ingest_file(path)
            typer.echo(f"已保存 {path} -> 原始邮件 #{record.id}")
        desk.process_pending()
        if send:
            worker = wiring.outbox_worker(desk)
            sent = worker.run_once(limit=1000)
            typer.echo(f"已发送回复 {sent} 封")
