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
        ("单位 延边州 情况", "延边州 情况"),  # a unit name first: still the office command
    ],
)
def test_unit_argument(text: str, argument: str) -> None:
    command = parse(text)
    assert command.intent == Intent.UNIT
    assert command.argument == argument


@pytest.mark.parametrize("text", ["纸质 延边州 已收", "纸质材料：延边州已收到", "纸质 延边州 已寄到。"])
def test_paper_receipt_needs_a_received_word(text: str) -> None:
    command = parse(text)
    assert command.intent == Intent.PAPER
    assert command.argument == "延边州"


@pytest.mark.parametrize(
    "text",
    [
        "纸质 延边州",  # no received word: asks
        "纸质 延边州 未收",
        "纸质 延边州 没收到",
        "纸质材料 延边州 还没到",
        "纸质 延边州 收到了吗",
        "纸质 延边州 收到了？",
        "纸质 延边州 是否收到",
        "纸质 延边州 收到没有",
    ],
)
def test_paper_question_or_negation_only_asks(text: str) -> None:
    command = parse(text)
    assert command.intent == Intent.PAPER_STATUS  # answered with the unit's paper status, nothing recorded
    assert command.argument == "延边州"


def test_a_contact_asking_about_their_paper_copies_names_no_unit() -> None:
    command = parse("纸质材料收到了吗？")
    assert command.intent == Intent.PAPER_STATUS
    assert command.argument == ""


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("截至目前情况", Intent.STATUS),  # "as of now", not the deadline
        ("截止目前的审核情况", Intent.STATUS),
        ("截至现在还缺什么", Intent.MISSING),
        ("截至哪天", Intent.DEADLINE),
        ("单位状态", Intent.STATUS),  # a contact's own unit, not "单位 <name>"
        ("单位的进度", Intent.STATUS),
        ("单位还缺什么", Intent.MISSING),
        ("还有什么没交", Intent.PENDING),  # office: units; a contact gets their own missing list (answers)
    ],
)
def test_forgiving_wording(text: str, intent: Intent) -> None:
    assert parse(text).intent == intent
