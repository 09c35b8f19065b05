"""Unit-level rules (validators/rules/unit.py): every bound from both sides, numbers from the campaign.

(Named test_unit_rules.py, not test_unit.py: tests/intake/test_unit.py exists and test
folders have no __init__.py, so two test_unit.py would clash when the whole suite is collected.)
"""

from __future__ import annotations

import datetime as dt

import pytest

from config import Campaign
from intake.models import YearMonth
from tests.support.dossiers import (
    PROJECT_NAMES,
    STAR_NAMES,
    city_dossier,
    rename_project,
    rename_star,
    set_project_fields,
    set_star_fields,
    unregister_project,
    unregister_star,
)
from tests.validators.rule_bounds import fires_once, message, silent

# Quotas: error above, warning below ----------------------------------------------------

QUOTAS = [("STAR_QUOTA", "stars", "stars", STAR_NAMES), ("PROJECT_QUOTA", "projects", "projects", PROJECT_NAMES)]


def _sized(campaign: Campaign, kind: str, count: int, names: tuple[str, ...]):
    if count > len(names):
        pytest.fail(f"the campaign's quota needs {count} {kind}: add names to tests/support/dossiers.py")
    return city_dossier(campaign, **{kind: count})


@pytest.mark.parametrize(("code", "quota", "kind", "names"), QUOTAS)
@pytest.mark.parametrize("bound", ["min", "max"])
def test_quota_at_its_bound_is_silent(campaign: Campaign, code, quota, kind, names, bound: str) -> None:
    count = getattr(getattr(campaign.quotas, quota), bound)
    silent(_sized(campaign, kind, count, names), campaign, code)


@pytest.mark.parametrize(("code", "quota", "kind", "names"), QUOTAS)
@pytest.mark.parametrize(
    ("bound", "step", "severity", "direction"), [("min", -1, "warning", "少于下限"), ("max", +1, "error", "超出上限")]
)
def test_quota_one_past_its_bound_fires(
    campaign: Campaign, code, quota, kind, names, bound: str, step: int, severity: str, direction: str
) -> None:
    q = getattr(campaign.quotas, quota)
    count = getattr(q, bound) + step
    f = fires_once(_sized(campaign, kind, count, names), campaign, code)
    assert f.severity == severity
    assert (f.params["count"], f.params["min"], f.params["max"]) == (count, q.min, q.max)
    assert f.params["direction"] == direction
    assert f"{count} " in message(f) and f"{q.min}-{q.max}" in message(f)
    assert len(f.evidence["names"]) == count


def test_quota_counts_the_registered_only(campaign: Campaign) -> None:
    """With a table, the table says who is nominated: an unregistered folder does not push it over."""
    q = campaign.quotas.stars
    d = city_dossier(campaign, stars=q.max + 1)
    unregister_star(d, q.max)
    silent(d, campaign, "STAR_QUOTA")
    q = campaign.quotas.projects
    d = city_dossier(campaign, projects=q.max + 1)
    unregister_project(d, q.max)
    silent(d, campaign, "PROJECT_QUOTA")


# Deadline: the end of the deadline day, local time -------------------------------------


def _arrived(campaign: Campaign, moment: dt.datetime):
    d = city_dossier(campaign)
    d.submissions[0].arrived_at = moment
    return d


def test_late_last_second_of_the_day_is_silent(campaign: Campaign) -> None:
    silent(_arrived(campaign, campaign.deadline_end - dt.timedelta(seconds=1)), campaign, "LATE")
    naive = dt.datetime.combine(campaign.deadline, dt.time(23, 59, 59))  # naive: already local
    silent(_arrived(campaign, naive), campaign, "LATE")


@pytest.mark.parametrize("utc", [False, True])
def test_late_first_instant_of_the_next_day_fires(campaign: Campaign, utc: bool) -> None:
    moment = campaign.deadline_end
    f = fires_once(_arrived(campaign, moment.astimezone(dt.UTC) if utc else moment), campaign, "LATE")
    assert f.severity == "warning"
    local = moment.astimezone(campaign.tz)
    assert f.params["arrived"] == f"{local.year}年{local.month}月{local.day}日 00:00"
    assert f.evidence["arrived_at"] == local.isoformat()
    d = campaign.deadline
    assert f.params["deadline"] == f"{d.year}年{d.month}月{d.day}日 24:00"


# Sender, paper -------------------------------------------------------------------------


@pytest.mark.parametrize(("registered", "fires"), [(False, True), (True, False), (None, False)])
def test_unit_unknown(campaign: Campaign, registered: bool | None, fires: bool) -> None:
    d = city_dossier(campaign)
    d.sender_registered = registered
    if fires:
        f = fires_once(d, campaign, "UNIT_UNKNOWN")
        assert f.params["sender"] == d.submissions[0].sender
    else:
        silent(d, campaign, "UNIT_UNKNOWN")


@pytest.mark.parametrize(("received", "fires"), [(False, True), (True, False), (None, False)])
def test_paper_pending(campaign: Campaign, received: bool | None, fires: bool) -> None:
    d = city_dossier(campaign)
    d.paper_received = received
    if fires:
        f = fires_once(d, campaign, "PAPER_PENDING")
        assert f.severity == "info" and f.params["address"] == campaign.office.address
    else:
        silent(d, campaign, "PAPER_PENDING")


# Coverage: all of one kind, from two nominees on ---------------------------------------


# (code, dossier list, field setter, field = finding param, the campaign's choices)
COVERAGE = [
    ("STAR_TYPE_COVERAGE", "stars", set_star_fields, "group", lambda c: c.star.groups),
    ("PROJECT_TYPE_COVERAGE", "projects", set_project_fields, "category", lambda c: c.project.categories),
]


@pytest.mark.parametrize(("code", "kind", "set_fields", "field", "choices"), COVERAGE)
@pytest.mark.parametrize("other_at", [0, -1])
def test_type_coverage(campaign: Campaign, code, kind, set_fields, field, choices, other_at: int) -> None:
    first, second = choices(campaign)[:2]
    d = city_dossier(campaign)
    silent(d, campaign, code)
    count = len(getattr(d, kind))
    for i in range(count):
        set_fields(d, i, **{field: first})
    f = fires_once(d, campaign, code)
    assert (f.params["count"], f.params[field]) == (count, first)
    set_fields(d, other_at % count, **{field: second})  # one other, first or last, is enough
    silent(d, campaign, code)


@pytest.mark.parametrize(("code", "kind", "set_fields", "field", "choices"), COVERAGE)
def test_type_coverage_needs_two(campaign: Campaign, code, kind, set_fields, field, choices) -> None:
    first = choices(campaign)[0]
    for count, fires in ((1, False), (2, True)):
        d = city_dossier(campaign, **{kind: count})
        for i in range(count):
            set_fields(d, i, **{field: first})
        if fires:
            assert fires_once(d, campaign, code).params["count"] == count
        else:
            silent(d, campaign, code)


# Registration tables -------------------------------------------------------------------


@pytest.mark.parametrize(("attr", "table"), [("star_register", "附表2"), ("project_register", "附表4")])
def test_register_missing(campaign: Campaign, attr: str, table: str) -> None:
    d = city_dossier(campaign)
    silent(d, campaign, "REGISTER_MISSING")
    setattr(d, attr, None)
    f = fires_once(d, campaign, "REGISTER_MISSING")
    assert f.params["table"].startswith(table)


def test_register_missing_only_for_the_kind_sent(campaign: Campaign) -> None:
    d = city_dossier(campaign, projects=0)
    d.project_register = None
    silent(d, campaign, "REGISTER_MISSING")  # stars only: no 附表4 asked for


def test_register_mismatch(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    silent(d, campaign, "REGISTER_MISMATCH")
    star = unregister_star(d, 2)
    f = fires_once(d, campaign, "REGISTER_MISMATCH")
    assert (f.nominee, f.params["where"], f.params["table"]) == (star.name, star.form.path, "附表2")
    d = city_dossier(campaign)
    project = unregister_project(d, 1)
    f = fires_once(d, campaign, "REGISTER_MISMATCH")
    assert (f.nominee, f.params["table"]) == (project.name, "附表4")


def test_register_omits(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    silent(d, campaign, "REGISTER_OMITS")
    later = "补充/附表2 百姓学习之星推荐登记表.xlsx"
    d.stars[0].omitted_by = later
    d.stars[3].omitted_by = later
    f = fires_once(d, campaign, "REGISTER_OMITS")
    assert (f.params["count"], f.params["path"]) == (2, later)
    assert f.evidence["names"] == [d.stars[0].name, d.stars[3].name]


# Duplicates: ID number, else name + birth month + phone -------------------------------


def test_duplicate_by_id_number(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    silent(d, campaign, "DUPLICATE_NOMINEE")
    d.stars[1].form.fields.id_number = d.stars[0].form.fields.id_number.lower()  # case is no difference
    f = fires_once(d, campaign, "DUPLICATE_NOMINEE")
    assert f.evidence["names"] == [d.stars[0].name, d.stars[1].name]
    assert "身份证号相同" in message(f)


def _namesakes(campaign: Campaign, *, birth_months_apart: int = 0, other_phone: bool = False):
    """Stars 0 and 1 with the same name and no ID numbers."""
    d = city_dossier(campaign)
    name = d.stars[0].name
    rename_star(d, 1, name + "X")  # keep entries apart: only the table rows share the name
    first, second = d.stars[0], d.stars[1]
    for star in (first, second):
        star.form.fields.id_number = None
    birth = first.row.birth_parsed
    month = (birth.month - 1 + birth_months_apart) % 12 + 1
    second.row.name = name
    second.row.birth_parsed = YearMonth(year=birth.year, month=month)
    second.row.phone = first.row.phone + ("9" if other_phone else "")
    second.form.fields.birth_parsed = second.row.birth_parsed
    second.form.fields.phone = second.row.phone
    return d


def test_duplicate_by_name_birth_month_and_phone(campaign: Campaign) -> None:
    d = _namesakes(campaign)
    f = fires_once(d, campaign, "DUPLICATE_NOMINEE")
    assert "姓名等信息相同" in message(f)


@pytest.mark.parametrize("differs", ["birth", "phone"])
def test_namesakes_told_apart_by_birth_month_or_phone(campaign: Campaign, differs: str) -> None:
    d = _namesakes(campaign, birth_months_apart=1 if differs == "birth" else 0, other_phone=differs == "phone")
    silent(d, campaign, "DUPLICATE_NOMINEE")


def test_duplicate_project(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    rename_project(d, 1, d.projects[0].name.replace("“", '"').replace("”", '"'))  # same name, other quotes
    f = fires_once(d, campaign, "DUPLICATE_NOMINEE")
    assert f.evidence["names"] == [d.projects[0].name, d.projects[1].name]


def test_duplicate_across_units(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.other_unit_nominees = {d.stars[0].name: []}
    silent(d, campaign, "DUPLICATE_NOMINEE")
    d.other_unit_nominees = {d.stars[0].name: ["吉林大学"]}
    f = fires_once(d, campaign, "DUPLICATE_NOMINEE")
    assert f.evidence["other_units"] == ["吉林大学"]
    assert "吉林大学" not in message(f)  # which other unit is the office's to know
