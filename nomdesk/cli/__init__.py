"""The `nomdesk` command: every subcommand, registered here in one list.

The commands live by what they are for: `offline` (check, templates: no data directory),
`running` (serve, ingest), `office` (the office's actions, each calling the desk's one home of
it), `reports` (status, digest, exports); `common` holds the options and the desk they share.
"""

from __future__ import annotations

from nomdesk.cli import office, offline, rehearse, reports, running
from nomdesk.cli.contacts import contacts_app
from nomdesk.cli.links import links_app
from nomdesk.cli.store import store_app
from nomdesk.cli.zh import ZhCommand, chinese_typer, command_help

app = chinese_typer("Nomination Desk：百姓学习之星、终身学习品牌项目推荐材料受理台")
user_app = chinese_typer("办公室用户（登录工作台）")
export_app = chinese_typer("导出（专家评审用）")

for command in (
    offline.check,
    offline.templates,
    running.serve,
    running.ingest,
    rehearse.rehearse,
    reports.status,
    office.retry,
    office.assign,
    office.reject,
    office.void,
    office.unvoid,
    reports.digest,
    office.paper,
    office.attach,
    office.withdraw,
    office.restore,
    office.note,
):
    app.command(cls=ZhCommand, help=command_help(command))(command)
user_app.command("add", cls=ZhCommand, help=command_help(office.user_add))(office.user_add)
export_app.command("roster", cls=ZhCommand, help=command_help(reports.export_roster))(reports.export_roster)
export_app.command("materials", cls=ZhCommand, help=command_help(reports.export_materials))(reports.export_materials)
app.add_typer(user_app, name="user")
app.add_typer(export_app, name="export")
app.add_typer(contacts_app, name="contacts")
app.add_typer(links_app, name="links")
app.add_typer(store_app, name="store")


def main() -> None:  # pragma: no cover - console entry point
    app()
