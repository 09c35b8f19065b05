"""`nomdesk contacts`: the office keeps its units' contacts from the terminal.

Each command calls the one home of its action (`nomdesk.contacts`), as the dashboard does. This
is the office's own terminal, so phones and addresses are shown in full; logs mask them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from config.masking import mask_phone
from nomdesk.cli.common import CampaignOption, DataDirOption, err, opened_desk, unit_name
from nomdesk.cli.zh import ZhCommand, chinese_typer

ACTOR = "office:cli"

contacts_app = chinese_typer("单位联系人：查看、添加、删除、从表格导入、导出")


@contacts_app.command("list", cls=ZhCommand, help="列出各单位联系人（可只看一个单位）；编号供 remove 使用。")
def list_contacts(
    unit: Annotated[str | None, typer.Argument(help="单位名称（不填则列出全部单位）")] = None,
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """List the units' contacts (one unit's, given any of its names); the 编号 is what `remove` takes."""
    from nomdesk.contacts import unit_contacts

    with opened_desk(data_dir, campaign_file) as desk:
        name = unit_name(desk, unit) if unit else None
        contacts = unit_contacts(desk.store, desk.campaign, name)
        reached = {c.unit_name for c in contacts}
        without = [u.name for u in desk.campaign.units if u.name not in reached] if not name else []
    if not contacts:
        typer.echo(f"{name} 还没有登记联系人" if name else "还没有登记任何联系人")
        return
    table = Table("编号", "单位", "联系人", "电话", "邮箱", "企业微信账号", "角色", "添加人")
    for c in contacts:
        table.add_row(
            str(c.id),
            escape(c.unit_name or ""),
            escape(c.name),
            escape(mask_phone(c.phone) if c.phone else ""),
            escape("\n".join(c.emails)),
            escape(c.wecom_user or ""),
            escape(c.role),
            escape("活动配置" if c.added_by in ("config", "") else c.added_by),
        )
    Console(width=200).print(table)
    typer.echo(f"共 {len(contacts)} 位联系人")
    if without:
        typer.echo(f"没有联系人的单位 {len(without)} 个：" + "、".join(without))


@contacts_app.command("add", cls=ZhCommand, help="为单位添加联系人；此后该联系人邮箱的来件即属于该单位。")
def add(
    unit: Annotated[str, typer.Argument(help="单位名称（全称、简称或开头几个字）")],
    name: Annotated[str, typer.Argument(help="联系人姓名")],
    email: Annotated[list[str] | None, typer.Option("--email", help="邮箱（可多次给出）")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="电话")] = None,
    wecom: Annotated[str | None, typer.Option("--wecom", help="企业微信账号（UserID）")] = None,
    role: Annotated[str, typer.Option("--role", help="角色，如 负责人、经办人")] = "",
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Add a contact of a unit; from then on mail from its addresses is that unit's."""
    from nomdesk.contacts import add_contact

    with opened_desk(data_dir, campaign_file) as desk:
        full_name = unit_name(desk, unit)
        try:
            contact = add_contact(
                desk.store,
                desk.campaign,
                full_name,
                name,
                emails=email or [],
                phone=phone,
                wecom_user=wecom,
                role=role,
                actor=ACTOR,
            )
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
    reach = "、".join(contact.emails) or "（未登记邮箱）"
    typer.echo(f"已添加联系人 {contact.name}（编号 {contact.id}）到 {contact.unit_name}：{reach}")


@contacts_app.command("remove", cls=ZhCommand, help="按编号删除联系人（编号见 nomdesk contacts list）。")
def remove(
    contact_id: Annotated[int, typer.Argument(help="联系人编号（见 nomdesk contacts list）")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Remove a contact by its 编号 (from `nomdesk contacts list`); its addresses then reach nobody."""
    from nomdesk.contacts import remove_contact

    with opened_desk(data_dir, campaign_file) as desk:
        try:
            contact = remove_contact(desk.store, contact_id, actor=ACTOR)
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
    typer.echo(f"已删除 {contact.unit_name or '办公室'} 的联系人 {contact.name}（编号 {contact.id}）")


@contacts_app.command(
    "import",
    cls=ZhCommand,
    help="从联系人表 .xlsx 导入联系人（按表头列名读取）。退出码：0 全部导入；1 部分行有问题；2 无法读取。",
)
def import_(
    file: Annotated[Path, typer.Argument(help="联系人表 .xlsx（列：单位、联系人、电话、邮箱、企业微信账号）")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Import the office's contact sheet (by its header names; `nomdesk templates` writes a blank one).
    Exit 0: every row taken; 1: some rows had a problem (each named, the others imported); 2: no sheet."""
    from nomdesk.contacts import import_contacts

    if not file.is_file():
        err.print(f"[red]找不到文件：{escape(str(file))}[/red]")
        raise typer.Exit(2)
    with opened_desk(data_dir, campaign_file) as desk:
        try:
            result = import_contacts(desk.store, desk.campaign, file.read_bytes(), actor=ACTOR, filename=file.name)
        except ValueError as exc:
            err.print(f"[red]{escape(str(exc))}[/red]")
            raise typer.Exit(2) from exc
    typer.echo(f"已导入 {file.name}：{result.summary()}")
    for line in result.problems:
        typer.echo(line)
    if result.problems:
        typer.echo("请修改以上各行后重新导入（已导入的行不会重复添加）")
        raise typer.Exit(1)


@contacts_app.command("export", cls=ZhCommand, help="导出全部单位联系人为联系人表 .xlsx（可再导入）。")
def export(
    file: Annotated[Path, typer.Argument(help="输出的 .xlsx 文件")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Write every unit's contacts as the contact sheet (the file `import` reads back)."""
    from nomdesk.contacts import export_contacts, unit_contacts

    with opened_desk(data_dir, campaign_file) as desk:
        data = export_contacts(desk.store, desk.campaign)
        count = len(unit_contacts(desk.store, desk.campaign))
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(data)
    typer.echo(f"已导出 {count} 位联系人到 {file}")
