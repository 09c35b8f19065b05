"""Which unit a package is from, when the sender is not registered: the mail's own words, not what it quotes."""

from __future__ import annotations

from config.campaign import Campaign
from intake.models import Submission
from intake.unit import own_words, resolve_unit

NOTICE_SALUTATION = "各市（州）教育局，长白山管委会教育科技局，梅河口市教育局，各高等院校、相关单位："


def submission(body: str, subject: str = "推荐材料") -> Submission:
    return Submission(index=0, source="raw:1", sender="zhangsan@example.cn", subject=subject, body_text=body)


def test_a_reply_that_quotes_the_notice_is_from_the_unit_that_signs_it(campaign: Campaign) -> None:
    body = (
        "省厅您好！\n附件是我校的推荐材料，请查收。\n白城师范学院 继续教育学院 张老师\n\n"
        "------------------ 原始邮件 ------------------\n"
        '发件人: "吉林全民学习" <jlqmxx@126.com>\n'
        f"{NOTICE_SALUTATION}\n为深入贯彻落实……"
    )
    assert "长白山" not in own_words(body)
    found = resolve_unit([submission(body)], campaign)
    assert (found.name, found.kind.value, found.how) == ("白城师范学院", "college", "text")


def test_the_first_unit_named_in_the_body_wins_over_a_longer_one_named_later(campaign: Campaign) -> None:
    body = "延边州教育局报送推荐材料。我州参考了长白山管委会教育科技局的做法。"
    assert resolve_unit([submission(body)], campaign).name == "延边朝鲜族自治州教育局"


def test_quoted_lines_and_english_clients_are_cut_too() -> None:
    assert own_words("吉林大学推荐材料\n> 长白山管委会教育科技局\n") == "吉林大学推荐材料\n"
    assert own_words("材料见附件\n-----Original Message-----\nFrom: x\n长白山") == "材料见附件\n"
    assert own_words("材料见附件\n在 2021年8月20日 周五 10:00，吉林全民学习 写道：\n长白山") == "材料见附件\n"
