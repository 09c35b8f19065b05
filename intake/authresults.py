"""What the receiving mail server says of a mail's sender: `Authentication-Results` (RFC 8601) and
`Received-SPF` (RFC 7208 9.1), believed only from the server the desk trusts.

Anyone can write either header into a mail before sending it, with any authserv-id. The receiving
server adds its own on top of what the mail carries (RFC 8601 §5), so only the topmost
Authentication-Results header can be the server's, and it counts only when its authserv-id is the
configured one (`NOMDESK_TRUSTED_AUTHSERV_ID`): a trusted id further down is a forger's, written
where our server added none or added one under another name. Received-SPF likewise: the topmost,
and only when its `receiver=` is that server.

The `authres` package was not used: its last release is from 2019; the parser here is small.
"""

from __future__ import annotations

import re
from email.message import Message

from pydantic import BaseModel, Field

NONE = "none"


def _segments(value: str) -> list[tuple[str, str]]:
    """`value` split at `;` outside quotes and comments: (text without comments, comments' text)."""
    out: list[tuple[str, str]] = []
    text, notes, depth, quoted, escaped = [], [], 0, False, False
    for ch in value:
        if escaped:
            (notes if depth else text).append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif quoted:
            text.append(ch)
            quoted = ch != '"'
        elif ch == "(":
            depth += 1
            notes.append(" ")
        elif ch == ")" and depth:
            depth -= 1
        elif depth:
            notes.append(ch)
        elif ch == '"':
            quoted = True
            text.append(ch)
        elif ch == ";":
            out.append(("".join(text), "".join(notes)))
            text, notes = [], []
        else:
            text.append(ch)
    out.append(("".join(text), "".join(notes)))
    return out


_RESULT = re.compile(r"^\s*([a-z0-9_-]+)\s*(?:/\s*\d+\s*)?=\s*([a-z]+)", re.I)
_PROPERTY = re.compile(r"\b([a-z]+)\.([a-z0-9_.-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)", re.I)
_POLICY_NOTE = re.compile(r"\bp\s*=\s*([a-z]+)", re.I)
_SPF_TAG = re.compile(r"([a-z-]+)=(\"[^\"]*\"|[^\s;]+)", re.I)


class AuthResult(BaseModel):
    method: str
    result: str
    properties: dict[str, str] = Field(default_factory=dict)  # "header.d" -> "163.com"
    note: str = ""  # the comments' text ("p=reject dis=none")


def parse_authentication_results(value: str) -> tuple[str, list[AuthResult]]:
    """(authserv-id, results) of one Authentication-Results value; ("", []) when unreadable."""
    segments = _segments(" ".join(value.split()))
    head = segments[0][0].split()
    if not head:
        return "", []
    results = []
    for text, note in segments[1:]:
        m = _RESULT.match(text)
        if m is None:
            continue
        props = {f"{p.lower()}.{k.lower()}": v.strip('"') for p, k, v in _PROPERTY.findall(text[m.end() :])}
        results.append(AuthResult(method=m[1].lower(), result=m[2].lower(), properties=props, note=note.strip()))
    return head[0].lower(), results


def domain_of(value: str | None) -> str | None:
    """The domain of "user@example.cn", "@example.cn" or "example.cn", lower case."""
    value = (value or "").strip().strip("<>").rstrip(".").lower()
    domain = value.rpartition("@")[2]
    return domain or None


def trusted_results(headers: Message, trusted: str | None) -> list[AuthResult] | None:
    """The results of the topmost Authentication-Results header when the trusted server wrote it;
    None when there is no trusted server, no such header, or the topmost is anyone else's."""
    if trusted is None:
        return None
    topmost = next(iter(headers.get_all("Authentication-Results") or []), None)
    if topmost is None:
        return None
    try:
        serv_id, results = parse_authentication_results(str(topmost))
    except Exception:  # a value no parse survives is no server's verdict
        return None
    return results if serv_id == trusted else None


def trusted_spf(headers: Message, told: list[AuthResult] | None, trusted: str | None) -> tuple[str, str | None]:
    """(SPF result, the envelope sender's domain) from the trusted server only: its
    Authentication-Results, else the topmost Received-SPF if its receiver= is that server."""
    spf = next((r for r in told or [] if r.method == "spf"), None)
    if spf is not None:
        mailfrom = spf.properties.get("smtp.mailfrom") or spf.properties.get("smtp.helo")
        return spf.result, domain_of(mailfrom)
    if trusted is None:
        return NONE, None
    first = next(iter(headers.get_all("Received-SPF") or []), None)  # the receiving server's is on top
    if first is None:
        return NONE, None
    text = " ".join(str(first).split())
    tags = {k.lower(): v.strip('"') for k, v in _SPF_TAG.findall(text)}
    if (tags.get("receiver") or "").lower() != trusted:
        return NONE, None
    word = (text.split() or [NONE])[0].lower()
    return word, domain_of(tags.get("envelope-from"))


def told_dkim(told: list[AuthResult]) -> tuple[list[str], list[str], list[str]]:
    """(each dkim result, the d= of those that passed, the d= of those that were temperror)."""
    results = [r for r in told if r.method == "dkim"]

    def domains(word: str) -> list[str]:
        found = (domain_of(r.properties.get("header.d") or r.properties.get("header.i")) for r in results)
        return [d for r, d in zip(results, found, strict=True) if d and r.result == word]

    return [r.result for r in results], domains("pass"), domains("temperror")


def told_dmarc(told: list[AuthResult] | None, from_domain: str | None) -> tuple[str, str | None] | None:
    """(result, policy) of the trusted server's dmarc result; None when it gave none, or judged
    another domain (`header.from`) than the one the desk files the mail under: its parser read the
    From field otherwise, so its verdict is not about this sender."""
    dmarc = next((r for r in told or [] if r.method == "dmarc"), None)
    if dmarc is None:
        return None
    judged = domain_of(dmarc.properties.get("header.from"))
    if judged is not None and judged != from_domain:
        return None
    m = _POLICY_NOTE.search(dmarc.note) or _POLICY_NOTE.search(dmarc.properties.get("policy.dmarc", ""))
    policy = m[1].lower() if m else dmarc.properties.get("policy.dmarc")
    return dmarc.result, policy
