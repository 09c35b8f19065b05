"""Legacy .doc/.wps/.rtf and OpenDocument .odt to .docx (.ods to .xlsx) with LibreOffice headless.

Only when it is installed; otherwise a clear FILE_UNSUPPORTED (DESIGN.md).

Each conversion runs in its own session (so a hung soffice and its children can be
killed as a group) with a private, throw-away user profile (so parallel conversions and
the office's own LibreOffice never share a lock), under the caller's workdir.

A package's legacy files are converted together (`convert_all`): one soffice run per import
filter, sharing one profile, because starting LibreOffice is most of a conversion's ~2 s
and a package of 13 .doc forms paid it 13 times. A file the run leaves without output is
retried alone (today's `convert`) only when the run itself failed; after a clean run it is
simply unreadable.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

CONVERT_TIMEOUT_SECONDS = 120.0
# A batch run's deadline: LibreOffice's start, then a share per file (a form converts in well
# under a second once it runs; the share leaves room for a long one on a busy machine).
BATCH_START_SECONDS = 60.0
BATCH_SECONDS_PER_FILE = 20.0
BATCH_MAX_FILES = 25  # a larger package takes several runs: a hang costs one run's deadline, not all


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
SHEET_LABELS = (".ods",)  # converted to .xlsx; every other label to .docx


def target_for(label: str) -> str:
    """What a file read as `label` is converted to: a workbook stays a workbook."""
    return "xlsx" if label in SHEET_LABELS else "docx"


def _not_installed(label: str, target: str) -> ConversionError:
    return ConversionError(
        "FILE_UNSUPPORTED", f"未安装 LibreOffice，无法读取 {label} 文件，请另存为 .{target} 后重新发送"
    )


def _no_output(label: str, target: str) -> ConversionError:
    return ConversionError("FILE_UNREADABLE", f"{label} 文件无法转换（可能已损坏），请另存为 .{target} 后重新发送")


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
        raise _not_installed(label, target)
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
        run_soffice(_command(binary, profile, infilter, target, out, [copy]), timeout, cwd=job)
        result = out / f"input.{target}"
        if not result.is_file() or result.stat().st_size == 0:
            raise _no_output(label, target)
        converted = workdir / f"{source.stem or 'converted'}-{job.name}.{target}"
        shutil.move(result, converted)
        return converted
    finally:
        shutil.rmtree(job, ignore_errors=True)


def convert_all(items: Sequence[tuple[Path, str]], workdir: Path) -> list[Path | ConversionError]:
    """Convert every (source, label) with as few LibreOffice starts as the import filters allow.

    One result per item, in order: the converted file under `workdir` (the caller deletes it)
    or the ConversionError that `convert` would have raised for it. One bad file spoils
    nothing: after a clean run a file without output is unreadable; a run that times out or
    crashes keeps what it finished, the file it stopped at (soffice goes in order) is
    converted alone, and the files after it get a run of their own.
    """
    binary = soffice_binary()
    if binary is None:
        return [_not_installed(label, target_for(label)) for _, label in items]
    results: list[Path | ConversionError | None] = [None] * len(items)

    def alone(i: int) -> None:  # today's path: own profile, own deadline
        source, label = items[i]
        try:
            results[i] = convert(source, workdir, label=label, target=target_for(label))
        except ConversionError as exc:
            results[i] = exc

    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, (_, label) in enumerate(items):
        infilter, suffix = IMPORT_FILTERS.get(label, IMPORT_FILTERS[".doc"])
        groups.setdefault((infilter, suffix, target_for(label)), []).append(i)
    workdir.mkdir(parents=True, exist_ok=True)
    job = Path(tempfile.mkdtemp(prefix="convert-batch-", dir=workdir))
    try:
        runs = 0
        for (infilter, suffix, target), indexes in groups.items():
            pending = list(indexes)
            while pending:
                batch, pending = pending[:BATCH_MAX_FILES], pending[BATCH_MAX_FILES:]
                run = job / f"run{runs}"
                runs += 1
                clean = _run_batch(binary, job, run, infilter, suffix, target, [items[i][0] for i in batch])
                left = []
                for i, result in zip(batch, _outputs(run, target, len(batch)), strict=True):
                    if result is not None:
                        converted = workdir / f"{items[i][0].stem or 'converted'}-{run.name}-{i}.{target}"
                        shutil.move(result, converted)
                        results[i] = converted
                    else:
                        left.append(i)
                shutil.rmtree(run, ignore_errors=True)
                if clean:  # it went through every file: no output means it could not be loaded
                    for i in left:
                        results[i] = _no_output(items[i][1], target)
                elif left:
                    alone(left[0])
                    pending = left[1:] + pending
    finally:
        shutil.rmtree(job, ignore_errors=True)
    done = zip(results, items, strict=True)
    return [r if r is not None else _no_output(label, target_for(label)) for r, (_, label) in done]


def _run_batch(binary: str, job: Path, run: Path, infilter: str, suffix: str, target: str, sources: list[Path]) -> bool:
    """One soffice run over `sources` (copied to run/in{n}{suffix}); True when it went through cleanly."""
    run.mkdir()
    copies = []
    for n, source in enumerate(sources):  # ASCII names again: only these reach soffice's command line
        copies.append(run / f"in{n}{suffix}")
        shutil.copyfile(source, copies[-1])
    timeout = BATCH_START_SECONDS + BATCH_SECONDS_PER_FILE * len(sources)
    command = _command(binary, job / "profile", infilter, target, run / "out", copies)  # one profile per package
    try:
        return run_soffice(command, timeout, cwd=job)
    except ConversionError:  # timed out and killed: what it finished is whole
        return False


def _outputs(run: Path, target: str, count: int) -> list[Path | None]:
    """What the run wrote for each input, in order; None where it wrote nothing usable."""
    found = [run / "out" / f"in{n}.{target}" for n in range(count)]
    return [path if _whole(path) else None for path in found]


def _whole(result: Path) -> bool:
    """A .docx/.xlsx soffice finished writing: a zip with its central directory (a killed run's last is not)."""
    return result.is_file() and result.stat().st_size > 0 and zipfile.is_zipfile(result)


def _command(binary: str, profile: Path, infilter: str, target: str, out: Path, inputs: list[Path]) -> list[str]:
    return [
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
        *map(str, inputs),
    ]


def run_soffice(command: list[str], timeout: float, cwd: Path) -> bool:
    """Run soffice in its own session; True when it exited cleanly. The one place soffice starts
    (tests count runs here). Raises ConversionError when it outlives `timeout` (it is killed)."""
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
        return False
    return True
