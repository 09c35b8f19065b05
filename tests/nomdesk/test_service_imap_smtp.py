"""The desk as a service against real mail servers: Dovecot (IMAP) in, aiosmtpd (SMTP) out, on loopback.

`nomdesk serve` runs as a subprocess configured only by NOMDESK_* variables; mail is
APPENDed to the mailbox as a mail server delivers it, replies are read from the SMTP sink.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import load_campaign
from config.settings import Settings
from nomdesk.service import Service
from storage.tables import OutboxState
from tests.conftest import SHARED
from tests.nomdesk.conftest import mail_env
from tests.support.dovecot import Dovecot
from tests.support.forms import project_forms_docx
from tests.support.mail import attachment, filename_rfc2047
from tests.support.service import ServeProcess, body_text, mail, message_id_of, parse, wait_until
from tests.support.smtp import Envelope, SmtpSink

pytestmark = pytest.mark.slow

SAMPLE = SHARED / "samples" / "changbaishan_missing" / "1.eml"
CHANGBAISHAN_SENDER = "2295831465@qq.com"
YANBIAN_SENDER = "ybjyj_zcjy@163.com"
LINXIA = "“林下经济”农民实用技术培训"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory, dovecot: Dovecot, sink: SmtpSink) -> Iterator[ServeProcess]:
    data = tmp_path_factory.mktemp("imap-smtp") / "var"
    with ServeProcess(data, env=mail_env(dovecot, sink)) as process:
        yield process


def reply_to(sink: SmtpSink, message_id: str, timeout: float = 60.0, serve: ServeProcess | None = None) -> Envelope:
    def find() -> list[Envelope]:
        return [e for e in sink.received if str(parse(e.content)["In-Reply-To"] or "").strip() == message_id]

    try:
        found = wait_until(find, timeout, what=f"a reply to {message_id}")
    except AssertionError as exc:  # what the service said is what tells why
        log = serve.stderr()[-6000:] if serve is not None else "(no service log)"
        raise AssertionError(f"{exc}\n--- the service's log ---\n{log}") from None
    assert len(found) == 1, f"{len(found)} replies to {message_id}"
    return found[0]


def linxia_form_mail(tmp_path: Path) -> bytes:
    """长白山's second mail: the missing 附表3 of its 林下经济 project."""
    form = tmp_path / "form3.docx"
    fields = {
        "name": LINXIA,
        "organizer": "长白山管委会池西区社区教育学校",
        "leader": "王立新",
        "phone": "0433-5310000",
        "founded": "2016年4月",
        "people_per_year": "2500",
        "participations_per_year": "8000",
        "category": "农民继续教育",
        "online": "是",
        "activities": "林下种植、养殖实用技术培训",
        "measures": "专人负责，经费保障",
        "effects": "带动农户增收",
    }
    project_forms_docx(form, [fields], unit="长白山管委会教育科技局")
    name = filename_rfc2047(f"附表3 {LINXIA}推荐表.docx")
    return mail(
        f"丁立军 <{CHANGBAISHAN_SENDER}>",
        subject="回复：长白山管委会推荐材料（补充附表3）",
        text="您好！补充林下经济项目的推荐表。",
        parts=[attachment(form.read_bytes(), name, content_type=DOCX)],
    )


def test_sample_answered_then_resubmission_updates_the_dossier(
    serve: ServeProcess, dovecot: Dovecot, sink: SmtpSink, tmp_path: Path
) -> None:
    raw = SAMPLE.read_bytes()
    dovecot.append(raw)
    first = reply_to(sink, message_id_of(raw), serve=serve)
    assert first.rcpt_tos == [CHANGBAISHAN_SENDER]
    reply = parse(first.content)
    assert reply["To"] == CHANGBAISHAN_SENDER
    assert reply["Auto-Submitted"] == "auto-replied"
    assert message_id_of(raw) in str(reply["References"])
    text = body_text(reply)
    assert "长白山管委会教育科技局" in text and "共 1 封邮件" in text
    assert "宋丽萍" in text and "联系电话" in text
    assert "2分30秒" in text  # the measured length of 池北书苑's video
    assert f"未收到 {LINXIA} 的《终身学习品牌项目推荐表》" in text

    second_raw = linxia_form_mail(tmp_path)
    dovecot.append(second_raw)
    second = parse(reply_to(sink, message_id_of(second_raw), serve=serve).content)
    text = body_text(second)
    assert "共 2 封邮件" in text  # the whole dossier, both mails merged
    assert f"未收到 {LINXIA} 的《终身学习品牌项目推荐表》" not in text  # fixed by the second mail
    assert f"✓ 终身学习品牌项目 {LINXIA}：推荐表✓" in text
    assert "宋丽萍" in text and "2分30秒" in text  # what is still wrong is still said


def test_imap_connection_cut_the_poller_reconnects_and_misses_nothing(
    serve: ServeProcess, dovecot: Dovecot, sink: SmtpSink
) -> None:
    before = mail(YANBIAN_SENDER, subject="延边州材料（断线前）")
    dovecot.append(before)
    reply_to(sink, message_id_of(before), serve=serve)

    assert dovecot.kick()  # the service's IDLE connection is cut, as a network drop would
    during = [mail(YANBIAN_SENDER, subject=f"延边州材料（断线时{n}）") for n in range(2)]
    for raw in during:
        dovecot.append(raw)
    for raw in during:
        assert parse(reply_to(sink, message_id_of(raw), serve=serve).content)["To"] == YANBIAN_SENDER
    assert "reconnected to 127.0.0.1" in serve.stderr()
    assert serve.healthy()


class ShiftedClock:
    """Real time plus an offset the test moves forward (the outbox's backoff is minutes long)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


def test_smtp_down_the_reply_goes_out_when_it_is_back(tmp_path: Path, dovecot: Dovecot) -> None:
    clock = ShiftedClock()
    sink = SmtpSink()
    env = mail_env(dovecot, sink, folder="SmtpDown")
    settings = Settings(
        data_dir=tmp_path / "var",
        imap_host=env["NOMDESK_IMAP_HOST"],
        imap_port=dovecot.imap_port,
        imap_user=dovecot.user,
        imap_password=dovecot.password,
        imap_folder="SmtpDown",
        imap_tls=False,
        smtp_host=sink.host,
        smtp_port=sink.port,
        smtp_starttls=False,
    )
    service = Service.build(settings, load_campaign(), clock=clock)
    service.poll_interval = 0.1
    service.start()
    try:
        raw = mail(YANBIAN_SENDER, subject="延边州材料（邮件服务器故障时）")
        dovecot.append(raw, folder="SmtpDown")  # the SMTP server is not running

        def failed_once():
            rows = [o for o in service.store.outbox.all() if o.raw_message_id is not None]
            return rows if rows and rows[0].last_error and rows[0].state == OutboxState.PENDING else None

        (row,) = wait_until(failed_once, 60, what="a failed send attempt")
        assert "unreachable" in row.last_error
        assert row.next_attempt_at > clock()  # waiting for its backoff, not dropped

        sink.start()
        clock.offset = dt.timedelta(hours=1)  # the backoff has passed
        envelope = reply_to(sink, message_id_of(raw), timeout=30)
        assert envelope.rcpt_tos == [YANBIAN_SENDER]
        assert "延边朝鲜族自治州教育局" in body_text(parse(envelope.content))
        wait_until(lambda: service.store.outbox.get(row.id).state == OutboxState.SENT, 10, what="the sent mark")
    finally:
        service.shutdown()
        sink.stop()
