"""The dashboard shows a failed check as 检查未完成, with the rule's error, never 材料齐全 (issue 13).

The seeded 延边 (complete) is checked again while one rule raises: the units list, the unit page
and the digest download say 检查未完成 and name the rule; once the rule works, a re-check clears it.
"""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from nomdesk.service import Service
from tests.support.dashboard import COMPLETE
from tests.support.rule_faults import LEAKED_ID, break_rules

BROKEN = "STAR_QUOTA"
UNIT_PAGE = f"/units/{quote(COMPLETE)}"

pytestmark = pytest.mark.rule_faults


def _row(html: str) -> str:
    return re.search(rf'<tr class="[^"]*" data-unit="{COMPLETE}".*?</tr>', html, re.S).group(0)


def _digest_row(office: TestClient) -> dict[str, object]:
    ws = load_workbook(io.BytesIO(office.get("/exports/digest.xlsx").content)).active
    rows = list(ws.iter_rows(values_only=True))
    return next(dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[rows[0].index("推荐单位")] == COMPLETE)


def test_a_failed_check_reads_check_incomplete(
    office: TestClient, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert 'data-state="complete"' in _row(office.get("/").text)
    break_rules(monkeypatch, [BROKEN])
    service.desk.evaluate(COMPLETE)

    row = _row(office.get("/").text)
    assert 'data-state="check_failed"' in row and ">检查未完成<" in row and f"规则 {BROKEN} 出错" in row
    assert "材料齐全" not in row and LEAKED_ID not in row
    page = office.get(UNIT_PAGE).text
    assert 'id="unit-state">检查未完成<' in page
    alert = re.search(r'<p class="alert check-failed".*?</p>', page, re.S).group(0)
    assert f"规则 {BROKEN} 出错" in alert and "人工核查" in alert and LEAKED_ID not in page
    assert "✓ 材料齐全" not in page and "检查未完成，待人工核查" in page  # no nominee card passes either
    assert f'data-unit="{COMPLETE}"' in office.get("/?state=check_failed").text
    digest = _digest_row(office)
    assert digest["状态"] == "检查未完成" and BROKEN in str(digest["检查问题"])

    monkeypatch.undo()  # the rule is fixed; the unit is checked again
    service.desk.evaluate(COMPLETE)
    row = _row(office.get("/").text)
    assert 'data-state="complete"' in row and "检查未完成" not in row
    assert 'id="check-error"' not in office.get(UNIT_PAGE).text
    assert _digest_row(office)["状态"] == "材料齐全"
