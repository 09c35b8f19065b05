"""The yanbian sample with every form also sent as its stamped scan, as many units send them.

Beside each of its 8 附表1 and 5 附表3 (.docx) the zip gets "<name>（盖章扫描件）.jpg": page 1
of the form printed by LibreOffice, rendered at 300 dpi, stamped, turned 1.2 degrees and
speckled (tests/support/scans.py). Every scan lies beside its Word form, so the desk only
classifies it (the title band), never reads it whole. Built once, cached under .cache/bench/,
for bench/check_package.py's scan row.

    .venv/bin/python bench/scanned_package.py   # builds it and prints the path
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

SCAN_SUFFIX = "（盖章扫描件）.jpg"


def scanned_path(cache: Path) -> Path:
    return cache / "yanbian-form-scans-v1.eml"  # bump when the build changes


def _is_form(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.endswith(".docx") and ("推荐表" in base or "附表1" in base or "附表3" in base)


def build_scanned_mail(cache: Path) -> Path:
    """The mail with form scans (its path), built once."""
    import check_package as bench  # the sibling script: the sample, its zip names, the mail writer

    from tests.support.scans import scans_of

    path = scanned_path(cache)
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    zip_name, data = bench.sample_attachment(bench.SAMPLE)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        work = Path(tmp)
        (work / "in.zip").write_bytes(data)
        forms: list[tuple[str, Path]] = []
        with zipfile.ZipFile(work / "in.zip") as src:
            for i, info in enumerate(src.infolist()):
                name = bench._zip_name(info)
                if not info.is_dir() and _is_form(name):
                    local = work / f"form{i}.docx"
                    local.write_bytes(src.read(info))
                    forms.append((name, local))
        scans = scans_of([local for _, local in forms], work / "scans")
        archive = work / "scanned.zip"
        with zipfile.ZipFile(work / "in.zip") as src, zipfile.ZipFile(archive, "w") as out:
            for info in src.infolist():
                name = bench._zip_name(info)
                if not info.is_dir():
                    out.writestr(bench._gbk_info(name, zipfile.ZIP_DEFLATED), src.read(info))
            for (name, _), scan in zip(forms, scans, strict=True):
                scan_name = name[: -len(".docx")] + SCAN_SUFFIX
                out.writestr(bench._gbk_info(scan_name, zipfile.ZIP_STORED), scan.read_bytes())
        bench._write_mail(path, archive, zip_name)
    return path


if __name__ == "__main__":
    print(build_scanned_mail(ROOT / ".cache" / "bench"))
