"""The `nomdesk` command."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from config.campaign import Campaign, CampaignError, load_campaign

if TYPE_CHECKING:
    from nomdesk.desk import Desk

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
        # No markup: the keys it names look like markup tags ("units[3].name") and would vanish.
        err.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc


THIRD_PARTY_LOGGERS = ("urllib3", "httpx", "httpcore", "asyncio", "multipart", "PIL", "apscheduler", "watchfiles")


def _setup_logging(verbose: bool, level: int = logging.WARNING) -> None:
    from config.masking import MaskingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else level)
    # The log is for the desk's own steps. Libraries speak at INFO under -v only (their debug lines
    # are request URLs with tokens, which the filter masks anyway, and parser chatter); otherwise
    # warnings only: the scheduler's "Running job" every five minutes is not news to an operator.
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else max(logging.WARNING, root.level))


@app.command()
def check(
    paths: Annotated[list[Path], typer.Argument(help=".eml、压缩包或文件夹；多个路径按先后顺序视为同一单位的多次报送")],
    unit: Annotated[str | None, typer.Option("--unit", help="推荐单位全称（不填则自动识别）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON（DESIGN.md 约定的格式）")] = False,
    campaign_file: CampaignOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Check one unit's package(s) offline against every rule of the call.

    Exit 0: no error finding; 1: at least one error finding; 2: nothing could be read, or
    the check itself failed (a bug must never read as "the package has errors").
    """
    _setup_logging(verbose)
    campaign = _campaign(campaign_file)
    try:
        code = _run_check(paths, campaign, unit, as_json)
    except Exception as exc:
        logging.getLogger("nomdesk.check").debug("check failed", exc_info=True)  # the traceback with -v
        message = f"检查过程中出现内部错误（{type(exc).__name__}），未能完成检查；请把所检查的文件转交技术人员处理"
        if as_json:
            typer.echo(json.dumps({"error": message}, ensure_ascii=False))
        err.print(message, style="red", markup=False, highlight=False)
        code = 2
    raise typer.Exit(code)


def _run_check(paths: list[Path], campaign: Campaign, unit: str | None, as_json: bool) -> int:
    """The check itself; returns the exit status."""
    from nomdesk.check import check_paths, result_json
    from nomdesk.report import render_text

    workdir = Path(tempfile.mkdtemp(prefix="nomdesk-check-"))
    # stdout is for the one JSON object; a bar on a terminal's stderr would only garble a log
    show_progress = err.is_terminal and not as_json
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
        err.print(message, style="red", markup=False, highlight=False)
        return 2
    if as_json:
        typer.echo(json.dumps(result_json(result), ensure_ascii=False, indent=2))
    else:
        typer.echo(render_text(result.dossier, result.findings))
        for path, reason in result.unreadable:
            err.print(f"未能读取 {path}：{reason}", style="yellow", markup=False, highlight=False)
    return 1 if result.has_errors else 0


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


def _open_desk(data_dir: Path | None, campaign_file: Path | None) -> Desk:
    from nomdesk.desk import Desk
    from storage.repo import Store

    settings = _settings(data_dir, campaign_file)
    campaign = _campaign(settings.campaign)
    store = Store.open(settings.data_dir, settings.database_url)
    store.sync_units(campaign)
    return Desk(settings, campaign, store)


@contextlib.contextmanager
def _opened_desk(data_dir: Path | None, campaign_file: Path | None) -> Iterator[Desk]:
    """The office's commands: quiet logging, the data directory's desk, its store closed after."""
    _setup_logging(False)
    desk = _open_desk(data_dir, campaign_file)
    try:
        yield desk
    finally:
        desk.store.close()


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

    with _opened_desk(data_dir, campaign_file) as desk:
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

    # Piped (a script, a mail to the office), rich would cut the table to 80 columns and the unit names with it.
    out = Console() if sys.stdout.isatty() else Console(width=200)
    with _opened_desk(data_dir, campaign_file) as desk:
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
            _print_waiting_for_a_person(desk, out)
            return
        config_unit = desk.campaign.unit_by_exact_name(unit) or desk.campaign.unit_named(unit)
        name = config_unit.name if config_unit else unit
        snapshot = desk.store.latest_dossier(name)
        if snapshot is None:
            typer.echo(f"{name}：尚未收到材料")
            return
        dossier = Dossier.model_validate(snapshot.dossier)
        typer.echo(render_text(dossier, desk.store.current_findings(name)))


def _print_waiting_for_a_person(desk, out: Console) -> None:
    """Mail the desk could not finish on its own: quarantined, or from a sender of no known unit."""
    from rich.markup import escape

    from storage.tables import RawState

    tz = desk.campaign.tz
    for row in desk.store.raw_messages(RawState.QUARANTINED):
        when = row.received_at.astimezone(tz).strftime("%m-%d %H:%M")
        out.print(
            f"[red]待人工处理[/red] 来件 #{row.id}（{when}，{escape(row.sender or '无发件人')}，"
            f"主题：{escape(row.subject or '无')}）：{escape(row.last_error or '')}"
            f" —— 处理后运行 nomdesk retry {row.id}",
            markup=True,
            highlight=False,
        )
    for sub in desk.store.unassigned_submissions():
        raw = desk.store.get_raw(sub.raw_message_id)
        sender = raw.sender if raw and raw.sender else "无发件人"
        subject = raw.subject if raw and raw.subject else "无"
        guess = (sub.summary or {}).get("unit_guess") or "无法推测"
        out.print(
            f"[yellow]待确认单位[/yellow] 报送 #{sub.id}（来件 #{sub.raw_message_id}，{escape(sender)}，"
            f"主题：{escape(subject)}，推测：{escape(guess)}）"
            f" —— 核实后运行 nomdesk assign {sub.id} 单位全称",
            markup=True,
            highlight=False,
        )


@app.command()
def retry(
    raw_id: Annotated[int, typer.Argument(help="来件编号（见“待人工处理”通知或 nomdesk status）")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Process a quarantined mail again once what broke it is fixed; it is then answered as usual."""
    from storage.tables import RawState

    with _opened_desk(data_dir, campaign_file) as desk:
        try:
            desk.retry(raw_id, actor="office:cli")
        except (KeyError, ValueError) as exc:
            err.print(f"[red]无法重新处理来件 #{raw_id}：{exc}[/red]")
            raise typer.Exit(2) from exc
        desk.process_pending()
        row = desk.store.get_raw(raw_id)
        state = row.state if row else "?"
        if state == RawState.DONE:
            typer.echo(f"来件 #{raw_id} 已重新处理，回复已排队发送")
        else:
            typer.echo(f"来件 #{raw_id} 重新处理后状态：{state}（{row.last_error if row else ''}）")
            raise typer.Exit(1)


def _assigned_reply_state(desk: Desk, submission_id: int) -> str:
    """What became of the reply to an assigned mail: a list's or a robot's mail is not answered."""
    from storage.tables import OutboxState

    row = desk.store.get_submission(submission_id)
    outbox = desk.store.outbox_by_key(f"reply-assigned:{row.raw_message_id}") if row else None
    if outbox is None:
        return "未生成回复"
    if outbox.state == OutboxState.SUPPRESSED:
        return "不回复（来信是邮件列表、群发或自动发送的邮件，或没有可回复的地址）"
    return "回复已排队发送"


@app.command()
def assign(
    submission_id: Annotated[int, typer.Argument(help="报送编号（见办公室通知邮件）")],
    unit: Annotated[str, typer.Argument(help="单位全称")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Confirm the unit of a mail from an unregistered sender; it is then checked and answered."""
    with _opened_desk(data_dir, campaign_file) as desk:
        result = desk.assign(submission_id, unit)
        typer.echo(f"报送 #{submission_id} 已归入 {result.dossier.unit}；{_assigned_reply_state(desk, submission_id)}")


user_app = typer.Typer(help="办公室用户（登录工作台）", no_args_is_help=True)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="登录用户名")],
    name: Annotated[str, typer.Option("--name", help="显示名称")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码")] = False,
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Add an office user of the dashboard (or set a new password for one); only a hash is stored."""
    from storage.repo import Store

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        err.print("[red]密码至少 8 位[/red]")
        raise typer.Exit(2)
    settings = _settings(data_dir, campaign_file)
    with Store.open(settings.data_dir, settings.database_url) as store:
        existed = store.get_user(username) is not None
        user = store.add_user(username, password, name, actor="cli")
    typer.echo(f"已{'更新' if existed else '添加'}办公室用户 {user.username}（{user.display_name}）")


def _unit_name(desk, unit: str) -> str:
    config_unit = desk.campaign.unit_by_exact_name(unit) or desk.campaign.unit_named(unit)
    if config_unit is None:
        err.print(f"[red]找不到单位：{unit}[/red]")
        raise typer.Exit(2)
    return config_unit.name


def _jobs(desk):
    from schedule.jobs import Jobs

    webhook = bool(desk.settings.wecom_webhook_key)
    return Jobs(
        desk.store,
        desk.campaign,
        mail_from=desk.settings.mail_from,
        webhook=webhook,
        wecom=desk.settings.wecom_api_configured,
        clock=desk.clock,
    )


@app.command()
def digest(
    out: Annotated[Path | None, typer.Option("--out", help="汇总表 .xlsx（默认 数据目录/digests/）")] = None,
    send: Annotated[bool, typer.Option("--send", help="同时发送（邮件、企业微信）")] = False,
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Print today's digest as the WeCom message reads, write its .xlsx; --send also sends it."""
    from notify.outbox import OutboxWorker
    from schedule.digest import build_digest, digest_filename, digest_markdown, digest_xlsx

    with _opened_desk(data_dir, campaign_file) as desk:
        jobs = _jobs(desk)
        now = desk.clock()
        statuses = jobs.statuses()
        result = build_digest(statuses, desk.campaign, now)
        target = out or desk.settings.data_dir / "digests" / digest_filename(result)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(digest_xlsx(result, desk.campaign))
        typer.echo(digest_markdown(result, desk.campaign))
        err.print(f"汇总表：{target}")
        if send:
            from nomdesk.service import _chat_channels

            queued = jobs.send_digest(statuses, now)
            channels, _ = _chat_channels(desk.settings, desk.store)  # WeCom app and group robot, when configured
            worker = OutboxWorker(
                desk.store,
                smtp=_smtp_sender(desk.settings),
                outbox_dir=desk.settings.outbox_dir,
                clock=desk.clock,
                channels=channels,
            )
            worker.run_once(limit=len(queued) or 1, only_keys=[q.dedupe_key for q in queued])  # not others' mail
            err.print(f"已发送 {len(queued)} 条（今日已发送过的不再重复）" if queued else "今日汇总已发送过")


export_app = typer.Typer(help="导出（专家评审用）", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("roster")
def export_roster(
    file: Annotated[Path, typer.Argument(help="输出 .xlsx")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """The roster: a sheet of stars and one of projects, a row per nominee."""
    from nomdesk.exports import roster_xlsx
    from schedule.status import collect_status

    with _opened_desk(data_dir, campaign_file) as desk:
        statuses = collect_status(desk.store, desk.campaign)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(roster_xlsx(desk.store, statuses))
        stars = sum(s.stars for s in statuses)
        projects = sum(s.projects for s in statuses)
        typer.echo(f"已导出 {file}：百姓学习之星 {stars} 名，终身学习品牌项目 {projects} 个")


@export_app.command("materials")
def export_materials_cmd(
    directory: Annotated[Path, typer.Argument(help="输出目录")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """The materials as a clean tree: 单位/百姓学习之星/姓名/文件."""
    from nomdesk.exports import export_materials
    from schedule.status import collect_status

    with _opened_desk(data_dir, campaign_file) as desk:
        written = export_materials(desk.store, collect_status(desk.store, desk.campaign), directory)
        typer.echo(f"已导出 {len(written)} 个文件到 {directory}")


@app.command()
def paper(
    unit: Annotated[str, typer.Argument(help="单位名称")],
    received: Annotated[str, typer.Option("--received", help="收到日期 YYYY-MM-DD")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Record that a unit's stamped paper copies arrived (the unit is checked again)."""
    import datetime as dt

    try:
        day = dt.date.fromisoformat(received)
    except ValueError as exc:
        err.print(f"[red]日期格式应为 YYYY-MM-DD：{received}[/red]")
        raise typer.Exit(2) from exc
    with _opened_desk(data_dir, campaign_file) as desk:
        name = _unit_name(desk, unit)
        desk.store.record_paper(name, day, "cli")
        if desk.store.latest_dossier(name) is not None:
            desk.evaluate(name)
        typer.echo(f"已登记：{name} 的纸质材料于 {day:%Y年%m月%d日} 收到")


@app.command()
def attach(
    unit: Annotated[str, typer.Argument(help="单位名称")],
    file: Annotated[Path, typer.Argument(help="办公室从下载链接取回的文件")],
    for_name: Annotated[str | None, typer.Option("--for", help="所属人员或项目名称")] = None,
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Add a file the office fetched (from a unit's download link) to the unit's dossier, and check it."""
    if not file.is_file():
        err.print(f"[red]找不到文件：{file}[/red]")
        raise typer.Exit(2)
    with _opened_desk(data_dir, campaign_file) as desk:
        name = _unit_name(desk, unit)
        # Counted as arriving with the unit's mail that carried the link, not when the office fetched it.
        linked = [s for s in desk.store.unit_submissions(name) if (s.summary.get("submission") or {}).get("links")]
        arrived = linked[-1].arrived_at if linked else None
        record = desk.accept_office_file(
            name,
            file.name,
            file.read_bytes(),
            actor="office:cli",
            origin=str(file),
            received_at=arrived,
            for_name=for_name,
        )
        desk.process_pending()
        typer.echo(f"已补充 {file.name} 到 {name}（原始邮件 #{record.id}），已重新检查")
        _say_receipt_and_state(desk, record.id, name)


def _say_receipt_and_state(desk, raw_id: int, unit: str) -> None:
    """After an office action: whom its receipt goes to, and where the unit now stands."""
    from nomdesk.desk import OFFICE_RECEIPT_KEY

    receipt = desk.store.outbox_by_key(OFFICE_RECEIPT_KEY.format(raw_id))
    if receipt is not None:  # sent by `nomdesk serve`'s outbox, within the hourly limit
        typer.echo(f"回执已排队，将发给该单位联系人：{'、'.join(receipt.recipients)}")
    else:
        typer.echo("该单位没有登记邮箱的联系人，回执未发送")
    errors = sum(f.severity == "error" for f in desk.store.current_findings(unit))
    typer.echo(f"当前需修改 {errors} 项" if errors else "材料齐全")


def _nominee_action(data_dir: Path | None, campaign_file: Path | None, unit: str, name: str, action: str) -> None:
    """`withdraw` and `restore`: the desk's one method for each, the record processed at once so
    `nomdesk status UNIT` shows the result, and a confirmation a clerk can read at a glance."""
    from rich.markup import escape

    with _opened_desk(data_dir, campaign_file) as desk:
        unit_name = _unit_name(desk, unit)
        act = desk.withdraw if action == "withdraw" else desk.restore
        try:
            done = act(unit_name, name, actor="office:cli")
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        desk.process_pending()
        if action == "withdraw":
            typer.echo(f"已撤回：{unit_name} 的{done.label}（已收到的材料仍保存在系统中）")
            typer.echo(f"如需恢复：nomdesk restore {unit_name} {done.name}")
        else:
            typer.echo(f"已恢复：{unit_name} 的{done.label}，已重新检查")
        _say_receipt_and_state(desk, done.record.id, unit_name)


@app.command()
def withdraw(
    unit: Annotated[str, typer.Argument(help="单位名称")],
    name: Annotated[str, typer.Argument(help="要撤回的人员姓名或项目名称")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Withdraw a unit's star or project (its files stay in the store); `restore` takes it back."""
    _nominee_action(data_dir, campaign_file, unit, name, "withdraw")


@app.command()
def restore(
    unit: Annotated[str, typer.Argument(help="单位名称")],
    name: Annotated[str, typer.Argument(help="要恢复的人员姓名或项目名称")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Restore a withdrawn star or project of a unit (the office's un-withdraw)."""
    _nominee_action(data_dir, campaign_file, unit, name, "restore")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
