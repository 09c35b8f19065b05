"""A phone's 1080p30 HEVC .mov becomes an MP4 the exemplar's video rule passes; a video that is
wrong only in its length is not offered a copy. The rules that judge are the real ones
(`validators.check_dossier`), on a dossier holding the video as intake measures it."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Campaign
from intake.media.transcode import qualifies, target_spec, transcode
from intake.media.video import probe_video
from intake.models import Dossier, FileKind, PackageFile, StarEntry, VideoInfo
from tests.support.transcode_media import hevc_mov, short_video_campaign
from validators import check_dossier

NOMINEE = "朴英子"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "transcode-media"


@pytest.fixture(scope="module")
def short(media: Path) -> Campaign:
    media.mkdir(parents=True, exist_ok=True)
    return short_video_campaign(media)


@pytest.fixture(scope="module")
def source(media: Path) -> Path:
    return hevc_mov(media)


@pytest.fixture(scope="module")
def made(source: Path, short: Campaign, media: Path) -> tuple[Path, list[float]]:
    """The copy, made once for the module, and the progress reports it made."""
    out = media / "copy.mp4"
    reports: list[float] = []
    transcode(source, out, short, progress=reports.append)
    return out, reports


def video_findings(path: Path, campaign: Campaign, logical: str) -> list[tuple[str, dict]]:
    """(code, evidence) of the video findings the real rules make on an exemplar holding this video."""
    info = probe_video(PackageFile(path=logical, local=path, size=path.stat().st_size, sniffed="mp4"), campaign)
    assert isinstance(info, VideoInfo), info
    video = PackageFile(
        path=logical, local=path, size=path.stat().st_size, sniffed="mp4", kind=FileKind.VIDEO, video=info
    )
    dossier = Dossier(
        unit="延边朝鲜族自治州教育局", stars=[StarEntry(name=NOMINEE, registered=True, exemplar=True, videos=[video])]
    )
    run = check_dossier(dossier, campaign)
    assert not run.failures
    return [(f.code, f.evidence) for f in run.findings if f.code.endswith("VIDEO_SPEC")]


def props(findings: list[tuple[str, dict]]) -> set[str]:
    return {s["prop"] for _, evidence in findings for s in evidence["shortfalls"]}


def test_the_phone_video_fails_the_exemplar_spec_only_in_what_a_copy_fixes(source: Path, short: Campaign) -> None:
    logical = f"{NOMINEE}/{source.name}"
    findings = video_findings(source, short, logical)
    assert [code for code, _ in findings] == ["EXEMPLAR_VIDEO_SPEC"]
    assert props(findings) == {"container", "codec", "size", "fps"}
    assert qualifies(findings, logical)
    assert not qualifies(findings, f"{NOMINEE}/另一个视频.mov")  # only the video the findings name


def test_the_copy_passes_the_exemplar_spec(made: tuple[Path, list[float]], short: Campaign) -> None:
    out, reports = made
    assert video_findings(out, short, f"{NOMINEE}/{NOMINEE}_视频-标准格式.mp4") == []
    spec = target_spec(short)
    info = probe_video(PackageFile(path=out.name, local=out, size=out.stat().st_size, sniffed="mp4"), short)
    assert isinstance(info, VideoInfo)
    assert (info.container, info.codec, info.width, info.height, info.fps) == (
        "mp4",
        spec.codec,
        spec.width,
        spec.height,
        spec.fps,
    )
    assert info.has_audio  # the source's sound is kept
    assert reports[-1] == 1.0 and reports == sorted(reports) and len(reports) >= 2


def test_a_video_failing_only_in_duration_does_not_qualify(made: tuple[Path, list[float]], campaign: Campaign) -> None:
    out, _ = made
    logical = f"{NOMINEE}/短视频.mp4"
    findings = video_findings(out, campaign, logical)  # the shipped call wants 4-5 minutes
    assert props(findings) == {"duration"}
    assert not qualifies(findings, logical)


def test_a_video_wrong_in_codec_and_duration_does_not_qualify(source: Path, campaign: Campaign) -> None:
    logical = f"{NOMINEE}/{source.name}"
    findings = video_findings(source, campaign, logical)
    assert "duration" in props(findings) and "codec" in props(findings)
    assert not qualifies(findings, logical)


def test_the_copy_is_made_to_the_configured_spec(source: Path, short: Campaign, media: Path) -> None:
    """Size and frame rate come from the campaign: a call asking 640x360 at 15 fps gets that,
    the 16:9 picture scaled to fit and padded."""
    video = short.exemplar.video.model_copy(update={"width": 640, "height": 480, "fps": 15.0})
    other = short.model_copy(update={"exemplar": short.exemplar.model_copy(update={"video": video})})
    out = media / "other-spec.mp4"
    transcode(source, out, other)
    assert video_findings(out, other, f"{NOMINEE}/x.mp4") == []
