"""The reply a clerk reads: per nominee what is wrong, and a checklist that says which item is the trouble."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from config.campaign import Campaign
from intake.models import Change, ChangeAction, Outcome, Placement, SubmissionLog, SubmissionMeta, Withdrawn
from nomdesk.check import check_paths
from notify.compose import compose_reply
from tests.conftest import SHARED
from tests.support.dossiers import city_dossier
from validators.base import Finding, Severity

SAMPLE = SHARED / "samples" / "changbaishan_missing" / "1.eml"


def test_reply_marks_each_checklist_item_with_its_measured_value(tmp_path: Path, campaign: Campaign) -> None:
    result = check_paths([SAMPLE], campaign, workdir=tmp_path)
    assert result is not None
    reply = compose_reply(result.dossier, result.findings, campaign, now=dt.datetime(2021, 8, 25, tzinfo=dt.UTC))
    lines = reply.text.splitlines()
    line = {ln.split("：", 1)[0].strip(): ln for ln in lines if ln.strip().startswith(("✓", "✗"))}
    # The short video is the one ✗ item of 池北书苑, with the duration measured.
    assert "视频 2分30秒✗" in line["✗ 终身学习品牌项目 “池北书苑”全民阅读项目"]
    assert "照片5张✓" in line["✗ 终身学习品牌项目 “池北书苑”全民阅读项目"]
    assert "照片12张✗" in line["✗ 终身学习品牌项目 “二道白河”社区学堂"]
    assert "推荐表✗（未收到）" in line["✗ 终身学习品牌项目 “林下经济”农民实用技术培训"]
    assert "推荐表✗" in line["✗ 百姓学习之星 宋丽萍"] and "照片2张✓" in line["✗ 百姓学习之星 宋丽萍"]
    assert line["✓ 百姓学习之星 乔长林"].endswith("推荐表✓，照片2张✓，无视频")
    # Each fix on its own line under its problem, not run on after it.
    problem = next(i for i, ln in enumerate(lines) if "2分30秒，要求 4-5 分钟" in ln)
    assert lines[problem + 1].strip().startswith("修改建议：")
    assert "还剩 5 天" in reply.text


# ---- the receipt, from a hand-made log (RULES.md "Resubmissions") ----------------------------


def _dossier_with_log(campaign: Campaign):
    dossier = city_dossier(campaign)
    first = dossier.submissions[0]
    first.ref = "延边-01"
    later = [
        SubmissionMeta(
            index=i,
            source=f"raw:{i + 1}",
            arrived_at=first.arrived_at + dt.timedelta(hours=i),
            subject="补充材料",
            ref=f"延边-0{i + 1}",
        )
        for i in (1, 2)
    ]
    dossier.submissions += later
    star, other, third = dossier.stars[0].name, dossier.stars[1].name, dossier.stars[2].name
    dossier.log = [
        SubmissionLog(index=0),
        SubmissionLog(
            index=1,
            placements=[
                Placement(path=f"补充.zip/{star}/生活照2.jpg", outcome=Outcome.ADDED, nominee=star, item="photos"),
                Placement(
                    path=f"{other}推荐表（修改）.docx",
                    outcome=Outcome.REPLACED,
                    nominee=other,
                    nominee_kind="star",
                    item="form",
                    replaced=[f"延边州推荐材料/{other}/{other}推荐表.docx"],
                ),
                Placement(path="推荐函.pdf", outcome=Outcome.UNIT_DOCUMENT),
                Placement(path="关于报送材料的报送函.pdf", outcome=Outcome.UNIT_DOCUMENT),
                Placement(path="李四.mp4", outcome=Outcome.UNPLACED),
                Placement(path="视频.mp4", outcome=Outcome.UNUSABLE, reason="视频数据不完整"),
                Placement(path=f"补充.zip/{star}/证件照.jpg", outcome=Outcome.SAME, nominee=star, item="photos"),
                Placement(path="<b>坏.jpg", outcome=Outcome.UNPLACED),
            ],
            changes=[
                Change(action=ChangeAction.SET_ASIDE, nominee=third, nominee_kind="star", paths=["x/a.jpg", "x/b.jpg"]),
                Change(action=ChangeAction.WITHDRAWN, nominee="李春花", nominee_kind="star", by="unit"),
                Change(action=ChangeAction.OMITTED, names=["王建国", "刘桂兰"]),
                Change(action=ChangeAction.WITHDRAWN_LISTED, nominee="赵小兵", nominee_kind="star"),
            ],
            ignored=[".DS_Store", "__MACOSX/._x.jpg"],
        ),
        SubmissionLog(
            index=2,
            placements=[Placement(path="金哲洙视频.mp4", outcome=Outcome.FILED, nominee=star, item="video")],
        ),
    ]
    dossier.withdrawn = [Withdrawn(name="李春花", kind="star", by="unit", submission=1)]
    return dossier


def test_the_receipt_starts_with_what_this_submission_did(campaign: Campaign) -> None:
    dossier = _dossier_with_log(campaign)
    star, other = dossier.stars[0].name, dossier.stars[1].name
    solved = Finding(code="STAR_PHOTO_COUNT", severity=Severity.ERROR, subject=f"百姓学习之星 {star}", nominee=star)
    reply = compose_reply(
        dossier, [], campaign, now=dt.datetime(2021, 8, 25, tzinfo=dt.UTC), covers=[1], previous=[solved]
    )
    assert "（延边-02）" in reply.subject and reply.subject.startswith("【材料受理回执】")
    text = reply.text
    for line in (
        "受理编号：延边-02",
        "本次收到 8 个文件：",
        f"生活照2.jpg：{star} 照片（新增）",
        f"{other}推荐表（修改）.docx：{other} 推荐表（替换原推荐表 {other}推荐表.docx）",
        "推荐函.pdf：单位文件（推荐函）",
        "关于报送材料的报送函.pdf：单位文件（报送函）",
        "登记表中列出的百姓学习之星 赵小兵此前已撤回，本次未计入；如需恢复请联系省办公室",
        "李四.mp4：未能归属（文件名或文件夹名中没有推荐对象的姓名）",
        "视频.mp4：无法使用（视频数据不完整，见下方问题）",
        "证件照.jpg：与已收文件相同，未重复计入",
        "（另有 2 个系统文件已忽略）",
        f"替换：{other} 推荐表",
        f"新增：{star} 照片 1 张",
        "原有照片 a.jpg、b.jpg",
        "已撤回：百姓学习之星 李春花（材料仍保留）",
        "最新登记表未列出：王建国、刘桂兰，仍按已推荐处理",
        "与上次相比：已解决 1 项，新增 0 项。",
    ):
        assert line in text, line
    assert "金哲洙视频.mp4" not in text  # the next submission's file is not this one's
    assert "撤回 姓名" in text  # how to withdraw, never a real name after the verb
    # In order: the receipt, then the whole dossier as it stands, then the footer.
    order = ["受理编号", "本次收到", "本次变动", "与上次相比", "以下按全部已收材料汇总", "二、已收材料清单", "报送截止"]
    assert [text.index(x) for x in order] == sorted(text.index(x) for x in order)
    assert "以最后一次报送为准" not in text
    assert "照片可单独补发，会加入已收照片；推荐表、视频、总结以最新一次为准；如需撤回请写“撤回 姓名”" in text
    # What the unit wrote is escaped in the HTML part.
    assert "&lt;b&gt;坏.jpg" in reply.html and "<b>坏.jpg" not in reply.html
    assert "受理编号：延边-02" in reply.html and "与上次相比：已解决 1 项，新增 0 项" in reply.html


def test_a_held_back_receipt_lists_every_submission_since_the_last_reply(campaign: Campaign) -> None:
    dossier = _dossier_with_log(campaign)
    reply = compose_reply(
        dossier, [], campaign, now=dt.datetime(2021, 8, 25, tzinfo=dt.UTC), covers=[1, 2], previous=[]
    )
    assert "（延边-02、延边-03）" in reply.subject
    text = reply.text
    assert "自上次回复以来共收到 2 次报送（延边-02、延边-03）" in text
    assert text.index("受理编号：延边-02") < text.index("生活照2.jpg") < text.index("受理编号：延边-03")
    assert text.index("受理编号：延边-03") < text.index("金哲洙视频.mp4：金哲洙 视频")
    assert "与上次相比：已解决 0 项，新增 0 项" in text


def test_the_first_receipt_has_nothing_to_compare_with(campaign: Campaign) -> None:
    dossier = _dossier_with_log(campaign)
    reply = compose_reply(dossier, [], campaign, now=dt.datetime(2021, 8, 25, tzinfo=dt.UTC))
    assert "受理编号：延边-03" in reply.text and "与上次相比" not in reply.text


def test_a_new_photo_set_is_not_called_a_same_name_replacement(campaign: Campaign) -> None:
    """Two photos that took the place of a whole set (RULES.md: a complete new set replaces the old
    one) replaced no photo of their name: the receipt says so, names the nominee's photos once under
    替换, and a retake of an unreadable photo under another name names the photo it replaced."""
    dossier = _dossier_with_log(campaign)
    star, other = dossier.stars[0].name, dossier.stars[1].name
    dossier.log[2] = SubmissionLog(
        index=2,
        placements=[
            Placement(path=f"{star}生活照0.jpg", outcome=Outcome.REPLACED, nominee=star, item="photos"),
            Placement(path=f"{star}生活照1.jpg", outcome=Outcome.REPLACED, nominee=star, item="photos"),
            Placement(
                path=f"{other}新照片.jpg", outcome=Outcome.REPLACED, nominee=other, item="photos", replaced=["坏.jpg"]
            ),
            Placement(
                path=f"x/{other}证件照.jpg",
                outcome=Outcome.REPLACED,
                nominee=other,
                item="photos",
                replaced=[f"y/{other}证件照.jpg"],
            ),
        ],
        changes=[Change(action=ChangeAction.SET_ASIDE, nominee=star, nominee_kind="star", paths=[f"{star}证件照.jpg"])],
    )
    text = compose_reply(dossier, [], campaign, now=dt.datetime(2021, 8, 25, tzinfo=dt.UTC), covers=[2]).text
    assert f"{star}生活照0.jpg：{star} 照片（整套更换）" in text
    assert f"{other}新照片.jpg：{other} 照片（替换原照片 坏.jpg）" in text
    assert f"{other}证件照.jpg：{other} 照片（替换同名照片）" in text
    assert f"替换：{other} 照片\n" in text  # once, and not the new set's photos: 搁置 says what they replaced
    assert f"搁置：{star} 原有照片 {star}证件照.jpg" in text
