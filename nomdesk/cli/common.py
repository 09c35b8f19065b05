"""What every `nomdesk` command shares: the data directory and campaign options, logging, the desk.

The office's commands open the data directory's desk (store migrated, units in step with the
campaign) and close it after; errors a clerk can fix are printed in red, in Chinese, with exit 2.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from config.campaign import Campaign, CampaignError, load_campaign

if TYPE_CHECKING:
    from config.settings import Settings
    from nomdesk.desk import Desk

err = Console(stderr=True)

CampaignOption = Annotated[
    Path | None,
    typer.Option("--campaign", envvar="NOMDESK_CAMPAIGN", help="活动配置文件 .toml（默认：随程序提供的 2021 年活动）"),
]


VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="显示详细日志（包括所用程序库的运行信息）")]

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", envvar="NOMDESK_DATA_DIR", help="数据目录（默认 ./var）")
]


def campaign_of(path: Path | None) -> Campaign:
    try:
        return load_campaign(path)
    except CampaignError as exc:
        # No markup: the keys it names look like markup tags ("units[3].name") and would vanish.
        err.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc


THIRD_PARTY_LOGGERS = (
    "urllib3",
    "httpx",
    "httpcore",
    "asyncio",
    "multipart",
    "PIL",
    "apscheduler",
    "watchfiles",
)

MIGRATION_LOGGERS = ("alembic",)


def setup_logging(verbose: bool, level: int = logging.WARNING) -> None:
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
    # Migrations: every detail under -v (what ran, in which order), nothing otherwise.
    for name in MIGRATION_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else max(logging.WARNING, root.level))


def settings_of(data_dir: Path | None, campaign_file: Path | None) -> Settings:
    from config.settings import Settings

    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if campaign_file is not None:
        overrides["campaign"] = campaign_file
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:  # a NOMDESK_* value that cannot be: named, in a line, exit 2
        fail(
            "；".join(
                f"NOMDESK_{'_'.join(map(str, e['loc'])).upper()}：{e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


@contextlib.contextmanager
def opened_desk(data_dir: Path | None, campaign_file: Path | None) -> Iterator[Desk]:
    """The office's commands: quiet logging, the data directory's desk, its store closed after."""
    from nomdesk.wiring import open_desk

    setup_logging(False)
    settings = settings_of(data_dir, campaign_file)
    desk = open_desk(settings, campaign_of(settings.campaign))
    try:
        yield desk
    finally:
        desk.store.close()


def unit_name(desk: Desk, unit: str) -> str:
    """The campaign's full name of the unit a clerk typed: its full name, alias or short name, the
    name without its ending ("吉林教育局"), else a unique beginning or part of a name (config.unit_lookup).
    Several fit: exit 2 listing them; none: exit 2 suggesting the nearest names."""
    return unit_of(desk.campaign, unit)


def unit_of(campaign: Campaign, unit: str) -> str:
    """`unit_name` for a command that has a campaign but no desk."""
    from config.unit_lookup import find_unit

    found = find_unit(campaign, unit)
    if found.unit is None:
        fail(found.problem)
    return found.unit.name


def fail(message: str, code: int = 2) -> NoReturn:
    """A problem the clerk can fix: the message in red, in Chinese, as written (no markup), exit 2."""
    err.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)
