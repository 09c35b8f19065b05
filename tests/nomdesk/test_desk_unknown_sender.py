"""An unregistered sender through the desk: asked who she is, told what became of her answer, never the
same letter twice; the office's one confirmation (`Desk.assign`) registers her and answers every mail
she sent with the full receipt; `Desk.reject` takes a mail out of the queue without a word to anyone."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import ASSIGNED_REPLY_KEY, Desk
from storage.repo import Store
from storage.tables import OutboxRecord, RawState
from tests.support.clock import Clock
from tests.support.forms import project_forms_docx
from tests.support.mail import attachment, filename_rfc2047
from tests.support.service import mail, nomdesk

MEIHEKOU = "梅河口市教育局"  # a unit of the shipped campaign with no contact
STRANGER = "wangli_mhk@163.com"
OTHER_STRANGER = "someone@example.cn"
YANBIAN = "延边朝鲜族自治州教育局"
OFFICE = "jlqmxx@126.com"
PROJECT = "“梅河夜读”全民阅读推广行动"
FORM_NAME = f"附表3 {PROJECT}推荐表.docx"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CLAIM_TEXT = "单位：梅河口市教育局 联系人：王丽 电话：13912345678"
IDENTIFY = "请在回复中注明：推荐单位全称、联系人姓名和联系电话"
PROPOSED = "已提交省级办公室确认"


def package_mail(tmp_path: Path, sender: str = STRANGER, *, subject: str = "推荐材料") -> bytes:
    """A clerk's first mail: 梅河口's 附表3 as a real .docx, a body that does not say who she is."""
    form = tmp_path / f"form-{len(list(tmp_path.glob('form-*.docx')))}.docx"
    fields = {
        "name": PROJECT,
        "organizer": "梅河口市社区教育学院",
        "leader": "赵大明",
        "phone": "0435-4212345",
        "founded": "2017年3月",
        "people_per_year": "1200",
        "participations_per_year": "5000",
        "category": "社区教育",
        "online": "是",
        "activities": "社区夜读、读书分享",
        "measures": "专人负责，经费保障",
        "effects": "居民阅读量明显提升",
    }
    project_forms_docx(form, [fields], unit=MEIHEKOU)
    part = attachment(form.read_bytes(), filename_rfc2047(FORM_NAME), content_type=DOCX)
    return mail(sender, subject=subject, text="您好！推荐材料见附件，请查收。", parts=[part], date=None)


def answer_mail(sender: str, text: str, *, subject: str = "回复：【材料受理回执】请确认推荐单位") -> bytes:
    quoted = f"\n\n------------------ 原始邮件 ------------------\n发件人: {OFFICE}\n{IDENTIFY}\n"
    return mail(sender, subject=subject, text=text + quoted, date=None)


@pytest.fixture
def desk(tmp_path: Path, campaign: Campaign) -> Iterator[Desk]:
    data = tmp_path / "var"
    clock = Clock(dt.datetime(2021, 8, 25, 2, 0, tzinfo=dt.UTC), step=dt.timedelta(minutes=1))
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        yield Desk(Settings(data_dir=data), campaign, store, clock=clock)


def send(desk: Desk, tmp_path: Path, raw: bytes) -> int:
    """Deliver a mail and run the pipeline; the raw message's id."""
    path = tmp_path / f"in-{len(list(tmp_path.glob('in-*.eml')))}.eml"
    path.write_bytes(raw)
    record = desk.ingest_file(path, received_at=desk.clock())
    desk.process_pending()
    return record.id


def reply(desk: Desk, raw_id: int, key: str = "reply:{}") -> OutboxRecord:
    row = desk.store.outbox.by_key(key.format(raw_id))
    assert row is not None, f"no outbox row {key.format(raw_id)}"
    return row


def office_notice(desk: Desk, raw_id: int) -> OutboxRecord | None:
    return desk.store.outbox.by_key(f"office-unknown:{raw_id}")


def test_her_answers_are_never_a_dead_end(desk: Desk, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = send(desk, tmp_path, package_mail(tmp_path))
    letter = reply(desk, first)
    assert letter.recipients == [STRANGER] and letter.unit_name is None
    assert IDENTIFY in letter.body_text and PROJECT not in letter.body_text  # nothing of any dossier
    notice = office_notice(desk, first)
    assert notice is not None and notice.recipients == [OFFICE]
    (waiting,) = desk.store.submissions.waiting_mails()
    assert f"nomdesk assign {waiting.submission_id} {MEIHEKOU}" in notice.body_text  # the guess from the form
    assert "该单位尚无联系人" in notice.body_text and "附件 1 个文件" in notice.body_text

    with caplog.at_level(logging.INFO, logger="nomdesk.desk"):
        second = send(desk, tmp_path, answer_mail(STRANGER, CLAIM_TEXT))
    told = reply(desk, second).body_text
    assert PROPOSED in told and IDENTIFY not in told
    assert f"单位 {MEIHEKOU}，联系人 王丽（电话 139****5678）" in told and "共有 2 封邮件等待确认" in told
    proposal = office_notice(desk, second)
    assert proposal is not None and f"自称 {MEIHEKOU}" in (proposal.subject or "")
    assert "联系人 王丽" in proposal.body_text and "139****5678" in proposal.body_text  # masked (issue 13)
    assert "13912345678" not in told + proposal.body_text
    assert "工作台“待确认”页一键确认" in proposal.body_text
    assert "139****5678" in caplog.text and "13912345678" not in caplog.text  # logs mask her phone
    claims = [
        (m.claim_unit, m.claim_certain, m.claim_name, m.claim_phone) for m in desk.store.submissions.waiting_mails()
    ]
    assert claims == [(None, False, None, None), (MEIHEKOU, True, "王丽", "13912345678")]

    third = send(desk, tmp_path, mail(STRANGER, subject="补充", text="再补充一份说明。", date=None))
    kept = reply(desk, third).body_text
    assert "共 3 封" in kept and f"您此前已说明：单位 {MEIHEKOU}" in kept
    assert IDENTIFY not in kept and PROPOSED not in kept
    assert office_notice(desk, third) is None  # it is in the queue; no second proposal
    assert len(desk.store.submissions.waiting_mails()) == 3


def test_a_second_mail_without_a_claim_says_it_waits_and_still_how_to_identify(desk: Desk, tmp_path: Path) -> None:
    first = send(desk, tmp_path, mail(OTHER_STRANGER, subject="材料", text="您好，材料见附件。", date=None))
    second = send(desk, tmp_path, mail(OTHER_STRANGER, subject="材料2", text="再发一次。", date=None))
    assert IDENTIFY in reply(desk, first).body_text
    again = reply(desk, second)
    assert again.body_text != reply(desk, first).body_text and again.subject != reply(desk, first).subject
    assert "共 2 封" in again.body_text and "推荐单位全称、联系人姓名和联系电话" in again.body_text


def test_assign_registers_her_and_answers_every_mail_with_the_full_receipt(desk: Desk, tmp_path: Path) -> None:
    first = send(desk, tmp_path, package_mail(tmp_path))
    second = send(desk, tmp_path, answer_mail(STRANGER, CLAIM_TEXT))
    waiting = desk.store.submissions.waiting_mails()
    outbox_before = len(desk.store.outbox.all())

    record = desk.assign(waiting[0].submission_id, "梅河口", actor="office:test")  # a short name will do
    assert record.id == second and record.state == RawState.NEW  # queued, not answered on this thread
    assert desk.store.outbox.by_key(ASSIGNED_REPLY_KEY.format(second)) is None
    assert desk.store.submissions.waiting_mails() == []
    assert [s.raw_message_id for s in desk.store.submissions.of_unit(MEIHEKOU)] == [first, second]
    (contact,) = desk.store.contacts.list(MEIHEKOU)
    assert (contact.name, contact.emails, contact.phone, contact.role, contact.added_by) == (
        "王丽",
        [STRANGER],
        "13912345678",
        "联系人",
        "office:test",
    )
    [added] = desk.store.audit.entries(unit_name=MEIHEKOU, action="contact.added")
    assert added.actor == "office:test" and "13912345678" not in str(added.detail)

    desk.process_pending()
    assert desk.store.raw.get(second).state == RawState.DONE
    receipt = reply(desk, second, ASSIGNED_REPLY_KEY)
    assert receipt.recipients == [STRANGER] and receipt.unit_name == MEIHEKOU
    assert FORM_NAME in receipt.body_text and PROJECT in receipt.body_text  # the first mail's package
    assert "共 2 封邮件" in receipt.body_text
    assert len(desk.store.outbox.all()) == outbox_before + 1  # one receipt, no letter to the office

    # Her next mail is hers at once: checked and answered, no office step, nothing waiting.
    later = send(desk, tmp_path, mail(STRANGER, subject="补充照片", text="补充材料。", date=None))
    assert reply(desk, later).unit_name == MEIHEKOU and "共 3 封邮件" in reply(desk, later).body_text
    assert desk.store.submissions.waiting_mails() == [] and office_notice(desk, later) is None


def test_a_crash_rerun_never_sends_a_second_reply(desk: Desk, tmp_path: Path) -> None:
    known = send(desk, tmp_path, package_mail(tmp_path, sender=STRANGER))
    desk.assign(desk.store.submissions.waiting_mails()[0].submission_id, MEIHEKOU, actor="office:test")
    desk.process_pending()
    normal = send(desk, tmp_path, mail(STRANGER, subject="补充", text="补充。", date=None))
    rows = len(desk.store.outbox.all())
    for raw_id in (known, normal):  # as if the process died after answering, before marking it done
        desk.store.raw.mark(raw_id, RawState.NEW)
        desk.process_pending()
        assert desk.store.raw.get(raw_id).state == RawState.DONE
    assert len(desk.store.outbox.all()) == rows
    assert desk.store.outbox.by_key(ASSIGNED_REPLY_KEY.format(normal)) is None


def test_assign_without_registering_and_what_it_refuses(desk: Desk, tmp_path: Path) -> None:
    send(desk, tmp_path, package_mail(tmp_path))
    (waiting,) = desk.store.submissions.waiting_mails()
    with pytest.raises(ValueError, match="不在本次活动的单位名单中"):
        desk.assign(waiting.submission_id, "梅河口市教育厅", actor="office:test")
    with pytest.raises(ValueError, match="没有编号 999 的邮件"):
        desk.assign(999, MEIHEKOU, actor="office:test")
    desk.assign(waiting.submission_id, MEIHEKOU, actor="office:test", register=False)
    desk.process_pending()
    assert desk.store.contacts.list(MEIHEKOU) == []
    with pytest.raises(ValueError, match="已归入 梅河口市教育局"):
        desk.assign(waiting.submission_id, MEIHEKOU, actor="office:test")
    with pytest.raises(ValueError, match="已归入"):
        desk.reject(waiting.submission_id, actor="office:test")


def test_assign_takes_the_short_name_receipts_use_and_nothing_looser(desk: Desk, tmp_path: Path) -> None:
    send(desk, tmp_path, package_mail(tmp_path))
    (waiting,) = desk.store.submissions.waiting_mails()
    with pytest.raises(ValueError, match="“长春市第一中学”不在本次活动的单位名单中"):
        desk.assign(waiting.submission_id, "长春市第一中学", actor="office:test")  # a school, not 长春市教育局
    assert desk.store.submissions.get(waiting.submission_id).unit_name is None
    desk.assign(waiting.submission_id, "\u3000长春 ", actor="office:test", register=False)  # as in "长春-07"
    assert desk.store.submissions.get(waiting.submission_id).unit_name == "长春市教育局"


def test_a_mail_assigned_without_registering_its_sender_is_receipted_to_the_units_contacts(
    desk: Desk, tmp_path: Path
) -> None:
    """The office sorted the mail but did not make her a contact: the dossier (names, phones of
    nominees) goes to the unit's registered contacts, not to an address nobody confirmed."""
    raw = send(desk, tmp_path, package_mail(tmp_path, OTHER_STRANGER))
    (waiting,) = desk.store.submissions.waiting_mails()
    contacts = sorted(e for c in desk.store.contacts.list(YANBIAN) for e in c.emails)
    assert contacts and OTHER_STRANGER not in contacts

    desk.assign(waiting.submission_id, YANBIAN, actor="office:test", register=False)
    desk.process_pending()

    receipt = reply(desk, raw, ASSIGNED_REPLY_KEY)
    assert receipt.recipients == contacts and receipt.unit_name == YANBIAN
    assert FORM_NAME in receipt.body_text
    assert [r for r in desk.store.outbox.all() if r.unit_name and OTHER_STRANGER in r.recipients] == []


def test_a_unit_with_contacts_the_office_decides(desk: Desk, tmp_path: Path) -> None:
    raw = send(desk, tmp_path, answer_mail(OTHER_STRANGER, "延边州教育局 李明 13812345678"))
    assert PROPOSED in reply(desk, raw).body_text
    notice = office_notice(desk, raw)
    assert notice is not None and "该单位已有联系人" in notice.body_text and "请核实后决定是否登记" in notice.body_text
    assert f"nomdesk assign {desk.store.submissions.waiting_mails()[0].submission_id} {YANBIAN}" in notice.body_text


def test_reject_takes_the_mail_out_of_the_queue_and_answers_nobody(desk: Desk, tmp_path: Path) -> None:
    send(desk, tmp_path, mail(OTHER_STRANGER, subject="广告", text="优惠促销", date=None))
    (waiting,) = desk.store.submissions.waiting_mails()
    rows = len(desk.store.outbox.all())
    desk.reject(waiting.submission_id, actor="office:test", reason="广告")
    desk.process_pending()
    assert desk.store.submissions.waiting_mails() == []
    assert len(desk.store.outbox.all()) == rows
    [entry] = desk.store.audit.entries(action="submission.rejected")
    assert entry.actor == "office:test" and entry.detail["reason"] == "广告"


def test_the_office_confirms_or_rejects_from_the_terminal(desk: Desk, tmp_path: Path) -> None:
    data = desk.settings.data_dir
    send(desk, tmp_path, package_mail(tmp_path))
    claim = send(desk, tmp_path, answer_mail(STRANGER, CLAIM_TEXT))
    send(desk, tmp_path, mail(OTHER_STRANGER, subject="广告", text="优惠促销", date=None))
    mine, _, junk = desk.store.submissions.waiting_mails()

    rejected = nomdesk("reject", junk.submission_id, "--reason", "广告", "--data-dir", data)
    assert rejected.returncode == 0, rejected.stderr
    assert "移出待确认列表" in rejected.stdout and "不回复" in rejected.stdout

    assigned = nomdesk("assign", mine.submission_id, "梅河口", "--data-dir", data)
    assert assigned.returncode == 0, assigned.stderr
    assert f"已归入 {MEIHEKOU}（该发件人等待确认的邮件共 2 封）" in assigned.stdout
    assert f"已登记联系人：王丽（{STRANGER}）" in assigned.stdout and "回执已排队发送" in assigned.stdout
    assert FORM_NAME in reply(desk, claim, ASSIGNED_REPLY_KEY).body_text
    assert desk.store.submissions.waiting_mails() == []

    again = nomdesk("assign", mine.submission_id, MEIHEKOU, "--no-register", "--data-dir", data)
    assert again.returncode == 2 and "已归入 梅河口市教育局，无需再确认" in again.stderr


def test_two_clerks_confirming_at_once_one_wins_and_she_is_answered_once(desk: Desk, tmp_path: Path) -> None:
    first = send(desk, tmp_path, package_mail(tmp_path))
    claim = send(desk, tmp_path, answer_mail(STRANGER, CLAIM_TEXT))
    mine = desk.store.submissions.waiting_mails()[0]

    desk.assign(mine.submission_id, MEIHEKOU, actor="office:a")
    with pytest.raises(ValueError, match=f"已归入 {MEIHEKOU}"):
        desk.assign(mine.submission_id, YANBIAN, actor="office:b")  # the other clerk picked another unit
    with pytest.raises(ValueError, match="无需再确认"):
        desk.assign(mine.submission_id, MEIHEKOU, actor="office:b")  # the same unit: told, nothing twice
    desk.process_pending()

    (contact,) = desk.store.contacts.list(MEIHEKOU)
    assert contact.emails == [STRANGER] and contact.name == "王丽"
    receipts = [r for r in desk.store.outbox.all() if r.unit_name == MEIHEKOU and STRANGER in r.recipients]
    assert [r.dedupe_key for r in receipts] == [ASSIGNED_REPLY_KEY.format(claim)]
    assert {s.raw_message_id for s in desk.store.submissions.of_unit(MEIHEKOU)} == {first, claim}


def test_a_confirmation_cut_short_before_her_receipt_is_finished_by_confirming_again(
    desk: Desk, tmp_path: Path
) -> None:
    """The mails were assigned, then the desk died before she was registered and answered."""
    send(desk, tmp_path, package_mail(tmp_path))
    claim = send(desk, tmp_path, answer_mail(STRANGER, CLAIM_TEXT))
    mails = desk.store.submissions.waiting_mails()
    for mail_ in mails:
        desk.store.submissions.assign_unit(mail_.submission_id, MEIHEKOU, actor="office:a", only_waiting=True)
    assert desk.store.contacts.list(MEIHEKOU) == []

    desk.assign(mails[0].submission_id, MEIHEKOU, actor="office:a")
    desk.process_pending()

    assert [c.emails for c in desk.store.contacts.list(MEIHEKOU)] == [[STRANGER]]
    assert FORM_NAME in reply(desk, claim, ASSIGNED_REPLY_KEY).body_text


def test_a_mail_read_while_she_was_unknown_joins_her_unit_once_she_is_registered(desk: Desk, tmp_path: Path) -> None:
    """Her mail was on its way through the pipeline when the office registered her: it is answered
    with her unit's receipt, not left alone in the queue with the "who are you" letter again."""
    raw = send(desk, tmp_path, package_mail(tmp_path))
    desk.store.contacts.add(MEIHEKOU, "王丽", emails=[STRANGER], actor="office:a")
    desk.store.raw.mark(raw, RawState.NEW)  # the pipeline takes it (again) after the registration
    desk.process_pending()

    assert desk.store.submissions.waiting_mails() == []
    assert FORM_NAME in reply(desk, raw, ASSIGNED_REPLY_KEY).body_text


def test_a_mail_queued_again_while_the_pipeline_reads_it_is_not_marked_done(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "in.eml"
    path.write_bytes(package_mail(tmp_path))
    record = desk.ingest_file(path, received_at=desk.clock())
    taken = desk.store.raw.claim_next(desk.clock())
    assert taken is not None and taken.id == record.id
    desk.store.raw.mark(record.id, RawState.NEW)  # the office's assign, meanwhile
    assert not desk.store.raw.finish(record.id, RawState.DONE, was=taken.state)
    assert desk.store.raw.get(record.id).state == RawState.NEW


def test_a_wecom_file_of_an_unknown_account_is_never_mailed_and_registers_the_account(
    desk: Desk, tmp_path: Path
) -> None:
    """A file sent in WeCom by an account that is nobody's (its contact was removed meanwhile)."""
    record = desk.accept_wecom_file("lihua", "media-1", "梅河口推荐材料.docx", package_mail(tmp_path))
    desk.process_pending()
    (waiting,) = desk.store.submissions.waiting_mails()
    letter = desk.store.outbox.by_key(f"reply:{record.id}")
    assert letter is None or letter.state == "suppressed"  # no mail to <id>@wecom.invalid
    notice = office_notice(desk, record.id)
    assert notice is not None and "未登记企业微信账号 lihua" in notice.body_text

    desk.assign(waiting.submission_id, MEIHEKOU, actor="office:a")
    desk.process_pending()

    (contact,) = desk.store.contacts.list(MEIHEKOU)
    assert contact.wecom_user == "lihua" and contact.emails == []
    assert desk.store.directory.unit_of_wecom_user("lihua") == MEIHEKOU
