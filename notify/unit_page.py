"""What a receipt says of the recipient's unit page: the link line, and the offer beside a
large-file link (LINK_PENDING) to upload that file there instead of waiting for the office.

The link itself is made by storage.unit_link_urls (the bot gives it out too); here is only how a
receipt words it, in text and in HTML.
"""

from __future__ import annotations

import html

from storage.unit_link_urls import LINK_LINE_ZH
from validators.base import Finding
from validators.rules.files import LinkPending

LINK_PENDING = LinkPending.code  # a large-file or cloud-drive link in a mail, for the office to fetch
LINK_PENDING_UPLOAD_ZH = "也可以打开本单位材料页面直接上传该文件，无需等待办公室下载"


def link_lines(link: str) -> tuple[str, str]:
    """(the text line, the HTML paragraph) giving the recipient her page's link."""
    e = html.escape
    return f"{LINK_LINE_ZH}{link}", f'<p>{e(LINK_LINE_ZH)}<a href="{e(link)}">{e(link)}</a></p>'


def link_pending_line(finding: Finding, hint: str, link: str | None) -> str:
    """A large-file link's hint (LINK_PENDING) with the unit page's offer when the recipient has a
    page: she need not wait for the office to fetch the file, she can upload it there herself."""
    if finding.code != LINK_PENDING or not link:
        return hint
    return f"{hint}；{LINK_PENDING_UPLOAD_ZH}：{link}" if hint else f"{LINK_PENDING_UPLOAD_ZH}：{link}"
