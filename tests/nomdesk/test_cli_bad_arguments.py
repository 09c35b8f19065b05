"""Every `nomdesk` command, given what a hurried clerk types wrong, answers in Chinese and exits
non-zero: never a traceback, never click's English. The commands are walked from the app itself,
so a new command without its bad cases here fails the test."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from nomdesk.cli import app
from tests.support.packages import NOMDESK

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_ERRORS = ("Traceback", "Error", "Invalid value", "Missing", "No such", "Usage:", "Got unexpected")

# Placeholders filled per run: {file} an existing text file, {dir} an existing folder,
# {missing} a path that does not exist.
COMMON = [  # every command: an unknown option
    (["--bogus"], "没有选项 --bogus"),
]
BAD: dict[str, list[tuple[list[str], str]]] = {
    "check": [([], "缺少参数"), (["{missing}"], "无法读取任何输入文件"), (["{file}", "--json", "x"], "无法读取")],
    "templates": [([], "缺少参数"), (["{file}"], "无法读写文件")],
    "serve": [
        (["--port", "abc"], "应填写整数"),
        (["--port", "0"], "端口 0 无效"),
        (["--port", "70000"], "端口 70000 无效"),
        (["--host", "no.such.host.invalid", "--port", "18999"], "监听地址 no.such.host.invalid 无法识别"),
    ],
    "ingest": [([], "缺少参数"), (["{missing}"], "找不到文件"), (["{dir}"], "找不到文件")],
    "rehearse": [
        (["--from", "八月"], "无法识别"),
        (["--speed", "0"], "--speed 须大于 0"),
        (["--days", "x"], "应填写整数"),
    ],
    "status": [
        (["北京"], "找不到单位：北京"),
        (["白"], "您是不是要找：白山市教育局"),
        (["师范"], "可能是以下单位：东北师范大学"),
        (["吉林", "多余"], "多余的参数：多余"),
    ],
    "retry": [([], "缺少参数"), (["abc"], "应填写整数"), (["999"], "没有编号 999 的来件")],
    "assign": [
        (["999", "长春市教育局"], "没有编号 999 的邮件"),
        (["abc", "长春市教育局"], "应填写整数"),
        (["1", "北京"], "找不到单位：北京"),
        (["1"], "缺少参数 'unit'"),
    ],
    "reject": [(["999"], "没有编号 999 的邮件"), (["x"], "应填写整数")],
    "void": [
        (["999", "--reason", "误发"], "找不到报送：999"),
        (["长春-99", "--reason", "误发"], "找不到报送：长春-99"),
    ],
    "unvoid": [(["999"], "找不到报送：999"), ([], "缺少参数")],
    "digest": [(["--out", "{dir}"], "无法读写文件"), (["--send", "yes"], "多余的参数")],
    "paper": [
        (["吉林"], "缺少选项 '--received'"),
        (["吉林", "--received", "2021-13-45"], "日期格式应为 YYYY-MM-DD：2021-13-45"),
        (["北京", "--received", "2021-09-01"], "找不到单位：北京"),
        (["吉林", "--received"], "选项 --received 后面需要填写一个值"),
    ],
    "attach": [
        (["白山", "{missing}"], "找不到文件"),
        (["北京", "{file}"], "找不到单位：北京"),
        (["白上", "{file}"], "您是不是要找：白山市教育局"),
    ],
    "withdraw": [(["吉林", "张三"], "尚未报送材料"), (["北京", "张三"], "找不到单位：北京"), (["吉林"], "缺少参数")],
    "restore": [(["吉林", "张三"], "尚未报送材料"), (["北京", "张三"], "找不到单位：北京")],
    "note": [(["吉林", "备注", "--about", "张三"], "的推荐对象中没有“张三”"), (["北京", "备注"], "找不到单位：北京")],
    "user add": [([], "缺少参数"), (["bob", "--password-stdin"], "没有从标准输入读到密码")],
    "export roster": [([], "缺少参数"), (["{dir}"], "无法读写文件"), (["{file}/名单.xlsx"], "无法读写文件")],
    "export materials": [([], "缺少参数"), (["{file}"], "无法读写文件")],
    "contacts list": [(["北京"], "找不到单位：北京"), (["长春市第一中学"], "是否指“长春市教育局”")],
    "contacts add": [
        (["北京", "王芳"], "找不到单位：北京"),
        (["吉林", "王芳", "--email", "bad"], "邮箱格式不正确"),
        (["吉林"], "缺少参数"),
    ],
    "contacts remove": [(["999"], "没有编号为 999 的联系人"), (["abc"], "应填写整数")],
    "contacts import": [(["{missing}"], "找不到文件"), (["{file}"], "不是 Excel 表格")],
    "contacts export": [(["{dir}"], "无法读写文件"), ([], "缺少参数")],
    "store migrate": [([], "请先设置对象存储"), (["x"], "多余的参数")],
    "links show": [(["北京"], "找不到单位：北京"), ([], "缺少参数"), (["吉林"], "未设置 NOMDESK_PUBLIC_URL")],
    "links revoke": [(["999"], "没有编号为 999 的联系人"), (["abc"], "应填写整数")],
    "links reissue": [(["999"], "未设置 NOMDESK_PUBLIC_URL"), (["abc"], "应填写整数"), ([], "缺少参数")],
    "": [(["statu"], "没有命令 statu（是不是 status？）"), (["contacts", "delete"], "没有命令 delete")],
}


def command_paths(group: typer.core.TyperGroup, prefix: str = "") -> Iterator[str]:
    """Every runnable command of the app, as typed after `nomdesk` ("contacts add")."""
    for name, command in group.commands.items():
        path = f"{prefix} {name}".strip()
        if isinstance(command, typer.core.TyperGroup):
            yield from command_paths(command, path)
        else:
            yield path


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("bad-arguments")
    (root / "dir").mkdir()
    (root / "note.txt").write_text("这不是表格\n", encoding="utf-8")
    return {"file": str(root / "note.txt"), "dir": str(root / "dir"), "missing": str(root / "不存在.xlsx")}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fresh") / "var"


def run(args: list[str], places: dict[str, str], data_dir: Path) -> Result:
    filled = [a.format(**places) for a in args]
    env = {"NOMDESK_DATA_DIR": str(data_dir), "NOMDESK_TRACEBACK": ""}
    return CliRunner(env=env).invoke(app, filled, input="", prog_name="nomdesk")


def test_every_command_has_its_bad_cases() -> None:
    registered = set(command_paths(typer.main.get_command(app)))
    assert registered == set(BAD) - {""}, "a command without bad cases here, or one that is gone"


@pytest.mark.parametrize(
    ("path", "args", "said"),
    [pytest.param(p, a, s, id=f"{p or 'nomdesk'} {' '.join(a)}") for p in BAD for a, s in (*BAD[p], *COMMON)],
)
def test_bad_arguments_get_a_chinese_sentence_and_a_failing_exit(
    path: str, args: list[str], said: str, places: dict[str, str], data_dir: Path
) -> None:
    result = run([*path.split(), *args], places, data_dir)
    output = result.output
    assert result.exit_code != 0, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert said in output, output
    assert CJK.search(output)
    for english in ENGLISH_ERRORS:
        assert english not in output, output


def test_the_real_command_answers_assign_of_an_unknown_mail_without_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(NOMDESK), "assign", "999", "长春", "--data-dir", str(tmp_path / "var")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "没有编号 999 的邮件" in done.stderr and "Traceback" not in done.stderr + done.stdout


def test_help_is_chinese_throughout(places: dict[str, str], data_dir: Path) -> None:
    """`nomdesk --help` and each command's --help: headings, usage and every line's words."""
    for path in ["", *sorted(set(command_paths(typer.main.get_command(app))))]:
        result = run([*path.split(), "--help"], places, data_dir)
        assert result.exit_code == 0, result.output
        text = result.output
        assert "用法：nomdesk" in text and "显示本帮助并退出" in text, text
        for english in ("Usage:", "Options", "Arguments", "Commands", "Show this message", "[OPTIONS]", "default:"):
            assert english not in text, f"{path}: {english}"
        # A line of help that says something says it in Chinese (options and metavars aside).
        for line in text.splitlines():
            words = re.sub(r"--?[\w-]+|<\w+>|\{\w+\}|\[[^\]]*\]|\S*/\S*|nomdesk|[A-Z_]{2,}|\.\w+", "", line)
            if re.search(r"[A-Za-z]{4,}", words):
                assert CJK.search(line), f"{path}: {line}"
