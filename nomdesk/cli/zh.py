"""The command line's own words in Chinese: usage errors, help headings, the --help option.

typer (with its bundled click) writes "Missing argument 'UNIT'.", "Usage:", "Options" in English;
the office reads Chinese only. Its errors are rewritten as they leave the command (a usage error
keeps its exit status 2 and its usage line); the help's headings are typer's own settings.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
from typing import Any

import typer
from typer import rich_utils
from typer.core import TyperCommand, TyperGroup

from nomdesk.cli.common import fail

try:  # the click typer runs on: its own bundled copy (typer 0.2x), click itself before
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - an older typer
    from click import exceptions as click_errors  # type: ignore[no-redef]


USAGE_PREFIX = "用法："
OPTIONS_METAVAR = "[选项]"
HELP_OPTION_HELP = "显示本帮助并退出"

rich_utils.ARGUMENTS_PANEL_TITLE = "参数"
rich_utils.OPTIONS_PANEL_TITLE = "选项"
rich_utils.COMMANDS_PANEL_TITLE = "命令"
rich_utils.ERRORS_PANEL_TITLE = "错误"
rich_utils.ABORTED_TEXT = "已取消"
rich_utils.RICH_HELP = "运行 [blue]{command_path} {help_option}[/] 查看用法"
rich_utils.DEFAULT_STRING = "[默认：{}]"
rich_utils.ENVVAR_STRING = "[环境变量：{}]"
rich_utils.REQUIRED_LONG_STRING = "[必填]"
rich_utils.DEPRECATED_STRING = "（已停用）"

_TYPES_ZH = {"int": "整数", "integer": "整数", "float": "数字", "Path": "路径", "bool": "是/否", "boolean": "是/否"}
_NOT_VALID = re.compile(r"^(?:Value )?(?P<value>.+?) is not a valid (?P<type>\w+)\.?$")
_EXTRA = re.compile(r"^Got unexpected extra argument(?:\(s\)|s)? \((?P<args>.*)\)$")
_NO_COMMAND = re.compile(r"^No such command '(?P<name>.*?)'\.")
# typer checks values with pydantic: its messages, from the most to the least specific
_PYDANTIC = (
    ("Input should be a valid integer", "应填写整数"),
    ("Input should be a valid number", "应填写数字"),
    ("Input should be a valid date", "应填写日期（YYYY-MM-DD）"),
    ("Input should be a valid boolean", "应填写 是/否（true/false）"),
    ("Input should be", "格式不对"),
)
_NEEDS_VALUE = re.compile(r"^Option '(?P<name>.+?)' requires (?:an argument|(?P<n>\d+) arguments)\.$")
_TAKES_NO_VALUE = re.compile(r"^Option '(?P<name>.+?)' does not take a value\.$")


def _hint(error: click_errors.BadParameter) -> str:
    if error.param_hint is not None:
        hint = error.param_hint
        return hint if isinstance(hint, str) else " / ".join(hint)
    return error.param.get_error_hint() if error.param is not None else ""


def chinese_message(error: click_errors.UsageError) -> str:
    """The error as the clerk reads it; a message not known here is kept, after a Chinese lead."""
    if isinstance(error, click_errors.MissingParameter):
        kind = "选项" if (error.param_type or getattr(error.param, "param_type_name", "")) == "option" else "参数"
        return f"缺少{kind} {_hint(error)}".rstrip() + "，请补上后再运行"
    if isinstance(error, click_errors.NoSuchOption):
        guess = f"（是不是 {'、'.join(sorted(error.possibilities))}？）" if error.possibilities else ""
        return f"没有选项 {error.option_name}{guess}"
    if isinstance(error, click_errors.BadParameter):
        message = error.message
        match = _NOT_VALID.match(message)
        said = next((zh for en, zh in _PYDANTIC if message.startswith(en)), None)
        if said:
            message = said
        elif match:
            kind = _TYPES_ZH.get(match["type"], match["type"])
            message = f"{match['value']} 不是有效的{kind}"
        hint = _hint(error)
        return f"{hint} 的值无效：{message}" if hint else f"值无效：{message}"
    message = error.message
    if match := _NEEDS_VALUE.match(message):
        return f"选项 {match['name']} 后面需要填写{match['n'] or '一'}个值"
    if match := _TAKES_NO_VALUE.match(message):
        return f"选项 {match['name']} 不需要填写值"
    if match := _EXTRA.match(message):
        return f"多余的参数：{match['args']}"
    if match := _NO_COMMAND.match(message):
        group = error.ctx.command if error.ctx is not None else None
        names = group.list_commands(error.ctx) if isinstance(group, TyperGroup) else []
        close = difflib.get_close_matches(match["name"], names, n=3, cutoff=0.5)
        return f"没有命令 {match['name']}" + (f"（是不是 {'、'.join(close)}？）" if close else "")
    if message == "Missing command.":
        return "缺少命令"
    return f"命令行参数有误：{message}"


class ZhUsageError(click_errors.UsageError):
    """A usage error already in Chinese (a group's, passing up through the command)."""


def _chinese(error: click_errors.UsageError) -> click_errors.UsageError:
    if isinstance(error, ZhUsageError) or type(error).__name__ == "NoArgsIsHelpError":  # the latter: help shown
        return error
    translated = ZhUsageError(chinese_message(error), ctx=error.ctx)
    translated.exit_code = error.exit_code
    return translated


class _ChineseWords:
    """The usage line, [选项] and --help of a command or group, in Chinese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["options_metavar"] = OPTIONS_METAVAR  # typer passes its "[OPTIONS]" explicitly
        super().__init__(*args, **kwargs)

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix=USAGE_PREFIX)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_OPTION_HELP
        return option


class ZhCommand(_ChineseWords, TyperCommand):
    """A command whose usage line, [选项] and --help read in Chinese."""


class ZhGroup(_ChineseWords, TyperGroup):
    """The `nomdesk` command and its groups: as ZhCommand, and every usage error beneath it
    (a wrong type, a missing argument, an unknown option or command) rewritten in Chinese."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["subcommand_metavar"] = "命令 [参数]..."
        super().__init__(*args, **kwargs)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except click_errors.UsageError as error:
            raise _chinese(error) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except click_errors.UsageError as error:
            raise _chinese(error) from None
        except (click_errors.ClickException, typer.Exit, typer.Abort, EOFError):
            raise
        except Exception as exc:  # a command's own failure: a sentence, not a traceback (unless asked for)
            if os.environ.get(TRACEBACK_ENV):
                raise
            from storage.blobs import BlobStoreRefused

            if isinstance(exc, BlobStoreRefused):  # a refused start: its own instructions, exit 1
                fail(str(exc), code=1)
            fail(failure_message(exc))


TRACEBACK_ENV = "NOMDESK_TRACEBACK"  # set (to anything) to see a failing command's traceback
_OS_ERRORS = {
    errno.ENOENT: "不存在",
    errno.EISDIR: "是一个文件夹，这里需要文件",
    errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.EEXIST: "已存在",
    errno.EACCES: "没有权限读写",
    errno.EPERM: "没有权限读写",
    errno.ENOSPC: "磁盘已满",
    errno.EROFS: "所在磁盘只读",
}


def failure_message(exc: Exception) -> str:
    """What a clerk is told when a command fails on something no check foresaw."""
    if isinstance(exc, OSError):
        what = _OS_ERRORS.get(exc.errno or 0, exc.strerror or type(exc).__name__)
        where = f"：{exc.filename}" if exc.filename else ""
        return f"无法读写文件{where}（{what}），请检查路径后重试"
    return (
        f"命令未能完成：内部错误（{type(exc).__name__}：{exc}）。"
        f"请把所运行的命令转交技术人员；设置环境变量 {TRACEBACK_ENV}=1 后重新运行可看到技术细节"
    )


def chinese_typer(help_text: str, **kwargs: Any) -> typer.Typer:
    """A typer app (the command or one of its groups) that speaks Chinese."""
    return typer.Typer(cls=ZhGroup, help=help_text, no_args_is_help=True, add_completion=False, **kwargs)


# What each command does, as `nomdesk --help` and `nomdesk COMMAND --help` say it (the functions'
# docstrings say why, for whoever maintains them). Keyed by the function's name.
COMMAND_HELP = {
    "check": "离线检查一个单位的报送材料（.eml、压缩包或文件夹），不写入数据目录。"
    "退出码：0 没有需修改的问题；1 有需修改的问题；2 无法读取或检查未完成。",
    "templates": "生成附表1-4空白表格和联系人导入模板（联系人导入模板.xlsx）。",
    "serve": "运行受理台：收取邮件（IMAP 或投递目录）、检查、回复，并开放工作台网页端口。",
    "ingest": "手工导入 .eml 邮件文件：保存、立即检查并发送（或写出）回复。",
    "status": "查看报送情况：不填单位列出全部单位；填写单位（全称、简称或开头几个字）查看该单位的明细。",
    "retry": "问题解决后，重新处理一封“待人工处理”的来件，处理后照常回复。",
    "assign": "确认未登记发件人的报送属于哪个单位：检查并回复，发件邮箱登记为该单位联系人（--no-register 除外）。",
    "reject": "把不是报送的邮件移出“待确认”列表（邮件仍保存，不回复发件人）。",
    "void": "作废一次报送（冒名或误发）：该单位材料不再计入此次报送并重新检查，下次回执中说明原因。",
    "unvoid": "撤销作废：该次报送重新计入并重新检查。",
    "digest": "生成今日汇总（企业微信消息文本和 .xlsx 汇总表）；--send 同时发送。",
    "paper": "登记某单位盖章纸质材料的收到日期（随后重新检查该单位）。",
    "attach": "把办公室从下载链接取回的文件补充到某单位的材料中，并重新检查。",
    "withdraw": "撤回某单位的一名百姓学习之星或一个终身学习品牌项目（文件仍保存）；用 restore 恢复。",
    "restore": "恢复已撤回的百姓学习之星或终身学习品牌项目。",
    "note": "给单位或其某位推荐对象记一条备注（仅办公室可见，不发给单位）。",
    "user_add": "添加工作台的办公室用户（或为已有用户设置新密码）；只保存密码的哈希值。",
    "export_roster": "导出推荐名单 .xlsx：百姓学习之星、终身学习品牌项目各一张表，每人（项目）一行。",
    "export_materials": "把材料导出为整理好的目录：单位/百姓学习之星/姓名/文件。",
}


def command_help(function: Any) -> str | None:
    return COMMAND_HELP.get(function.__name__)
