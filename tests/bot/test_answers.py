"""What the bot answers about a dossier built by the real desk (store, intake, rules).

Late files are the case here: a contact who keeps sending WeCom files after the deadline
must get one summarising line in "缺什么", in time order, and never read that a WeCom file
was a mail.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import zipfile
from pathlib import Path

from bot.answers import Answerer
from bot.commands import parse
from config import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from storage.repo import Store
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.waiting import waiting_mail

CONTACT = "dinglijun"  # 长白山管委会教育科技局's contact
UNIT = "长白山管委会教育科技局"
SAMPLE = SHARED / "samples" / "changbaishan_missing" / "1.eml"
CST = dt.timezone(dt.timedelta(hours=8))


def _a_photo() -> bytes:
    with SAMPLE.open("rb") as fh:
        msg = email.message_from_binary_file(fh, policy=email.policy.default)
    archive = zipfile.ZipFile(io.BytesIO(next(msg.iter_attachments()).get_content()))
    return archive.read(next(n for n in archive.namelist() if n.endswith(".jpg")))


def test_late_files_are_one_line_in_time_order_and_not_called_mails(tmp_path: Path, campaign: Campaign) -> None:
    clock = Clock(dt.datetime(2021, 9, 1, 9, 0, tzinfo=CST))
    store = Store.open(tmp_path)
    store.directory.sync_units(campaign)
    desk = Desk(Settings(data_dir=tmp_path, wecom_answer_settle_seconds=0), campaign, store, clock=clock)
    photo = _a_photo()
    # Four runs of WeCom files after the deadline (2021-08-30), hours or days apart...
    for n, when in enumerate(
        [(9, 1, 9), (9, 1, 11), (9, 2, 9), (9, 3, 9)],
    ):
        month, day, hour = when
        clock.now = dt.datetime(2021, month, day, hour, 0, tzinfo=CST)
        desk.accept_wecom_file(CONTACT, f"media-{n}", f"补充照片{n}.jpg", photo)
        desk.process_pending()
    # ...and a mail that arrived before all of them, read last.
    desk.ingest_file(SAMPLE, received_at=dt.datetime(2021, 8, 31, 8, 0, tzinfo=CST))
    desk.process_pending()

    answerer = Answerer(store, campaign, clock=clock)
    missing = answerer.missing(UNIT)
    late = [line for line in missing.splitlines() if "截止时间" in line]
    assert len(late) == 1, missing
    assert "收到材料 5 次" in late[0] and "邮件 1 封" in late[0] and "企业微信文件 4 批" in late[0]
    assert late[0].index("最早 2021年8月31日 08:00") < late[0].index("最近 2021年9月3日 09:00")
    assert "该邮件" not in missing
    assert missing.count("是否受理由") == 1  # the hint once, not once a file
    assert "已收邮件 1 封、企业微信文件 4 批" in answerer.status(UNIT)
    store.close()


def test_a_withdrawal_is_counted_as_an_action_not_as_a_file(tmp_path: Path, campaign: Campaign) -> None:
    """A withdrawal (in WeCom, or by the office) and a restoration are kept as office records: the
    status counts them by who acted, never as "办公室补充文件" the unit would look for."""
    clock = Clock(dt.datetime(2021, 8, 21, 9, 0, tzinfo=CST))
    store = Store.open(tmp_path)
    store.directory.sync_units(campaign)
    desk = Desk(Settings(data_dir=tmp_path, wecom_answer_settle_seconds=0), campaign, store, clock=clock)
    desk.ingest_file(SAMPLE, received_at=clock())
    desk.process_pending()
    desk.withdraw(UNIT, "宋丽萍", actor=f"wecom:{CONTACT}")
    desk.process_pending()
    status = Answerer(store, campaign, clock=clock).status(UNIT)
    assert "已收邮件 1 封、企业微信操作 1 次" in status, status
    assert "办公室补充文件" not in status

    desk.restore(UNIT, "宋丽萍", actor="office:wu")
    desk.process_pending()
    status = Answerer(store, campaign, clock=clock).status(UNIT)
    assert "已收邮件 1 封、企业微信操作 1 次、办公室操作 1 次" in status, status
    store.close()


def test_waiting_mails_show_in_the_office_lists_and_as_a_bare_count_to_the_unit(
    tmp_path: Path, campaign: Campaign
) -> None:
    """梅河口's package waits for the office: the 未交 list says so beside it, 汇总 counts every
    waiting mail, and a unit's contact learns only how many are guessed to be their own unit's."""
    clock = Clock(dt.datetime(2021, 8, 25, 9, 0, tzinfo=CST))
    meihekou = next(u.name for u in campaign.units if u.name.startswith("梅河口市"))
    office = campaign.office.members[0].wecom_user
    assert office is not None
    with Store.open(tmp_path) as store:
        store.directory.sync_units(campaign)
        waiting_mail(store, clock(), "clerk@mhk.example.cn", guess=meihekou)
        waiting_mail(store, clock(), "clerk@mhk.example.cn", claim=meihekou)
        waiting_mail(store, clock(), "stranger@163.com", claim=UNIT)
        waiting_mail(store, clock(), "nobody@163.com")  # nothing to guess from
        answerer = Answerer(store, campaign, clock=clock)
        pending = answerer.answer(office, parse("未交"))
        summary = answerer.answer(office, parse("汇总"))
        own = answerer.answer(CONTACT, parse("状态"))
        other = answerer.answer("wufengxia", parse("状态"))  # 延边's contact: nothing of theirs waits
        office_view = answerer.answer(office, parse(f"单位 {meihekou}"))
    assert f"{meihekou}（有 2 封邮件待确认）" in pending
    assert f"{UNIT}（有 1 封邮件待确认）" in pending
    assert "待确认单位 4 封" in pending and "待确认单位 4 封" in summary
    assert "另有 1 封邮件正在等待省级办公室确认所属单位" in own
    assert "stranger" not in own and "秘密主题" not in own and "王芳" not in own and meihekou not in own
    assert "等待省级办公室确认" not in other
    assert "另有 2 封邮件正在等待省级办公室确认所属单位" in office_view
