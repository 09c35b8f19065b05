"""The digest workbook `nomdesk digest` writes, when the office's contacts carry names pasted from
units' mails that start like formulas (OWASP's list: = + - @ tab CR LF), or hold a control
character XML cannot carry: shown, never run, and never a failed digest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from config.campaign import Campaign
from storage.repo import Store
from tests.support.campaign_script import Script
from tests.support.hostile_cells import BELL, BELL_SHOWN, HOSTILE, OWASP_STARTS, column_values, formula_problems
from tests.support.service import nomdesk

NOW = dt.datetime(2021, 8, 28, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_the_digest_file_shows_every_contact_name_as_written(tmp_path: Path, campaign: Campaign) -> None:
    data = tmp_path / "var"
    typed = [*HOSTILE, BELL]  # and a name pasted with a control character in it
    units = [u.name for u in campaign.units if not u.contacts][: len(typed)]
    assert len(units) == len(typed)
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        Script(campaign).submit(store, campaign.units[0].name, NOW - dt.timedelta(days=2), exemplars=True)
        for n, (unit, name) in enumerate(zip(units, typed, strict=True)):
            store.contacts.add(unit, name, emails=[f"contact{n}@example.cn"], actor="office")
        # The store trims a name's surrounding whitespace: "\t=1+1" is kept as "=1+1", still a formula's start.
        names = [store.contacts.list(unit)[0].name for unit in units]
    assert all(name.startswith(OWASP_STARTS) for name in names[:-1]) and names[-1] == BELL
    out = tmp_path / "汇总.xlsx"
    done = nomdesk("digest", "--data-dir", data, "--out", out)
    assert done.returncode == 0, done.stderr
    digest = out.read_bytes()
    assert formula_problems(digest, [*names[:-1], BELL_SHOWN]) == []
    units_column, contacts_column = (column_values(digest, "单位汇总", h) for h in ("推荐单位", "联系人"))
    contacts = dict(zip(units_column, contacts_column, strict=True))
    assert [contacts[u] for u in units] == [*names[:-1], BELL_SHOWN]
    for header in ("序号", "报送次数", "待确认", "百姓学习之星", "品牌项目", "需修改", "需核实"):
        assert all(type(n) is int for n in column_values(digest, "单位汇总", header)), header  # counts stay numbers
