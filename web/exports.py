"""The dashboard's downloads: the roster for the expert review, the digest workbook, the contacts,
and on a unit's page its materials as one .zip and each stored file on its own.

Both workbooks are the very ones the office gets elsewhere, built by the same code from the same
statuses, so a download never disagrees with them: the roster is `nomdesk export roster`'s
(nomdesk.exports), the digest is the daily mail's attachment (schedule.digest). The unit's .zip
is `nomdesk export materials`' tree for that unit (nomdesk.materials_zip), streamed.

A stored file is what a unit sent: it is always a download (attachment, octet-stream, nosniff),
never shown in the dashboard's own origin, where an .html or .svg a unit mailed could run script.
Every file name is sent as RFC 6266 / RFC 5987 `filename*=UTF-8''…` with an ASCII fallback, so
a Chinese name arrives as written in every browser.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from fastapi.responses import FileResponse, Response, StreamingResponse

from config.campaign import Campaign
from nomdesk.exports import roster_xlsx as build_roster
from nomdesk.materials_zip import unit_zip, zip_name
from schedule.digest import digest_xlsx as build_digest_workbook
from schedule.digest import office_digest
from schedule.status import UnitStatus, collect_status
from storage.repo import Store
from storage.tables import FileRecord

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def roster_xlsx(store: Store, campaign: Campaign) -> bytes:
    """Exactly what `nomdesk export roster` writes (nomdesk/cli/reports.py `export_roster`): both
    build it with nomdesk.exports.roster_xlsx from the same statuses."""
    return build_roster(store, collect_status(store, campaign))


def digest_xlsx(store: Store, campaign: Campaign, now: dt.datetime) -> bytes:
    """The daily digest workbook, exactly as the office receives it by mail: its 待确认 count is
    every waiting mail, those no unit could be guessed for too (as schedule.jobs counts it)."""
    waiting = store.submissions.waiting_mails()
    digest = office_digest(store, campaign, collect_status(store, campaign, waiting=waiting), now, waiting)
    return build_digest_workbook(digest, campaign)  # its 较上次变化 sheet too, as the mailed one has


def attachment_headers(filename: str) -> dict[str, str]:
    """A download's headers: its name as written (RFC 6266 filename*, RFC 5987 UTF-8), an ASCII
    fallback for old clients (no quote, backslash or control character in it), and nosniff."""
    ascii_name = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "_" for c in filename)
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
    return {"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"}


def xlsx_response(data: bytes, filename: str) -> Response:
    """A workbook as a download, its Chinese file name kept."""
    return Response(data, media_type=XLSX_TYPE, headers=attachment_headers(filename))


def unit_zip_response(store: Store, status: UnitStatus) -> StreamingResponse:
    """The unit's materials .zip, streamed as it is written (no Content-Length: it is not known)."""
    return StreamingResponse(
        unit_zip(store, status), media_type="application/zip", headers=attachment_headers(zip_name(status))
    )


def stored_file_response(store: Store, record: FileRecord) -> FileResponse:
    """One stored file, under its own name, as a download (see the module's docstring)."""
    name = record.path.rsplit("/", 1)[-1] or "file"
    return FileResponse(
        store.submissions.file_path(record), media_type="application/octet-stream", headers=attachment_headers(name)
    )
