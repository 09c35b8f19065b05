"""Withdrawing in WeCom: "撤回 宋丽萍" asks to confirm, "确认撤回" from the same contact does it.

A real `nomdesk` service with the two sample packages processed answers encrypted callbacks
from the local WeCom simulator, as in test_bot_e2e.py; the withdrawal goes through the desk's
one method (`Desk.withdraw`) and the pipeline thread applies it.
"""

from __future__ import annotations

import itertools
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from bot.commands import Intent, parse
from bot.withdraw_dialog import WITHDRAW_KEY
from intake.models import Dossier
from nomdesk.service import Service
from tests.conftest import SHARED
from tests.support.service import serving_wecom, wait_until
from tests.support.wecom_sim.serve import BackgroundServer
from tests.support.wecom_sim.server import WeComSimulator

CONTACT = "dinglijun"  # 长白山管委会教育科技局's contact in the shipped campaign
OTHER_CONTACT = "wufengxia"  # 延边朝鲜族自治州教育局's contact
OFFICE = "wuxiaohui"
UNIT = "长白山管委会教育科技局"
STAR = "宋丽萍"
SAMPLES = SHARED / "samples"
_msg_ids = itertools.count(int(time.time()) * 1000 + 500_000)


class Bot:
    def __init__(self, sim: WeComSimulator, service: Service, server: BackgroundServer) -> None:
        self.sim, self.service = sim, service
        self.url = server.url + "/wecom/callback"

    def ask(self, user: str, text: str) -> str:
        response = self.sim.send_callback(self.url, self.sim.text_message(user, text, next(_msg_ids)))
        assert response.status_code == 200, response.text
        if not response.text:
            return ""
        return ET.fromstring(self.sim.decrypt_passive_reply(response.text)).findtext("Content") or ""

    def dossier(self) -> Dossier:
        return Dossier.model_validate(self.service.store.evaluations.latest_dossier(UNIT).dossier)

    def withdrawals(self) -> list[tuple[str, str]]:
        return [(a.actor, a.detail["name"]) for a in self.service.store.audit.entries(action="nominee.withdrawn")]


@pytest.mark.parametrize(
    ("text", "intent", "argument"),
    [
        ("撤回 张三", Intent.WITHDRAW, "张三"),
        ("撤回：张三", Intent.WITHDRAW, "张三"),
        ("我单位申请撤回张三的推荐", Intent.WITHDRAW, "张三"),
        ("撤回张三、李四", Intent.WITHDRAW, "张三、李四"),
        ("怎么撤回？", Intent.WITHDRAW, ""),  # asks how: answered with how, nothing withdrawn
        ("确认撤回", Intent.WITHDRAW_CONFIRM, ""),
        ("确认撤回。", Intent.WITHDRAW_CONFIRM, ""),
        ("状态", Intent.STATUS, ""),
    ],
)
def test_what_a_withdrawal_message_is_read_as(text: str, intent: Intent, argument: str) -> None:
    command = parse(text)
    assert (command.intent, command.argument) == (intent, argument)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    data = tmp_path_factory.mktemp("bot-withdraw")
    mails = [SAMPLES / case / "1.eml" for case in ("changbaishan_missing", "yanbian_complete")]
    with WeComSimulator() as sim, serving_wecom(sim, data, mails) as (service, server):
        yield Bot(sim, service, server)


def test_withdrawing_needs_a_confirmation_from_the_same_contact(bot: Bot) -> None:
    question = bot.ask(CONTACT, f"撤回 {STAR}")
    assert question.startswith(f"确认撤回 百姓学习之星 {STAR}？回复“确认撤回”即可，10 分钟内有效")
    assert bot.withdrawals() == []  # asking does nothing yet
    assert "没有待确认的撤回" in bot.ask(OTHER_CONTACT, "确认撤回")  # another contact cannot confirm it
    assert bot.withdrawals() == []

    done = bot.ask(CONTACT, "确认撤回")
    assert done.startswith(f"已撤回 百姓学习之星 {STAR}。已收到的材料仍保存在系统中")
    assert "如需恢复，请联系" in done and "0431-82857798" in done
    assert bot.withdrawals() == [(f"wecom:{CONTACT}", STAR)]

    def applied() -> Dossier | None:
        dossier = bot.dossier()
        return dossier if dossier.withdrawn else None

    dossier = wait_until(applied, 30, what="the pipeline to apply the withdrawal")
    assert STAR not in {s.name for s in dossier.stars}
    assert [(w.name, w.kind, w.by) for w in dossier.withdrawn] == [(STAR, "star", f"wecom:{CONTACT}")]

    assert "没有待确认的撤回" in bot.ask(CONTACT, "确认撤回")  # one confirmation, one withdrawal
    assert "已撤回，无需重复操作" in bot.ask(CONTACT, f"撤回 {STAR}")
    assert len(bot.withdrawals()) == 1


def test_a_confirmation_after_the_window_does_nothing(bot: Bot) -> None:
    question = bot.ask(CONTACT, "撤回 舒玉兰")
    assert question.startswith("确认撤回 百姓学习之星 舒玉兰？")
    store = bot.service.store
    key = WITHDRAW_KEY.format(CONTACT)
    store.state.kv_set(key, store.state.kv_get(key) or "", bot.service.desk.clock())  # the 10 minutes have passed
    assert "没有待确认的撤回（或已超过 10 分钟）" in bot.ask(CONTACT, "确认撤回")
    assert ("wecom:" + CONTACT, "舒玉兰") not in bot.withdrawals()


def test_a_contact_can_name_only_their_own_units_nominees(bot: Bot) -> None:
    answer = bot.ask(CONTACT, "撤回 金哲洙")  # 延边州's star
    assert "长白山管委会教育科技局 的推荐对象中没有“金哲洙”" in answer
    assert "乔长林" in answer  # what they can name: their own nominees
    for other in ("朴英子", "崔明浩", "海兰江畔", "延边"):
        assert other not in answer
    assert "没有待确认的撤回" in bot.ask(CONTACT, "确认撤回")


def test_how_to_withdraw_and_one_name_at_a_time(bot: Bot) -> None:
    how = bot.ask(CONTACT, "怎么撤回")
    assert "请发送“撤回 姓名”" in how and "系统会请您确认" in how
    assert "每次只能撤回一个推荐对象" in bot.ask(CONTACT, "撤回 乔长林、邵长林")
    assert "撤回 姓名" in bot.ask(CONTACT, "帮助")


def test_a_project_is_named_by_its_distinctive_part(bot: Bot) -> None:
    question = bot.ask(CONTACT, "撤回 银龄健康")
    assert question.startswith("确认撤回 终身学习品牌项目 “银龄健康”讲堂？")
    bot.service.store.state.kv_delete(WITHDRAW_KEY.format(CONTACT))  # not confirmed


def test_the_office_and_strangers_do_not_withdraw_in_wecom(bot: Bot) -> None:
    assert "nomdesk withdraw" in bot.ask(OFFICE, f"撤回 {STAR}")
    stranger = bot.ask("stranger", "撤回 乔长林")
    assert "尚未登记" in stranger and "乔长林" not in stranger
    assert all(actor == f"wecom:{CONTACT}" for actor, _ in bot.withdrawals())
