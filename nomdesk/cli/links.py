"""`nomdesk links`: the office shows, revokes and reissues units' page links from the terminal.

Each command calls the one home of its action (nomdesk.unit_links_office), as the dashboard's
contacts page does. A link opens its unit's page to whoever holds it, so it is printed only here,
on the office's own terminal, and never logged.
"""

from __future__ import annotations

from typing import Annotated

import typer

from nomdesk.cli.common import CampaignOption, DataDirOption, fail, opened_desk, unit_name
from nomdesk.cli.zh import ZhCommand, chinese_typer

ACTOR = "office:cli"

links_app = chinese_typer("单位材料页面链接：查看、作废、重新生成")


@links_app.command("show", cls=ZhCommand, help="列出单位每位联系人的材料页面链接。")
def show(
    unit: Annotated[str, typer.Argument(help="单位名称（全称、简称或开头几个字）")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Each contact of the unit with her own page link (编号 as `revoke` and `reissue` take it)."""
    from nomdesk.unit_links_office import unit_links

    with opened_desk(data_dir, campaign_file) as desk:
        name = unit_name(desk, unit)
        try:
            links = unit_links(desk.store, desk.campaign, desk.settings, name)
        except ValueError as exc:
            fail(str(exc))
    if not links:
        typer.echo(f"{name} 还没有登记联系人，没有材料页面链接")
        return
    typer.echo(f"{name} 的材料页面链接（每位联系人一个，请只发给本人）：")
    for contact, url in links:
        typer.echo(f"编号 {contact.id}  {contact.name}：{url}")


@links_app.command("revoke", cls=ZhCommand, help="作废联系人的材料页面链接（编号见 nomdesk links show）。")
def revoke(
    contact_id: Annotated[int, typer.Argument(help="联系人编号（见 nomdesk links show）")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Revoke every link the contact was given; she has none until `reissue`."""
    from nomdesk.unit_links_office import revoke_link

    with opened_desk(data_dir, campaign_file) as desk:
        try:
            contact = revoke_link(desk.store, desk.campaign, desk.settings, contact_id, actor=ACTOR)
        except ValueError as exc:
            fail(str(exc))
    typer.echo(f"已作废 {contact.unit_name} 联系人 {contact.name}（编号 {contact.id}）的材料页面链接")


@links_app.command("reissue", cls=ZhCommand, help="重新生成联系人的材料页面链接，原链接同时作废。")
def reissue(
    contact_id: Annotated[int, typer.Argument(help="联系人编号（见 nomdesk links show）")],
    data_dir: DataDirOption = None,
    campaign_file: CampaignOption = None,
) -> None:
    """Revoke the contact's links and print her new one, for the office to pass on."""
    from nomdesk.unit_links_office import reissue_link

    with opened_desk(data_dir, campaign_file) as desk:
        try:
            url = reissue_link(desk.store, desk.campaign, desk.settings, contact_id, actor=ACTOR)
            contact = desk.store.contacts.get(contact_id)
        except ValueError as exc:
            fail(str(exc))
    who = f"{contact.unit_name} 联系人 {contact.name}" if contact else f"联系人 {contact_id}"
    typer.echo(f"已重新生成 {who} 的材料页面链接（原链接已作废）：")
    typer.echo(url)
