"""Reading one submission end to end: unpack, probe media, read documents.

The pieces each have their own module (source, media.probe, forms.document); this is
only the order they run in, so the CLI and the service read packages the same way.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from config.campaign import Campaign
from intake.forms.document import DOCUMENT_TYPES as _READABLE_DOCUMENTS
from intake.forms.document import Converted, convert_legacy, read_document
from intake.forms.scan import read_scans
from intake.media.probe import PHOTO_TYPES, VIDEO_TYPES, probe_all
from intake.mislabelled import extension, mislabelled_text, spaced
from intake.models import FileKind, FileProblem, PackageFile, Submission
from intake.source import read_source

DOCUMENT_TYPES = frozenset(_READABLE_DOCUMENTS)
# Types the desk cannot read (RULES.md FILE_UNSUPPORTED): the office opens them by hand.
UNSUPPORTED_TYPES = {
    "pages": "Apple Pages 文稿",
    "numbers": "Apple Numbers 表格",
    "key": "Apple Keynote 演示文稿",
    "ppt": "PowerPoint 演示文稿",
    "pptx": "PowerPoint 演示文稿",
    "odp": "演示文稿",
    "m4a": "音频文件（没有画面，不能作为视频）",
    "mp3": "音频文件（没有画面，不能作为视频）",
    "wav": "音频文件（没有画面，不能作为视频）",
    "html": "网页文件",
    "xml": "XML 文件",
    "eml": "嵌套过深的邮件",
}
_DOCUMENT_ADVICE = "如为推荐表或工作总结，请另存为 Word（.docx）或 Excel（.xlsx）后重新发送"
ADVICE = {"m4a": "如为视频资料，请发送 MP4 格式的视频", "mp3": "如为视频资料，请发送 MP4 格式的视频"}
ADVICE["wav"] = ADVICE["m4a"]
# What a file's extension claims it is, for bytes of no known type: "扩展名为 .jpg，但内容不是图片".
_PHOTO, _VIDEO, _WORD, _EXCEL = "图片", "视频", "Word 文档", "Excel 表格"
CLAIMED_TYPES: dict[str, str] = {
    **dict.fromkeys(("jpg", "jpeg", "jpe", "png", "heic", "heif", "avif", "gif", "bmp", "webp", "tif", "tiff"), _PHOTO),
    **dict.fromkeys(("mp4", "m4v", "mov", "avi", "mkv", "flv", "wmv", "webm", "3gp", "mpg", "mpeg", "ts"), _VIDEO),
    **dict.fromkeys(("docx", "doc", "wps", "rtf", "odt"), _WORD),
    **dict.fromkeys(("xlsx", "xls", "et", "ods"), _EXCEL),
    **dict.fromkeys(("pptx", "ppt", "odp"), "演示文稿"),
    **dict.fromkeys(("zip", "rar", "7z", "tar", "gz", "tgz", "bz2", "xz"), "压缩包"),
    **dict.fromkeys(("m4a", "mp3", "wav", "aac"), "音频"),
    "pdf": "PDF 文件",
    "txt": "文本文件",
    "eml": "邮件",
}

Progress = Callable[[str, PackageFile | None], None]  # (stage, file) -> None


def count_media(submission: Submission) -> int:
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
    return read_contents(submission, workdir, campaign, index, on_probed=on_probed)


def read_contents(
    submission: Submission,
    workdir: Path,
    campaign: Campaign,
    index: int = 0,
    *,
    on_probed: Callable[[PackageFile], None] | None = None,
) -> Submission:
    """The document/media stage on unpacked files: probe media, read forms, report what cannot be used.

    Also run on the content of a volume set joined across submissions (intake/volume_join.py).
    """
    # Media are probed (ffprobe children, Pillow headers) while this thread reads the forms:
    # the two wait on different things, and a package holds both.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="media") as runner:
        probing = runner.submit(probe_all, submission.files, campaign, progress=on_probed)
        # .doc/.wps/.rtf/.odt/.ods: one LibreOffice run for the package, not a start per file.
        ahead = convert_legacy(submission.files, workdir)
        for file in submission.files:
            # a note named .mp4 is reported by unusable_problem, never read as a document
            if file.sniffed in DOCUMENT_TYPES and mislabelled_text(file, CLAIMED_TYPES) is None:
                _read_into(submission, file, workdir, campaign, index, ahead.get(file.local))
        files, problems = probing.result()
    submission.problems += problems
    for file in files:
        problem = unusable_problem(file)
        if problem is not None:
            submission.problems.append(problem)
    for file in files:
        if file.kind == FileKind.OTHER and file.sniffed in DOCUMENT_TYPES:
            file.kind = FileKind.DOCUMENT
    submission.files = files
    # Stamped 附表1/附表3 scans (image PDFs, photos of the paper form) read by OCR, once the
    # Word forms are read (a scan beside its Word form is only classified) and photos probed.
    read_scans(submission, campaign, index)
    return submission


def _read_into(
    submission: Submission,
    file: PackageFile,
    workdir: Path,
    campaign: Campaign,
    index: int,
    converted: Converted | None = None,
) -> None:
    """Read one document (form, table, summary) and add what it holds to the submission."""
    result = read_document(file, workdir, campaign, converted=converted)
    # python-docx and openpyxl leave their XML trees in reference cycles: collect the young
    # ones now, or a package of dozens of forms holds them all at once (bench/check_package.py).
    gc.collect(1)
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


def unusable_problem(file: PackageFile) -> FileProblem | None:
    """Why a file that is neither photo, video nor readable document cannot be used; None if it can.

    Every file is used or reported, never dropped (RULES.md "Matching files to nominees"):
    bytes of no known type behind a known extension are a damaged file (FILE_UNREADABLE);
    a type the desk does not read, or no type at all, is for the office (FILE_UNSUPPORTED).
    """
    mislabelled = mislabelled_text(file, CLAIMED_TYPES)  # "扩展名为 .mp4，但内容是一段文字：“…”"
    if mislabelled is not None:
        return mislabelled
    sniffed = file.sniffed
    if sniffed in PHOTO_TYPES or sniffed in VIDEO_TYPES or sniffed in DOCUMENT_TYPES:
        return None
    ext = extension(file.name)
    if sniffed == "unknown" and ext in CLAIMED_TYPES:
        return FileProblem(
            code="FILE_UNREADABLE",
            path=file.path,
            reason=f"扩展名为 .{ext}，但内容不是{spaced(CLAIMED_TYPES[ext])}（文件已损坏、未下载完整或不是该类型）",
            params={"type": sniffed, "extension": ext},
            submission=file.submission,
        )
    return FileProblem(
        code="FILE_UNSUPPORTED",
        path=file.path,
        reason=f"{_what_it_is(sniffed, ext)}；{ADVICE.get(sniffed, _DOCUMENT_ADVICE)}",
        params={"type": sniffed},
        submission=file.submission,
    )


def _what_it_is(sniffed: str, ext: str) -> str:
    """The start of the reason, read after "文件 X 的类型无法自动读取：" in the finding's message."""
    what = UNSUPPORTED_TYPES.get(sniffed)
    if what is not None:
        return f"这是{spaced(what)}"
    return f"文件格式无法识别（扩展名 .{ext}）" if ext else "文件格式无法识别（没有扩展名）"
