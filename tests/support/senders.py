"""Mail domains that sign their mail, for sender authentication tests: a DKIM key made here, the
mail signed with dkimpy as a provider's server would, and a DNS stub (a dict) serving the public
key and the domain's DMARC record. The desk takes the stub as its TXT lookup (`Desk(dns=...)`)."""

from __future__ import annotations

import base64
import functools

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from intake.authentication import DnsTemporaryError


@functools.cache
def _key(bits: int = 2048) -> tuple[bytes, bytes]:
    """(private key PEM, the DNS record's p=), one per test session: making one takes a while."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(public)


class SigningDomain:
    """A mail domain with a DKIM key under `selector` and a DMARC record (`dmarc`, None: none)."""

    def __init__(self, domain: str, *, selector: str = "s2021", dmarc: str | None = "v=DMARC1; p=reject") -> None:
        self.domain, self.selector, self.dmarc = domain, selector, dmarc
        self.private, public = _key()
        self.records: dict[str, list[bytes]] = {
            f"{selector}._domainkey.{domain}": [b"v=DKIM1; k=rsa; p=" + public],
        }
        if dmarc is not None:
            self.records[f"_dmarc.{domain}"] = [dmarc.encode()]

    def sign(self, raw: bytes) -> bytes:
        """The mail as the domain's server sends it: a DKIM-Signature on top (relaxed/relaxed)."""
        signature = dkim.sign(
            raw,
            self.selector.encode(),
            self.domain.encode(),
            self.private,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id", b"content-type"],
        )
        return signature + raw


class StubDns:
    """A TXT lookup over the domains' records; `down` makes every lookup a temporary failure."""

    def __init__(self, *domains: SigningDomain) -> None:
        self.records: dict[str, list[bytes]] = {}
        for d in domains:
            self.records.update(d.records)
        self.down = False
        self.asked: list[str] = []

    def __call__(self, name: str) -> list[bytes]:
        name = name.rstrip(".").lower()
        self.asked.append(name)
        if self.down:
            raise DnsTemporaryError(f"{name}: timeout")
        return list(self.records.get(name, []))
