"""Long answers cut into phone screens: the first now, the next on "更多".

A clerk reads the bot on a phone: an answer of 26 lines is scrolled past, and its count and
first items are what is read. So an answer is made of blocks (a finding and its fix, a heading
and its first finding) that are never split across screens, and cut into screens of at most
SCREEN_LINES lines and SCREEN_CHARS characters; the screens not yet shown wait in the store's
key-value state for the same WeCom user (as bot/withdraw_dialog.py keeps a withdrawal), so any
desk process answers the "更多" and a new question simply replaces them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from storage.repo import Store

SCREEN_LINES = 12  # a phone shows about this many lines of a WeCom message without scrolling
SCREEN_CHARS = 600
MORE_WINDOW = dt.timedelta(hours=2)  # how long "更多" continues the last long answer
MORE_KEY = "wecom:more:{}"  # kv, per WeCom user: the screens of the last answer not yet shown
MORE_WORD = "更多"
NO_MORE = "没有更多内容了。发送“缺什么”可重新查看需处理的问题，发送“帮助”查看全部功能。"


def screens(blocks: list[list[str]], *, lines: int = SCREEN_LINES, chars: int = SCREEN_CHARS) -> list[list[str]]:
    """The blocks' lines cut into screens, each within `lines` lines and `chars` characters once a
    footer line ("第 1/3 屏…") is added; a block stays on one screen unless it alone is too big."""
    room_lines, room_chars = lines - 1, chars - len(_footer(99, 99)) - 1
    pages: list[list[str]] = [[]]
    for block in blocks:
        for part in _parts(block, room_lines, room_chars):
            page = pages[-1]
            if page and (len(page) + len(part) > room_lines or _size(page + part) > room_chars):
                pages.append([])
            pages[-1].extend(part)
    return [p for p in pages if p]


def _parts(block: list[str], room_lines: int, room_chars: int) -> list[list[str]]:
    """A block as it may go on screens: whole when it fits one, else line by line, each line cut to fit."""
    if len(block) <= room_lines and _size(block) <= room_chars:
        return [block]
    return [[line if len(line) <= room_chars else line[: room_chars - 1] + "…"] for line in block]


def _size(lines: list[str]) -> int:
    return sum(len(line) for line in lines) + max(len(lines) - 1, 0)


def _footer(shown: int, total: int) -> str:
    return f"（第 {shown}/{total} 屏）回复「{MORE_WORD}」查看下一屏"


class Pager:
    """The screens of one user's last long answer, kept between their messages."""

    def __init__(self, store: Store, *, clock: Callable[[], dt.datetime]) -> None:
        self.store = store
        self.clock = clock

    def first(self, user_id: str, blocks: list[list[str]]) -> str:
        """The first screen of `blocks`; the rest are kept for "更多" (or forgotten: a short answer
        replaces what an earlier long one left)."""
        pages = screens(blocks)
        key = MORE_KEY.format(user_id)
        if len(pages) <= 1:
            self.store.state.kv_delete(key)
            return "\n".join(pages[0]) if pages else ""
        state = json.dumps({"pages": pages, "shown": 1}, ensure_ascii=False)
        self.store.state.kv_set(key, state, self.clock() + MORE_WINDOW)
        return "\n".join([*pages[0], _footer(1, len(pages))])

    def more(self, user_id: str) -> str:
        """The next screen of the user's last long answer, or what to do when there is none."""
        key = MORE_KEY.format(user_id)
        raw = self.store.state.kv_get(key, now=self.clock())
        if raw is None:
            return NO_MORE
        state = json.loads(raw)
        pages: list[list[str]] = state["pages"]
        shown = int(state["shown"]) + 1
        if shown >= len(pages):
            self.store.state.kv_delete(key)
            return "\n".join([*pages[-1], f"（第 {len(pages)}/{len(pages)} 屏，已全部显示）"])
        state["shown"] = shown
        self.store.state.kv_set(key, json.dumps(state, ensure_ascii=False), self.clock() + MORE_WINDOW)
        return "\n".join([*pages[shown - 1], _footer(shown, len(pages))])
