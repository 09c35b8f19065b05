"""WeCom's callback crypto, written from the protocol description on `cryptography` primitives.

Deliberately independent of wechatpy: the desk decrypts with wechatpy, the simulator
encrypts with this, and both are checked against Tencent's published test vectors, so
a bug shared by the two cannot hide.

Scheme: AES-256-CBC, key = b64decode(EncodingAESKey + "="), IV = key[:16];
plaintext = 16 random bytes + 4-byte big-endian message length + message + corp id,
PKCS#7-padded to 32-byte blocks; signature = sha1 over the sorted concatenation of
token, timestamp, nonce and the base64 ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeCom pads to 32 bytes, not AES's 16


class WeComCryptoError(ValueError):
    """Ciphertext that does not decrypt into a well-formed WeCom plaintext."""


def aes_key_bytes(aes_key: str) -> bytes:
    key = base64.b64decode(aes_key + "=")
    if len(key) != 32:
        raise WeComCryptoError(f"EncodingAESKey must decode to 32 bytes, got {len(key)}")
    return key


def _pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    if not data:
        raise WeComCryptoError("empty plaintext")
    n = data[-1]
    if not 1 <= n <= BLOCK or data[-n:] != bytes([n]) * n:
        raise WeComCryptoError("bad PKCS#7 padding")
    return data[:-n]


def _cipher(key: bytes) -> Cipher:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(plaintext: str, *, aes_key: str, corp_id: str, random16: bytes | None = None) -> str:
    rnd = os.urandom(16) if random16 is None else random16
    if len(rnd) != 16:
        raise ValueError("random16 must be 16 bytes")
    body = plaintext.encode("utf-8")
    raw = _pad(rnd + struct.pack(">I", len(body)) + body + corp_id.encode("utf-8"))
    enc = _cipher(aes_key_bytes(aes_key)).encryptor()
    return base64.b64encode(enc.update(raw) + enc.finalize()).decode("ascii")


def decrypt(b64: str, *, aes_key: str) -> tuple[str, str]:
    """Return (message, corp id); the caller decides whether the corp id is the expected one."""
    try:
        data = base64.b64decode(b64, validate=True)
    except ValueError as exc:
        raise WeComCryptoError("ciphertext is not base64") from exc
    if not data or len(data) % 16:
        raise WeComCryptoError("ciphertext length is not a multiple of the AES block")
    dec = _cipher(aes_key_bytes(aes_key)).decryptor()
    raw = _unpad(dec.update(data) + dec.finalize())
    if len(raw) < 20:
        raise WeComCryptoError("plaintext too short")
    (length,) = struct.unpack(">I", raw[16:20])
    if 20 + length > len(raw):
        raise WeComCryptoError("message length exceeds plaintext")
    try:
        return raw[20 : 20 + length].decode("utf-8"), raw[20 + length :].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WeComCryptoError("plaintext is not UTF-8 (wrong key?)") from exc


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, str(timestamp), str(nonce), encrypt])).encode("utf-8")).hexdigest()


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def encrypted_envelope(
    xml_message: str, token: str, aes_key: str, corp_id: str, agent_id: str | int, timestamp: str, nonce: str
) -> tuple[str, str]:
    """The POST body WeCom sends to a callback URL, and the msg_signature for its query string."""
    enc = encrypt(xml_message, aes_key=aes_key, corp_id=corp_id)
    body = (
        f"<xml><ToUserName>{_cdata(corp_id)}</ToUserName>"
        f"<AgentID>{_cdata(str(agent_id))}</AgentID>"
        f"<Encrypt>{_cdata(enc)}</Encrypt></xml>"
    )
    return body, signature(token, timestamp, nonce, enc)
