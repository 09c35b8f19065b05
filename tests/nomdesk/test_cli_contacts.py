"""`nomdesk contacts` as the office runs it: add, list, import (exit 1 naming each bad row),
export, remove; and `nomdesk templates` writing the contact template that imports nothing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from config import Campaign
from intake.contact_sheet import CONTACT_TEMPLATE_FILE, read_contact_sheet
from storage.repo import Store
from tests.support.sheets import workbook_bytes

CHANGCHUN = "长春市教育局"


def nomdesk(*args: str | Path) -> Result:
    from nomdesk import cli

    return CliRunner().invoke(cli.app, [str(a) for a in args])


def sheet(path: Path, rows: list[list[object]]) -> Path:
    path.write_bytes(workbook_bytes([["姓名", "手机", "单位", "邮箱"], *rows]))
    return path


def test_add_list_remove(tmp_path: Path) -> None:
    data = tmp_path / "var"
    added = nomdesk(
        "contacts", "add", "长春市", "王芳", "--email", "wf@qq.com", "--phone", "13812345678", "--data-dir", data
    )
    assert added.exit_code == 0, added.output
    assert "已添加联系人 王芳（编号" in added.stdout and f"到 {CHANGCHUN}：wf@qq.com" in added.stdout

    listed = nomdesk("contacts", "list", "长春市", "--data-dir", data)
    assert listed.exit_code == 0, listed.output
    assert "王芳" in listed.stdout and "138****5678" in listed.stdout and "wf@qq.com" in listed.stdout
    assert "13812345678" not in listed.stdout  # phones are listed masked (issue 13)
    assert "伍凤霞" not in listed.stdout  # another unit's
    everyone = nomdesk("contacts", "list", "--data-dir", data)
    assert "伍凤霞" in everyone.stdout and "王芳" in everyone.stdout
    assert "没有联系人的单位" in everyone.stdout and "吉林市教育局" in everyone.stdout

    refused = nomdesk("contacts", "add", "吉林市", "张三", "--email", "wf@qq.com", "--data-dir", data)
    assert refused.exit_code == 2
    assert f"已登记为“{CHANGCHUN}”的联系人王芳的邮箱" in refused.stderr

    with Store.open(data) as store:
        (wang,) = store.contacts.list(CHANGCHUN)
    assert wang.added_by == "office:cli"
    removed = nomdesk("contacts", "remove", str(wang.id), "--data-dir", data)
    assert removed.exit_code == 0, removed.output
    assert f"已删除 {CHANGCHUN} 的联系人 王芳" in removed.stdout
    assert "长春市教育局 还没有登记联系人" in nomdesk("contacts", "list", "长春", "--data-dir", data).stdout
    again = nomdesk("contacts", "remove", str(wang.id), "--data-dir", data)
    assert again.exit_code == 2 and f"没有编号为 {wang.id} 的联系人" in again.stderr


def test_a_unit_is_its_full_name_an_alias_or_its_short_name_never_a_text_containing_one(tmp_path: Path) -> None:
    data = tmp_path / "var"
    school = nomdesk("contacts", "add", "长春市第一中学", "王芳", "--email", "wf@qq.com", "--data-dir", data)
    assert school.exit_code == 2
    assert "单位“长春市第一中学”不明确，是否指“长春市教育局”？请填写单位全称" in school.stderr
    listed = nomdesk("contacts", "list", "长春市第一中学", "--data-dir", data)
    assert listed.exit_code == 2 and "是否指“长春市教育局”" in listed.stderr
    assert "找不到单位：北京" in nomdesk("contacts", "list", "北京", "--data-dir", data).stderr

    short = nomdesk("contacts", "add", "长春", "王芳", "--email", "wf@qq.com", "--data-dir", data)
    assert short.exit_code == 0, short.output
    assert f"到 {CHANGCHUN}：wf@qq.com" in short.stdout
    assert "王芳" in nomdesk("contacts", "list", "\u3000长春\u3000", "--data-dir", data).stdout


def test_import_names_bad_rows_and_exits_1_then_export_reads_back(tmp_path: Path, campaign: Campaign) -> None:
    data = tmp_path / "var"
    path = sheet(
        tmp_path / "名单.xlsx",
        [
            ["王芳", 13812345678, "长春市", "wf@qq.com"],
            ["张三", None, "北京市", "zs@qq.com"],
            ["李四", None, "吉林市", "ls@"],
        ],
    )
    run = nomdesk("contacts", "import", path, "--data-dir", data)
    assert run.exit_code == 1, run.output
    assert "已导入 名单.xlsx：新增 1 人，更新 0 人，未变 0 人；2 行有问题，未导入" in run.stdout
    assert "第 3 行：单位“北京市”不在本次活动的单位名单中" in run.stdout
    assert "第 4 行：邮箱“ls@”格式不正确" in run.stdout

    good = sheet(tmp_path / "好.xlsx", [["王芳", 13812345678, "长春市", "wf@qq.com"]])
    twice = nomdesk("contacts", "import", good, "--data-dir", data)
    assert twice.exit_code == 0, twice.output
    assert "新增 0 人，更新 0 人，未变 1 人" in twice.stdout

    out = tmp_path / "导出" / "联系人.xlsx"
    exported = nomdesk("contacts", "export", out, "--data-dir", data)
    assert exported.exit_code == 0, exported.output
    rows = read_contact_sheet(out.read_bytes()).rows
    assert ("长春市教育局", "王芳", "13812345678", ["wf@qq.com"]) in [(r.unit, r.name, r.phone, r.emails) for r in rows]
    assert f"已导出 {len(rows)} 位联系人" in exported.stdout

    fresh = tmp_path / "fresh"
    back = nomdesk("contacts", "import", out, "--data-dir", fresh)
    assert back.exit_code == 0, back.output
    with Store.open(data) as a, Store.open(fresh) as b:
        assert [(c.unit_name, c.name, c.emails) for c in a.contacts.list(office=False)] == [
            (c.unit_name, c.name, c.emails) for c in b.contacts.list(office=False)
        ]


def test_import_refuses_what_is_not_a_sheet(tmp_path: Path) -> None:
    text = tmp_path / "名单.csv"
    text.write_text("单位,联系人\n长春市,王芳\n", encoding="utf-8")
    run = nomdesk("contacts", "import", text, "--data-dir", tmp_path / "var")
    assert run.exit_code == 2 and "不是 Excel 表格" in run.stderr
    missing = nomdesk("contacts", "import", tmp_path / "无.xlsx", "--data-dir", tmp_path / "var")
    assert missing.exit_code == 2 and "找不到文件" in missing.stderr


def test_templates_write_the_contact_template_that_imports_nothing(tmp_path: Path) -> None:
    run = nomdesk("templates", tmp_path / "forms")
    assert run.exit_code == 0, run.output
    template = tmp_path / "forms" / CONTACT_TEMPLATE_FILE
    assert str(template) in run.stdout
    imported = nomdesk("contacts", "import", template, "--data-dir", tmp_path / "var")
    assert imported.exit_code == 0, imported.output
    assert "新增 0 人，更新 0 人，未变 0 人" in imported.stdout
