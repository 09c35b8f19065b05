"""The unit page marks a form read from a stamped scan where the office reads the nominee's card:
"扫描件（自动识别）" beside the form and in the checklist, and "盖章扫描件✓" (with the scan's file
name) for a Word form that came with its scan. The dossier is saved as the desk saves one."""

from __future__ import annotations

import html as markup
import re
from urllib.parse import quote

from fastapi.testclient import TestClient

from config.campaign import Campaign
from nomdesk.service import Service
from tests.support.dashboard import COMPLETE
from tests.support.dossiers import STAR_NAMES
from tests.support.scanned_forms import build, scan_of, scan_path, submission_of, with_forms
from validators import run_rules

KIM, PARK, CHOI = STAR_NAMES[0], STAR_NAMES[1], STAR_NAMES[2]


def test_the_unit_page_marks_scanned_forms(office: TestClient, service: Service, campaign: Campaign) -> None:
    sub = submission_of(campaign, scanned_only={KIM: ("phone",)})
    park = next(f for f in sub.star_forms if f.fields.name == PARK)
    dossier = build(campaign, with_forms(sub, scan_of(park, scan_path(park), 0)))
    assert dossier.unit == COMPLETE
    service.store.evaluations.save(COMPLETE, dossier, run_rules(dossier, campaign))

    page = office.get(f"/units/{quote(COMPLETE)}").text
    cards = re.findall(r'data-nominee="([^"]+)">(.*?)</article>', page, re.S)
    text = {name: markup.unescape(re.sub(r"<[^>]+>", "", card)) for name, card in cards}
    kim, park_card, choi = text[KIM], text[PARK], text[CHOI]
    assert f"推荐表：{KIM}推荐表（盖章扫描件）.pdf 扫描件（自动识别）" in kim
    assert "推荐表 扫描件（自动识别）⚠" in kim and "扫描件中以下栏目未能自动识别：联系电话，请补发 Word 版推荐表" in kim
    assert f"推荐表：{PARK}推荐表.docx" in park_card and f"盖章扫描件：{PARK}推荐表（盖章扫描件）.pdf" in park_card
    assert "推荐表✓，盖章扫描件✓" in park_card and "自动识别" not in park_card
    assert "扫描件" not in choi
