"""Sender authentication (intake.authentication): DKIM verified with a key made in the test and
served by a DNS stub, DMARC read from the stub, a trusted receiving server's Authentication-Results
believed and anyone else's ignored, DNS trouble never a failure."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import dkim
import pytest
from dkim.canonicalization import Relaxed, Simple

import intake.authentication as auth
import intake.dkim_stream as dkim_stream
from intake.authentication import CachedLookup, SenderAuthenticator, body_hash, organizational_domain
from tests.support.senders import SigningDomain, StubDns
from tests.support.service import mail

SENDER = "ybjyj_zcjy@163.com"
MX = "mx.jledu.example"  # the receiving server's authserv-id
REASON = "发件人地址未通过验证：邮件没有 DKIM 签名，不符合发件域 163.com 的 DMARC 策略（p=reject）"


@pytest.fixture
def domain() -> SigningDomain:
    return SigningDomain("163.com")


def judge(tmp_path: Path, raw: bytes, dns: StubDns, trusted: str | None = None) -> auth.AuthVerdict:
    path = tmp_path / f"m{len(list(tmp_path.iterdir()))}.eml"
    path.write_bytes(raw)
    return SenderAuthenticator(dns, trusted_authserv_id=trusted).verdict(path)


def test_signed_by_the_senders_domain_passes(tmp_path: Path, domain: SigningDomain) -> None:
    verdict = judge(tmp_path, domain.sign(mail(SENDER, text="推荐材料 见附件。\n\n")), StubDns(domain))
    assert (verdict.dkim, verdict.dmarc, verdict.dmarc_policy) == ("pass", "pass", "reject")
    assert verdict.dkim_domains == ["163.com"] and verdict.source == "verified"
    assert not verdict.failed


def test_unsigned_from_a_reject_domain_fails_dmarc(tmp_path: Path, domain: SigningDomain) -> None:
    verdict = judge(tmp_path, mail(SENDER), StubDns(domain))
    assert (verdict.dkim, verdict.dmarc) == ("none", "fail")
    assert verdict.failed
    assert (
        verdict.reason_zh == "发件人地址未通过验证：邮件没有 DKIM 签名，不符合发件域 163.com 的 DMARC 策略（p=reject）"
    )


def test_an_altered_body_breaks_the_signature(tmp_path: Path, domain: SigningDomain) -> None:
    signed = domain.sign(mail(SENDER, text="撤回 朴英子"))
    altered = signed.replace(
        b"Content-Transfer-Encoding: base64\r\n\r\n", b"Content-Transfer-Encoding: base64\r\n\r\nX"
    )
    assert altered != signed
    verdict = judge(tmp_path, altered, StubDns(domain))
    assert verdict.dkim == "fail" and verdict.failed
    assert "DKIM 签名无效" in verdict.reason_zh


def test_a_signature_of_another_domain_is_not_aligned(tmp_path: Path, domain: SigningDomain) -> None:
    other = SigningDomain("forger.example", dmarc=None)
    verdict = judge(tmp_path, other.sign(mail(SENDER)), StubDns(domain, other))
    assert verdict.dkim == "pass" and verdict.dkim_domains == ["forger.example"]
    assert verdict.dmarc == "fail" and verdict.failed


def test_dmarc_p_none_is_monitoring_not_a_hold(tmp_path: Path) -> None:
    relaxed = SigningDomain("163.com", dmarc="v=DMARC1; p=none; rua=mailto:d@163.com")
    verdict = judge(tmp_path, mail(SENDER), StubDns(relaxed))
    assert (verdict.dmarc, verdict.dmarc_policy) == ("fail", "none")
    assert not verdict.failed


def test_a_subdomain_falls_back_to_the_organizational_policy(tmp_path: Path) -> None:
    university = SigningDomain("jlu.edu.cn", dmarc="v=DMARC1; p=none; sp=reject")
    assert organizational_domain("mails.jlu.edu.cn") == "jlu.edu.cn"
    assert organizational_domain("mail.163.com") == "163.com"
    verdict = judge(tmp_path, mail("teacher@mails.jlu.edu.cn"), StubDns(university))
    assert (verdict.dmarc, verdict.dmarc_policy) == ("fail", "reject") and verdict.failed
    signed = university.sign(mail("teacher@mails.jlu.edu.cn"))  # d=jlu.edu.cn: relaxed alignment
    assert judge(tmp_path, signed, StubDns(university)).dmarc == "pass"


def test_the_trusted_servers_results_are_believed(tmp_path: Path, domain: SigningDomain) -> None:
    header = (
        f"Authentication-Results: {MX}; dkim=fail (bad signature) header.d=163.com;\r\n"
        f" spf=fail smtp.mailfrom={SENDER}; dmarc=fail (p=none dis=none) header.from=163.com\r\n"
    ).encode()
    verdict = judge(tmp_path, header + domain.sign(mail(SENDER)), StubDns(domain), trusted=MX)
    assert (verdict.dkim, verdict.spf, verdict.source) == ("fail", "fail", "header")
    assert verdict.failed  # DKIM and SPF both fail, though the domain's DMARC only monitors
    assert verdict.reason_zh.startswith("发件人地址未通过验证：DKIM 签名无效，SPF 未通过")


def test_an_untrusted_servers_pass_is_ignored(tmp_path: Path, domain: SigningDomain) -> None:
    forged = b"Authentication-Results: mx.forger.example; dkim=pass header.d=163.com; spf=pass; dmarc=pass\r\n" + mail(
        SENDER
    )
    dns = StubDns(domain)
    verdict = judge(tmp_path, forged, dns, trusted=MX)
    assert verdict.source == "verified"  # verified here, as if the header were not there
    assert (verdict.dkim, verdict.spf, verdict.dmarc) == ("none", "none", "fail") and verdict.failed
    assert "_dmarc.163.com" in dns.asked


def test_a_trusted_id_below_the_servers_own_header_is_ignored(tmp_path: Path, domain: SigningDomain) -> None:
    """The receiving server prepends its header: a forger's header with its id sits further down."""
    ours = f"Authentication-Results: {MX}; dkim=none; spf=fail smtp.mailfrom=163.com; dmarc=fail\r\n".encode()
    theirs = f"Authentication-Results: {MX}; dkim=pass header.d=163.com; spf=pass; dmarc=pass\r\n".encode()
    verdict = judge(tmp_path, ours + theirs + mail(SENDER), StubDns(domain), trusted=MX)
    assert (verdict.dkim, verdict.spf, verdict.dmarc) == ("none", "fail", "fail") and verdict.failed


def test_received_spf_only_from_the_trusted_receiver(tmp_path: Path) -> None:
    plain = SigningDomain("163.com", dmarc=None)
    spf = f"Received-SPF: fail (163.com: domain does not designate 1.2.3.4) receiver={MX}; envelope-from={SENDER}\r\n"
    verdict = judge(tmp_path, spf.encode() + mail(SENDER), StubDns(plain), trusted=MX)
    assert (verdict.dkim, verdict.spf) == ("none", "fail") and verdict.failed
    other = spf.replace(MX, "mx.forger.example")
    assert judge(tmp_path, other.encode() + mail(SENDER), StubDns(plain), trusted=MX).spf == "none"


def test_dns_trouble_is_a_temperror_never_a_failure(tmp_path: Path, domain: SigningDomain) -> None:
    dns = StubDns(domain)
    dns.down = True
    signed = judge(tmp_path, domain.sign(mail(SENDER)), dns)
    unsigned = judge(tmp_path, mail(SENDER), dns)
    assert (signed.dkim, signed.dmarc) == ("temperror", "temperror")
    assert (unsigned.dkim, unsigned.dmarc) == ("none", "temperror")
    assert not signed.failed and not unsigned.failed


def test_keys_and_policies_are_looked_up_once(tmp_path: Path, domain: SigningDomain) -> None:
    dns = StubDns(domain)
    authenticator = SenderAuthenticator(CachedLookup(dns), trusted_authserv_id=None)
    path = tmp_path / "m.eml"
    path.write_bytes(domain.sign(mail(SENDER)))
    for _ in range(5):
        assert authenticator.verdict(path).dkim == "pass"
    assert sorted(dns.asked) == ["_dmarc.163.com", "s2021._domainkey.163.com"]


def test_the_streamed_body_hash_is_dkimpys() -> None:
    """The body is hashed from the file in pieces, as dkimpy hashes the whole body in memory."""
    rng = random.Random(13)
    words = [b"a", b" ", b"\t", b"\r\n", b"\n", b"\r", b"x y", b"  \r\n", "中文".encode()]
    for _ in range(400):
        body = b"".join(rng.choice(words) for _ in range(rng.randint(0, 40)))
        parsed = dkim.DKIM(b"From: a@b.example\r\n\r\n" + body).body
        for relaxed, canon in ((False, Simple), (True, Relaxed)):
            length = rng.choice([None, 0, 3, 50])
            want = canon.canonicalize_body(parsed)
            want = want if length is None else want[:length]
            got = body_hash(io.BytesIO(body), relaxed=relaxed, algorithm="sha256", length=length)
            assert got == hashlib.sha256(want).digest(), (body, relaxed, length)


def test_a_body_split_into_small_pieces_hashes_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    body = b"line one  \r\nline\t two\r\n\r\n  \r\n" * 50
    whole = body_hash(io.BytesIO(body), relaxed=True, algorithm="sha256", length=None)
    monkeypatch.setattr(dkim_stream, "BODY_CHUNK", 7)
    assert body_hash(io.BytesIO(body), relaxed=True, algorithm="sha256", length=None) == whole


VICTIM_FROM = f"From: {SENDER}\r\n".encode()
IRREGULAR_FROMS = {
    "two addresses": f"From: {SENDER}, x@evil.example\r\n".encode(),
    "two From lines": f"From: {SENDER}\r\nFrom: x@evil.example\r\n".encode(),
}
GARBLED_NAME = f"From: =?utf-8?b?@@@?= <{SENDER}>\r\n".encode()  # an old client's broken encoded word


@pytest.mark.parametrize("how", list(IRREGULAR_FROMS))
def test_a_from_field_dmarc_cannot_judge_fails(tmp_path: Path, domain: SigningDomain, how: str) -> None:
    """The desk files the mail under the first address it reads; the verdict is about that address,
    and a From DMARC cannot judge (RFC 7489 6.6.1) is a permerror that fails, even signed by evil."""
    evil = SigningDomain("evil.example", dmarc="v=DMARC1; p=none")
    raw = evil.sign(mail(SENDER).replace(VICTIM_FROM, IRREGULAR_FROMS[how], 1))
    verdict = judge(tmp_path, raw, StubDns(domain, evil))
    assert (verdict.domain, verdict.dmarc) == ("163.com", "permerror")
    assert verdict.failed and verdict.reason_zh.startswith("发件人栏不规范：")


def test_a_garbled_display_name_is_judged_by_her_addresss_domain(tmp_path: Path, domain: SigningDomain) -> None:
    """One clear address behind a broken display name is hers: 163.com's DMARC judges it, so
    evil.example's signature fails it and 163.com's passes it."""
    evil = SigningDomain("evil.example", dmarc="v=DMARC1; p=none")
    forged = judge(tmp_path, evil.sign(mail(SENDER).replace(VICTIM_FROM, GARBLED_NAME, 1)), StubDns(domain, evil))
    assert (forged.domain, forged.from_problem, forged.dmarc, forged.failed) == ("163.com", None, "fail", True)
    genuine = judge(tmp_path, domain.sign(mail(SENDER).replace(VICTIM_FROM, GARBLED_NAME, 1)), StubDns(domain))
    assert (genuine.dmarc, genuine.failed) == ("pass", False)


def test_a_plain_display_name_is_no_from_problem(tmp_path: Path, domain: SigningDomain) -> None:
    for value in (
        f'"Li, Ming" <{SENDER}>',
        f"=?utf-8?b?5byg5LiJ?= <{SENDER}>",
        f"{SENDER} (李明)",
        f"{SENDER} <{SENDER}>",
    ):
        raw = domain.sign(mail(SENDER).replace(VICTIM_FROM, f"From: {value}\r\n".encode(), 1))
        verdict = judge(tmp_path, raw, StubDns(domain))
        assert (verdict.from_problem, verdict.dmarc, verdict.failed) == (None, "pass", False), value


def test_only_the_topmost_authentication_results_counts(tmp_path: Path, domain: SigningDomain) -> None:
    """Our server added no header of its own (a relay's is on top): the forger's with our id below
    it is not believed, and the mail is judged here."""
    relay = b"Authentication-Results: mx.relay.example; dkim=none; spf=none\r\n"
    forged = f"Authentication-Results: {MX}; dkim=pass header.d=163.com; spf=pass; dmarc=pass\r\n".encode()
    verdict = judge(tmp_path, relay + forged + mail(SENDER), StubDns(domain), trusted=MX)
    assert verdict.source == "verified"
    assert (verdict.dkim, verdict.spf, verdict.dmarc) == ("none", "none", "fail") and verdict.failed
    other = f"Authentication-Results: {MX}; dkim=none; dmarc=pass header.from=evil.example\r\n".encode()
    assert judge(tmp_path, other + mail(SENDER), StubDns(domain), trusted=MX).dmarc == "fail"  # not 163.com's
    spf_relay = f"Received-SPF: none receiver=mx.relay.example; envelope-from={SENDER}\r\n".encode()
    spf_forged = f"Received-SPF: pass receiver={MX}; envelope-from={SENDER}\r\n".encode()
    assert judge(tmp_path, spf_relay + spf_forged + mail(SENDER), StubDns(domain), trusted=MX).spf == "none"


def test_a_key_the_dns_could_not_give_is_no_dmarc_failure(tmp_path: Path, domain: SigningDomain) -> None:
    """The From domain's DMARC record is at hand but its DKIM key is not (a timeout): not known yet,
    so temperror, never a hold; a forger's own unanswerable key proves nothing for 163.com."""
    dns = StubDns(domain, SigningDomain("forger.example", dmarc=None))

    def keys_down(name: str) -> list[bytes]:
        if "._domainkey." in name:
            raise auth.DnsTemporaryError(f"{name}: timeout")
        return dns(name)

    verdict = judge(tmp_path, domain.sign(mail(SENDER)), keys_down)
    assert (verdict.dkim, verdict.dmarc, verdict.dmarc_policy) == ("temperror", "temperror", "reject")
    assert not verdict.failed
    forged = SigningDomain("forger.example", dmarc=None).sign(mail(SENDER))
    verdict = judge(tmp_path, forged, keys_down)
    assert (verdict.dkim, verdict.dmarc) == ("temperror", "fail") and verdict.failed
