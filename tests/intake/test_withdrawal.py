"""Explicit withdrawal in a mail: what is read as "撤回 <name>" and, as much, what is not."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Campaign
from intake.source import read_source
from intake.withdrawal import first_lines, line_names, subject_names, withdrawal_names
from tests.support.mail import attachment, filename_rfc2047
from tests.support.service import mail

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 64


@pytest.mark.parametrize(
    ("subject", "names"),
    [
        ("撤回 张三", ["张三"]),
        ("撤回：张三", ["张三"]),
        ("撤回:张三", ["张三"]),
        ("撤回张三、李四", ["张三", "李四"]),
        ("撤回 张三 李四", ["张三", "李四"]),
        ("撤回张三和李四", ["张三", "李四"]),
        ("申请撤回 书香南关项目", ["书香南关项目"]),
        ("撤回项目：银龄课堂", ["银龄课堂"]),
        ("撤回 “书香南关”全民阅读推广行动", ["“书香南关”全民阅读推广行动"]),
        ("撤回百姓学习之星 张三", ["张三"]),
        ("Re: 撤回 张三", ["张三"]),
        ("回复：撤回张三", ["张三"]),
        ("【长白山】撤回张三", ["张三"]),
        ("长白山管委会-撤回张三的推荐", ["张三"]),
        ("长白山管委会 撤回 张三", ["张三"]),
        ("关于撤回张三推荐的申请", ["张三"]),
        ("撤回金哲洙同志的推荐材料", ["金哲洙"]),
        ("撤回 阿依古丽·买买提", ["阿依古丽·买买提"]),
        ("撤回 张三（个人原因）", ["张三"]),  # a reason in brackets is no part of the name
        ("撤回张三(因工作调动)、李四", ["张三", "李四"]),
        ("撤回 书香南关 项目", ["书香南关 项目"]),  # one project, not "书香南关" and a nominee "项目"
    ],
)
def test_a_subject_that_asks_to_withdraw(subject: str, names: list[str]) -> None:
    assert subject_names(subject) == names


@pytest.mark.parametrize(
    "subject",
    [
        "补充材料",
        "不撤回张三",
        "暂不 撤回 张三",
        "无需撤回张三",
        "已撤回 张三",  # our own confirmation, quoted back in a reply's subject
        "撤回张三可以吗？",
        "如何撤回张三",
        "撤回上一封邮件",  # the mail, not a nominee
        "撤回附件",
        "撤回 姓名",  # the placeholder of the REGISTER_OMITS hint
        "撤回 xx",
        "撤回",
        "撤回了张三",
        "【材料受理回执】长白山管委会教育科技局：需修改 3 项",
    ],
)
def test_a_subject_that_does_not(subject: str) -> None:
    assert subject_names(subject) == []


def test_the_first_lines_of_the_body_count() -> None:
    body = "您好！\n\n我单位申请撤回宋丽萍的推荐材料。\n其余材料不变。\n谢谢"
    assert withdrawal_names("补充材料", body) == ["宋丽萍"]
    assert withdrawal_names(None, "经研究，撤回金哲洙同志的推荐") == ["金哲洙"]
    assert withdrawal_names("", "撤回张三，谢谢！") == ["张三"]  # the list ends where the courtesy starts
    assert withdrawal_names("", "1. 撤回张三\n2. 补充李四的照片") == ["张三"]
    # the greeting and the request on one line, the nominee named as "our unit's"
    assert withdrawal_names("补充材料", "吴老师您好！现申请撤回我单位推荐的金哲洙。") == ["金哲洙"]


def test_subject_and_body_together_name_each_once() -> None:
    assert withdrawal_names("撤回 张三", "撤回张三、李四") == ["张三", "李四"]


def test_prose_far_down_is_not_a_request() -> None:
    body = "您好\n附件为补充材料\n请查收\n如有问题请联系\n王老师\n撤回张三"
    assert len(first_lines(body)) == 5
    assert withdrawal_names("补充材料", body) == []
    assert withdrawal_names("", "您好，我们考虑是否撤回张三，稍后再定。") == []
    assert withdrawal_names("", "张三的材料我们先不撤回") == []


@pytest.mark.parametrize(
    "quote",
    [
        "-----原始邮件-----\n发件人：office@jl.gov.cn\n撤回 张三",
        "在 2021年8月20日 10:00，office@jl.gov.cn 写道：\n撤回 张三",
        "> 撤回 张三",
        "发件人: 吉林省教育厅\n撤回 张三",
    ],
)
def test_what_a_reply_quotes_is_not_the_senders_request(quote: str) -> None:
    assert withdrawal_names("Re: 【材料受理回执】长白山", "好的，收到。\n" + quote) == []


def test_the_notice_and_hint_wording_is_no_request() -> None:
    hint = "如确实不再推荐，请在邮件主题或正文第一行写明“撤回 姓名”（项目写项目名称）"
    assert withdrawal_names("", hint) == []
    assert line_names("如需撤回，请回复“撤回 姓名”") == []


def test_a_mail_carries_files_and_a_withdrawal(tmp_path: Path, campaign: Campaign) -> None:
    raw = mail(
        "ybjyj_zcjy@163.com",
        subject="补充材料",
        text="您好！\n撤回：朴英子\n另补充金哲洙的照片一张。",
        parts=[attachment(JPEG, filename_rfc2047("金哲洙生活照.jpg"), content_type="image/jpeg")],
    )
    path = tmp_path / "1.eml"
    path.write_bytes(raw)
    work = tmp_path / "work"
    work.mkdir()
    sub = read_source(path, work, campaign)
    assert sub.withdraw == ["朴英子"]
    assert [f.name for f in sub.files] == ["金哲洙生活照.jpg"]
    assert sub.restore == [] and sub.actor is None  # a mail never restores, and acts as the unit


def test_a_mail_asking_to_restore_restores_nothing(tmp_path: Path, campaign: Campaign) -> None:
    path = tmp_path / "1.eml"
    path.write_bytes(mail("ybjyj_zcjy@163.com", subject="恢复 朴英子", text="恢复朴英子"))
    work = tmp_path / "work"
    work.mkdir()
    sub = read_source(path, work, campaign)
    assert sub.restore == [] and sub.withdraw == []
