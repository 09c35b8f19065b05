"""Fitting answers into WeCom's byte limits without cutting a character or a line."""

from __future__ import annotations


def split_utf8(text: str, limit: int) -> list[str]:
    """Parts of at most `limit` UTF-8 bytes, split at line ends where possible, never inside a character."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode("utf-8")) > limit:  # one line longer than a whole part
            cut = limit
            chunk = line.encode("utf-8")[:cut].decode("utf-8", errors="ignore")
            if current:
                parts.append(current)
                current = ""
            parts.append(chunk)
            line = line[len(chunk) :]
        if len((current + line).encode("utf-8")) > limit:
            parts.append(current)
            current = line
        else:
            current += line
    if current or not parts:
        parts.append(current)
    return [p.rstrip("\n") for p in parts]
