"""The yanbian sample as a unit on old office software sends it: forms and registers in legacy formats.

Its 8 附表1 become Word 97 .doc, its 5 附表3 Kingsoft .wps (Word 97 inside), its two
registers .et (BIFF .xls inside, as WPS 表格 saves them); photos, videos and summaries stay
as they are. LibreOffice writes the files (a .doc through .odt: LibreOffice 7.4 drops
python-docx tables when it writes .doc straight from .docx). Built once, cached under
.cache/bench/, for bench/check_package.py's legacy row.

    .venv/bin/python bench/legacy_package.py   # builds it and prints the path
"""

from __future__ import annotations

import email
import email.policy
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

SAMPLE = ROOT.parent / "shared" / "samples" / "yanbian_complete" / "1.eml"

# Each form of the sample (by what its name holds) -> (LibreOffice formats it passes through, final suffix).
LEGACY_FORMS = {
    "附表2": (["xls"], ".et"),
    "附表4": (["xls"], ".et"),
    "附表3": (["odt", "doc"], ".wps"),
    "推荐表.docx": (["odt", "doc"], ".doc"),
}


def legacy_path(cache: Path) -> Path:
    return cache / "yanbian-legacy-forms-v3.eml"  # bump when the build changes


def _plan(name: str) -> tuple[list[str], str] | None:
    base = name.rsplit("/", 1)[-1]
    if not base.endswith((".docx", ".xlsx")):
        return None
    for words, plan in LEGACY_FORMS.items():
        if words in base:
            return plan
    return None


def _soffice(profile: Path, target: str, outdir: Path, inputs: list[Path]) -> None:
    """One LibreOffice run for every input (the build is not what is measured)."""
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", target,
         "--outdir", str(outdir), *map(str, inputs)],
        check=True, capture_output=True, timeout=600, env={**os.environ, "SAL_USE_VCLPLUGIN": "svp"},
    )  # fmt: skip


def _member_name(info: zipfile.ZipInfo) -> str:
    """Windows' zip writes GBK names without the UTF-8 flag; zipfile hands them back as cp437."""
    return info.filename if info.flag_bits & 0x800 else info.filename.encode("cp437").decode("gb18030")


def _sample_zip(eml: Path) -> tuple[str, bytes]:
    with eml.open("rb") as fh:
        message = email.message_from_binary_file(fh, policy=email.policy.default)
    for part in message.iter_attachments():
        if (part.get_filename() or "").lower().endswith(".zip"):
            return part.get_filename(), part.get_payload(decode=True)
    raise SystemExit(f"no zip attachment in {eml}")


def build_legacy_mail(cache: Path, sample: Path = SAMPLE) -> Path:
    """The legacy-format mail (its path), built once."""
    from tests.support.archives import zip_bytes
    from tests.support.mail import attachment, build_mail, filename_rfc2047

    path = legacy_path(cache)
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    zip_name, data = _sample_zip(sample)
    files: dict[str, bytes] = {}  # the package in the unit's order, legacy forms renamed
    with tempfile.TemporaryDirectory(dir=cache) as tmp, zipfile.ZipFile(io.BytesIO(data)) as src:
        work = Path(tmp)
        pending: dict[str, tuple[list[str], str, Path]] = {}  # name -> (formats still to pass, suffix, file)
        for i, info in enumerate(src.infolist()):
            name = _member_name(info)
            if info.is_dir():
                continue
            files[name] = src.read(info)
            if (plan := _plan(name)) is not None:
                local = work / f"f{i}{Path(name).suffix}"
                local.write_bytes(files[name])
                pending[name] = (plan[0], plan[1], local)
        stage = 0
        while pending:  # one LibreOffice run per format: odt and xls, then doc
            for target in sorted({chain[0] for chain, _, _ in pending.values()}):
                batch = {name: p for name, p in pending.items() if p[0][0] == target}
                out = work / f"stage{stage}-{target}"
                stage += 1
                _soffice(work / "profile", target, out, [local for _, _, local in batch.values()])
                for name, (chain, suffix, local) in batch.items():
                    converted = out / f"{local.stem}.{target}"
                    if len(chain) > 1:
                        pending[name] = (chain[1:], suffix, converted)
                        continue
                    del pending[name]
                    files = {(k.rsplit(".", 1)[0] + suffix if k == name else k): v for k, v in files.items()}
                    files[name.rsplit(".", 1)[0] + suffix] = converted.read_bytes()
    mail = build_mail(
        [attachment(zip_bytes(files, encoding="gbk"), filename_rfc2047(zip_name), content_type="application/zip")],
        subject="延边州教育局报送百姓学习之星和终身学习品牌项目推荐材料",
    )
    partial = path.with_suffix(".partial")
    partial.write_bytes(mail)
    partial.replace(path)
    return path


if __name__ == "__main__":
    print(build_legacy_mail(ROOT / ".cache" / "bench"))
