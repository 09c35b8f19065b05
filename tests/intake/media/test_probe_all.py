"""probe_all measures every photo and video of a package at once and lets the rest through."""

from __future__ import annotations

import threading
from pathlib import Path

from config import Campaign
from intake.media.probe import PHOTO_TYPES, VIDEO_TYPES, probe_all
from intake.models import FileKind, PackageFile
from tests.support.media import make_photo, make_video


def package_file(local: Path, sniffed: str, path: str) -> PackageFile:
    return PackageFile(path=path, local=local, size=local.stat().st_size, sniffed=sniffed, submission=2)


def test_types_cover_what_sniffing_reports() -> None:
    assert {"jpeg", "png", "heic", "heif", "webp", "bmp", "gif", "tiff"} <= PHOTO_TYPES
    assert {"mp4", "mov", "avi", "mkv", "flv", "webm", "wmv", "mpeg", "3gp", "m4v", "ts"} <= VIDEO_TYPES
    assert not PHOTO_TYPES & VIDEO_TYPES


def test_probe_all_fills_every_media_file_and_reports_failures(campaign: Campaign, tmp_path: Path) -> None:
    broken_photo = tmp_path / "坏照片.jpg"
    broken_photo.write_bytes(b"\xff\xd8\xff" + b"\x00" * 100)
    form = tmp_path / "推荐表.docx"
    form.write_bytes(b"PK\x03\x04 not probed here")
    files = [
        package_file(make_photo(413, 579, text="金哲洙"), "jpeg", "延边州/金哲洙/证件照.jpg"),
        package_file(form, "docx", "延边州/金哲洙/推荐表.docx"),
        package_file(make_video(270, width=1280, height=720, audio=True), "mp4", "延边州/阿里郎/宣传片.mp4"),
        package_file(broken_photo, "jpeg", "延边州/金哲洙/坏照片.jpg"),
        package_file(make_photo(600, 400, fmt="PNG", text="活动"), "png", "延边州/阿里郎/活动1.png"),
        package_file(make_video(60, truncate_to=20), "mp4", "延边州/长鼓舞/宣传片.mp4"),
        package_file(make_video(5, container="mov"), "mov", "延边州/长鼓舞/花絮.mov"),
    ]
    seen: list[tuple[str, bool]] = []

    def progress(file: PackageFile) -> None:
        seen.append((file.path, threading.current_thread() is threading.main_thread()))

    probed, problems = probe_all(files, campaign, progress=progress, workers=4)

    assert [f.path for f in probed] == [f.path for f in files]
    photo, form_out, video, bad_photo, png, cut_video, mov = probed
    assert photo.kind == FileKind.PHOTO and photo.photo is not None and photo.photo.width == 413
    assert form_out == files[1]  # untouched
    assert video.kind == FileKind.VIDEO and video.video is not None and video.video.duration == 270
    assert bad_photo.kind == FileKind.PHOTO and bad_photo.photo is None
    assert png.photo is not None and png.photo.format == "PNG"
    assert cut_video.kind == FileKind.VIDEO and cut_video.video is None
    assert mov.video is not None and mov.video.container == "mov"

    assert [(p.code, p.path, p.submission) for p in problems] == [
        ("FILE_UNREADABLE", "延边州/金哲洙/坏照片.jpg", 2),
        ("FILE_UNREADABLE", "延边州/长鼓舞/宣传片.mp4", 2),
    ]
    assert sorted(path for path, _ in seen) == sorted(f.path for f in files if f.sniffed != "docx")
    assert all(on_main for _, on_main in seen)


def test_probe_all_without_media_changes_nothing(campaign: Campaign, tmp_path: Path) -> None:
    text = tmp_path / "总结.txt"
    text.write_text("工作总结", encoding="utf-8")
    files = [package_file(text, "txt", "总结.txt")]
    assert probe_all(files, campaign) == (files, [])
