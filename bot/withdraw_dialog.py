"""Withdrawing a nominee in WeCom: asked ("撤回 张三"), confirmed ("确认撤回"), done by the desk.

A conversation of two messages, kept between them in the store (a key-value per WeCom user that
lapses after WITHDRAW_WINDOW), so any desk process may take the confirmation. The desk's
withdrawal itself (nomdesk.desk.Desk.withdraw) is handed in: the bot is below the desk's floor.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from bot.commands import CONFIRM_WITHDRAW, NAME_SEPARATOR, Command, Intent
from config.campaign import Campaign
from intake.models import NOMINEE_KIND_ZH, Dossier
from intake.withdrawal import find_nominee, find_withdrawn, joined_names, roster_zh
from storage.repo import Store

WITHDRAW_WINDOW = dt.timedelta(minutes=10)  # how long "确认撤回" may follow "撤回 张三"
WITHDRAW_KEY = "wecom:withdraw:{}"  # kv, per WeCom user: the withdrawal waiting for "确认撤回"
# (unit, name as the dossier spells it, actor) -> the nominee's label ("百姓学习之星 张三"); a ValueError
# in Chinese when the desk refuses.
WithdrawHandler = Callable[[str, str, str], str]
EXAMPLE_NAME = "张三"  # a placeholder when the unit has no nominee yet (never another unit's nominee)


class WithdrawDialog:
    def __init__(
        self,
        store: Store,
        campaign: Campaign,
        *,
        clock: Callable[[], dt.datetime],
        on_withdraw: WithdrawHandler | None,
    ) -> None:
        self.store = store
        self.campaign = campaign
        self.clock = clock
        self.on_withdraw = on_withdraw

    def reply(self, user_id: str, unit: str | None, command: Command, dossier: Dossier | None) -> str:
        """ "撤回 张三" names the nominee found and asks to confirm; "确认撤回" from the same user within
        WITHDRAW_WINDOW has the desk withdraw it. A contact acts on their own unit only, and a name
        not found there is answered with the unit's own nominees, never anyone else's."""
        if unit is None:  # an office member: the office withdraws where it sees the whole dossier
            return "办公室请在工作台的单位页面，或用 `nomdesk withdraw 单位 姓名` 撤回推荐对象。"
        if self.on_withdraw is None:
            return "暂不能通过企业微信撤回，请发邮件，在主题写明“撤回 姓名”（项目写项目名称）。"
        if command.intent == Intent.WITHDRAW_CONFIRM:
            return self._confirm(user_id, unit)
        return self._ask(user_id, unit, dossier, [n for n in command.argument.split(NAME_SEPARATOR) if n])

    def _ask(self, user_id: str, unit: str, dossier: Dossier | None, names: list[str]) -> str:
        if dossier is None:
            return f"{unit}：尚未收到推荐材料，没有可撤回的推荐对象。"
        example = next((e.name for e in (*dossier.stars, *dossier.projects)), EXAMPLE_NAME)
        if not names:
            return (
                f"如需撤回推荐对象，请发送“撤回 姓名”（项目写项目名称），如“撤回 {example}”；"
                "系统会请您确认后再撤回。已收到的材料仍会保存。"
            )
        names = joined_names(names, lambda n: bool(find_nominee(dossier, n) or find_withdrawn(dossier, n)))
        if len(names) > 1:
            return f"每次只能撤回一个推荐对象，请逐个发送，如“撤回 {names[0]}”。"
        found = find_nominee(dossier, names[0])
        if found is None:
            gone = find_withdrawn(dossier, names[0])
            if gone is not None:
                return f"{NOMINEE_KIND_ZH[gone.kind]} {gone.name} 已撤回，无需重复操作。"
            return f"{unit} 的推荐对象中没有“{names[0]}”。现有推荐对象：{roster_zh(dossier)}"
        kind, name = found
        pending = json.dumps({"unit": unit, "name": name, "kind": kind}, ensure_ascii=False)
        self.store.state.kv_set(WITHDRAW_KEY.format(user_id), pending, self.clock() + WITHDRAW_WINDOW)
        minutes = int(WITHDRAW_WINDOW.total_seconds() // 60)
        return (
            f"确认撤回 {NOMINEE_KIND_ZH[kind]} {name}？回复“{CONFIRM_WITHDRAW}”即可，{minutes} 分钟内有效。\n"
            "撤回后不再计入推荐名单，已收到的材料仍保存；不回复则不撤回。"
        )

    def _confirm(self, user_id: str, unit: str) -> str:
        key = WITHDRAW_KEY.format(user_id)
        raw = self.store.state.kv_get(key, now=self.clock())
        if raw is None:
            minutes = int(WITHDRAW_WINDOW.total_seconds() // 60)
            return f"没有待确认的撤回（或已超过 {minutes} 分钟）。如需撤回，请先发送“撤回 姓名”。"
        self.store.state.kv_delete(key)  # one confirmation, one withdrawal
        pending = json.loads(raw)
        if pending.get("unit") != unit:  # the contact moved to another unit meanwhile
            return "您的单位已变更，原撤回请求作废。如需撤回，请重新发送“撤回 姓名”。"
        withdraw = self.on_withdraw
        if withdraw is None:
            return "暂不能通过企业微信撤回，请发邮件，在主题写明“撤回 姓名”（项目写项目名称）。"
        try:
            label = withdraw(unit, pending["name"], f"wecom:{user_id}")
        except ValueError as exc:
            return f"未能撤回：{exc}"
        office = self.campaign.office
        return (
            f"已撤回 {label}。已收到的材料仍保存在系统中，材料情况稍后更新。\n"
            f"如需恢复，请联系{office.name}（{office.contact}，电话 {office.phone}）。"
        )
