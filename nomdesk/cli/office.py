"""The office's actions from the terminal; each calls the desk's one home of that action (`nomdesk.desk.Desk`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nomdesk.cli.common import (
    CampaignOption,
    DataDirOption,
    campaign_of,
    err,
    fail,
    opened_desk,
    settings_of,
    unit_name,
)

if TYPE_CHECKING:
    from nomdesk.desk import Desk
    from storage.tables import SubmissionRecord


def paper(
    unit: Annotated[str, typer.Argument(help="单位名称（全称、简称或开头几个字）")],
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
    with opened_desk(data_dir, campaign_file) as desk:
        name = unit_name(desk, unit)
        desk.record_paper(name, day, actor="cli")
        desk.process_pending()  # the re-check it queued, here rather than by a running `serve`
        typer.echo(f"已登记：{name} 的纸质材料于 {day:%Y年%m月%d日} 收到")


def attach(
    unit: Annotated[str, typer.Argument(help="单位名称（全称、简称或开头几个字）")],
    file: Annotated[Path, typer.Argument(help="办公室从下载链接取回的文件")],
    for_name: Annotated[str | None, typer.Option("--for", help="所属人员或项目名称")] = None,
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Add a file the office fetched (from a unit's download link) to the unit's dossier, and check it."""
    from intake.archive.base import human_bytes
    from nomdesk.accept import largest_office_file

    if not file.is_file():
        err.print(f"[red]找不到文件：{file}[/red]")
        raise typer.Exit(2)
    with opened_desk(data_dir, campaign_file) as desk:
        limit = largest_office_file(desk.campaign.limits.max_mail_bytes)
        if file.stat().st_size > limit:  # its mail would be over the mail size cap, and unreadable
            err.print(f"[red]文件超过 {human_bytes(limit)} 的上限：{file}[/red]")
            raise typer.Exit(2)
        name = unit_name(desk, unit)
        record = desk.attach(name, file.name, file, actor="office:cli", origin=str(file), for_name=for_name)
        desk.process_pending()
        typer.echo(f"已补充 {file.name} 到 {name}（原始邮件 #{record.id}），已重新检查")
        _say_receipt_and_state(desk, record.id, name)


def _say_receipt_and_state(desk, raw_id: int, unit: str) -> None:
    """After an office action: whom its receipt goes to, and where the unit now stands."""
    from nomdesk.desk import OFFICE_RECEIPT_KEY

    receipt = desk.store.outbox.by_key(OFFICE_RECEIPT_KEY.format(raw_id))
    if receipt is not None:  # sent by `nomdesk serve`'s outbox, within the hourly limit
        typer.echo(f"回执已排队，将发给该单位联系人：{'、'.join(receipt.recipients)}")
    else:
        typer.echo("该单位没有登记邮箱的联系人，回执未发送")
    errors = sum(f.severity == "error" for f in desk.store.evaluations.current_findings(unit))
    check_error = desk.store.evaluations.check_error(unit)  # a rule raised: never "材料齐全"
    if check_error:
        typer.echo(f"检查未完成：{check_error}，请人工核查；已发现需修改 {errors} 项")
    else:
        typer.echo(f"当前需修改 {errors} 项" if errors else "材料齐全")


def retry(
    raw_id: Annotated[int, typer.Argument(help="来件编号（见“待人工处理”通知或 nomdesk status）")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Process a quarantined mail again once what broke it is fixed; it is then answered as usual."""
    from storage.tables import RawState

    with opened_desk(data_dir, campaign_file) as desk:
        try:
            desk.retry(raw_id, actor="office:cli")
        except (KeyError, ValueError) as exc:
            fail(str(exc.args[0]) if exc.args else f"无法重新处理来件 #{raw_id}")  # says which and why
        desk.process_pending()
        row = desk.store.raw.get(raw_id)
        state = row.state if row else "?"
        if state == RawState.DONE:
            typer.echo(f"来件 #{raw_id} 已重新处理，回复已排队发送")
        else:
            typer.echo(f"来件 #{raw_id} 重新处理后状态：{state}（{row.last_error if row else ''}）")
            raise typer.Exit(1)


ASSIGN_WAIT_SECONDS = 120.0  # how long `assign` waits for a running `serve` to answer the mail it queued


def _assigned_reply_state(desk: Desk, raw_id: int) -> str:
    """What became of the receipt of an assigned mail: a list's or a robot's mail is not answered."""
    from nomdesk.desk import ASSIGNED_REPLY_KEY
    from storage.tables import OutboxState

    outbox = desk.store.outbox.by_key(ASSIGNED_REPLY_KEY.format(raw_id))
    if outbox is None:  # a mail that got no letter before (none was due) is answered under its own key
        first = desk.store.outbox.by_key(f"reply:{raw_id}")
        outbox = first if first is not None and first.unit_name is not None else None
    if outbox is None:
        return "未生成回复"
    if outbox.state == OutboxState.SUPPRESSED:
        from notify.autoreply import SUPPRESSION_ZH

        why = SUPPRESSION_ZH.get(outbox.last_error or "")  # the reason the row was created suppressed with
        return f"不回复（{why}）" if why else "不回复（来信是邮件列表、群发或自动发送的邮件，或没有可回复的地址）"
    return "回执已排队发送"


def assign(
    submission_id: Annotated[int, typer.Argument(help="报送编号（见办公室通知邮件）")],
    unit: Annotated[str, typer.Argument(help="单位全称或常用简称")],
    no_register: Annotated[bool, typer.Option("--no-register", help="只归入单位，不把发件邮箱登记为联系人")] = False,
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Confirm the unit of an unregistered sender's mails: they are checked and answered, and the
    sender becomes the unit's contact (unless --no-register)."""
    from rich.markup import escape

    from storage.submissions import sender_address

    with opened_desk(data_dir, campaign_file) as desk:
        before = {m.submission_id for m in desk.store.submissions.waiting_mails()}
        row = desk.store.submissions.get(submission_id)
        address = sender_address(row) if row else ""
        known = desk.store.contacts.owner_of_address(address) if address else None
        full_name = unit_name(desk, unit)  # "长春", "长春教育局" as the clerk types it
        try:
            record = desk.assign(submission_id, full_name, actor="office:cli", register=not no_register)
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        desk.process_pending()
        desk.await_processed(record.id, ASSIGN_WAIT_SECONDS)  # a running `serve` may have taken it
        row = desk.store.submissions.get(submission_id)
        name = row.unit_name if row else full_name
        moved = len(before - {m.submission_id for m in desk.store.submissions.waiting_mails()})
        typer.echo(f"报送 #{submission_id} 已归入 {name}（该发件人等待确认的邮件共 {moved} 封）")
        contact = desk.store.contacts.owner_of_address(address) if address else None
        if contact is not None and known is None:
            emails = "、".join(contact.emails)
            typer.echo(f"已登记联系人：{contact.name}（{emails}），今后该邮箱来件直接检查回复")
        elif not no_register:
            typer.echo("未登记联系人（该邮箱无法回复、是办公室邮箱或已登记）")
        typer.echo(_assigned_reply_state(desk, record.id))


def reject(
    submission_id: Annotated[int, typer.Argument(help="报送编号（见办公室通知邮件）")],
    reason: Annotated[str, typer.Option("--reason", help="原因（记入操作日志）")] = "",
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Take a waiting mail that is not a submission out of the 待确认 queue (kept; no reply is sent)."""
    from rich.markup import escape

    with opened_desk(data_dir, campaign_file) as desk:
        try:
            desk.reject(submission_id, actor="office:cli", reason=reason)
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        typer.echo(f"报送 #{submission_id} 已标记为非报送邮件，移出待确认列表（邮件仍保存，不回复发件人）")


def _submission_of(desk: Desk, text: str) -> SubmissionRecord:
    """The submission a clerk names: its number (`12`, as the office's notices give it) or the
    reference its unit's receipts print (`长春-03`); exit 2 naming the problem otherwise."""
    from config.unit_lookup import find_unit

    text = text.strip()
    if text.isdigit():
        row = desk.store.submissions.get(int(text))
    else:
        short, _, number = text.rpartition("-")
        config_unit = find_unit(desk.campaign, short).unit if number.strip().isdigit() else None
        rows = desk.store.submissions.of_unit(config_unit.name, include_voided=True) if config_unit else []
        row = next((r for r in rows if r.unit_index == int(number)), None)
    if row is None:
        err.print(f"找不到报送：{text}（请填写报送编号，或回执中的受理编号，如 长春-03）", style="red", markup=False)
        raise typer.Exit(2)
    return row


def void(
    submission: Annotated[str, typer.Argument(help="报送编号或受理编号（如 12 或 长春-03）")],
    reason: Annotated[str, typer.Option("--reason", help="作废原因（必填，将在该单位下次回执中说明）")] = "",
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Void a submission (a forged or mistaken mail): its unit's dossier is checked again without
    it; the mail and its files stay in the store, and the unit's next receipt says why."""
    with opened_desk(data_dir, campaign_file) as desk:
        row = _submission_of(desk, submission)
        try:
            row = desk.void(row.id or 0, actor="office:cli", reason=reason)
        except ValueError as exc:
            err.print(f"无法作废：{exc}", style="red", markup=False)
            raise typer.Exit(2) from exc
        desk.process_pending()  # the re-check it queued, here rather than by a running `serve`
        _say_submission(desk, row, "已作废")
        typer.echo(f"原因：{row.void_reason}")
        if row.unit_name is not None:
            typer.echo(f"该次报送不再计入 {row.unit_name} 的材料，已重新检查；原始邮件和文件仍保存。")
            typer.echo("该单位下次收到回执时，会看到此次作废及原因。")
            _say_dossier(desk, row.unit_name)
        typer.echo(f"如需撤销：nomdesk unvoid {row.id}")


def unvoid(
    submission: Annotated[str, typer.Argument(help="报送编号或受理编号（如 12 或 长春-03）")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Take back a void: the submission counts again and its unit is checked again."""
    with opened_desk(data_dir, campaign_file) as desk:
        row = _submission_of(desk, submission)
        try:
            row = desk.unvoid(row.id or 0, actor="office:cli")
        except ValueError as exc:
            err.print(f"无法撤销作废：{exc}", style="red", markup=False)
            raise typer.Exit(2) from exc
        desk.process_pending()
        _say_submission(desk, row, "已撤销作废")
        if row.unit_name is not None:
            typer.echo(f"该次报送重新计入 {row.unit_name} 的材料，已重新检查。")
            _say_dossier(desk, row.unit_name)


def _say_submission(desk: Desk, row: SubmissionRecord, done: str) -> None:
    """ "已作废：延边-02（报送 #7，2021-08-25 10:01 收到，主题：补充材料）"."""
    raw = desk.store.raw.get(row.raw_message_id)
    ref = desk.campaign.submission_ref(row.unit_name, row.unit_index) if row.unit_index else f"报送 #{row.id}"
    when = row.arrived_at.astimezone(desk.campaign.tz)
    subject = (raw.subject if raw else None) or "（无主题）"
    typer.echo(f"{done}：{ref}（报送 #{row.id}，{when:%Y-%m-%d %H:%M} 收到，主题：{subject}）")


def _say_dossier(desk: Desk, unit: str) -> None:
    """Where the unit stands once checked again: its nominees and what must still be fixed."""
    snapshot = desk.store.evaluations.latest_dossier(unit)
    stars = len((snapshot.dossier if snapshot else {}).get("stars") or [])
    projects = len((snapshot.dossier if snapshot else {}).get("projects") or [])
    errors = sum(f.severity == "error" for f in desk.store.evaluations.current_findings(unit))
    state = f"需修改 {errors} 项" if errors else "无需修改的问题"
    typer.echo(f"当前：百姓学习之星 {stars} 名，终身学习品牌项目 {projects} 个；{state}")


def _nominee_action(data_dir: Path | None, campaign_file: Path | None, unit: str, name: str, action: str) -> None:
    """`withdraw` and `restore`: the desk's one method for each, the record processed at once so
    `nomdesk status UNIT` shows the result, and a confirmation a clerk can read at a glance."""
    from rich.markup import escape

    with opened_desk(data_dir, campaign_file) as desk:
        name_of_unit = unit_name(desk, unit)
        act = desk.withdraw if action == "withdraw" else desk.restore
        try:
            done = act(name_of_unit, name, actor="office:cli")
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        desk.process_pending()
        if action == "withdraw":
            typer.echo(f"已撤回：{name_of_unit} 的{done.label}（已收到的材料仍保存在系统中）")
            typer.echo(f"如需恢复：nomdesk restore {name_of_unit} {done.name}")
        else:
            typer.echo(f"已恢复：{name_of_unit} 的{done.label}，已重新检查")
        _say_receipt_and_state(desk, done.record.id, name_of_unit)


def withdraw(
    unit: Annotated[str, typer.Argument(help="单位名称（全称、简称或开头几个字）")],
    name: Annotated[str, typer.Argument(help="要撤回的人员姓名或项目名称")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Withdraw a unit's star or project (its files stay in the store); `restore` takes it back."""
    _nominee_action(data_dir, campaign_file, unit, name, "withdraw")


def restore(
    unit: Annotated[str, typer.Argument(help="单位名称（全称、简称或开头几个字）")],
    name: Annotated[str, typer.Argument(help="要恢复的人员姓名或项目名称")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Restore a withdrawn star or project of a unit (the office's un-withdraw)."""
    _nominee_action(data_dir, campaign_file, unit, name, "restore")


def user_add(
    username: Annotated[str, typer.Argument(help="登录用户名")],
    name: Annotated[str, typer.Option("--name", help="显示名称")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码")] = False,
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Add an office user of the dashboard (or set a new password for one); only a hash is stored."""
    from storage.repo import Store

    if password_stdin:  # a script: `printf '%s\n' "$PASSWORD" | nomdesk user add NAME --password-stdin`
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("没有从标准输入读到密码：--password-stdin 读取一行作为密码")
    else:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        err.print("[red]密码至少 8 位[/red]")
        raise typer.Exit(2)
    settings = settings_of(data_dir, campaign_file)
    key = campaign_of(settings.campaign).key  # office users live in their campaign's schema or file
    with Store.open(
        settings.data_dir, settings.database_url, secret_key=settings.secret_key, campaign_key=key
    ) as store:
        existed = store.directory.get_user(username) is not None
        user = store.directory.add_user(username, password, name, actor="cli")
    typer.echo(f"已{'更新' if existed else '添加'}办公室用户 {user.username}（{user.display_name}）")


def note(
    unit: Annotated[str, typer.Argument(help="单位名称（全称、简称或开头几个字）")],
    text: Annotated[str, typer.Argument(help="备注内容（仅办公室可见，不发给单位）")],
    about: Annotated[str | None, typer.Option("--about", help="关于哪位推荐对象（姓名或项目名称）")] = None,
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Keep an office note on a unit or one of its nominees (shown on the dashboard, never sent)."""
    from rich.markup import escape

    with opened_desk(data_dir, campaign_file) as desk:
        name = unit_name(desk, unit)
        try:
            desk.add_note(name, text, actor="office:cli", nominee=about)
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
        typer.echo(f"已记下{name}{f' {about}' if about else ''}的备注（仅办公室可见）")
