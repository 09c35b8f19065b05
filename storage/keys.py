"""Keys for finding the same nominee across units without storing ID or phone numbers.

ID numbers and name + birth month + phone are stored as HMAC-SHA256 under a secret that
lives outside the database (NOMDESK_ID_HASH_KEY, else DIR/id-hash.key), so a copy of
the database alone does not give the numbers back by brute force.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from intake.names import name_key

ID_KEY_ENV = "NOMDESK_ID_HASH_KEY"
ID_KEY_FILE = "id-hash.key"


def load_or_create_key(data_dir: Path, env_name: str = ID_KEY_ENV, file_name: str = ID_KEY_FILE) -> bytes:
    """The secret named by `env_name`, else the one in DIR/`file_name` (made 0600 at the first start);
    the unit links' signing key (`storage.unit_links`) lives the same way under its own names."""
    env = os.environ.get(env_name)
    if env:
        return env.encode()
    path = Path(data_dir) / file_name
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    return key


def normalise_id_number(id_number: str) -> str:
    return re.sub(r"\s+", "", id_number).upper()


def normalise_name(name: str) -> str:
    """Project and person names as the intake compares them (`intake.names.name_key`): another unit's
    阿依古丽・买买提 or “书香南关” is the same nominee as 阿依古丽·买买提 or 书香南关."""
    return name_key(name)


def keyed_hash(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def id_hash(key: bytes, id_number: str | None) -> str | None:
    if not id_number or not normalise_id_number(id_number):
        return None
    return keyed_hash(key, "id:" + normalise_id_number(id_number))


def person_key(key: bytes, name: str | None, birth_month: str | None, phone: str | None) -> str | None:
    """name + birth month (YYYY-MM) + phone digits; None unless all three are known."""
    digits = re.sub(r"\D", "", phone or "")
    name = normalise_name(name or "")
    if not (name and birth_month and digits):
        return None
    return keyed_hash(key, f"person:{name}|{birth_month}|{digits}")
