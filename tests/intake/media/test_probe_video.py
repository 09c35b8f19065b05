"""Videos are measured by the real ffprobe the way the call's spec is checked: container,
codec, displayed size, frame rate, duration; cut or broken files are refused with a reason."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from config import Campaign
from intake.media.video import probe_video
from intake.models import FileProblem, PackageFile, VideoInfo
from tests.support.media import make_video


def package_file(local: Path, sniffed: str = "mp4", path: str | None = None) -> PackageFile:
    return PackageFile(
        path=path or f"材料/书香南关/{local.name}", local=local, size=local.stat().st_size, sniffed=sniffed
    )


def probe_ok(local: Path, campaign: Campaign, sniffed: str = "mp4") -> VideoInfo:
    info = probe_video(package_file(local, sniffed), campaign)
    assert isinstance(info, VideoInfo), info
    return info


def probe_problem(local: Path, campaign: Campaign, sniffed: str = "mp4") -> FileProblem:
    problem = probe_video(package_file(local, sniffed, path="材料/宣传片.mp4"), campaign)
    assert isinstance(problem, FileProblem), problem
    assert problem.code == "FILE_UNREADABLE"
    assert problem.path == "材料/宣传片.mp4"
    return problem


def test_exemplar_mp4_is_measured(campaign: Campaign) -> None:
    info = probe_ok(make_video(270, width=1280, height=720, fps=25, audio=True), campaign)
    assert info.container == "mp4" and info.major_brand == "isom"
    assert (info.codec, info.width, info.height) == ("h264", 1280, 720)
    assert info.fps == 25 and info.variable_frame_rate is False
    assert info.duration == pytest.approx(270, abs=0.1)
    assert info.has_video and info.has_audio and info.rotation == 0


def test_quicktime_mov_is_not_mp4(campaign: Campaign) -> None:
    info = probe_ok(make_video(5, container="mov"), campaign, sniffed="mov")
    assert (info.container, info.major_brand) == ("mov", "qt")
    assert "mp4" in info.format_name  # ffprobe names MOV and MP4 alike; the brand decides


@pytest.mark.parametrize(
    ("container", "codec", "expected_container", "expected_codec"),
    [
        ("avi", "mpeg4", "avi", "mpeg4"),
        ("mkv", "libx265", "mkv", "hevc"),
        ("webm", "libvpx-vp9", "webm", "vp9"),
        ("flv", "flv", "flv", "flv1"),
        ("wmv", "wmv2", "wmv", "wmv2"),
        ("mpeg", "mpeg2video", "mpeg", "mpeg2video"),
        ("ts", "libx264", "ts", "h264"),
        ("3gp", "libx264", "3gp", "h264"),
    ],
)
def test_other_containers_and_codecs(
    campaign: Campaign, container: str, codec: str, expected_container: str, expected_codec: str
) -> None:
    info = probe_ok(make_video(5, container=container, codec=codec, audio=True), campaign, sniffed=container)
    assert (info.container, info.codec) == (expected_container, expected_codec)
    assert (info.width, info.height) == (160, 90)
    assert info.fps == 25
    assert info.has_audio
    assert info.duration == pytest.approx(5, abs=0.5)


def test_rotated_phone_video_reports_the_displayed_size(campaign: Campaign) -> None:
    info = probe_ok(make_video(5, width=320, height=180, rotate=90), campaign)
    assert info.rotation in (90, 270)
    assert (info.width, info.height) == (180, 320)


def test_variable_frame_rate_is_named(campaign: Campaign) -> None:
    info = probe_ok(make_video(20, vfr=True), campaign)
    assert info.variable_frame_rate is True
    assert info.fps is not None and abs(info.fps - 25) > 1


@pytest.mark.parametrize("fps", [25, 30, 29.97])
def test_constant_frame_rates_are_not_variable(campaign: Campaign, fps: float) -> None:
    info = probe_ok(make_video(12, fps=fps), campaign)
    assert info.fps == pytest.approx(fps, abs=0.01)
    assert info.variable_frame_rate is False


def test_audio_only_file_has_no_video_even_with_cover_art(campaign: Campaign) -> None:
    info = probe_ok(make_video(20, audio_only=True), campaign)
    assert info.has_video is False and info.has_audio is True
    assert info.codec is None and info.width is None and info.fps is None
    assert info.duration == pytest.approx(20, abs=0.5)


@pytest.mark.parametrize(
    ("seconds", "cut", "size"),
    [(60, 20, (160, 90)), (60, 55, (160, 90)), (270, 100, (1280, 720)), (270, 1, (1280, 720))],
)
def test_truncated_upload_is_unreadable(campaign: Campaign, seconds: int, cut: int, size: tuple[int, int]) -> None:
    width, height = size
    video = make_video(seconds, width=width, height=height, audio=True, truncate_to=cut)
    problem = probe_problem(video, campaign)
    assert problem.reason == f"视频文件不完整（可能上传中断）：实际约 {cut} 秒，声明 {seconds} 秒"
    assert problem.params["declared_seconds"] == seconds
    assert problem.params["actual_seconds"] == pytest.approx(cut, abs=1)


def test_cut_mp4_with_its_index_at_the_end_is_unreadable(campaign: Campaign, tmp_path: Path) -> None:
    moov_last = tmp_path / "moov_last.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", str(make_video(30)), "-c", "copy", str(moov_last)],
        check=True,
        timeout=60,
    )
    data = moov_last.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert "不完整" in probe_problem(cut, campaign).reason


@pytest.mark.parametrize("content", [b"", b"\x00\x00\x00\x18ftypisom" + b"garbage" * 500, b"hello" * 1000])
def test_garbage_video_is_unreadable(campaign: Campaign, tmp_path: Path, content: bytes) -> None:
    junk = tmp_path / "宣传片.mp4"
    junk.write_bytes(content)
    assert probe_problem(junk, campaign).reason


def test_missing_ffprobe_is_reported_not_raised(
    campaign: Campaign, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = make_video(5)
    monkeypatch.setenv("PATH", str(tmp_path))  # a server without ffmpeg installed
    assert probe_problem(video, campaign).reason == "服务器未安装 ffprobe，无法检查视频"


def test_box_walk_tells_a_whole_mp4_from_a_cut_one(tmp_path: Path) -> None:
    """Whole files skip the packet reads (the cost of a check is mostly ffprobe); cut ones never do."""
    from intake.media.video import _iso_boxes_whole

    mp4 = {"format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2"}}
    whole = make_video(30)
    assert _iso_boxes_whole(whole, mp4)
    data = whole.read_bytes()
    for share in (0.3, 0.9, 0.999):
        cut = tmp_path / f"cut-{share}.mp4"
        cut.write_bytes(data[: int(len(data) * share)])
        assert not _iso_boxes_whole(cut, mp4), share
    header_only = tmp_path / "header-only.mp4"
    header_only.write_bytes(data[:32])
    assert not _iso_boxes_whole(header_only, mp4)
    assert not _iso_boxes_whole(whole, {"format": {"format_name": "matroska,webm"}})
