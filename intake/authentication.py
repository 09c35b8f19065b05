"""Is the From address of a mail really its sender's? DKIM, SPF and DMARC as the desk can know them.

Anyone can write any From line: a mail "from" a unit's registered contact must not change the
unit's dossier unless the sender's domain vouches for it. Two sources, in this order:

1. The receiving mail server's `Authentication-Results` (RFC 8601): the topmost one only, and only
   when its authserv-id is the one configured (`NOMDESK_TRUSTED_AUTHSERV_ID`); SPF likewise from
   the topmost `Received-SPF` whose `receiver=` is that server (intake.authresults). Only a server
   that saw the connecting IP can judge SPF, so without one SPF is "none".
2. Otherwise (and for DKIM when that server reported none) the desk verifies DKIM itself (dkimpy,
   the body hashed from the file: intake.dkim_stream) and evaluates DMARC (RFC 7489) from DNS.

The From domain is the domain of the address the desk itself takes as the sender
(`intake.headers.envelope`, the first mailbox of the first From line): judging any other address
would let `From: victim@163.com, x@evil.example` be judged as evil.example's and filed as the
victim's. A From field DMARC cannot judge (two From lines, two addresses, one the parser cannot
read, no From line at all) is a `permerror` that fails the mail (`from_problem`): its domain would
never have vouched for it.

Decisions, so nobody is held for the desk's own trouble:
- A DNS failure (timeout, SERVFAIL) is `temperror`, never `fail`, and never holds a mail; a DKIM key
  the DNS could not give for the From domain makes DMARC `temperror` too, unless something else
  aligned passed.
- DMARC `p=none` is monitoring: recorded (`dmarc_policy`), not held. Only quarantine/reject hold.
- The organizational domain is the last two labels, three under a country's second level
  ("jlu.edu.cn", "x.com.cn"); no Public Suffix List (its packages are years old).
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from email.message import Message
from email.utils import getaddresses
from pathlib import Path
from typing import BinaryIO, Literal

from pydantic import BaseModel, Field

from intake.authresults import (
    AuthResult,
    domain_of,
    parse_authentication_results,
    told_dkim,
    told_dmarc,
    trusted_results,
    trusted_spf,
)
from intake.dkim_stream import BODY_CHUNK, body_hash, header_only_dkim
from intake.filenames import unescape_raw
from intake.headers import RAW_PARSER, envelope, header_value, mailbox

__all__ = [
    "BODY_CHUNK",
    "AuthResult",
    "AuthVerdict",
    "CachedLookup",
    "DnsTemporaryError",
    "SenderAuthenticator",
    "TxtLookup",
    "aligned",
    "body_hash",
    "dnspython_lookup",
    "from_address",
    "no_dns",
    "organizational_domain",
    "parse_authentication_results",
    "read_header_block",
]

log = logging.getLogger(__name__)

# RFC 8601 result words the desk keeps (anything else is kept as given, lower case).
PASS, FAIL, NONE, TEMPERROR, PERMERROR = "pass", "fail", "none", "temperror", "permerror"
SPF_FAILS = frozenset({"fail", "softfail"})
HOLDING_POLICIES = frozenset({"quarantine", "reject"})
HEADER_BLOCK_MAX = 4 << 20  # a header block larger than this is not read (no mail client writes one)
KEY_CACHE_SECONDS = 3600.0  # a DKIM key or DMARC record is looked up at most once an hour
NEGATIVE_CACHE_SECONDS = 600.0  # "no such record" is asked again sooner (a domain may just publish one)
CACHE_ENTRIES = 4096
# Second-level labels under which registrations sit one level deeper ("edu.cn", "com.cn", "gov.cn"),
# and the provinces' ("jl.cn").
SECOND_LEVEL = frozenset({"com", "net", "org", "gov", "edu", "ac", "co", "mil"})
CN_PROVINCES = frozenset(
    {"bj", "sh", "tj", "cq", "he", "sx", "nm", "ln", "jl", "hl", "js", "zj", "ah", "fj", "jx", "sd"}
    | {"ha", "hb", "hn", "gd", "gx", "hi", "sc", "gz", "yn", "xz", "sn", "gs", "qh", "nx", "xj"}
)
# What can be wrong with a From field (AuthVerdict.from_problem), as the office reads it.
FROM_PROBLEMS = {
    "several_lines": "邮件有多个 From 行",
    "several_addresses": "From 栏有多个发件地址",
    "unreadable": "From 栏无法正常解析",
    "missing": "邮件没有 From 行",
}


class DnsTemporaryError(Exception):
    """The DNS did not answer (timeout, SERVFAIL, no server): try again later, never a verdict."""


# A TXT lookup: the records at `name` (each record's strings joined), [] when there is none;
# raises DnsTemporaryError when DNS could not say. The seam tests replace with a dict.
TxtLookup = Callable[[str], list[bytes]]


def dnspython_lookup(timeout: float = 3.0) -> TxtLookup:
    """The system resolver through dnspython, giving up after `timeout` seconds in all."""
    import dns.exception
    import dns.resolver

    resolver = dns.resolver.Resolver()
    resolver.lifetime = timeout
    resolver.timeout = min(timeout, 2.0)

    def lookup(name: str) -> list[bytes]:
        try:
            answer = resolver.resolve(name.rstrip(".") + ".", "TXT", raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as exc:  # timeout, SERVFAIL, no nameserver
            raise DnsTemporaryError(f"{name}: {type(exc).__name__}") from exc
        if answer.rrset is None:
            return []
        return [b"".join(record.strings) for record in answer.rrset]

    return lookup


def no_dns(name: str) -> list[bytes]:
    """No lookups at all (`NOMDESK_SENDER_AUTH_DNS=false`): every record is absent, so only a
    trusted Authentication-Results header can hold a mail."""
    return []


class CachedLookup:
    """TXT answers kept for an hour (absent ones ten minutes), so a unit's twentieth mail costs no
    DNS; temporary failures are not kept. Thread-safe; bounded."""

    def __init__(
        self,
        lookup: TxtLookup,
        *,
        ttl: float = KEY_CACHE_SECONDS,
        negative_ttl: float = NEGATIVE_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        entries: int = CACHE_ENTRIES,
    ) -> None:
        self.lookup, self.ttl, self.negative_ttl, self.clock, self.entries = lookup, ttl, negative_ttl, clock, entries
        self._cache: OrderedDict[str, tuple[float, list[bytes]]] = OrderedDict()
        self._lock = threading.Lock()
        self.misses = 0

    def clear(self) -> None:
        """Forget every answer (a domain's key changed and the office cannot wait the hour)."""
        with self._lock:
            self._cache.clear()

    def __call__(self, name: str) -> list[bytes]:
        key = name.lower().rstrip(".")
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > now:
                self._cache.move_to_end(key)
                return hit[1]
        self.misses += 1
        records = self.lookup(key)  # DnsTemporaryError goes to the caller, uncached
        with self._lock:
            self._cache[key] = (now + (self.ttl if records else self.negative_ttl), records)
            while len(self._cache) > self.entries:
                self._cache.popitem(last=False)
        return records


class AuthVerdict(BaseModel):
    """What the desk knows of a mail's sender: stored with the submission (summary["auth"])."""

    dkim: str = NONE  # pass, fail, none, temperror, permerror, neutral, policy
    spf: str = NONE  # pass, fail, softfail, neutral, none, temperror, permerror
    dmarc: str = NONE  # pass, fail, none, temperror, permerror
    dmarc_policy: str | None = None  # none / quarantine / reject, when a DMARC record was found or told
    domain: str | None = None  # the From address's domain (the address the desk takes as the sender)
    dkim_domains: list[str] = Field(default_factory=list)  # the d= of every signature that passed
    source: Literal["header", "verified", "none"] = "none"
    from_problem: str | None = None  # a From field DMARC cannot judge (FROM_PROBLEMS): dmarc permerror

    @property
    def failed(self) -> bool:
        """DKIM and SPF both fail, the From domain's DMARC policy (quarantine/reject) fails, or the
        From field cannot be judged at all. A temporary error is never a failure: the desk's DNS
        trouble must not hold a real mail."""
        if self.from_problem is not None:
            return True
        dkim_failed = self.dkim not in (PASS, TEMPERROR)
        both = dkim_failed and self.spf in SPF_FAILS
        dmarc = self.dmarc == FAIL and (self.dmarc_policy or "").lower() != "none"
        return both or dmarc

    @property
    def reason_zh(self) -> str:
        """The office's one sentence ("发件人地址未通过验证：DKIM 签名无效，SPF 未通过")."""
        if self.from_problem is not None:
            what = FROM_PROBLEMS.get(self.from_problem, self.from_problem)
            return f"发件人栏不规范：{what}，无法按发件域的 DMARC 策略确认发件人"
        parts = []
        if self.dkim != PASS:
            parts.append(
                {NONE: "邮件没有 DKIM 签名", FAIL: "DKIM 签名无效", PERMERROR: "DKIM 签名无法验证"}.get(
                    self.dkim, f"DKIM 结果为 {self.dkim}"
                )
            )
        if self.spf in SPF_FAILS:
            parts.append("SPF 未通过" + ("（softfail）" if self.spf == "softfail" else ""))
        if self.dmarc == FAIL:
            policy = f"（p={self.dmarc_policy}）" if self.dmarc_policy else ""
            parts.append(f"不符合发件域 {self.domain or ''} 的 DMARC 策略{policy}")
        how = "（据收信服务器的验证结果）" if self.source == "header" else ""
        return "发件人地址未通过验证：" + "，".join(parts) + how


# -- the stored mail's header block and its From ------------------------------------------------
def read_header_block(f: BinaryIO) -> bytes | None:
    """The header lines up to the empty line (the file is left at the body's start); None when the
    block exceeds HEADER_BLOCK_MAX."""
    block = bytearray()
    while True:
        line = f.readline(HEADER_BLOCK_MAX + 1)
        if not line or line in (b"\n", b"\r\n"):
            return bytes(block)
        block += line
        if len(block) > HEADER_BLOCK_MAX:
            return None


def from_address(headers: Message) -> tuple[str | None, str | None]:
    """(the address the desk takes as the mail's sender, what is wrong with the From field or None).

    The address is `intake.headers.envelope`'s, the one the desk files the mail under. The field is
    wrong when DMARC (RFC 7489 6.6.1) could not judge it: two From lines, two addresses in one, a
    value the parser cannot read into exactly that one address, or a sender found without a From."""
    address = envelope(headers).sender
    if not address:
        return None, None  # nobody's address: nothing to judge, nothing to impersonate
    lines = headers.get_all("From") or []
    if len(lines) != 1:
        return address, "several_lines" if lines else "missing"
    value = unescape_raw(header_value(headers, "from") or "")
    try:
        pairs = [(name, a.strip()) for name, a in getaddresses([value]) if name or a.strip()]
    except Exception:  # a value no parser version can read
        return address, "unreadable"
    found = {mailbox(a)[1].lower() for _, a in pairs if mailbox(a)[1]}
    if len(found) > 1:
        return address, "several_addresses"  # the same address twice ("a@b.cn <a@b.cn>") is still one
    if found != {address}:  # the parser finds another address than the desk files it under
        return address, "unreadable"
    # A garbled display name (an old client's broken encoded words) beside one clear address is
    # hers: DMARC judges that address's domain, as the desk files the mail under it.
    return address, None


def organizational_domain(domain: str) -> str:
    """Last two labels; three under a second-level registry ("jlu.edu.cn", "x.com.cn", "x.jl.cn")."""
    labels = domain.lower().rstrip(".").split(".")
    keep = 2
    if len(labels) >= 3 and len(labels[-1]) == 2:
        registry = labels[-2] in SECOND_LEVEL or (labels[-1] == "cn" and labels[-2] in CN_PROVINCES)
        keep = 3 if registry else 2
    return ".".join(labels[-keep:])


def aligned(domain: str | None, from_domain: str, strict: bool) -> bool:
    if not domain:
        return False
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if strict:
        return domain == from_domain
    return organizational_domain(domain) == organizational_domain(from_domain)


def _tags(record: bytes) -> dict[str, str]:
    text = record.decode("ascii", "replace")
    tags = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags[key.strip().lower()] = value.strip()
    return tags


class _Dkim(BaseModel):
    """The DKIM signatures' outcome: one result, the d= of those that passed and of those whose key
    the DNS could not give (temperror)."""

    result: str = NONE
    passed: list[str] = Field(default_factory=list)
    temporary: list[str] = Field(default_factory=list)


class SenderAuthenticator:
    """Judges a stored mail's sender (see the module's docstring). One per desk: its DNS cache
    lives as long as the desk."""

    def __init__(self, lookup: TxtLookup, *, trusted_authserv_id: str | None, dns_timeout: float = 3.0) -> None:
        self.lookup = lookup if isinstance(lookup, CachedLookup) else CachedLookup(lookup)
        self.trusted = (trusted_authserv_id or "").strip().lower() or None
        self.dns_timeout = dns_timeout

    def verdict(self, path: Path) -> AuthVerdict:
        """The verdict on the mail stored at `path`; never raises for what the mail contains."""
        with path.open("rb") as f:
            block = read_header_block(f)
            if block is None:
                return AuthVerdict(dkim=PERMERROR)
            body_at = f.tell()
            headers = RAW_PARSER.parsebytes(block, headersonly=True)
            address, from_problem = from_address(headers)
            from_domain = domain_of(address) if address else None
            told = trusted_results(headers, self.trusted)
            spf, mailfrom = trusted_spf(headers, told, self.trusted)
            results, passed, temporary = told_dkim(told or [])
            if results:  # the trusted server's word on DKIM
                sigs = _Dkim(result=_combine(results), passed=passed, temporary=temporary)
            else:  # no trusted server, or it checked no DKIM: verified here
                sigs = self._verify_dkim(block, f, body_at)
        source: Literal["header", "verified", "none"] = "header" if told is not None else "verified"
        if from_problem is not None:
            dmarc, policy = PERMERROR, None
        elif (said := told_dmarc(told, from_domain)) is not None:
            dmarc, policy = said
        else:
            dmarc, policy = self._dmarc(from_domain, sigs, spf, mailfrom)
        return AuthVerdict(
            dkim=sigs.result,
            spf=spf,
            dmarc=dmarc,
            dmarc_policy=policy,
            domain=from_domain,
            dkim_domains=sigs.passed,
            source=source,
            from_problem=from_problem,
        )

    def _verify_dkim(self, block: bytes, f: BinaryIO, body_at: int) -> _Dkim:
        """Every DKIM-Signature verified here; pass when one passes (with its d=)."""
        import dkim  # dkimpy and dnspython load on the first mail judged (intake.dkim_stream)

        temp = False
        missing = False
        hashes: dict[tuple[str, bool, int | None, bool], bytes] = {}

        def dnsfunc(name: bytes | str, timeout: int = 5) -> bytes | None:
            nonlocal temp, missing
            name = name.decode("ascii", "replace") if isinstance(name, bytes) else name
            try:
                records = self.lookup(name)
            except DnsTemporaryError as exc:
                temp = True
                raise dkim.DnsTimeoutError(str(exc)) from exc
            key = next((r for r in records if b"p=" in r), None)
            missing = key is None
            return key

        def check_body(sig: dict) -> bool:
            algorithm = {b"rsa-sha256": "sha256", b"ed25519-sha256": "sha256", b"rsa-sha1": "sha1"}[sig[b"a"]]
            canon = sig.get(b"c", b"simple/simple").split(b"/")
            relaxed = (canon[1] if len(canon) > 1 else b"simple") == b"relaxed"
            length = int(sig[b"l"]) if b"l" in sig else None
            expected = base64.b64decode(re.sub(rb"\s+", b"", sig[b"bh"]))
            for bare_lf in (False, True):  # as sent (CRLF), then as stored with bare LFs if that differs
                key = (algorithm, relaxed, length, bare_lf)
                if key not in hashes:
                    f.seek(body_at)
                    hashes[key] = body_hash(f, relaxed=relaxed, algorithm=algorithm, length=length, bare_lf=bare_lf)
                if hashes[key] == expected:
                    return True
            return False

        try:
            signer = header_only_dkim(block, check_body, self.dns_timeout)
        except dkim.DKIMException:
            return _Dkim(result=PERMERROR)
        count = sum(1 for name, _ in signer.headers if name.lower() == b"dkim-signature")
        out = _Dkim()
        results = []
        for idx in range(count):
            temp = missing = False
            signer.domain = None
            try:
                ok = signer.verify(idx=idx, dnsfunc=dnsfunc)
            except dkim.ValidationError:
                results.append(FAIL)
                continue
            except Exception as exc:  # a malformed signature, whatever dkimpy raises for it: not a pass
                log.info("DKIM signature %d unverifiable: %s: %s", idx, type(exc).__name__, exc)
                results.append(PERMERROR)
                continue
            domain = signer.domain.decode("ascii", "replace").lower() if signer.domain else None
            if ok:
                results.append(PASS)
                if domain:
                    out.passed.append(domain)
            else:
                results.append(TEMPERROR if temp else PERMERROR if missing else FAIL)
                if temp and domain:
                    out.temporary.append(domain)
        out.result = _combine(results)
        return out

    def _dmarc(self, from_domain: str | None, sigs: _Dkim, spf: str, mailfrom: str | None) -> tuple[str, str | None]:
        """(result, policy) of the From domain's DMARC record (then its organizational domain's)."""
        if not from_domain:
            return NONE, None
        org = organizational_domain(from_domain)
        try:
            found = self._dmarc_record(from_domain)
            subdomain = False
            if found is None and org != from_domain:
                found, subdomain = self._dmarc_record(org), True
        except DnsTemporaryError:
            return TEMPERROR, None
        if found is None:
            return NONE, None
        policy = (found.get("sp") if subdomain else None) or found.get("p")
        if policy is None or policy.lower() not in ("none", "quarantine", "reject"):
            return PERMERROR, None
        policy = policy.lower()
        strict_dkim = found.get("adkim", "r").lower() == "s"
        dkim_ok = any(aligned(d, from_domain, strict_dkim) for d in sigs.passed)
        spf_ok = spf == PASS and aligned(mailfrom, from_domain, found.get("aspf", "r").lower() == "s")
        if dkim_ok or spf_ok:
            return PASS, policy
        # An aligned signature whose key the DNS could not give may well have passed: not known yet
        # (RFC 7489 6.6.2), so never a failure. A temperror of another domain's signature proves
        # nothing for this one: a forger could add one whose key server never answers.
        if any(aligned(d, from_domain, strict_dkim) for d in sigs.temporary):
            return TEMPERROR, policy
        return FAIL, policy

    def _dmarc_record(self, domain: str) -> dict[str, str] | None:
        records = [r for r in self.lookup(f"_dmarc.{domain}") if r.strip().lower().startswith(b"v=dmarc1")]
        return _tags(records[0]) if len(records) == 1 else None  # none, or several: no policy (RFC 7489 6.6.3)


def _combine(results: list[str]) -> str:
    """Several signatures' results as one: pass if any passed, else the most telling failure."""
    if not results:
        return NONE
    for word in (PASS, TEMPERROR, FAIL, PERMERROR):
        if word in results:
            return word
    return results[0]
