"""What an unregistered sender says of herself, read from her own words and never from what she quotes."""

from __future__ import annotations

import pytest

from config.campaign import Campaign
from intake.models import Submission
from intake.sender_claim import SenderClaim, read_claim

MEIHEKOU = "梅河口市教育局"
ASKED = "请在回复中注明：推荐单位全称、联系人姓名和联系电话。"
# The desk's letter and the notice it answers, as a reply quotes them: every unit is named there.
NOTICE = (
    "各市（州）教育局，长白山管委会教育科技局，梅河口市教育局，各高等院校、相关单位：\n"
    "为深入贯彻落实……请于8月30日前报送。联系人：吴晓辉，电话：0431-82857798\n"
)
QQ_QUOTE = (
    "\n\n------------------&nbsp;原始邮件&nbsp;------------------\n"
    '发件人: "吉林全民学习"<jlqmxx@126.com>;\n发送时间: 2021年8月21日(星期六) 下午2:20\n'
    f"主题: 【材料受理回执】请确认推荐单位\n\n您好！\n已收到您的邮件……\n{ASKED}\n{NOTICE}"
)
NETEASE_QUOTE = f'\n\n在 2021-08-21 14:20:00，"吉林全民学习" <jlqmxx@126.com> 写道：\n您好！\n{ASKED}\n{NOTICE}'


def claim_of(campaign: Campaign, body: str, subject: str = "回复：【材料受理回执】请确认推荐单位") -> SenderClaim:
    sub = Submission(index=0, source="raw:1", sender="wangli@example.cn", subject=subject, body_text=body)
    return read_claim(sub, campaign)


def test_the_answer_the_letter_asks_for_is_read_from_a_qq_reply(campaign: Campaign) -> None:
    claim = claim_of(campaign, f"单位：{MEIHEKOU} 联系人：王丽 电话：13912345678{QQ_QUOTE}")
    assert claim == SenderClaim(unit=MEIHEKOU, certain=True, name="王丽", phone="13912345678")
    assert claim.usable


def test_a_163_reply_line_by_line_with_a_landline_and_a_short_name(campaign: Campaign) -> None:
    body = f"推荐单位全称：梅河口\n联系人姓名：王丽\n联系电话：0435－4212345\n{NETEASE_QUOTE}"  # full-width hyphen
    assert claim_of(campaign, body) == SenderClaim(unit=MEIHEKOU, certain=True, name="王丽", phone="0435-4212345")


def test_the_subject_alone_can_say_it(campaign: Campaign) -> None:
    claim = claim_of(campaign, f"{QQ_QUOTE}", subject=f"Re: {MEIHEKOU} 王丽")
    assert (claim.unit, claim.certain, claim.name, claim.phone) == (MEIHEKOU, True, "王丽", None)


def test_a_signature_gives_the_name_above_the_phone_not_the_greeting(campaign: Campaign) -> None:
    body = (
        "吴老师：\n　　您好！\n　　现将延边朝鲜族自治州教育局2021年推荐材料报送给您，请查收。\n\n"
        "延边朝鲜族自治州教育局　伍凤霞\n电话：0433-2513420\n"
    )
    claim = claim_of(campaign, body, subject="延边州教育局报送推荐材料")
    assert claim == SenderClaim(unit="延边朝鲜族自治州教育局", certain=True, name="伍凤霞", phone="0433-2513420")


def test_a_name_beside_a_mobile_and_a_longer_unit_wins_over_its_short_name(campaign: Campaign) -> None:
    claim = claim_of(campaign, f"我们是梅河口康美职业技术学院\n王丽 139 1234 5678{NETEASE_QUOTE}")
    assert (claim.unit, claim.certain, claim.name, claim.phone) == (
        "梅河口康美职业技术学院",
        True,
        "王丽",
        "139 1234 5678",
    )
    assert claim_of(campaign, "延边大学继续教育学院 李明 13812345678").unit == "延边大学"


def test_an_address_in_the_signature_names_no_unit(campaign: Campaign) -> None:
    claim = claim_of(campaign, "吉林市教育局 李明\n地址：吉林省长春市人民大街1号\n手机：13812345678")
    assert (claim.unit, claim.certain, claim.name) == ("吉林市教育局", True, "李明")


def test_two_units_named_is_not_certain(campaign: Campaign) -> None:
    claim = claim_of(campaign, "我是吉林大学的，也替长春大学转交材料。联系人：李明")
    assert (claim.unit, claim.certain, claim.name) == ("吉林大学", False, "李明")
    assert not claim.usable


def test_the_quoted_notice_makes_no_claim(campaign: Campaign) -> None:
    for quote in (QQ_QUOTE, NETEASE_QUOTE):
        claim = claim_of(campaign, f"好的，收到。{quote}")
        assert claim == SenderClaim(unit=None, certain=False, name=None, phone=None)


@pytest.mark.parametrize(
    "body",
    [
        f"您好！{ASKED}",  # she pasted the question back, unanswered
        "您好！推荐材料见附件，请查收。",
        "梅河口市教育局报送材料，请查收。",  # a unit, but not who she is
    ],
)
def test_no_usable_claim_without_who_she_is(campaign: Campaign, body: str) -> None:
    claim = claim_of(campaign, body, subject="推荐材料")
    assert claim.name is None and claim.phone is None and not claim.usable
