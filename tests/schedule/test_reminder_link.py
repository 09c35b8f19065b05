"""A reminder mail carries the unit's page link (issue 17): its first registered contact's, which
opens that unit's page; the WeCom text does not (each contact asks "我的材料" for her own); a desk
with no public address gives none."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from config.campaign import Campaign
from schedule.jobs import Jobs
from storage.repo import Store
from storage.unit_link_urls import LINK_LINE_ZH
from tests.support.campaign_script import scripted_campaign

PUBLIC = "https://nomdesk.jyt.jl.gov.cn"


def test_the_reminder_mail_carries_the_units_link(tmp_path: Path, campaign: Campaign) -> None:
    c = scripted_campaign(campaign, 1)
    unit = c.units[0].name
    when = dt.datetime(2021, 8, 23, 9, tzinfo=c.tz)
    with Store.open(tmp_path / "var") as store:
        store.directory.sync_units(c)
        queued = Jobs(store, c, public_url=PUBLIC).tick(when).queued
        mail = next(q for q in queued if q.channel == "mail" and q.unit == unit)
        chat = next(q for q in queued if q.channel == "wecom" and q.unit == unit)
        (line,) = [ln for ln in mail.text.splitlines() if ln.startswith(LINK_LINE_ZH)]
        token = line.removeprefix(LINK_LINE_ZH + PUBLIC + "/u/")
        claim = store.unit_links.verify(token, when)
        assert claim.unit == unit and claim.contact_id == store.contacts.list(unit)[0].id
        assert "/u/" not in chat.text and "发送“我的材料”可获取您本人的材料页面链接" in chat.text
    with Store.open(tmp_path / "bare") as store:
        store.directory.sync_units(c)
        queued = Jobs(store, c).tick(when).queued
        assert all("/u/" not in q.text and "我的材料" not in q.text for q in queued)
