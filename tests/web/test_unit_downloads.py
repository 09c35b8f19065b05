"""A unit page's downloads over HTTP: the materials .zip and each stored file, only behind the
office login and only under the unit that sent the file, with the Chinese names kept (RFC 5987)."""

from __future__ import annotations

import io
import re
import zipfile
from urllib.parse import quote, unquote

from fastapi.testclient import TestClient

from nomdesk.materials_zip import CHUNK, unit_zip
from nomdesk.service import Service
from schedule.status import collect_status
from tests.support.dashboard import COMPLETE, INCOMPLETE

UNIT = f"/units/{quote(COMPLETE)}"


def file_links(html: str) -> list[tuple[str, str]]:
    """(href, logical path) of every single-file download link on a unit page."""
    return re.findall(r'<a href="(/units/[^"]+/files/\d+/download)" data-file="([^"]+)"', html)


def test_a_visitor_without_a_login_gets_no_file(client: TestClient, service: Service) -> None:
    record = next(f for s in service.store.submissions.of_unit(COMPLETE) for f in service.store.submissions.files(s.id))
    for path in (f"{UNIT}/materials.zip", f"{UNIT}/files/{record.id}/download"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_a_file_is_served_only_under_its_own_unit(office: TestClient, service: Service) -> None:
    page = office.get(UNIT).text
    links = file_links(page)
    assert len(links) == sum(
        len(service.store.submissions.files(s.id)) for s in service.store.submissions.of_unit(COMPLETE)
    )
    href, path = links[0]
    response = office.get(href)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"  # never shown in the dashboard's origin
    assert response.headers["x-content-type-options"] == "nosniff"
    disposition = response.headers["content-disposition"]
    assert (
        disposition.startswith("attachment;")
        and f"filename*=UTF-8''{quote(path.rsplit('/', 1)[-1], safe='')}" in disposition
    )
    # Another unit's page does not serve it; nor does a number nobody has.
    other = href.replace(quote(COMPLETE, safe=""), quote(INCOMPLETE, safe=""))
    assert office.get(other).status_code == 404
    assert office.get(f"{UNIT}/files/999999/download").status_code == 404


def test_the_zip_carries_the_units_tree_and_its_roster(office: TestClient) -> None:
    response = office.get(f"{UNIT}/materials.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    name = unquote(response.headers["content-disposition"].split("filename*=UTF-8''", 1)[1])
    assert name == f"{COMPLETE}-材料.zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "推荐名单.xlsx" in names and all(n.startswith(f"{COMPLETE}/") for n in names if n != "推荐名单.xlsx")
    assert office.get("/units/%E4%B8%8D%E5%AD%98%E5%9C%A8/materials.zip").status_code == 404  # 不存在: no such unit


def test_the_zip_is_streamed_a_file_at_a_time(service: Service) -> None:
    """Never the whole archive in memory: a chunk per file read (at most CHUNK of it), then the
    central directory; together they are a valid archive."""
    status = next(s for s in collect_status(service.store, service.campaign) if s.name == COMPLETE)
    chunks = list(unit_zip(service.store, status))
    data = b"".join(chunks)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        count = len(archive.namelist())
    assert len([c for c in chunks if c]) >= count > 10
    assert max(map(len, chunks)) <= CHUNK + 64 * 1024  # a read's worth and its entry header, never more
