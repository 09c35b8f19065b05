from __future__ import annotations

import io
import logging

import pytest

from config.masking import MaskingFilter, install_masking, mask_id_number, mask_phone, mask_text, mask_value


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "138****5678"
    assert mask_phone("0433-2513420") == "*******3420"
    assert mask_phone("") == ""


def test_mask_id_number() -> None:
    assert mask_id_number("22240119800101123X") == "2224**********123X"
    assert mask_id_number("222401800101123") == "2224*******1123"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("联系电话：13812345678。", "联系电话：138****5678。"),
        ("电话 138 1234 5678 或 +8613912345678", "电话 138****5678 或 139****5678"),
        ("身份证号22240119800101123x，", "身份证号2224**********123x，"),
        ("旧证 222401800101123 ", "旧证 2224*******1123 "),
        ("金哲洙 22240119800101123X 13812345678", "金哲洙 2224**********123X 138****5678"),
        # pinyin prefixes in file names do not shield a number
        ("cannot read sfz220102198001011234宋丽萍推荐表.docx", "cannot read sfz2201**********1234宋丽萍推荐表.docx"),
        ("tel13987654321.jpg, sfz22240119800101123Xzp.jpg", "tel139****4321.jpg, sfz2224**********123Xzp.jpg"),
        # credentials a library logs in URLs
        (
            "GET /cgi-bin/gettoken?corpid=ww1&corpsecret=s3cr3t HTTP/1.1",
            "GET /cgi-bin/gettoken?corpid=ww1&corpsecret=*** HTTP/1.1",
        ),
        ("POST /cgi-bin/message/send?access_token=AbC-123_x", "POST /cgi-bin/message/send?access_token=***"),
        ("webhook/send?key=693a91f6-7xxx", "webhook/send?key=***"),
    ],
)
def test_mask_text_finds_numbers_in_free_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2021年8月30日前报送，电话0431-82857798",  # the office's landline is public
        "sha256 a3f1c2d4e5b6978812345678901234567890abcd",  # digits inside a hex digest
        "订单号 202108301234567890123",  # a longer digit run is not an ID number
        "附件 视频.mp4 大小 1048576 字节",
    ],
)
def test_mask_text_leaves_other_numbers_alone(text: str) -> None:
    assert mask_text(text) == text


def test_mask_value_masks_nested_structures_and_sensitive_keys() -> None:
    value = {"phone": "0433-2513420", "rows": [{"id_number": "222401198001011234", "note": "手机13812345678"}], "n": 3}
    assert mask_value(value) == {
        "phone": "*******3420",
        "rows": [{"id_number": "2224**********1234", "note": "手机138****5678"}],
        "n": 3,
    }


def _logger_with_stream() -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logger = logging.getLogger("privacy-test")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream, handler


def test_masking_filter_masks_messages_args_and_tracebacks() -> None:
    logger, stream, handler = _logger_with_stream()
    handler.addFilter(MaskingFilter())

    logger.info("sender %s phone %s", "金哲洙", "13812345678")
    try:
        raise ValueError("bad id 22240119800101123X")
    except ValueError:
        logger.exception("row failed for %s", "222401198001011234")

    out = stream.getvalue()
    assert "sender 金哲洙 phone 138****5678" in out
    assert "row failed for 2224**********1234" in out
    assert "ValueError: bad id 2224**********123X" in out
    for secret in ("13812345678", "22240119800101123X", "222401198001011234"):
        assert secret not in out


def test_install_masking_covers_child_loggers_through_the_handlers() -> None:
    logger, stream, handler = _logger_with_stream()
    install_masking(logger)
    install_masking(logger)  # twice is harmless
    assert sum(isinstance(f, MaskingFilter) for f in handler.filters) == 1

    logging.getLogger("privacy-test.child").warning("call 13912345678")

    assert stream.getvalue().strip() == "privacy-test.child call 139****5678"


def test_a_broken_format_string_is_still_logged_masked() -> None:
    logger, stream, handler = _logger_with_stream()
    handler.addFilter(MaskingFilter())
    logger.info("phone %d", "13812345678")
    assert "138****5678" in stream.getvalue()
    assert "13812345678" not in stream.getvalue()
