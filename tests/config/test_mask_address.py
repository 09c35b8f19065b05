"""How the operator's log names whom a reply went to: enough to tell units apart, not the address."""

from __future__ import annotations

import pytest

from config.masking import mask_address


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("zhang.san@163.com", "zh***@163.com"),
        ("abc@qq.com", "a***@qq.com"),  # a short local part keeps one character
        ("ZhangSan", "Zh***"),  # a WeCom account
        ("", "***"),
    ],
)
def test_mask_address(address: str, masked: str) -> None:
    assert mask_address(address) == masked
