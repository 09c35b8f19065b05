"""WeCom's access token kept in the database, so restarts and several desk processes share it.

WeCom limits how often a token may be fetched; an in-memory cache per process would
fetch one per process and per restart.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from wechatpy.session import SessionStorage

from storage.repo import Store


class StoreTokenStorage(SessionStorage):
    def __init__(self, store: Store, prefix: str = "wecom:session:") -> None:
        self.store = store
        self.prefix = prefix

    def get(self, key: str, default: Any = None) -> Any:
        value = self.store.state.kv_get(self.prefix + key)
        return default if value is None else json.loads(value)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if value is None:
            return
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl) if ttl else None
        self.store.state.kv_set(self.prefix + key, json.dumps(value), expires)

    def delete(self, key: str) -> None:
        self.store.state.kv_delete(self.prefix + key)
