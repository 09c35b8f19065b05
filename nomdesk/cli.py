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


def _setup_logging(verbose: bool) -> None:
    from nomdesk.privacy import MaskingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)


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


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
