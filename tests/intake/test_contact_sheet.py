"""The office's contact sheet as offices really type it: found by header names under a merged
title, cells cleaned, bad rows named by the row number Excel shows; and the sheet written back
with every value as text."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from config import Campaign
from intake.contact_sheet import (
    CONTACT_TEMPLATE_FILE,
    ContactRow,
    ContactSheetError,
    contacts_template_xlsx,
    contacts_xlsx,
    read_contact_sheet,
    split_addresses,
    write_contact_template,
)
from tests.support.sheets import workbook_bytes


def messy_sheet() -> bytes:
    """A merged title row, columns reordered under other names, full-width spaces, NBSP, two
    addresses in one cell, a phone Excel stored as a number, a blank row."""
    return workbook_bytes(
        [
            ["2021年联系人名单"],
            ["序号", "邮箱（多个用分号隔开）", "联系人姓名", "单位名称", "手机", "企业微信ID", "职务"],
            [
                1,
                "cc_jyj@163.com；ＬＩ＠ｑｑ．ｃｏｍ",
                "王\u3000芳",
                "\xa0长春市\u3000",
                13812345678.0,
                " wangfang ",
                "经办人",
            ],
            [None, None, None, None, None, None, None],
            [2, " jl_edu@126.com ", "赵德明", "吉林市教育局", "0431-8888888", None, None],
        ],
        merges=("A1:G1",),
    )


def test_a_messy_sheet_reads_by_header_names() -> None:
    sheet = read_contact_sheet(messy_sheet(), "联系人.xlsx")
    assert sheet.header_row == 2
    assert [r.model_dump() for r in sheet.rows] == [
        {
            "row": 3,
            "unit": "长春市",
            "name": "王芳",
            "phone": "13812345678",
            "emails": ["cc_jyj@163.com", "li@qq.com"],
            "wecom_user": "wangfang",
            "role": "经办人",
            "problems": [],
        },
        {
            "row": 5,  # the blank row 4 is skipped, the numbers stay the sheet's
            "unit": "吉林市教育局",
            "name": "赵德明",
            "phone": "0431-8888888",
            "emails": ["jl_edu@126.com"],
            "wecom_user": None,
            "role": "",
            "problems": [],
        },
    ]


def test_bad_rows_are_named_and_the_rest_read() -> None:
    data = workbook_bytes(
        [
            ["单位", "联系人", "邮箱", "电话"],
            ["长春市", "王芳", "wangfang@163", None],
            ["吉林市", "", "a@b.cn", None],
            ["", "赵德明", "c@d.cn", None],
            ["四平市", "李四", "A@B.cn", None],
            ["辽源市", "周五", "ok@e.cn", "0437-1234567"],
        ]
    )
    rows = read_contact_sheet(data).rows
    assert {r.row: r.problems for r in rows} == {
        2: ["邮箱“wangfang@163”格式不正确"],
        3: ["没有填写联系人姓名"],
        4: ["没有填写单位"],
        5: ["邮箱“a@b.cn”与第 3 行重复"],
        6: [],
    }


@pytest.mark.parametrize(
    ("cell", "good", "bad"),
    [
        ("a@b.cn; c@d.cn", ["a@b.cn", "c@d.cn"], []),
        ("a@b.cn，c@d.cn、e@f.cn/g@h.cn\nx@y.cn", ["a@b.cn", "c@d.cn", "e@f.cn", "g@h.cn", "x@y.cn"], []),
        ("张三 <Zhang@Example.com>", ["zhang@example.com"], []),
        ("abc＠163。com", ["abc@163.com"], []),
        ("abc@163", [], ["abc@163"]),
        ("abc.163.com", [], ["abc.163.com"]),
        ("a@b.cn a@b.cn", ["a@b.cn"], []),
    ],
)
def test_addresses_in_one_cell(cell: str, good: list[str], bad: list[str]) -> None:
    assert split_addresses(cell) == (good, bad)


def test_merged_unit_cells_apply_to_every_row_they_span() -> None:
    data = workbook_bytes(
        [["单位", "联系人", "邮箱"], ["长春市", "王芳", "a@b.cn"], [None, "李明", "c@d.cn"]], merges=("A2:A3",)
    )
    assert [(r.unit, r.name) for r in read_contact_sheet(data).rows] == [("长春市", "王芳"), ("长春市", "李明")]


def test_a_file_that_is_no_contact_sheet_is_refused_in_chinese() -> None:
    with pytest.raises(ContactSheetError, match="不是 Excel 表格"):
        read_contact_sheet("单位,联系人\n长春市,王芳\n".encode(), "contacts.csv")
    no_header = workbook_bytes([["姓名", "性别"], ["王芳", "女"]])
    with pytest.raises(ValueError, match="没有找到表头"):
        read_contact_sheet(no_header, "附表2.xlsx")
    buried = workbook_bytes([[f"说明 {n}"] for n in range(10)] + [["单位", "联系人"], ["长春市", "王芳"]])
    with pytest.raises(ContactSheetError, match="前 10 行"):
        read_contact_sheet(buried)


def test_the_written_sheet_keeps_every_value_as_text_and_reads_back() -> None:
    rows = [
        ContactRow(
            unit="长春市教育局", name='=HYPERLINK("http://x")', phone="+8613812345678", emails=["a@b.cn", "c@d.cn"]
        ),
        ContactRow(unit="吉林市教育局", name="@赵德明", phone="0431-8888888", wecom_user="-zhao", role="负责人"),
    ]
    data = contacts_xlsx(rows)
    ws = load_workbook(io.BytesIO(data)).active
    assert ws is not None
    assert [c.value for c in ws[1]] == ["单位", "联系人", "电话", "邮箱", "企业微信账号", "角色"]
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert all(c.data_type == "s" for row in ws.iter_rows(min_row=2) for c in row if c.value is not None)
    assert ws["B2"].value == '=HYPERLINK("http://x")'
    back = read_contact_sheet(data).rows
    assert [r.model_dump(exclude={"row"}) for r in back] == [r.model_dump(exclude={"row"}) for r in rows]


def test_the_template_reads_as_no_contacts(tmp_path, campaign: Campaign) -> None:
    path = write_contact_template(tmp_path / "out", campaign)
    assert path.name == CONTACT_TEMPLATE_FILE
    sheet = read_contact_sheet(path.read_bytes(), path.name)
    assert sheet.rows == [] and sheet.header_row == 2
    notes = load_workbook(path)["填写说明"]
    names = [c.value for c in notes["D"] if c.value]
    assert names[1:] == [u.name for u in campaign.units]
    assert contacts_template_xlsx() != b""
