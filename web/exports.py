"""The dashboard's downloads: the roster for the expert review, the digest workbook, the contacts.

Both are the very workbooks the office gets elsewhere, built by the same code from the same
statuses, so a download never disagrees with them: the roster is `nomdesk export roster`'s
(nomdesk.exports), the digest is the daily mail's attachment (schedule.digest).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from fastapi.responses import Response

from config.campaign import Campaign
from nomdesk.exports import roster_xlsx as build_roster
from schedule.digest import build_digest
from schedule.digest import digest_xlsx as build_digest_workbook
from schedule.status import collect_status
from storage.repo import Store

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def roster_xlsx(store: Store, campaign: Campaign) -> bytes:
    """Exactly what `nomdesk export roster` writes (nomdesk/cli/reports.py `export_roster`): both
    build it with nomdesk.exports.roster_xlsx from the same statuses."""
    return build_roster(store, collect_status(store, campaign))


def digest_xlsx(store: Store, campaign: Campaign, now: dt.datetime) -> bytes:
    """The daily digest workbook, exactly as the office receives it by mail: its 待确认 count is
    every waiting mail, those no unit could be guessed for too (as schedule.jobs counts it)."""
    waiting = len(store.submissions.waiting_mails())
    digest = build_digest(collect_status(store, campaign), campaign, now, waiting=waiting)
    return build_digest_workbook(digest, campaign)


def xlsx_response(data: bytes, filename: str) -> Response:
    """A workbook as a download, its Chinese file name kept (RFC 6266 filename*, ASCII fallback)."""
    ascii_name = filename.encode("ascii", "replace").decode()
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=XLSX_TYPE, headers={"Content-Disposition": disposition})
