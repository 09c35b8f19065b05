"""What clerks really type to the bot, and what they read back (issue 15, "The bot").

Each phrasing (typos, 繁体, full-width, with and without punctuation, a nominee's name) is
mapped to the intent the bot must take it for, and to what the clerk checks in the answer:
the office's phone, the address the paper goes to, the nominee's own problem. Every answer to
a contact fits a phone's first screen (<= 12 lines, <= 600 characters).

The unit is 延边州 with 莫婷婷 short of photos, 夕阳红网校 without its video, 朴英子 complete
and 17 loose photos no nominee can be found for (tests/support/bot_dossier.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from bot.answers import Answerer
from bot.commands import Intent, parse
from bot.paging import SCREEN_CHARS, SCREEN_LINES
from config import Campaign
from storage.repo import Store
from tests.support.bot_dossier import CONTACT, LOOSE_PHOTOS, store_everyday_unit
from tests.support.clock import Clock

CST = dt.timezone(dt.timedelta(hours=8))
OFFICE = "wuxiaohui"
PHONE = "0431-82857798"  # [office] phone of config/campaign-2021.toml
MAILBOX = "jlqmxx@126.com"
ADDRESS = "吉林省长春市宽城区北京大街62号710室"
STAR_PROBLEM = "莫婷婷 照片 1 张，要求 2 张"
PROJECT_PROBLEM = "未收到 夕阳红网校 的视频资料"

NOMINEE = [
    ("莫婷婷", ["百姓学习之星 莫婷婷：需修改 1 项", STAR_PROBLEM, "修改建议"]),
    ("莫婷婷。", [STAR_PROBLEM]),
    ("莫婷婷？", [STAR_PROBLEM]),
    ("　莫婷婷　", [STAR_PROBLEM]),  # full-width spaces
    ("莫 婷 婷", [STAR_PROBLEM]),
    ("莫婷婷还缺什么", [STAR_PROBLEM]),
    ("莫婷婷缺啥", [STAR_PROBLEM]),
    ("莫婷婷還缺甚麼", [STAR_PROBLEM]),  # 繁体
    ("莫婷婷的材料怎么样了", [STAR_PROBLEM]),
    ("莫婷婷有什么问题", [STAR_PROBLEM]),
    ("夕阳红网校", ["终身学习品牌项目 夕阳红网校", PROJECT_PROBLEM]),
    ("夕陽紅網校", [PROJECT_PROBLEM]),
    ("夕阳红网校还差什么", [PROJECT_PROBLEM]),
    ("朴英子", ["百姓学习之星 朴英子：材料齐全，符合要求"]),
]
MISSING = [
    ("缺什么", ["需修改 2 项", STAR_PROBLEM, "回复「更多」"]),
    ("缺啥", ["需修改 2 项"]),
    ("却什么", ["需修改 2 项"]),
    ("还差什么", ["需修改 2 项"]),
    ("差啥", ["需修改 2 项"]),
    ("還缺甚麼？", ["需修改 2 项"]),
    ("缺什麼", ["需修改 2 项"]),
    ("少什么材料", ["需修改 2 项"]),
    ("还缺哪些材料？？", ["需修改 2 项"]),
    ("缺 什 么", ["需修改 2 项"]),
    ("【缺什么】", ["需修改 2 项"]),
    ("缺什么！！！", ["需修改 2 项"]),
    ("哪些不合格", ["需修改 2 项"]),
]
HOW_TO_SEND = [
    ("怎么补交材料", [MAILBOX, "本对话中发送文件", "莫婷婷-照片1.jpg"]),
    ("如何补报", [MAILBOX, "本对话中发送文件"]),
    ("怎麼補交材料", [MAILBOX]),
    ("补充材料怎么交", [MAILBOX]),
    ("咋补交", [MAILBOX]),
    ("怎样补发照片？", [MAILBOX]),
    ("材料发到哪个邮箱", [MAILBOX]),
    ("ｗｅｃｏｍ里能发文件吗", ["本对话中发送文件"]),  # full-width letters
]
CONTACT_OFFICE = [
    ("人工客服", [PHONE, "吴晓辉"]),
    ("找人工", [PHONE]),
    ("转人工！", [PHONE]),
    ("电话", [PHONE]),
    ("办公室电话多少", [PHONE]),
    ("聯繫電話", [PHONE]),
    ("联系人是谁", [PHONE, "吴晓辉"]),
    ("我要咨询", [PHONE]),
]
RESUBMITTED = [
    ("已经补交了，为什么还是6项", ["最近一次收到", "几分钟内", "需修改 2 项"]),
    ("已經補交了為什麼還是６項", ["几分钟内", "需修改 2 项"]),
    ("照片已经发了怎么还显示缺", ["几分钟内"]),
    ("补交了怎么还是不行", ["几分钟内"]),
    ("发过了", ["几分钟内"]),
]
ATTRIBUTE = [
    ("这张是夕阳红网校的照片", ["归入“夕阳红网校”", "夕阳红网校-照片1.jpg", "10 分钟内"]),
    ("這張是夕陽紅網校的照片", ["归入“夕阳红网校”"]),
    ("刚才的照片是莫婷婷的", ["归入“莫婷婷”", "莫婷婷-照片1.jpg"]),
    ("这些图片属于莫婷婷", ["归入“莫婷婷”"]),
    ("上面的视频是夕阳红网校的。", ["归入“夕阳红网校”"]),
    ("照片怎么归属", ["文件名", "「未归属」"]),
]
PAPER_ADDRESS = [
    ("纸质材料寄到哪", [ADDRESS, "吴晓辉", PHONE]),
    ("纸质材料寄到哪里？", [ADDRESS]),
    ("紙質材料寄到哪裡", [ADDRESS]),
    ("纸质版邮寄地址", [ADDRESS]),
    ("盖章材料寄给谁", [ADDRESS]),
    ("纸质材料往哪寄", [ADDRESS]),
    ("纸质材料怎么寄", [ADDRESS]),
]
UNATTRIBUTED = [
    ("未归属", [f"以下 {LOOSE_PHOTOS} 个文件未能归属", "1. IMG_0001.jpg"]),
    ("未歸屬", ["IMG_0001.jpg"]),
    ("哪些文件没归属？", ["IMG_0001.jpg"]),
]
HELP = [
    ("帮助", ["本对话中发送文件", MAILBOX, "缺什么"]),
    ("幫助", ["本对话中发送文件"]),
    ("菜单", ["本对话中发送文件"]),
    ("你好", ["本对话中发送文件"]),
    ("？", ["本对话中发送文件"]),
]
OTHERS = [
    ("状态", Intent.STATUS, ["百姓学习之星 8 名（要求 8-10）"]),
    ("進度", Intent.STATUS, ["百姓学习之星 8 名"]),
    ("全省情况怎么样", Intent.STATUS, ["延边朝鲜族自治州教育局"]),  # a contact's "情况" is their own
    ("清单", Intent.CHECKLIST, ["报送材料清单"]),
    ("報送要求", Intent.CHECKLIST, ["报送材料清单"]),
    ("截止時間", Intent.DEADLINE, ["报送截止时间"]),
    ("纸质材料收到了吗", Intent.PAPER_STATUS, ["延边朝鲜族自治州教育局 的纸质材料：尚未登记收到"]),
    ("纸质材料已寄到", Intent.PAPER_STATUS, ["延边朝鲜族自治州教育局 的纸质材料：尚未登记收到"]),
    ("汇总", Intent.SUMMARY, ["仅供省级办公室", "本对话中发送文件"]),  # an office command in its exact form
]
UNKNOWN = [
    ("今天天气不错", ["没有听懂", "“状态”", PHONE]),
    ("状太", ["“状态”", PHONE]),
    ("清丹", ["“清单”", PHONE]),
    ("帮主", ["“帮助”", PHONE]),
    ("人攻", ["“人工”", PHONE]),
    ("asdf", ["没有听懂", PHONE]),
]

TABLE = [
    *[(text, Intent.NOMINEE, expected) for text, expected in NOMINEE],
    *[(text, Intent.MISSING, expected) for text, expected in MISSING],
    *[(text, Intent.HOW_TO_SEND, expected) for text, expected in HOW_TO_SEND],
    *[(text, Intent.CONTACT, expected) for text, expected in CONTACT_OFFICE],
    *[(text, Intent.RESUBMITTED, expected) for text, expected in RESUBMITTED],
    *[(text, Intent.ATTRIBUTE, expected) for text, expected in ATTRIBUTE],
    *[(text, Intent.PAPER_ADDRESS, expected) for text, expected in PAPER_ADDRESS],
    *[(text, Intent.UNATTRIBUTED, expected) for text, expected in UNATTRIBUTED],
    *[(text, Intent.HELP, expected) for text, expected in HELP],
    *OTHERS,
    *[(text, Intent.UNKNOWN, expected) for text, expected in UNKNOWN],
]


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory, campaign: Campaign) -> Iterator[Answerer]:
    with Store.open(tmp_path_factory.mktemp("phrasings")) as store:
        store_everyday_unit(store, campaign)
        yield Answerer(store, campaign, clock=Clock(dt.datetime(2021, 8, 21, 9, 0, tzinfo=CST)))


def test_the_table_is_long_enough() -> None:
    assert len(TABLE) >= 60
    assert len({text for text, _, _ in TABLE}) == len(TABLE)  # no phrasing counted twice


@pytest.mark.parametrize(("text", "intent", "expected"), TABLE, ids=[t for t, _, _ in TABLE])
def test_phrasing(answerer: Answerer, text: str, intent: Intent, expected: list[str]) -> None:
    assert answerer.resolve(CONTACT, parse(text)).intent == intent
    answer = answerer.answer(CONTACT, parse(text))
    for part in expected:
        assert part in answer, f"{text!r}: {part!r} not in\n{answer}"
    assert len(answer.splitlines()) <= SCREEN_LINES and len(answer) <= SCREEN_CHARS, answer
    if intent != Intent.UNKNOWN:
        assert "没有听懂" not in answer


def test_an_office_command_word_in_a_contacts_question_is_not_the_office_command(answerer: Answerer) -> None:
    """The office's paper command caught "纸质材料寄到哪"; a contact's question is never refused
    as an office command unless it is one, in its exact form."""
    for text in ("纸质材料寄到哪", "纸质材料邮寄地址是什么", "全省情况怎么样"):
        assert "仅供省级办公室" not in answerer.answer(CONTACT, parse(text)), text
    assert answerer.resolve(OFFICE, parse("纸质 延边州 已收")).intent == Intent.PAPER
    assert answerer.resolve(CONTACT, parse("纸质 延边州 已收")).intent == Intent.PAPER  # exact: refused below
    assert "仅供省级办公室" in answerer.answer(CONTACT, parse("纸质 延边州 已收"))


def test_a_name_from_another_unit_is_not_answered(answerer: Answerer) -> None:
    answer = answerer.answer(CONTACT, parse("宋丽萍"))  # 长白山's nominee
    assert "宋丽萍" not in answer and "没有听懂" in answer and PHONE in answer


def test_missing_fits_a_phone_screen_and_the_rest_comes_on_more(answerer: Answerer) -> None:
    """17 loose photos and two nominees' problems: the first screen gives the count and the first
    items, one line stands for the 15 other loose photos, "更多" gives the rest, "未归属" lists them all."""
    first = answerer.answer(CONTACT, parse("缺什么"))
    lines = first.splitlines()
    assert len(lines) <= SCREEN_LINES and len(first) <= SCREEN_CHARS, first
    assert lines[0].startswith("延边朝鲜族自治州教育局：需修改 2 项，需核实 17 项")
    assert STAR_PROBLEM in first and PROJECT_PROBLEM in first
    assert "回复「更多」" in first
    screens = [first]
    while "回复「更多」" in screens[-1]:
        screens.append(answerer.answer(CONTACT, parse("更多")))
        assert len(screens) < 10
    for screen in screens:
        assert len(screen.splitlines()) <= SCREEN_LINES and len(screen) <= SCREEN_CHARS, screen
    whole = "\n".join(screens)
    assert f"另有 {LOOSE_PHOTOS - 2} 个文件未能归属，回复「未归属」查看" in whole
    assert whole.count("无法归属到任何推荐对象") == 2  # folded by the finding's code, not listed 17 times
    assert "已全部显示" in screens[-1]
    assert "没有更多内容" in answerer.answer(CONTACT, parse("更多"))

    listed = [answerer.answer(CONTACT, parse("未归属"))]
    while "回复「更多」" in listed[-1]:
        listed.append(answerer.answer(CONTACT, parse("下一页")))
    files = "\n".join(listed)
    for n in range(1, LOOSE_PHOTOS + 1):
        assert f"{n}. IMG_{n:04d}.jpg" in files
    assert "文件名" in files  # how to fix it


def test_the_office_sees_every_finding_unfolded(answerer: Answerer) -> None:
    answer = answerer.answer(OFFICE, parse("单位 延边州"))
    assert answer.count("无法归属到任何推荐对象") == LOOSE_PHOTOS
    assert "回复「未归属」" not in answer
