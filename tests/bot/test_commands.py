"""What contacts type in WeCom maps to the command they mean."""

from __future__ import annotations

import pytest

from bot.commands import Intent, parse


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("状态", Intent.STATUS),
        ("进度？", Intent.STATUS),
        ("我们单位的审核情况怎么样了", Intent.STATUS),
        ("缺什么", Intent.MISSING),
        ("还缺哪些材料？？", Intent.MISSING),
        ("有什么问题", Intent.MISSING),
        ("清单", Intent.CHECKLIST),
        ("报送要求是什么", Intent.CHECKLIST),
        ("截止", Intent.DEADLINE),
        ("截止时间是哪天！", Intent.DEADLINE),
        ("帮助", Intent.HELP),
        ("", Intent.HELP),
        ("  ？ ", Intent.HELP),
        ("汇总", Intent.SUMMARY),
        ("未交", Intent.PENDING),
        ("哪些单位还没交", Intent.PENDING),
        ("今天天气不错", Intent.UNKNOWN),
    ],
)
def test_intent(text: str, intent: Intent) -> None:
    assert parse(text).intent == intent


@pytest.mark.parametrize(
    ("text", "argument"),
    [
        ("单位 延边州", "延边州"),
        ("单位：长白山管委会教育科技局", "长白山管委会教育科技局"),
        ("单位延边州", "延边州"),
    ],
)
def test_unit_argument(text: str, argument: str) -> None:
    command = parse(text)
    assert command.intent == Intent.UNIT
    assert command.argument == argument


@pytest.mark.parametrize("text", ["纸质 延边州 已收", "纸质材料：延边州已收到", "纸质 延边州"])
def test_paper_argument(text: str) -> None:
    command = parse(text)
    assert command.intent == Intent.PAPER
    assert command.argument == "延边州"
