"""The bot knows a nominee however the contact writes her name (RULES.md "Matching files to nominees").

A contact types 阿依古丽・买买提 (or with a space, or another dot) for the 阿依古丽·买买提 of 附表2:
the bot names the registered person, as the intake does, and never a shorter name for a longer one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.answers import Answerer
from bot.commands import parse
from config import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from storage.repo import Store
from tests.support.clock import Clock
from tests.support.name_forms import ethnic_names_package, utf8_zip_eml
from tests.support.packages import YANBIAN

CONTACT = "wufengxia"  # 延边朝鲜族自治州教育局's contact in the shipped campaign
CST = dt.timezone(dt.timedelta(hours=8))


def test_the_bot_finds_a_nominee_written_with_another_dot(tmp_path: Path, campaign: Campaign) -> None:
    clock = Clock(dt.datetime(2021, 8, 21, 15, 0, tzinfo=CST))
    store = Store.open(tmp_path / "data")
    store.directory.sync_units(campaign)
    desk = Desk(Settings(data_dir=tmp_path / "data", wecom_answer_settle_seconds=0), campaign, store, clock=clock)
    spec = ethnic_names_package(campaign, ("\u30fb", "\u2022"))  # her folders and forms: ・ and •
    desk.ingest_file(utf8_zip_eml(spec, tmp_path / "mail" / "1.eml"), received_at=clock())
    desk.process_pending()
    answerer = Answerer(
        store, campaign, clock=clock, on_withdraw=lambda unit, name, actor: desk.withdraw(unit, name, actor=actor).label
    )

    assert answerer.nominee_named(YANBIAN, "阿依古丽･买买提") == "阿依古丽·买买提"
    assert answerer.nominee_named(YANBIAN, "迪丽娜尔　阿不都 的照片") == "迪丽娜尔·阿不都"
    assert answerer.nominee_named(YANBIAN, "阿依古丽") is None  # a part is not the name

    question = answerer.answer(CONTACT, parse("撤回 迪丽娜尔・阿不都"))
    assert question.startswith("确认撤回 百姓学习之星 迪丽娜尔·阿不都？"), question
    done = answerer.answer(CONTACT, parse("确认撤回"))
    assert done.startswith("已撤回 百姓学习之星 迪丽娜尔·阿不都。"), done
    # A space for the dot: one person, not 阿依古丽 and 买买提.
    question = answerer.answer(CONTACT, parse("撤回 阿依古丽 买买提"))
    assert question.startswith("确认撤回 百姓学习之星 阿依古丽·买买提？"), question
    store.close()
