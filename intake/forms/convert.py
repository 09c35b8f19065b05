"""Legacy .doc/.wps/.rtf and OpenDocument .odt to .docx (.ods to .xlsx) with LibreOffice headless.

Only when it is installed; otherwise a clear FILE_UNSUPPORTED (DESIGN.md).

Each conversion runs in its own session (so a hung soffice and its children can be
killed as a group) with a private, throw-away user profile (so parallel conversions and
the office's own LibreOffice never share a lock), under the caller's workdir.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

CONVERT_TIMEOUT_SECONDS = 120.0


class ConversionError(Exception):
    """A conversion that could not be done; `code` and `reason` become a FileProblem."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def soffice_binary() -> str | None:
    """The LibreOffice executable on PATH, if any."""
    return shutil.which("soffice") or shutil.which("libreoffice")


# The format a file is read as -> (LibreOffice import filter, plain ASCII suffix for the copy).
# Naming the import filter matters: without one, soffice imports any unrecognised bytes as
# plain text and "converts" garbage. Kingsoft .wps files are Word 97 inside.
IMPORT_FILTERS: dict[str, tuple[str, str]] = {
    ".doc": ("MS Word 97", ".doc"),
    ".wps": ("MS Word 97", ".doc"),
    ".rtf": ("Rich Text Format", ".rtf"),
    ".odt": ("writer8", ".odt"),
    ".ods": ("calc8", ".ods"),
}
EXPORT_FILTERS = {"docx": "docx:MS Word 2007 XML", "xlsx": "xlsx:Calc MS Excel 2007 XML"}


def convert_to_docx(
    source: Path, workdir: Path, *, label: str = ".doc", timeout: float = CONVERT_TIMEOUT_SECONDS
) -> Path:
    """Convert `source` to .docx under `workdir` and return the new file.

    `label` names the format in the Chinese reason ("未安装 LibreOffice，无法读取 .doc 文件").
    """
    return convert(source, workdir, label=label, target="docx", timeout=timeout)


def convert(
    source: Path, workdir: Path, *, label: str, target: str = "docx", timeout: float = CONVERT_TIMEOUT_SECONDS
) -> Path:
    """Convert `source` (read as `label`: ".doc", ".odt", ".ods" ...) to `target` ("docx"/"xlsx")."""
    binary = soffice_binary()
    if binary is None:
        raise ConversionError(
            "FILE_UNSUPPORTED", f"未安装 LibreOffice，无法读取 {label} 文件，请另存为 .{target} 后重新发送"
        )
    infilter, suffix = IMPORT_FILTERS.get(label, IMPORT_FILTERS[".doc"])
    workdir.mkdir(parents=True, exist_ok=True)
    job = Path(tempfile.mkdtemp(prefix="convert-", dir=workdir))
    try:
        # A plain ASCII name: soffice names its output after the input, and a name starting
        # with "-" or holding odd characters must not reach its command line.
        copy = job / f"input{suffix}"
        shutil.copyfile(source, copy)
        out = job / "out"
        profile = job / "profile"
        command = [
            binary,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            f"--infilter={infilter}",
            "--convert-to",
            EXPORT_FILTERS[target],
            "--outdir",
            str(out),
            str(copy),
        ]
        _run(command, timeout, cwd=job)
        result = out / f"input.{target}"
        if not result.is_file() or result.stat().st_size == 0:
            raise ConversionError(
                "FILE_UNREADABLE", f"{label} 文件无法转换（可能已损坏），请另存为 .{target} 后重新发送"
            )
        converted = workdir / f"{source.stem or 'converted'}-{job.name}.{target}"
        shutil.move(result, converted)
        return converted
    finally:
        shutil.rmtree(job, ignore_errors=True)


def _run(command: list[str], timeout: float, cwd: Path) -> None:
    env = {**os.environ, "HOME": str(cwd), "SAL_USE_VCLPLUGIN": "svp"}
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # our own session: soffice and its children
        process.communicate()
        raise ConversionError(
            "FILE_UNREADABLE", f"文件转换超时（超过 {int(timeout)} 秒），请另存为 .docx 后重新发送"
        ) from exc
    if process.returncode != 0:
        log.warning("soffice exited with %s: %s", process.returncode, stderr.decode(errors="replace")[-500:])
