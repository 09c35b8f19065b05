"""Rar archives: listed and checked by rarfile, unpacked by one run of `unar`.

`unar` writes straight to disk, so what the headers declared is enforced from outside:
a file-size limit on the process, the bytes counted after it, symlinks refused again.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from pathlib import Path

import rarfile

from intake.archive.base import (
    CHUNK,
    Member,
    Writer,
    check_entries,
    check_overall_ratio,
    encrypted,
    safe_parts,
    symlink_refused,
    unreadable,
)

UNAR_TIMEOUT_SECONDS = 3600


def extract_rar(path: Path, writer: Writer, _name: str) -> None:
    """Listed and checked by rarfile, unpacked in one run of `unar` (fast on solid archives)."""
    try:
        archive = rarfile.RarFile(path)
        infos = archive.infolist()
    except rarfile.PasswordRequired as exc:  # encrypted headers
        raise encrypted() from exc
    except rarfile.NeedFirstVolume as exc:
        raise unreadable("分卷压缩包，缺少第一卷") from exc
    except (rarfile.Error, OSError) as exc:
        raise unreadable("不是完整的 rar 文件") from exc
    with archive:
        check_entries(len(infos), writer.budget.limits)
        declared = 0
        largest = 0
        for info in infos:
            parts = safe_parts(info.filename)
            if info.is_symlink() or info.file_redir:
                raise symlink_refused(info.filename)
            if info.is_dir() or not parts:
                continue
            if info.needs_password():
                raise encrypted()
            writer.budget.check_ratio(info.filename, info.file_size, info.compress_size)
            declared += info.file_size
            largest = max(largest, info.file_size)
        writer.budget.check_declared(declared)
        check_overall_ratio(writer.budget, declared, path)
    _unar(path, writer, largest)


def _unar(path: Path, writer: Writer, largest: int) -> None:
    staging = writer.dest / "unar"
    staging.mkdir()
    cap = max(largest, 1) + CHUNK  # no single file may grow past what the headers declared

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))

    result = subprocess.run(
        ["unar", "-q", "-f", "-D", "-p", "", "-o", str(staging), str(path)],
        capture_output=True,
        timeout=UNAR_TIMEOUT_SECONDS,
        preexec_fn=limit_file_size,
        check=False,
    )
    if result.returncode != 0:
        raise unreadable("解压失败")
    for root, dirs, files in os.walk(staging):
        dirs.sort()
        for fname in sorted(files):
            full = Path(root, fname)
            if full.is_symlink():
                raise symlink_refused(fname)
            parts = list(full.relative_to(staging).parts)
            local = writer.new_path()
            full.rename(local)
            writer.members.append(Member(parts, local))
            writer.count(local.stat().st_size)
    shutil.rmtree(staging, ignore_errors=True)
