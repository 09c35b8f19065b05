"""Encoded words as Chinese senders' clients write them, mixed with raw text."""

from __future__ import annotations

import pytest

from intake.filenames import decode_words


def raw(text: bytes) -> str:
    """A header value as the mail parser hands it over: raw 8-bit bytes surrogate-escaped."""
    return text.decode("ascii", "surrogateescape")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # raw UTF-8 next to an encoded word (decode_header made this "[\\u8865\\u5145] 延边州")
        (raw("[补充] ".encode() + b"=?UTF-8?B?5bu26L655bee?="), "[补充] 延边州"),
        (raw("【补充】".encode("gbk") + b"=?gb2312?B?0dOx39bd?="), "【补充】延边州"),
        # whitespace between two encoded words is not text (RFC 2047 6.2)
        ("=?UTF-8?B?5bu26L65?= =?UTF-8?B?5bee?=", "延边州"),
        ("=?UTF-8?B?5bu26L65?=\r\n =?UTF-8?B?5bee?=", "延边州"),
        # inside a quoted parameter, Q encoding with underscores, a language suffix
        ('"=?GBK?Q?=D1=D3=B1=DF_=D6=DD?=.docx"', '"延边 州.docx"'),
        ("=?utf-8*zh?B?5bu26L655bee?=", "延边州"),
        ("Re: plain text", "Re: plain text"),
    ],
)
def test_encoded_words(value: str, expected: str) -> None:
    assert decode_words(value) == expected
