"""A package's legacy forms are converted in one LibreOffice run, and one bad file spoils nothing.

Real soffice throughout: the fixtures are real .doc/.wps/.et/.ods files LibreOffice wrote from
generated .docx/.xlsx forms, and the runs are counted where convert.py starts soffice.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from config import Campaign
from intake.forms import convert as convert_module
from intake.forms.convert import soffice_binary
from intake.models import Submission
from intake.package import read_submission
from tests.support.forms import cached, project_forms_docx, register_xlsx, star_forms_docx

pytestmark = pytest.mark.skipif(soffice_binary() is None, reason="LibreOffice is not installed")

STARS = [
    {"name": "朴英子", "gender": "女", "birth": "1985-1", "phone": "18997472321"},
    {"name": "金哲洙", "gender": "男", "birth": "1968.03", "phone": "13967686483"},
]
PROJECT = {"name": "海兰江畔读书会", "leader": "崔明浩", "phone": "13943844100", "founded": "2015年3月"}
REGISTER_ROWS = [
    {"name": s["name"], "gender": s["gender"], "birth": s["birth"], "employer_title": "公交公司", "phone": s["phone"]}
    for s in STARS
]
BUILDERS = {f.__name__: f for f in (star_forms_docx, project_forms_docx, register_xlsx)}


def legacy(path: Path, source: str, chain: list[str], **params: Any) -> None:
    """The form `source(**params)` builds, saved by LibreOffice through each format of `chain` in turn.

    A .doc goes through .odt: LibreOffice 7.4 drops python-docx tables when it writes .doc from .docx.
    """
    suffix = ".xlsx" if source == "register_xlsx" else ".docx"
    current = cached(BUILDERS[source], suffix, **params)
    with tempfile.TemporaryDirectory(prefix="legacy-") as tmp:
        work = Path(tmp)
        soffice = ["soffice", f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless"]
        for target in chain:
            subprocess.run(
                [*soffice, "--convert-to", target, "--outdir", str(work / target), str(current)],
                check=True,
                capture_output=True,
                timeout=180,
            )
            current = next((work / target).glob(f"*.{target}"))
        shutil.move(current, path)


def star_doc(person: dict[str, str]) -> Path:
    return cached(legacy, ".doc", source="star_forms_docx", chain=["odt", "doc"], persons=[person])


def project_doc() -> Path:
    return cached(legacy, ".doc", source="project_forms_docx", chain=["odt", "doc"], projects=[PROJECT])


def register_xls() -> Path:
    return cached(legacy, ".xls", source="register_xlsx", chain=["xls"], kind="stars", rows=REGISTER_ROWS)


def register_ods() -> Path:
    return cached(legacy, ".ods", source="register_xlsx", chain=["ods"], kind="stars", rows=REGISTER_ROWS)


def garbage_doc(path: Path) -> None:
    """An OLE header and then nothing a word processor can load (a half-downloaded .doc)."""
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x13" * 4096)


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every soffice command convert.py starts, in order (soffice itself runs for real)."""
    started: list[list[str]] = []
    real = convert_module.run_soffice

    def counting(command: list[str], timeout: float, cwd: Path) -> bool:
        started.append(command)
        return real(command, timeout, cwd)

    monkeypatch.setattr(convert_module, "run_soffice", counting)
    return started


def package(root: Path, files: dict[str, Path]) -> Path:
    """A unit's folder as it arrives: Chinese names, forms in the nominees' folders."""
    for name, source in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / name)
    return root


def read(root: Path, tmp_path: Path, campaign: Campaign) -> Submission:
    return read_submission(root, tmp_path / "work", campaign)


def stars_by_name(submission: Submission) -> dict[str, tuple[str | None, str | None, str | None, str]]:
    return {
        f.fields.name: (f.fields.gender, f.fields.birth, f.fields.phone, f.path)
        for f in submission.star_forms
        if f.fields.name
    }


def test_a_packages_doc_wps_and_et_are_read_with_one_soffice_run(
    tmp_path: Path, campaign: Campaign, runs: list[list[str]]
) -> None:
    root = package(
        tmp_path / "延边州推荐材料",
        {
            "百姓学习之星/朴英子/朴英子推荐表.doc": star_doc(STARS[0]),
            "百姓学习之星/金哲洙/-金哲洙 推荐表.wps": star_doc(STARS[1]),  # Kingsoft's name for Word 97
            "终身学习品牌项目/海兰江畔/附表3 终身学习品牌项目推荐表.doc": project_doc(),
            "附表2 百姓学习之星推荐登记表.et": register_xls(),  # BIFF inside: xlrd reads it, no soffice
        },
    )
    submission = read(root, tmp_path, campaign)

    assert len(runs) == 1, "one LibreOffice run for the package's three Word 97 files"
    (command,) = runs
    assert "--infilter=MS Word 97" in command
    inputs = command[command.index("--outdir") + 2 :]
    assert len(inputs) == 3 and all(arg.isascii() for arg in command)
    assert submission.problems == []
    assert stars_by_name(submission) == {
        "朴英子": ("女", "1985-1", "18997472321", "百姓学习之星/朴英子/朴英子推荐表.doc"),
        "金哲洙": ("男", "1968.03", "13967686483", "百姓学习之星/金哲洙/-金哲洙 推荐表.wps"),
    }
    (project,) = submission.project_forms
    assert (project.fields.name, project.fields.leader, project.fields.phone) == (
        "海兰江畔读书会",
        "崔明浩",
        "13943844100",
    )
    (register,) = submission.registers
    assert [r.name for r in register.star_rows] == ["朴英子", "金哲洙"]
    assert not list((tmp_path / "work").rglob("*.docx")), "converted copies are removed once read"


def test_a_corrupt_doc_among_good_ones_is_the_only_file_reported(
    tmp_path: Path, campaign: Campaign, runs: list[list[str]]
) -> None:
    bad = tmp_path / "bad.doc"
    garbage_doc(bad)
    root = package(
        tmp_path / "延边州推荐材料",
        {
            "朴英子推荐表.doc": star_doc(STARS[0]),
            "金哲洙推荐表（损坏）.doc": bad,
            "金哲洙推荐表.doc": star_doc(STARS[1]),
        },
    )
    submission = read(root, tmp_path, campaign)

    assert len(runs) == 1, "a clean run that could not load one file is not retried file by file"
    assert set(stars_by_name(submission)) == {"朴英子", "金哲洙"}
    (problem,) = submission.problems
    assert (problem.code, problem.path) == ("FILE_UNREADABLE", "金哲洙推荐表（损坏）.doc")
    assert problem.reason == ".doc 文件无法转换（可能已损坏），请另存为 .docx 后重新发送"


def test_a_word_file_and_a_calc_file_take_one_run_each(
    tmp_path: Path, campaign: Campaign, runs: list[list[str]]
) -> None:
    root = package(
        tmp_path / "材料",
        {"朴英子推荐表.doc": star_doc(STARS[0]), "附表2 百姓学习之星推荐登记表.ods": register_ods()},
    )
    submission = read(root, tmp_path, campaign)

    assert sorted(next(a for a in c if a.startswith("--infilter=")) for c in runs) == [
        "--infilter=MS Word 97",
        "--infilter=calc8",
    ]
    assert len({next(a for a in c if a.startswith("-env:UserInstallation=")) for c in runs}) == 1, "one profile"
    assert submission.problems == []
    assert set(stars_by_name(submission)) == {"朴英子"}
    (register,) = submission.registers
    assert [r.name for r in register.star_rows] == ["朴英子", "金哲洙"]


def test_a_run_that_times_out_is_killed_and_no_file_is_lost(
    tmp_path: Path, campaign: Campaign, runs: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's deadline passes before LibreOffice even starts: it is killed, nothing is lost.

    The file it stopped at (the first) is converted alone, the rest get a run of their own.
    """
    monkeypatch.setattr(convert_module, "BATCH_START_SECONDS", 0.0)
    monkeypatch.setattr(convert_module, "BATCH_SECONDS_PER_FILE", 0.05)
    root = package(
        tmp_path / "材料",
        {
            "朴英子推荐表.doc": star_doc(STARS[0]),
            "金哲洙推荐表.wps": star_doc(STARS[1]),
            "附表3 海兰江畔.doc": project_doc(),
        },
    )
    submission = read(root, tmp_path, campaign)

    inputs = [len(c[c.index("--outdir") + 2 :]) for c in runs]
    assert inputs == [3, 1, 2, 1, 1, 1], "killed runs of 3, 2, 1 files, each followed by its first file alone"
    alone = [c for c in runs if c[c.index("--outdir") + 2].endswith("input.doc")]
    assert len(alone) == 3 and len({c[1] for c in alone}) == 3, "a file retried alone gets today's fresh profile"
    assert submission.problems == []
    assert set(stars_by_name(submission)) == {"朴英子", "金哲洙"}
    assert [p.fields.name for p in submission.project_forms] == ["海兰江畔读书会"]
    assert not list((tmp_path / "work").rglob("convert-*")), "the killed runs' files are cleared"


def test_without_libreoffice_every_legacy_file_is_unsupported(
    tmp_path: Path, campaign: Campaign, runs: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = package(tmp_path / "材料", {"朴英子推荐表.doc": star_doc(STARS[0]), "金哲洙推荐表.wps": star_doc(STARS[1])})
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # a machine without LibreOffice
    submission = read(root, tmp_path, campaign)

    assert runs == []
    reason = "未安装 LibreOffice，无法读取 .{} 文件，请另存为 .docx 后重新发送"
    assert sorted((p.code, p.path, p.reason) for p in submission.problems) == [
        ("FILE_UNSUPPORTED", "朴英子推荐表.doc", reason.format("doc")),
        ("FILE_UNSUPPORTED", "金哲洙推荐表.wps", reason.format("wps")),
    ]
