"""A forged From through the desk (issue 13 item 1): a mail in 延边's registered contact's name that
its domain (163.com, DKIM key made here, DMARC p=reject, served by a DNS stub) did not sign does
not touch 延边's dossier or roster; it waits in 待确认 with the reason, the forger gets nothing, the
real contact gets no receipt but a letter that a mail in her name waits, and the office decides."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

import nomdesk.desk as desk_module
import nomdesk.held as held_module
from config.campaign import DEFAULT_CAMPAIGN, Campaign, load_campaign
from config.settings import Settings
from nomdesk.desk import Desk
from nomdesk.exports import roster_xlsx
from nomdesk.failures import QUARANTINE_AFTER
from notify.outbox import OutboxWorker
from schedule.status import collect_status
from storage.repo import Store
from storage.tables import OutboxRecord, OutboxState, RawState
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.mail import attachment, filename_rfc2047
from tests.support.media import make_photo
from tests.support.senders import SigningDomain, StubDns
from tests.support.service import body_text, mail, nomdesk, parse

SAMPLE = SHARED / "samples" / "yanbian_complete" / "1.eml"  # from SENDER: 8 stars, 5 projects
YANBIAN = "延边朝鲜族自治州教育局"
SENDER = "ybjyj_zcjy@163.com"  # 延边州's registered contact
STAR = "金哲洙"
MX = "mx.jledu.example"
POLICY = "p=reject"
LETTER = "【材料受理提醒】有一封以您邮箱名义发出的邮件待确认"


@pytest.fixture(scope="module")
def netease() -> SigningDomain:
    return SigningDomain("163.com")


def make_desk(tmp_path: Path, campaign: Campaign, dns: StubDns, **settings: object) -> Iterator[Desk]:
    data = tmp_path / "var"
    clock = Clock(dt.datetime(2021, 8, 25, 2, 0, tzinfo=dt.UTC), step=dt.timedelta(minutes=1))
    with Store.open(data) as store:
        store.directory.sync_units(campaign)
        yield Desk(Settings(data_dir=data, **settings), campaign, store, clock=clock, dns=dns)


@pytest.fixture
def dns(netease: SigningDomain) -> StubDns:
    return StubDns(netease, SigningDomain("forger.example", dmarc=None))


@pytest.fixture
def desk(tmp_path: Path, campaign: Campaign, dns: StubDns, netease: SigningDomain) -> Iterator[Desk]:
    """延边's complete package, signed by 163.com, already in."""
    for desk in make_desk(tmp_path, campaign, dns):
        send(desk, tmp_path, netease.sign(SAMPLE.read_bytes()))
        yield desk


def send(desk: Desk, tmp_path: Path, raw: bytes) -> int:
    path = tmp_path / f"in-{len(list(tmp_path.glob('in-*.eml')))}.eml"
    path.write_bytes(raw)
    record = desk.ingest_file(path, received_at=desk.clock())
    desk.process_pending()
    return record.id


def photo_mail(name: str, *, subject: str = "补充材料") -> bytes:
    data = make_photo(800, 600, text=name).read_bytes()
    part = attachment(data, filename_rfc2047(f"{name}生活照.jpg"), content_type="image/jpeg")
    return mail(SENDER, subject=subject, parts=[part], date=None)


def dossier_names(desk: Desk) -> tuple[list[str], list[str]]:
    snapshot = desk.store.evaluations.latest_dossier(YANBIAN)
    assert snapshot is not None
    return [s["name"] for s in snapshot.dossier["stars"]], [p["name"] for p in snapshot.dossier["projects"]]


def roster_stars(desk: Desk) -> list[str]:
    """The star names of the roster for the expert review, as the office opens it."""
    book = openpyxl.load_workbook(io.BytesIO(roster_xlsx(desk.store, collect_status(desk.store, desk.campaign))))
    sheet = book.worksheets[0]
    return sorted(str(c.value) for row in sheet.iter_rows(min_row=2) for c in row if c.value in STARS)


STARS = {"金哲洙", "朴英子", "崔明浩", "李春花", "熊长林", "邓秀芝", "岳卫东", "熊玉兰"}


def outbox(desk: Desk) -> list[OutboxRecord]:
    return desk.store.outbox.all()


def receipts(desk: Desk) -> list[OutboxRecord]:
    return [r for r in outbox(desk) if r.dedupe_key.startswith("reply")]


def test_a_mail_signed_by_the_units_domain_joins(desk: Desk, tmp_path: Path, netease: SigningDomain) -> None:
    stars, projects = dossier_names(desk)
    assert (len(stars), len(projects)) == (8, 5)
    raw = send(desk, tmp_path, netease.sign(photo_mail(STAR)))
    row = desk.store.submissions.for_raw(raw)
    assert row is not None and row.unit_name == YANBIAN and row.held_unit is None
    assert row.summary["auth"]["dkim"] == "pass" and row.summary["auth"]["dmarc"] == "pass"
    reply = desk.store.outbox.by_key(f"reply:{raw}")
    assert reply is not None and reply.recipients == [SENDER] and reply.state == OutboxState.PENDING


def test_a_forged_withdrawal_is_held_and_changes_nothing(desk: Desk, tmp_path: Path) -> None:
    before = dossier_names(desk)
    version = desk.store.evaluations.current_version(YANBIAN)
    roster = roster_stars(desk)
    assert STAR in roster and len(roster) == 8
    sent_before = receipts(desk)

    raw = send(desk, tmp_path, mail(SENDER, subject=f"撤回 {STAR}", text=f"撤回 {STAR}", date=None))

    # The dossier, its evaluation and the roster are as they were: nothing was withdrawn.
    assert dossier_names(desk) == before and desk.store.evaluations.current_version(YANBIAN) == version
    assert roster_stars(desk) == roster
    # The forger gets nothing; the real contact's receipts are the ones she had.
    assert desk.store.outbox.by_key(f"reply:{raw}") is None
    assert [r.id for r in receipts(desk)] == [r.id for r in sent_before]
    # She is told a mail in her name waits, at her registered address, without the mail's words.
    [letter] = [r for r in outbox(desk) if r.subject == LETTER]
    assert letter.recipients == [SENDER] and letter.unit_name == YANBIAN
    assert SENDER in letter.body_text and "未通过发件人验证" in letter.body_text and "撤回" not in letter.body_text
    # The office is told why and how to decide; the mail waits in 待确认 with the reason.
    office = desk.store.outbox.by_key(f"office-held:{raw}")
    assert office is not None and office.recipients == [desk.campaign.office.email]
    assert "疑似冒用发件人：发件人地址未通过验证" in office.body_text and "nomdesk assign" in office.body_text
    [waiting] = desk.store.submissions.waiting_mails()
    assert (waiting.sender, waiting.held_unit, waiting.guess) == (SENDER, YANBIAN, YANBIAN)
    assert (
        waiting.held_reason
        == "发件人地址未通过验证：邮件没有 DKIM 签名，不符合发件域 163.com 的 DMARC 策略（p=reject）"
    )

    # Processing it again (a crash and a rerun) does not pull it into the unit: her address is registered.
    desk.store.raw.mark(raw, RawState.NEW)
    desk.process_pending()
    assert desk.store.submissions.for_raw(raw).unit_name is None and dossier_names(desk) == before
    assert len([r for r in outbox(desk) if r.subject == LETTER]) == 1


def test_the_waiting_listing_shows_the_reason(desk: Desk, tmp_path: Path) -> None:
    send(desk, tmp_path, mail(SENDER, subject=f"撤回 {STAR}", text=f"撤回 {STAR}", date=None))
    result = nomdesk("status", "--data-dir", desk.settings.data_dir)
    assert result.returncode == 0, result.stderr
    assert "疑似冒用发件人：发件人地址未通过验证" in result.stdout


@pytest.mark.parametrize("how", ["altered body", "another domain's signature", "untrusted header"])
def test_what_is_not_the_domains_signature_is_held(
    desk: Desk, tmp_path: Path, netease: SigningDomain, how: str
) -> None:
    before = dossier_names(desk)
    raw_mail = photo_mail("伪造")
    if how == "altered body":
        raw_mail = netease.sign(raw_mail).replace(b"base64\r\n\r\n", b"base64\r\n\r\nAAAA", 1)
    elif how == "another domain's signature":
        raw_mail = SigningDomain("forger.example", dmarc=None).sign(raw_mail)
    else:
        raw_mail = b"Authentication-Results: mx.forger.example; dkim=pass header.d=163.com; dmarc=pass\r\n" + raw_mail
    raw = send(desk, tmp_path, raw_mail)
    row = desk.store.submissions.for_raw(raw)
    assert row is not None and row.unit_name is None and row.held_unit == YANBIAN
    assert dossier_names(desk) == before and desk.store.outbox.by_key(f"reply:{raw}") is None


def test_the_trusted_servers_failure_is_held(tmp_path: Path, campaign: Campaign, dns: StubDns) -> None:
    for desk in make_desk(tmp_path, campaign, dns, trusted_authserv_id=MX):
        header = f"Authentication-Results: {MX}; dkim=fail header.d=163.com; spf=fail smtp.mailfrom=163.com\r\n"
        raw = send(desk, tmp_path, header.encode() + photo_mail("伪造"))
        row = desk.store.submissions.for_raw(raw)
        assert row is not None and row.held_unit == YANBIAN and row.unit_name is None
        assert row.held_reason.startswith("发件人地址未通过验证：DKIM 签名无效，SPF 未通过")
        assert row.summary["auth"]["source"] == "header"


def test_a_lenient_units_unsigned_mail_joins(tmp_path: Path, dns: StubDns) -> None:
    text = DEFAULT_CAMPAIGN.read_text(encoding="utf-8")
    head = f'name = "{YANBIAN}"\n'
    (tmp_path / "c.toml").write_text(text.replace(head, head + 'sender_auth = "lenient"\n', 1), encoding="utf-8")
    lenient = load_campaign(tmp_path / "c.toml")
    for desk in make_desk(tmp_path, lenient, dns):
        raw = send(desk, tmp_path, photo_mail(STAR))
        row = desk.store.submissions.for_raw(raw)
        assert row is not None and row.unit_name == YANBIAN and row.held_unit is None
        assert row.summary["auth"]["dmarc"] == "fail"  # recorded all the same
        assert desk.store.outbox.by_key(f"reply:{raw}").recipients == [SENDER]


def test_dns_down_holds_nothing(desk: Desk, tmp_path: Path, dns: StubDns) -> None:
    dns.down = True
    desk.holds.authenticator.lookup.clear()  # what was cached would still answer
    raw = send(desk, tmp_path, photo_mail(STAR))
    row = desk.store.submissions.for_raw(raw)
    assert row is not None and row.unit_name == YANBIAN and row.held_unit is None
    assert row.summary["auth"]["dmarc"] == "temperror"
    assert desk.store.outbox.by_key(f"reply:{raw}") is not None


def test_the_office_confirms_a_held_mail(desk: Desk, tmp_path: Path) -> None:
    raw = send(desk, tmp_path, mail(SENDER, subject=f"撤回 {STAR}", text=f"撤回 {STAR}", date=None))
    row = desk.store.submissions.for_raw(raw)
    assert row is not None and STAR in dossier_names(desk)[0]
    contacts = desk.store.contacts.list(YANBIAN)

    desk.assign(row.id, YANBIAN, actor="office:wu")
    desk.process_pending()

    assert desk.store.submissions.for_raw(raw).unit_name == YANBIAN
    assert STAR not in dossier_names(desk)[0] and STAR not in roster_stars(desk)  # the withdrawal counts now
    assert desk.store.submissions.waiting_mails() == []
    assert desk.store.contacts.list(YANBIAN) == contacts  # her address is not registered again
    receipt = desk.store.outbox.by_key(f"reply:{raw}")
    assert receipt is not None and receipt.recipients == [SENDER] and receipt.unit_name == YANBIAN


def test_the_office_rejects_a_held_mail(desk: Desk, tmp_path: Path) -> None:
    before = dossier_names(desk)
    raw = send(desk, tmp_path, photo_mail("伪造"))
    desk.reject(desk.store.submissions.for_raw(raw).id, actor="office:wu", reason="冒用")
    desk.process_pending()
    assert desk.store.submissions.waiting_mails() == [] and dossier_names(desk) == before
    assert desk.store.outbox.by_key(f"reply:{raw}") is None


def test_an_unknown_sender_that_fails_gets_no_reply(tmp_path: Path, campaign: Campaign, dns: StubDns) -> None:
    for desk in make_desk(tmp_path, campaign, dns):
        stranger = mail("someone@163.com", subject="推荐材料", date=None)
        raw = send(desk, tmp_path, stranger)
        reply = desk.store.outbox.by_key(f"reply:{raw}")
        assert reply is not None and reply.state == OutboxState.SUPPRESSED
        assert reply.last_error == "sender_unauthenticated"
        office = desk.store.outbox.by_key(f"office-unknown:{raw}")
        assert office is not None and "可能是冒用的地址，系统未回复发件人" in office.body_text
        [waiting] = desk.store.submissions.waiting_mails()
        assert waiting.sender == "someone@163.com" and waiting.held_unit is None


FROM_LINE = f"From: {SENDER}\r\n".encode()
IRREGULAR_FROMS = {
    "two addresses": f"From: {SENDER}, x@evil.example\r\n".encode(),
    "two From lines": f"From: {SENDER}\r\nFrom: x@evil.example\r\n".encode(),
}


@pytest.mark.parametrize("how", list(IRREGULAR_FROMS))
def test_a_from_field_naming_her_first_is_held(desk: Desk, tmp_path: Path, how: str) -> None:
    """The desk files these under her address (the first it reads), so they are judged as hers:
    a From DMARC cannot judge is held, though evil.example signed it and has no DMARC to fail."""
    before = dossier_names(desk)
    forged = mail(SENDER, subject=f"撤回 {STAR}", text=f"撤回 {STAR}", date=None)
    raw = send(
        desk,
        tmp_path,
        SigningDomain("evil.example", dmarc=None).sign(forged.replace(FROM_LINE, IRREGULAR_FROMS[how], 1)),
    )
    row = desk.store.submissions.for_raw(raw)
    assert row is not None and row.unit_name is None and row.held_unit == YANBIAN
    assert row.held_reason.startswith("发件人栏不规范：") and row.summary["auth"]["dmarc"] == "permerror"
    assert dossier_names(desk) == before and STAR in roster_stars(desk)
    assert desk.store.outbox.by_key(f"reply:{raw}") is None


def test_a_trusted_id_under_another_servers_header_is_held(
    tmp_path: Path, campaign: Campaign, dns: StubDns, netease: SigningDomain
) -> None:
    """Our server wrote no header of its own on top: the forger's with our id further down is not
    believed, the mail is judged here, and 163.com's DMARC holds it."""
    for desk in make_desk(tmp_path, campaign, dns, trusted_authserv_id=MX):
        send(desk, tmp_path, netease.sign(SAMPLE.read_bytes()))
        before = dossier_names(desk)
        relay = b"Authentication-Results: mx.relay.example; spf=none smtp.mailfrom=163.com\r\n"
        forged = f"Authentication-Results: {MX}; dkim=pass header.d=163.com; spf=pass; dmarc=pass\r\n".encode()
        raw = send(
            desk, tmp_path, relay + forged + mail(SENDER, subject=f"撤回 {STAR}", text=f"撤回 {STAR}", date=None)
        )
        row = desk.store.submissions.for_raw(raw)
        assert row is not None and row.held_unit == YANBIAN and row.summary["auth"]["source"] == "verified"
        assert dossier_names(desk) == before


def test_a_dkim_key_the_dns_could_not_give_holds_nothing(
    desk: Desk, tmp_path: Path, dns: StubDns, netease: SigningDomain
) -> None:
    """163.com's DMARC record is cached (p=reject) but its DKIM key lookup times out: her signed
    mail is not known to fail, so it joins and she gets her receipt."""
    desk.holds.authenticator.lookup.clear()
    desk.holds.authenticator.lookup("_dmarc.163.com")  # the policy is at hand, the key is not
    dns.down = True
    raw = send(desk, tmp_path, netease.sign(photo_mail(STAR)))
    row = desk.store.submissions.for_raw(raw)
    assert row is not None and row.unit_name == YANBIAN and row.held_unit is None
    assert (row.summary["auth"]["dkim"], row.summary["auth"]["dmarc"]) == ("temperror", "temperror")
    assert desk.store.outbox.by_key(f"reply:{raw}").recipients == [SENDER]


def quarantine(desk: Desk, tmp_path: Path, raw_mail: bytes) -> int:
    """The mail sent and processed until its third failure quarantines it."""
    raw = send(desk, tmp_path, raw_mail)
    for _ in range(QUARANTINE_AFTER):
        record = desk.store.raw.get(raw)
        if record.state == RawState.QUARANTINED:
            break
        desk.clock.now = max(desk.clock.now, record.retry_at or desk.clock.now)
        desk.process_pending()
    assert desk.store.raw.get(raw).state == RawState.QUARANTINED
    return raw


def mailed_to(desk: Desk) -> dict[str, list[str]]:
    """Who was mailed what (the To address, each body), as the outbox worker wrote them."""
    out = desk.settings.data_dir / "outbox"
    OutboxWorker(desk.store, smtp=None, outbox_dir=out, clock=desk.clock).run_once()
    sent: dict[str, list[str]] = {}
    for path in sorted(out.glob("*.eml")):
        message = parse(path.read_bytes())
        sent.setdefault(str(message["To"]), []).append(body_text(message))
    return sent


@pytest.mark.parametrize(
    ("who", "breaks"),
    [
        ("her address, forged", "reading"),
        ("her address, forged", "telling her"),
        ("a stranger, forged", "reading"),
        ("a stranger, forged", "answering"),
        ("her address, signed", "reading"),
    ],
)
def test_a_quarantined_mail_acknowledges_only_an_authenticated_sender(
    desk: Desk, tmp_path: Path, netease: SigningDomain, monkeypatch: pytest.MonkeyPatch, who: str, breaks: str
) -> None:
    """A mail that breaks the pipeline three times is quarantined; its "人工处理" acknowledgement
    goes to the From address only when that address's domain vouched for the mail: otherwise it
    would be backscatter, to a stranger or to the contact whose address was forged."""
    mailed_to(desk)  # what the package before sent
    for path in (desk.settings.data_dir / "outbox").glob("*.eml"):
        path.unlink()
    address = SENDER if who.startswith("her") else "someone@163.com"
    raw_mail = mail(address, subject="补充材料", date=None)
    if who.endswith("signed"):
        raw_mail = netease.sign(raw_mail)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"{breaks} bug")

    target = {"reading": "read_submission", "answering": "compose_unknown_sender_reply"}
    if breaks == "telling her":
        monkeypatch.setattr(held_module, "compose_mail_in_your_name", broken)
    else:
        monkeypatch.setattr(desk_module, target[breaks], broken)
    raw = quarantine(desk, tmp_path, raw_mail)

    sent = mailed_to(desk)
    assert any(f"#{raw}" in body for body in sent[desk.campaign.office.email])  # the office always hears
    acks = [body for body in sent.get(address, []) if "人工处理" in body]
    if who.endswith("signed"):
        assert len(acks) == 1
    else:
        assert acks == [] and address not in sent
