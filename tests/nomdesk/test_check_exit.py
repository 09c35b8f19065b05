"""`nomdesk check`'s exit status as the office relies on it (DESIGN.md): 0 clean, 1 errors, 2 nothing read.

Random bytes called .eml are not a mail; an input that cannot be read beside one that can
is an error finding, not a silent pass; a bug in the desk exits 2 with a Chinese message,
never a traceback that reads as "the package has errors"; and --json keeps stderr free of
the progress bar even on a terminal.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from config import Campaign
from tests.support.archives import noise
from tests.support.packages import build_eml, complete_city_package, run_nomdesk


@pytest.fixture(scope="module")
def complete_mail(campaign: Campaign) -> Path:
    return build_eml(complete_city_package(campaign))


@pytest.fixture
def garbage_mail(tmp_path: Path) -> Path:
    path = tmp_path / "推荐材料.eml"
    path.write_bytes(noise(11, 3000).replace(b"\n", b" "))
    return path


def test_random_bytes_called_eml_are_not_a_mail(garbage_mail: Path) -> None:
    run = run_nomdesk("check", garbage_mail, "--json")
    assert run.code == 2, run.stdout
    assert "error" in run.json and str(garbage_mail) in run.json["error"]
    assert "findings" not in run.json


def test_an_unreadable_second_path_is_an_error_finding(complete_mail: Path, garbage_mail: Path) -> None:
    alone = run_nomdesk("check", complete_mail, "--json")
    assert alone.code == 0, alone.stdout  # the package itself is complete
    run = run_nomdesk("check", complete_mail, garbage_mail, "--json")
    assert run.code == 1
    (finding,) = [f for f in run.json["findings"] if f["severity"] == "error"]
    assert finding["code"] == "FILE_UNREADABLE"
    assert str(garbage_mail) in finding["subject"]
    assert "邮件" in finding["message_zh"]


def _invoke(args: list[str], monkeypatch: pytest.MonkeyPatch, console: Console | None = None):
    from nomdesk import cli
    from nomdesk.cli import offline

    if console is not None:
        monkeypatch.setattr(offline, "err", console)
    return CliRunner().invoke(cli.app, args)


def test_a_bug_in_the_check_exits_2_with_a_chinese_message(
    complete_mail: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nomdesk.check

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("timezone")

    monkeypatch.setattr(nomdesk.check, "check_paths", broken)
    stderr = io.StringIO()
    result = _invoke(["check", str(complete_mail), "--json"], monkeypatch, Console(file=stderr, width=200))
    assert result.exit_code == 2
    assert "内部错误" in stderr.getvalue()
    assert "Traceback" not in stderr.getvalue() + result.output
    assert "内部错误" in result.stdout  # the JSON error object: stdout is still one object


@pytest.mark.parametrize("as_json", [True, False])
def test_progress_bar_only_without_json(complete_mail: Path, monkeypatch: pytest.MonkeyPatch, as_json: bool) -> None:
    terminal = io.StringIO()
    console = Console(file=terminal, force_terminal=True, width=120)
    args = ["check", str(complete_mail), *(["--json"] if as_json else [])]
    result = _invoke(args, monkeypatch, console)
    assert result.exit_code == 0, result.output
    drawn = "\x1b[" in terminal.getvalue()  # the live bar draws with terminal control codes
    assert drawn is not as_json
