"""The office's commands take a unit as a clerk types it (`status 吉林`, `attach 白山`), list the
candidates of an ambiguous one, suggest the nearest of an unknown one; `user add --password-stdin`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from storage.passwords import verify_password
from storage.repo import Store


def nomdesk(data: Path, *args: str | Path, stdin: str = "") -> Result:
    from nomdesk import cli

    env = {"NOMDESK_DATA_DIR": str(data)}
    return CliRunner(env=env).invoke(cli.app, [str(a) for a in args], input=stdin, prog_name="nomdesk")


def test_status_of_a_short_name_a_bare_stem_and_a_beginning(tmp_path: Path) -> None:
    data = tmp_path / "var"
    assert nomdesk(data, "status", "吉林").stdout.strip() == "吉林市教育局：尚未收到材料"
    assert nomdesk(data, "status", "长春教育局").stdout.strip() == "长春市教育局：尚未收到材料"
    assert nomdesk(data, "status", "长白").stdout.strip() == "长白山管委会教育科技局：尚未收到材料"
    assert nomdesk(data, "status", "吉林师").stdout.strip() == "吉林师范大学：尚未收到材料"
    several = nomdesk(data, "status", "吉林工")
    assert several.exit_code == 2
    assert "“吉林工”可能是以下单位：吉林工程技术师范学院、吉林工商学院、吉林工业职业技术学院，" in several.stderr


def test_attach_to_a_misspelt_unit_suggests_and_to_its_short_name_attaches(tmp_path: Path) -> None:
    data = tmp_path / "var"
    photo = tmp_path / "张三.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    wrong = nomdesk(data, "attach", "白上", photo)
    assert wrong.exit_code == 2
    assert "找不到单位：白上。您是不是要找：白山市教育局、白城市教育局" in wrong.stderr
    done = nomdesk(data, "attach", "白山", photo)
    assert done.exit_code == 0, done.output
    assert "已补充 张三.jpg 到 白山市教育局" in done.stdout


def test_user_add_reads_its_password_from_stdin(tmp_path: Path) -> None:
    data = tmp_path / "var"
    added = nomdesk(data, "user", "add", "wang", "--name", "王老师", "--password-stdin", stdin="correct horse 1\n")
    assert added.exit_code == 0, added.output
    assert added.stdout.strip() == "已添加办公室用户 wang（王老师）"
    with Store.open(data) as store:
        user = store.directory.get_user("wang")
    assert user is not None and verify_password("correct horse 1", user.password_hash)
    short = nomdesk(data, "user", "add", "wang", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "密码至少 8 位" in short.stderr
