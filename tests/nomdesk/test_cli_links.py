"""`nomdesk links` as the office runs it (issue 17): show each contact's page link of a unit, revoke
one (the link store refuses it from then on), reissue one (the old refused, the new printed and
valid); refusals in Chinese with exit 2 (no public address, the office's own member, no such contact)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from config.campaign import Campaign
from storage.repo import Store
from storage.unit_links import LinkRefused, link_expiry

PUBLIC = "https://nomdesk.jyt.jl.gov.cn"
UNIT = "延边朝鲜族自治州教育局"
URL = re.compile(re.escape(PUBLIC) + r"/u/(\S+)")


def nomdesk(*args: str | Path, public_url: str | None = PUBLIC) -> Result:
    from nomdesk import cli

    env = {"NOMDESK_PUBLIC_URL": public_url or ""}
    return CliRunner().invoke(cli.app, [str(a) for a in args], env=env)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "var"


def _now(campaign: Campaign) -> dt.datetime:
    return link_expiry(campaign) - dt.timedelta(days=10)


def test_show_revoke_reissue(data: Path, campaign: Campaign) -> None:
    shown = nomdesk("links", "show", "延边州", "--data-dir", data)
    assert shown.exit_code == 0, shown.output
    ((contact_id, token),) = [
        (int(m.group(1)), m.group(2)) for m in re.finditer(r"编号 (\d+)\s+伍凤霞：" + URL.pattern, shown.stdout)
    ]
    with Store.open(data) as store:
        claim = store.unit_links.verify(token, _now(campaign))
        assert claim.unit == UNIT and claim.contact_id == contact_id
    again = nomdesk("links", "show", UNIT, "--data-dir", data)
    assert token in again.stdout  # the same link until the office changes it

    revoked = nomdesk("links", "revoke", str(contact_id), "--data-dir", data)
    assert revoked.exit_code == 0, revoked.output
    assert f"已作废 {UNIT} 联系人 伍凤霞（编号 {contact_id}）的材料页面链接" in revoked.stdout
    with Store.open(data) as store, pytest.raises(LinkRefused) as refused:
        store.unit_links.verify(token, _now(campaign))
    assert refused.value.reason == LinkRefused.REVOKED

    reissued = nomdesk("links", "reissue", str(contact_id), "--data-dir", data)
    assert reissued.exit_code == 0, reissued.output
    assert "原链接已作废" in reissued.stdout
    (new,) = URL.findall(reissued.stdout)
    assert new != token
    with Store.open(data) as store:
        assert store.unit_links.verify(new, _now(campaign)).contact_id == contact_id
        with pytest.raises(LinkRefused):
            store.unit_links.verify(token, _now(campaign))
        actions = [e.action for e in store.audit.entries(unit_name=UNIT) if e.action.startswith("unit_link.")]
        assert actions.count("unit_link.revoked") == 2 and "unit_link.reissued" in actions
        assert all(e.actor == "office:cli" for e in store.audit.entries(action="unit_link.reissued"))


def test_refusals_are_chinese_with_exit_2(data: Path, campaign: Campaign) -> None:
    (token,) = URL.findall(nomdesk("links", "show", "延边州", "--data-dir", data).stdout)
    with Store.open(data) as store:
        office = store.contacts.list(office=True)
        (wu,) = store.contacts.list(UNIT)
    bare = nomdesk("links", "show", "延边州", "--data-dir", data, public_url=None)
    assert bare.exit_code == 2 and "未设置 NOMDESK_PUBLIC_URL" in bare.stderr
    unreissued = nomdesk("links", "reissue", str(wu.id), "--data-dir", data, public_url=None)
    assert unreissued.exit_code == 2 and "未设置 NOMDESK_PUBLIC_URL" in unreissued.stderr
    with Store.open(data) as store:  # a link the desk could not replace was not revoked either
        assert store.unit_links.verify(token, _now(campaign)).contact_id == wu.id
    member = nomdesk("links", "revoke", str(office[0].id), "--data-dir", data)
    assert member.exit_code == 2 and "不是单位联系人" in member.stderr
    nobody = nomdesk("links", "revoke", "99999", "--data-dir", data)
    assert nobody.exit_code == 2 and "没有编号为 99999 的联系人" in nobody.stderr
