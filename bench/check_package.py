"""Benchmark: `nomdesk check --json` on a real package, then on the same package with real-size videos.

(a) the yanbian sample (../shared/samples/yanbian_complete/1.eml: 8 stars, 5 projects),
    run N times, median wall time and peak RSS reported, beside a baseline measured in the
    same run: a fresh Python that reads the same mail, decodes its zip and unzips every
    file of it to disk (started the same way, so interpreter start-up is in both).
    Goal: wall time <= 14x that baseline (it was "<= 3 s on 2 cores", where the baseline
    takes ~0.22 s).
(b) the same package with each video replaced by a real ffmpeg encoding of the same
    duration (libx264 CBR with filler data, so the bytes are real H.264; 640x360, the
    exemplar's 1280x720 25 fps kept) at the bitrate that makes the mail ~300 MB. Built
    once and cached under .cache/bench/. Goals: peak RSS <= 100 MB and wall time <= 2x
    a baseline measured in the same run (stream-decoding the mail's attachment base64
    to a file, bench/intake_big_mail.py's baseline).
(c) the same package with its 13 forms as .doc/.wps and its 2 registers as .et
    (bench/legacy_package.py builds it once with LibreOffice). Goal: wall time <= 3x (a)'s
    check in the same run (one LibreOffice run for the package, not a start per file).
(d) the same package with each of its 13 forms also as a stamped 300-dpi scan (JPG) beside
    it (bench/scanned_package.py builds it once). Goal: wall time <= 3x (a)'s check in the
    same run (a scan beside its Word form is only classified by its title, not read whole).

Peak memory is the child's ru_maxrss (RUSAGE_CHILDREN of a fresh wrapper process per run,
so ffprobe and LibreOffice children count too).

    .venv/bin/python bench/check_package.py [--repeat 3] [--mail-mb 300] [--quick]
"""

from __future__ import annotations

import argparse
import base64
import email
import email.policy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from intake_big_mail import BOUNDARY, CHILD_BASELINE  # noqa: E402  (a sibling bench script)
from legacy_package import build_legacy_mail  # noqa: E402  (a sibling bench script)
from scanned_package import build_scanned_mail  # noqa: E402  (a sibling bench script)

CACHE = ROOT / ".cache" / "bench"
SAMPLE = ROOT.parent / "shared" / "samples" / "yanbian_complete" / "1.eml"
NOMDESK = Path(sys.executable).with_name("nomdesk")
BASE64_GROWTH = 4 / 3 * 78 / 76  # base64 in 76-character lines with CRLF
EXEMPLAR_SIZE = (1280, 720)
PLAIN_SIZE = (640, 360)
MB = 1 << 20

# Run a command in a fresh process and report its wall time and its peak RSS (largest descendant).
CHILD_RUN = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
out = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss * 1024, "code": done.returncode}
try:
    result = json.loads(done.stdout)
    out["stars"] = len(result.get("stars", []))
    out["projects"] = len(result.get("projects", []))
    out["findings"] = [f["code"] for f in result.get("findings", [])]
except ValueError:
    out["findings"] = None
print(json.dumps(out))
"""


# (a)'s baseline: read the mail, decode its zip attachment(s), unzip every member to files.
CHILD_UNZIP = """
import email, email.policy, io, sys, zipfile
from pathlib import Path
out = Path(sys.argv[2])
with open(sys.argv[1], "rb") as fh:
    message = email.message_from_binary_file(fh, policy=email.policy.default)
n = 0
for part in message.iter_attachments():
    data = part.get_payload(decode=True)
    if not zipfile.is_zipfile(io.BytesIO(data)):
        (out / f"att{n}").write_bytes(data)
        n += 1
        continue
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            if not info.is_dir():
                (out / f"member{n}").write_bytes(zf.read(info))
                n += 1
"""

GOAL_A_RATIO = 14.0  # (a) check wall time / unzip baseline wall time
GOAL_C_RATIO = 3.0  # (c) legacy-format check wall time / (a) check wall time
GOAL_D_RATIO = 3.0  # (d) form-scans check wall time / (a) check wall time


def run_child(code: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True, cwd=ROOT
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def check(mail: Path) -> dict:
    return run_child(CHILD_RUN, str(NOMDESK), "check", str(mail), "--json")


def unzip(mail: Path) -> dict:
    """(a)'s baseline, in a fresh process started like `check` (through CHILD_RUN)."""
    with tempfile.TemporaryDirectory(prefix="bench-unzip-") as out:
        return run_child(CHILD_RUN, sys.executable, "-c", CHILD_UNZIP, str(mail), out)


# Building the big mail -------------------------------------------------------------------


def _zip_name(info: zipfile.ZipInfo) -> str:
    """Windows' zip writes GBK names without the UTF-8 flag; zipfile hands them back as cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    return info.filename.encode("cp437").decode("gb18030")


def sample_attachment(eml: Path) -> tuple[str, bytes]:
    with eml.open("rb") as fh:
        message = email.message_from_binary_file(fh, policy=email.policy.default)
    for part in message.iter_attachments():
        if part.get_filename() and part.get_filename().lower().endswith(".zip"):
            return part.get_filename(), part.get_payload(decode=True)
    raise SystemExit(f"no zip attachment in {eml}")


def probe(path: Path) -> dict:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-of", "json", "-show_entries",
         "stream=width,height,avg_frame_rate:format=duration", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    data = json.loads(done.stdout)
    stream = data["streams"][0]
    num, den = stream["avg_frame_rate"].split("/")
    return {
        "seconds": float(data["format"]["duration"]),
        "size": (int(stream["width"]), int(stream["height"])),
        "fps": float(num) / float(den or 1),
    }


def encode(target: Path, seconds: float, size: tuple[int, int], fps: float, kbps: int) -> None:
    rate = f"{kbps}k"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc2=size={size[0]}x{size[1]}:rate={fps:g}", "-t", f"{seconds:.3f}",
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", rate, "-minrate", rate, "-maxrate", rate,
         "-bufsize", rate, "-x264-params", "nal-hrd=cbr", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
         str(target)],
        check=True,
    )  # fmt: skip


def _gbk_info(name: str, compress: int) -> zipfile.ZipInfo:
    from tests.support.archives import _RawNameInfo

    info = _RawNameInfo(name.encode("gb18030"))
    info.compress_type = compress
    info.external_attr = 0o644 << 16
    return info


def build_big_mail(target_mb: int) -> tuple[Path, float]:
    """The sample with real-size videos, as a ~`target_mb` MB mail; (path, seconds it took to build)."""
    path = CACHE / f"yanbian-real-videos-{target_mb}.eml"
    if path.exists():
        return path, 0.0
    started = time.perf_counter()
    CACHE.mkdir(parents=True, exist_ok=True)
    zip_name, data = sample_attachment(SAMPLE)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        work = Path(tmp)
        (work / "in.zip").write_bytes(data)
        videos: list[tuple[str, dict]] = []
        other_bytes = 0
        with zipfile.ZipFile(work / "in.zip") as src:
            for i, info in enumerate(src.infolist()):
                name = _zip_name(info)
                if info.is_dir():
                    continue
                if name.lower().endswith(".mp4"):
                    local = work / f"orig{i}.mp4"
                    local.write_bytes(src.read(info))
                    videos.append((name, probe(local)))
                    local.unlink()
                else:
                    other_bytes += info.file_size
        total_seconds = sum(v["seconds"] for _, v in videos)
        video_bytes = target_mb * MB / BASE64_GROWTH - other_bytes
        kbps = int(video_bytes * 8 / total_seconds / 1000)
        print(f"building: {len(videos)} videos, {total_seconds:.0f} s in all, at {kbps} kbit/s CBR", flush=True)
        encoded: dict[str, Path] = {}
        for i, (name, meta) in enumerate(videos):
            size = EXEMPLAR_SIZE if meta["size"] == EXEMPLAR_SIZE else PLAIN_SIZE
            encoded[name] = work / f"video{i}.mp4"
            encode(encoded[name], meta["seconds"], size, meta["fps"], kbps)
        archive = work / "big.zip"
        with zipfile.ZipFile(work / "in.zip") as src, zipfile.ZipFile(archive, "w", allowZip64=True) as out:
            for info in src.infolist():
                name = _zip_name(info)
                if info.is_dir():
                    continue
                if name in encoded:
                    with (
                        out.open(_gbk_info(name, zipfile.ZIP_STORED), "w", force_zip64=True) as dst,
                        encoded[name].open("rb") as fh,
                    ):
                        while chunk := fh.read(MB):
                            dst.write(chunk)
                else:
                    out.writestr(_gbk_info(name, zipfile.ZIP_DEFLATED), src.read(info))
        _write_mail(path, archive, zip_name)
    return path, time.perf_counter() - started


def _write_mail(path: Path, archive: Path, zip_name: str) -> None:
    """A 163-style message: the sample's headers and a base64 zip attachment, written streaming."""
    partial = path.with_suffix(".partial")
    name = base64.b64encode(zip_name.encode()).decode()
    subject = base64.b64encode("延边州教育局报送百姓学习之星和终身学习品牌项目推荐材料".encode()).decode()
    body = base64.b64encode("吴老师：\n您好！推荐材料见附件。".encode()).decode()
    with partial.open("wb") as out, archive.open("rb") as src:
        out.write(
            (
                "Date: Sat, 21 Aug 2021 14:20:00 +0800\r\n"
                'From: "=?UTF-8?B?5LyN5Yek6Zye?=" <ybjyj_zcjy@163.com>\r\nTo: jlqmxx@126.com\r\n'
                f"Subject: =?UTF-8?B?{subject}?=\r\n"
                "Message-ID: <bench.real-videos@163.com>\r\nMIME-Version: 1.0\r\n"
                f'Content-Type: multipart/mixed; boundary="{BOUNDARY}"\r\n\r\n'
                f"--{BOUNDARY}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                f"{body}\r\n"
                f'--{BOUNDARY}\r\nContent-Type: application/zip; name="=?UTF-8?B?{name}?="\r\n'
                "Content-Transfer-Encoding: base64\r\n"
                f'Content-Disposition: attachment; filename="=?UTF-8?B?{name}?="\r\n\r\n'
            ).encode()
        )
        while chunk := src.read(57 * 20000):
            encoded = base64.b64encode(chunk)
            out.write(b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + b"\r\n")
        out.write(f"--{BOUNDARY}--\r\n".encode())
    partial.replace(path)


# Running -----------------------------------------------------------------------------------


def median_run(runs: list[dict]) -> dict:
    ordered = sorted(runs, key=lambda r: r["wall"])
    middle = ordered[len(ordered) // 2]
    return {
        **middle,
        "wall": statistics.median(r["wall"] for r in runs),
        "cpu": statistics.median(r.get("cpu", 0.0) for r in runs),  # (b)'s baseline reports none: 0
        "rss": max(r["rss"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median kept)")
    parser.add_argument("--mail-mb", type=int, default=300, help="size of the real-video mail in MB")
    parser.add_argument("--quick", action="store_true", help="2 runs per row; (b) only if its mail is cached")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 2

    legacy_mail = build_legacy_mail(CACHE)
    scanned_mail = build_scanned_mail(CACHE)
    scanned_runs: list[dict] = []
    sample_runs, unzip_runs, legacy_runs = [], [], []
    for _ in range(args.repeat):  # interleaved, so a slow moment of the machine hits both
        unzip_runs.append(unzip(SAMPLE))
        sample_runs.append(check(SAMPLE))
        legacy_runs.append(check(legacy_mail))
        scanned_runs.append(check(scanned_mail))
    sample, sample_base, legacy = median_run(sample_runs), median_run(unzip_runs), median_run(legacy_runs)
    scanned = median_run(scanned_runs)
    big_path = CACHE / f"yanbian-real-videos-{args.mail_mb}.eml"
    with_b = not args.quick or big_path.exists()
    if with_b:
        big, build_seconds = build_big_mail(args.mail_mb)
        with tempfile.TemporaryDirectory(dir=CACHE) as work:
            base = median_run([run_child(CHILD_BASELINE, str(big), work, BOUNDARY) for _ in range(args.repeat)])
        ours = median_run([check(big) for _ in range(args.repeat)])
    else:
        build_seconds = 0.0

    print(f"cores: {os.cpu_count()}; runs per row: {args.repeat} (median wall, max peak RSS)")
    if build_seconds:
        print(f"built {big.name} in {build_seconds:.0f} s")
    if not with_b:
        print(f"(b) skipped in --quick: {big_path.name} is not built (a full run builds it once)")
    print(f"{'what':<36} {'mail':>7} {'wall s':>7} {'CPU s':>6} {'peak RSS':>9} {'exit':>4} {'findings'}")
    rows = [
        ("(a) baseline: unzip sample 1.eml", SAMPLE, sample_base),
        ("(a) check sample 1.eml", SAMPLE, sample),
        ("(c) check .doc/.wps/.et forms", legacy_mail, legacy),
        ("(d) check forms + 300-dpi scans", scanned_mail, scanned),
    ]
    if with_b:
        rows += [("(b) baseline: decode attachment", big, base), ("(b) check real-video mail", big, ours)]
    for label, mail, r in rows:
        findings = r.get("findings")
        shown = "-" if findings is None else (",".join(findings) or "none")
        cpu = f"{r['cpu']:.2f}" if r.get("cpu") else "-"
        print(
            f"{label:<36} {mail.stat().st_size / MB:6.0f}M {r['wall']:7.2f} {cpu:>6} {r['rss'] / MB:8.0f}M "
            f"{r.get('code', '-')!s:>4} {shown}"
        )
    print()
    print(f"{'goal':<44} {'measured':>10} {'limit':>8}  ok")
    goals = [
        ("(a) wall time / baseline", sample["wall"] / sample_base["wall"], GOAL_A_RATIO),
        ("(c) legacy forms wall time / (a) check", legacy["wall"] / sample["wall"], GOAL_C_RATIO),
        ("(d) form scans wall time / (a) check", scanned["wall"] / sample["wall"], GOAL_D_RATIO),
    ]
    if with_b:
        goals += [
            ("(b) wall time / baseline", ours["wall"] / base["wall"], 2.0),
            ("(b) peak RSS (MB)", ours["rss"] / MB, 100.0),
        ]
    for label, value, limit in goals:
        print(f"{label:<44} {value:10.2f} {limit:8.2f}  {'yes' if value <= limit else 'NO'}")
    cpu_ratio = sample["cpu"] / sample_base["cpu"]
    print(f"(a) CPU time / baseline (steadier on a busy machine, not a goal): {cpu_ratio:.2f}x")


if __name__ == "__main__":
    main()
