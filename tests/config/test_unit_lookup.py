"""The unit a clerk means by what she typed: exact names, the name without its ending, a unique
beginning or part; several fit -> listed; none -> the nearest names suggested."""

from __future__ import annotations

import pytest

from config import Campaign
from config.unit_lookup import find_unit


@pytest.mark.parametrize(
    ("typed", "unit", "how"),
    [
        ("吉林市教育局", "吉林市教育局", "exact"),
        ("吉林", "吉林市教育局", "exact"),  # the short name receipts use, not 吉林大学
        ("  吉林 市 ", "吉林市教育局", "exact"),
        ("ＹＢ", None, "none"),
        ("延边州", "延边朝鲜族自治州教育局", "exact"),
        ("延边教育局", "延边朝鲜族自治州教育局", "stem"),  # a bureau's ending: not 延边职业技术学院
        ("吉林教育局", "吉林市教育局", "stem"),
        ("梅河口康美", "梅河口康美职业技术学院", "stem"),
        ("长春汽车工业", "长春汽车工业高等专科学校", "stem"),
        ("长白", "长白山管委会教育科技局", "prefix"),
        ("吉林职业", "吉林职业技术学院", "prefix"),
        ("四平市教育", "四平市教育局", "prefix"),
        ("理工", "长春理工大学", "part"),
    ],
)
def test_a_typed_name_finds_its_unit(campaign: Campaign, typed: str, unit: str | None, how: str) -> None:
    found = find_unit(campaign, typed)
    assert (found.unit.name if found.unit else None, found.how) == (unit, how)
    assert (found.problem == "") == (unit is not None)


def test_several_that_fit_are_listed_never_guessed_between(campaign: Campaign) -> None:
    found = find_unit(campaign, "师范")
    assert found.unit is None
    assert found.problem == (
        "“师范”可能是以下单位：东北师范大学、吉林师范大学、长春师范大学、吉林工程技术师范学院、通化师范学院、"
        "白城师范学院，请写得更完整些（如单位全称）"
    )


def test_none_that_fits_suggests_the_nearest(campaign: Campaign) -> None:
    assert find_unit(campaign, "白上").problem == (
        "找不到单位：白上。您是不是要找：白山市教育局、白城市教育局、长白山管委会教育科技局？请填写单位全称或简称"
    )
    assert find_unit(campaign, "白").unit is None  # one character is too little to pick by part of a name
    assert find_unit(campaign, "北京").problem == "找不到单位：北京（不在本次活动的单位名单中），请填写单位全称或简称"


def test_a_text_containing_a_unit_is_asked_about_not_taken(campaign: Campaign) -> None:
    found = find_unit(campaign, "长春市第一中学")
    assert found.unit is None
    assert found.problem == "单位“长春市第一中学”不明确，是否指“长春市教育局”？请填写单位全称"
