"""Commands that need no data directory: `check` a package offline, write the blank `templates`."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from config.campaign import Campaign
from nomdesk.cli.common import CampaignOption, VerboseOption, campaign_of, err, setup_logging


def check(
    paths: Annotated[list[Path], typer.Argument(help=".eml、压缩包或文件夹；多个路径按先后顺序视为同一单位的多次报送")],
    unit: Annotated[str | None, typer.Option("--unit", help="推荐单位（全称或简称；不填则自动识别）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON（DESIGN.md 约定的格式）")] = False,
    campaign_file: CampaignOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Check one unit's package(s) offline against every rule of the call.

    Exit 0: no error finding; 1: at least one error finding; 2: nothing could be read, or
    the check itself failed (a bug must never read as "the package has errors"), or a rule
    raised (the JSON of what was found is still printed, marked incomplete: a crashed rule
    must never read as "no findings").
    """
    from config.unit_lookup import find_unit

    setup_logging(verbose)
    campaign = campaign_of(campaign_file)
    if unit is not None:  # "吉林" is 吉林市教育局; a unit the campaign does not know is checked under its own name
        unit = getattr(find_unit(campaign, unit).unit, "name", unit)
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
    from validators.report import render_text

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
        typer.echo(render_text(result.dossier, result.findings, result.check_error))
        for path, reason in result.unreadable:
            err.print(f"未能读取 {path}：{reason}", style="yellow", markup=False, highlight=False)
    if result.incomplete:
        message = f"检查未完成：{result.check_error}，结果不可作为“材料齐全”，请人工核查或转交技术人员处理"
        err.print(message, style="red", markup=False, highlight=False)
        return 2
    return 1 if result.has_errors else 0


def templates(directory: Annotated[Path, typer.Argument(help="输出目录")]) -> None:
    """Write the four blank forms (附表1-4) from the field list the readers use, and the office's
    contact sheet template (联系人导入模板.xlsx, for `nomdesk contacts import`)."""
    from intake.contact_sheet import write_contact_template
    from intake.forms.templates import write_templates

    directory.mkdir(parents=True, exist_ok=True)
    for path in write_templates(directory):
        typer.echo(str(path))
    typer.echo(str(write_contact_template(directory)))
