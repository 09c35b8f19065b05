"""ID and phone numbers encrypted at rest: a copy of the database alone does not give them back.

The key is NOMDESK_SECRET_KEY (settings.secret_key) or, without it, DIR/secret.key, made at the
first start with mode 0600 and refused when its mode lets others read it. Fernet (AES-128-CBC +
HMAC-SHA256, from `cryptography`) seals each value; a sealed string is "enc1:<token>".

What is sealed, decided per string of a JSON value (`Sealer.seal`):
- the value of a phone / ID key (`config.masking.is_sensitive_key`), whatever its shape;
- any other string that holds an ID number, a mobile or a landline anywhere in it, as a whole
  (a mail body, a 事迹 text, a subject, a file name): no cipher text inside prose, so opening
  is exact and a value is either wholly sealed or wholly plain;
- a string that already starts with "enc1:" (a unit could write that), so opening gives it back.
Every other string (names, dates, counts, paths without numbers) stays plain and readable to SQL.

Not sealed: the raw_message / outbox columns (a mail's subject and addresses: the desk looks
senders up by address, and letters quote numbers only masked), file names, the office's notes,
and the blob store (each raw mail and file byte for byte, as the office must be able to open it).
A dict's keys are never sealed (they are nominee names and field names).

The columns that hold such values (submission.summary, dossier_snapshot.dossier,
finding.params/evidence, contact.phone) are typed `SealedJSON` / `SealedText` in
`storage.tables`: sealing happens in the column type, on every write and read, so the
repositories and every floor above them see plain values exactly as before. Rows written before
sealing existed read as they are (plain values pass through), and `storage.reseal` seals them
all once, at the first `Store.open` with this code (a marker in key_value says it is done). A
sealed value read with another key raises `SealError` (never garbage), and `Store.open` checks
the key against a sealed probe first, so a wrong key stops the start with a clear message
instead of failing on the first dossier read.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import stat
import weakref
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import JSON, String
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator

from config.masking import has_personal_number, is_sensitive_key

log = logging.getLogger(__name__)

SECRET_KEY_FILE = "secret.key"
SEALED_PREFIX = "enc1:"
MIN_SECRET_CHARS = 16
KEY_CHECK = "pii:key-check"  # a key-value holding a sealed probe: the key the data was sealed with
_PROBE = "nomdesk-secret-key-check"
# A programming error (an engine used without Store.open), but the one who reads it is whoever
# started the desk: it says what to do in Chinese.
NO_KEY_BOUND = "数据库未加载个人信息密钥（应通过 Store.open 打开数据库），为避免明文写入，已停止操作"


class SealError(RuntimeError):
    """A sealed value could not be opened: the secret key is not the one it was sealed with."""


def load_or_create_secret(data_dir: Path, configured: str | None = None) -> bytes:
    """NOMDESK_SECRET_KEY when set, else DIR/secret.key (made now, 0600, if absent).

    The file is written under a temporary name and linked into place, so two processes starting
    at once both read the one complete key. A key file others may read is refused, as ssh does.
    """
    if configured:
        if len(configured.strip()) < MIN_SECRET_CHARS:
            raise ValueError(
                f"NOMDESK_SECRET_KEY 太短：至少需要 {MIN_SECRET_CHARS} 个字符（建议随机生成），请修改后重新启动"
            )
        return configured.strip().encode()
    path = Path(data_dir) / SECRET_KEY_FILE
    if not path.exists():
        _create_key_file(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise PermissionError(
            f"密钥文件 {path} 权限过宽（当前为 {mode:03o}，应为 600），请执行 chmod 600 {path} 后重新启动"
        )
    key = path.read_bytes().strip()
    if len(key) < MIN_SECRET_CHARS:
        raise ValueError(
            f"密钥文件 {path} 内容无效（过短）：请从备份恢复原密钥文件，或设置 NOMDESK_SECRET_KEY 后重新启动"
        )
    return key


def _create_key_file(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_urlsafe(32).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process made it first: theirs is the key
        log.info("created the secret key file %s (keep a copy: without it sealed data cannot be read)", path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


class Sealer:
    """Seals and opens strings and JSON values under one secret."""

    def __init__(self, secret: bytes) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"nomdesk pii v1").derive(secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    # ---- strings -----------------------------------------------------------------------------

    def seal_text(self, text: str) -> str:
        return SEALED_PREFIX + self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open_text(self, text: str) -> str:
        if not is_sealed(text):
            return text
        try:
            return self._fernet.decrypt(text[len(SEALED_PREFIX) :].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            raise SealError(
                "无法解密已加密的个人信息：NOMDESK_SECRET_KEY（或 secret.key）与加密时使用的密钥不同，"
                "请换回原密钥后重新启动"
            ) from None

    def seal_string(self, text: str, key: str | None = None) -> str:
        """The string sealed when it is (or holds) a personal number, else as it is."""
        if not text:
            return text
        if is_sensitive_key(key) or is_sealed(text) or has_personal_number(text):
            return self.seal_text(text)
        return text

    def reseal_string(self, text: str, key: str | None = None) -> str:
        """`seal_string` for a value read raw from the database: one already sealed with this key is
        returned as it is (no new token, no write), so sealing twice changes nothing. A string that
        starts with "enc1:" but does not open is a unit's own text from before sealing: sealed."""
        if is_sealed(text) and self._opens(text):
            return text
        return self.seal_string(text, key)

    def reseal_text(self, text: str) -> str:
        """`reseal_string` for a column sealed whenever not empty (`SealedText`)."""
        if not text or (is_sealed(text) and self._opens(text)):
            return text
        return self.seal_text(text)

    def _opens(self, text: str) -> bool:
        try:
            self.open_text(text)
        except SealError:
            return False
        return True

    # ---- JSON values -------------------------------------------------------------------------

    def seal(self, value: Any, key: str | None = None) -> Any:
        """A JSON-like value with every personal string sealed (see the module docstring)."""
        if isinstance(value, dict):
            return {k: self.seal(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.seal(v, key) for v in value]
        if isinstance(value, str):
            return self.seal_string(value, key)
        return value

    def reseal(self, value: Any, key: str | None = None) -> Any:
        """`seal` for a JSON value read raw from the database (`reseal_string` on every string)."""
        if isinstance(value, dict):
            return {k: self.reseal(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.reseal(v, key) for v in value]
        if isinstance(value, str):
            return self.reseal_string(value, key)
        return value

    def open(self, value: Any) -> Any:
        """The inverse of `seal`; plain values (rows written before sealing) pass through.

        Every dossier read walks a few hundred thousand strings, so a plain string or number is
        taken as it is without a call per value; only containers and sealed strings recurse."""
        if isinstance(value, dict):
            return {k: v if _plain(v) else self.open(v) for k, v in value.items()}
        if isinstance(value, list):
            return [v if _plain(v) else self.open(v) for v in value]
        if isinstance(value, str):
            return self.open_text(value)
        return value

    def probe(self) -> str:
        return self.seal_text(_PROBE)

    def check_probe(self, sealed: str) -> None:
        """Raises SealError unless `sealed` (from `probe`) was made with this key."""
        if self.open_text(sealed) != _PROBE:
            raise SealError(
                "密钥校验失败：NOMDESK_SECRET_KEY（或 secret.key）不是加密本库数据时使用的密钥，请换回原密钥后重新启动"
            )


def is_sealed(text: str) -> bool:
    return isinstance(text, str) and text.startswith(SEALED_PREFIX)


_NUMBERS = frozenset({int, float, bool, type(None)})  # JSON scalars that are never sealed


def _plain(value: object) -> bool:
    """A JSON scalar `Sealer.open` gives back as it is: a number, a flag, null, a string not sealed."""
    kind = type(value)
    return kind in _NUMBERS or (kind is str and not value.startswith(SEALED_PREFIX))  # type: ignore[attr-defined]


# ---- the column types ---------------------------------------------------------------------------
# A column type sees only the dialect, and each engine has its own: the store binds its sealer to
# its engine's dialect when it opens (`bind_sealer`).

_SEALERS: weakref.WeakKeyDictionary[Dialect, Sealer] = weakref.WeakKeyDictionary()


def bind_sealer(engine: Engine, sealer: Sealer) -> None:
    _SEALERS[engine.dialect] = sealer


def _sealer(dialect: Dialect) -> Sealer:
    sealer = _SEALERS.get(dialect)
    if sealer is None:
        # Never write personal data in the clear because a caller forgot the key.
        raise SealError(NO_KEY_BOUND)
    return sealer


def _open(value: Any, dialect: Dialect) -> Any:
    if value is None:
        return None
    sealer = _SEALERS.get(dialect)
    if sealer is None:
        if _holds_sealed(value):
            raise SealError(NO_KEY_BOUND)
        return value
    return sealer.open(value)


def _holds_sealed(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_sealed(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_sealed(v) for v in value)
    return is_sealed(value)


class SealedJSON(TypeDecorator[Any]):
    """A JSON column whose personal strings are sealed in the database."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else _sealer(dialect).seal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return _open(value, dialect)


class SealedText(TypeDecorator[str]):
    """A text column that holds a personal number (a contact's phone): sealed whenever not empty."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _sealer(dialect).seal_text(value) if value else value

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return _open(value, dialect)
