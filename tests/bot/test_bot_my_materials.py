"""The bot's "我的材料" end to end (issue 17): a unit contact hears her unit's state in short and
her own page link, which opens her unit's page; the office's members and unknown WeCom users get
no link. A real service answers the WeCom simulator's encrypted callbacks on a loopback port."""

from __future__ import annotations

import itertools
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from nomdesk.service import Service
from storage.unit_link_urls import LINK_LINE_ZH
from tests.conftest import SHARED
from tests.support.service import serving_wecom
from tests.support.wecom_sim.serve import BackgroundServer
from tests.support.wecom_sim.server import WeComSimulator

CONTACT = "dinglijun"  # 长白山管委会教育科技局's contact in the shipped campaign
CHANGBAI = "长白山管委会教育科技局"
OTHER_CONTACT = "wufengxia"  # 延边朝鲜族自治州教育局's contact
OFFICE = "wuxiaohui"
PUBLIC = "https://nomdesk.jyt.jl.gov.cn"
CLOCK_START = "2021-08-22T10:00"  # the call running (real time is long past its links' expiry)
LINK = re.compile(re.escape(LINK_LINE_ZH) + r"(\S+)")
_msg_ids = itertools.count(int(time.time()) * 1000 + 7_000_000)


class Bot:
    def __init__(self, sim: WeComSimulator, service: Service, server: BackgroundServer) -> None:
        self.sim, self.service, self.url = sim, service, server.url + "/wecom/callback"

    def ask(self, user: str, text: str) -> str:
        # Sent when the desk's (rehearsal) clock says it is, as WeCom's timestamp would be.
        now = int(self.service.desk.clock().timestamp())
        response = self.sim.send_callback(self.url, self.sim.text_message(user, text, next(_msg_ids)), timestamp=now)
        assert response.status_code == 200, response.text
        return ET.fromstring(self.sim.decrypt_passive_reply(response.text)).findtext("Content") or ""


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    data = tmp_path_factory.mktemp("bot-links")
    mails = [SHARED / "samples" / "changbaishan_missing" / "1.eml"]
    with (
        WeComSimulator() as sim,
        serving_wecom(sim, data, mails, public_url=PUBLIC, clock_start=CLOCK_START) as (service, server),
    ):
        yield Bot(sim, service, server)


def _token(answer: str) -> str:
    (link,) = LINK.findall(answer)
    assert link.startswith(PUBLIC + "/u/")
    return link.removeprefix(PUBLIC + "/u/")


def test_a_contact_gets_her_units_state_and_her_own_link(bot: Bot) -> None:
    answer = bot.ask(CONTACT, "我的材料")
    assert CHANGBAI in answer and "百姓学习之星 7 名（要求 8-10）" in answer and "需修改 4 项" in answer
    assert "材料清单：" not in answer  # in short: the checklist is "状态"'s
    store = bot.service.store
    claim = store.unit_links.verify(_token(answer), bot.service.desk.clock())
    contact = store.contacts.owner_of_wecom_user(CONTACT)
    assert contact is not None and claim.contact_id == contact.id and claim.unit == CHANGBAI
    assert "请勿转发" in answer


def test_each_contact_gets_her_own_units_link(bot: Bot) -> None:
    ours, theirs = _token(bot.ask(CONTACT, "我的材料")), _token(bot.ask(OTHER_CONTACT, "本单位材料页面链接"))
    assert ours != theirs
    now = bot.service.desk.clock()
    assert bot.service.store.unit_links.verify(theirs, now).unit == "延边朝鲜族自治州教育局"


def test_the_office_and_strangers_get_no_link(bot: Bot) -> None:
    office = bot.ask(OFFICE, "我的材料")
    assert "/u/" not in office and "工作台" in office
    stranger = bot.ask("someone_else", "我的材料")
    assert "/u/" not in stranger and "尚未登记为推荐单位联系人" in stranger


def test_help_names_the_command(bot: Bot) -> None:
    assert "我的材料" in bot.ask(CONTACT, "帮助")
