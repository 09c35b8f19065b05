"""Running the desk: `serve` (every source and worker, the HTTP port) and `ingest` (mail files by hand)."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nomdesk.cli.common import (
    CampaignOption,
    DataDirOption,
    VerboseOption,
    campaign_of,
    err,
    opened_desk,
    settings_of,
    setup_logging,
)

if TYPE_CHECKING:
    from config.campaign import Campaign
    from config.clock import Clock
    from config.settings import Settings


def trusted_proxies(text: str) -> list[str]:
    """NOMDESK_TRUSTED_PROXIES as networks ("10.0.0.5" -> "10.0.0.5/32"); ValueError (in Chinese)
    for anything else. uvicorn would take a typo, a host name or "*" as a literal and either
    never match it or trust everyone, so a value that is not an address is refused at start."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(
                f"NOMDESK_TRUSTED_PROXIES 中的“{item}”不是 IP 地址或网段（如 127.0.0.1、10.0.0.0/8）"
            ) from None
    return networks


def proxy_options(settings: Settings) -> tuple[bool, list[str]]:
    """uvicorn's (proxy_headers, forwarded_allow_ips): X-Forwarded-For/-Proto are believed only
    from the configured proxies. uvicorn's own default believes them from 127.0.0.1, the address
    `serve` listens on, so any visitor could name her own address and walk past the login lock
    (web/auth.py keys it on request.client, which these headers rewrite); with no proxy
    configured, none are read."""
    networks = trusted_proxies(settings.trusted_proxies)
    return bool(networks), networks


def settings_clock(settings: Settings, campaign: Campaign) -> Clock:
    """The clock NOMDESK_CLOCK_START / NOMDESK_CLOCK_SPEED ask `serve` for; exit 2 on a bad value."""
    from nomdesk.wiring import desk_clock

    try:
        return desk_clock(settings, campaign)
    except ValueError as exc:
        err.print(f"NOMDESK_CLOCK_START / NOMDESK_CLOCK_SPEED：{exc}", style="red", markup=False)
        raise typer.Exit(2) from None


def serve(
    port: Annotated[int | None, typer.Option("--port", envvar="NOMDESK_PORT", help="HTTP 端口（默认 8080）")] = None,
    host: Annotated[str, typer.Option("--host", help="监听地址")] = "127.0.0.1",
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Run the desk: mail sources (IMAP, else the drop folder DIR/inbox), pipeline, outbox, HTTP."""
    import uvicorn

    from config.clock import describe as describe_clock
    from nomdesk.app import create_app
    from nomdesk.cli.ports import listening_socket
    from nomdesk.service import Service

    setup_logging(verbose, level=logging.INFO)
    settings = settings_of(data_dir, campaign_file)
    try:
        proxy_headers, forwarded_allow_ips = proxy_options(settings)
    except ValueError as e:
        err.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None
    campaign = campaign_of(settings.campaign)
    clock = settings_clock(settings, campaign)  # NOMDESK_CLOCK_START / _SPEED: a rehearsal's clock
    port = settings.port if port is None else port
    listening = listening_socket(host, port)  # before anything starts: a port in use is said at once
    service = Service.build(settings, campaign, clock=clock)
    service.start()
    # Both sources run (each in one desk at a time when several serve the same mailbox or folder).
    source = f"投递目录 {settings.inbox_dir}/new"
    if service.imap:
        source = f"IMAP {settings.imap_host}/{settings.imap_folder}、{source}"
    sink = f"SMTP {settings.smtp_host}" if settings.smtp_configured else f"发件目录 {settings.outbox_dir}"
    proxies = f"；信任代理 {'、'.join(forwarded_allow_ips)}" if proxy_headers else ""
    err.print(f"Nomination Desk 已启动：收件 {source}；回复 {sink}；http://{host}:{port}/{proxies}")
    if not settings.public_url:
        logging.getLogger("nomdesk.serve").warning(
            "NOMDESK_PUBLIC_URL is not set: units get no page link in receipts or from the bot"
        )
    if note := describe_clock(clock, campaign.tz):
        err.print(note, style="yellow", markup=False)
    try:
        config = uvicorn.Config(
            create_app(service),
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=proxy_headers,
            forwarded_allow_ips=forwarded_allow_ips,
        )
        uvicorn.Server(config).run(sockets=[listening])
    finally:
        listening.close()
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
