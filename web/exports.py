"""The dashboard's downloads: the roster for the expert review and the digest workbook.

Interface for the pages: `roster_xlsx(store, campaign, now)` and `digest_xlsx(store, campaign,
now)` return the .xlsx bytes. The digest is schedule/'s, the same workbook the daily mail
carries. The roster builder of `nomdesk export roster` is being written elsewhere; until it
lands the small openpyxl builder here stands in, and then `roster_xlsx` is to call it.
"""

from __future__ import annotations

import datetime as dt
import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from config.campaign import Campaign
from storage.repo import Store

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sheet(ws: Worksheet, header: list[str], rows: list[list[object]], widths: list[int]) -> None:
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    for index, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + index)].width = width
    ws.freeze_panes = "A2"


def _bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def roster_xlsx(store: Store, campaign: Campaign, now: dt.datetime) -> bytes:
    """Every nominee of every unit (withdrawn ones left out), one sheet for stars, one for projects."""
    stars: list[list[object]] = []
    projects: list[list[object]] = []
    for unit in store.unit_overview():
        for n in store.unit_nominees(unit.name):
            mark = "是" if n.exemplar else ""
            if n.kind == "star":
                f = n.fields
                stars.append(
                    [len(stars) + 1, unit.name, n.name, f.get("gender"), f.get("group"), f.get("employer_title"), mark]
                )
            else:
                f = n.fields
                projects.append([len(projects) + 1, unit.name, n.name, f.get("category"), f.get("organizer"), mark])
    wb = Workbook()
    ws = wb.active
    ws.title = "百姓学习之星"
    _sheet(
        ws, ["序号", "推荐单位", "姓名", "性别", "人群类别", "工作单位及职务", "典范"], stars, [6, 26, 12, 6, 14, 36, 6]
    )
    _sheet(
        wb.create_sheet("终身学习品牌项目"),
        ["序号", "推荐单位", "项目名称", "项目类别", "申报单位", "典范"],
        projects,
        [6, 26, 40, 16, 30, 6],
    )
    wb.properties.title = f"{campaign.name} 推荐名单（{now.astimezone(campaign.tz):%Y-%m-%d}）"
    return _bytes(wb)


def digest_xlsx(store: Store, campaign: Campaign, now: dt.datetime) -> bytes:
    """The daily digest workbook, exactly as the office receives it by mail (schedule.digest)."""
    from schedule.digest import build_digest
    from schedule.digest import digest_xlsx as build_workbook
    from schedule.status import collect_status

    return build_workbook(build_digest(collect_status(store, campaign), campaign, now), campaign)
