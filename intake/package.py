"""Reading one submission end to end: unpack, probe media, read documents.

The pieces each have their own module (source, media.probe, forms.document); this is
only the order they run in, so the CLI and the service read packages the same way.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

from config.campaign import Campaign
from intake.forms.document import read_document
from intake.media.probe import probe_all
from intake.models import FileKind, FileProblem, PackageFile, Submission
from intake.source import read_source

DOCUMENT_TYPES = frozenset({"xlsx", "xls", "docx", "doc", "wps", "pdf", "txt", "rtf"})
# Types the desk cannot read (RULES.md FILE_UNSUPPORTED): the office opens them by hand.
UNSUPPORTED_TYPES = {
    "pages": "Apple Pages 文稿",
    "numbers": "Apple Numbers 表格",
    "key": "Apple Keynote 演示文稿",
    "ppt": "PowerPoint 演示文稿",
    "pptx": "PowerPoint 演示文稿",
    "odp": "演示文稿",
    "et": "WPS 表格",
}

Progress = Callable[[str, PackageFile | None], None]  # (stage, file) -> None


def count_media(submission: Submission) -> int:
    from intake.media.probe import PHOTO_TYPES, VIDEO_TYPES

    return sum(1 for f in submission.files if f.sniffed in PHOTO_TYPES | VIDEO_TYPES)


def read_submission(
    path: Path,
    workdir: Path,
    campaign: Campaign,
    index: int = 0,
    *,
    on_unpacked: Callable[[Submission], None] | None = None,
    on_probed: Callable[[PackageFile], None] | None = None,
) -> Submission:
    """Read `path` (an .eml, archive, folder or file) into a Submission with every file typed.

    Raises intake.source.SourceUnreadable only when nothing at all could be read.
    """
    submission = read_source(path, workdir, campaign, index)
    if on_unpacked:
        on_unpacked(submission)
    files, problems = probe_all(submission.files, campaign, progress=on_probed)
    submission.problems += problems
    for file in files:
        if file.sniffed in UNSUPPORTED_TYPES:
            submission.problems.append(
                FileProblem(
                    code="FILE_UNSUPPORTED",
                    path=file.path,
                    reason=f"系统无法读取{UNSUPPORTED_TYPES[file.sniffed]}，办公室将人工查看；"
                    "如为推荐表或工作总结，请另存为 Word（.docx）或 Excel（.xlsx）后重新发送",
                    params={"type": file.sniffed},
                    submission=index,
                )
            )
            continue
        if file.sniffed not in DOCUMENT_TYPES:
            continue
        result = read_document(file, workdir, campaign)
        # python-docx and openpyxl leave their XML trees in reference cycles: collect them
        # now, or a package of dozens of forms holds them all at once (bench/check_package.py).
        gc.collect()
        file.kind = result.kind
        for table in result.registers:
            table.submission = index
        for form in (*result.star_forms, *result.project_forms):
            form.submission = index
        submission.registers += result.registers
        submission.star_forms += result.star_forms
        submission.project_forms += result.project_forms
        if result.summary is not None:
            result.summary.submission = index
            submission.summaries.append(result.summary)
        submission.problems += result.problems
    for file in files:
        if file.kind == FileKind.OTHER and file.sniffed in DOCUMENT_TYPES:
            file.kind = FileKind.DOCUMENT
    submission.files = files
    return submission
