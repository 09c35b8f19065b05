"""The cost of a unit's 20th resubmission against its first: merge + evaluation + receipt.

A dossier is rebuilt from every stored submission each time a mail arrives (RULES.md
"Resubmissions"), so a unit that sends the missing photos one mail at a time pays for
the whole history on each. Goal: the 20th submission, on a dossier of 10 nominees, costs
at most 1.5x the first one's, both measured in this run on the same machine.

    python bench/resubmission.py [--nominees 10] [--submissions 20] [--repeat 7]

Two units go through a real Desk over SQLite: one with only its first package, one with
the same package then 19 small follow-ups (a photo, a corrected register row, a video).
Reading each mail (unpacking, probing) is done before the timing; what is timed is what
every submission repeats: the unit's submissions loaded and merged, every rule run, the
evaluation stored, and the receipt composed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.campaign import Campaign, load_campaign
from config.settings import Settings
from nomdesk.desk import Desk
from notify.compose import compose_receipt
from storage.repo import Store
from tests.support.packages import (
    PackageSpec,
    Photo,
    Video,
    build_eml,
    complete_city_package,
    mail_date,
    middle_seconds,
)

UNIT = "延边朝鲜族自治州教育局"
OTHER_UNIT = "长春市教育局"  # the baseline: the same package from another city, a dossier of its own
OTHER_SENDER = "bench-changchun@163.com"


def _on(campaign: Campaign, days_before: int, hour: int) -> str:
    return mail_date(dt.datetime.combine(campaign.deadline - dt.timedelta(days=days_before), dt.time(hour, 0)))


def _follow_ups(campaign: Campaign, first: PackageSpec, count: int) -> list[PackageSpec]:
    """Small mails of the kinds units send: one photo, a corrected row, a new video."""
    mails: list[PackageSpec] = []
    for i in range(count):
        star = first.stars[i % len(first.stars)]
        common = {
            "subject": f"补充材料（{i + 1}）",
            "date": _on(campaign, 8 - i // 4, 8 + i % 4),
            "zip_name": f"补充材料{i + 1}.zip",
            "root": f"补充材料{i + 1}",
            "star_register": False,
            "project_register": False,
            "projects": [],
            "exemplar_star": None,
            "exemplar_project": None,
        }
        if i % 3 == 1:  # a one-row corrected 附表2
            row = dataclasses.replace(star, form=False, photos=[], videos=[])
            row.fields = {**row.fields, "phone": f"1384310{i:04d}"}
            mails.append(complete_city_package(campaign, stars=[row], **{**common, "star_register": True}))
        elif i % 3 == 2 and first.projects:  # a project's new video
            project = first.projects[i % len(first.projects)]
            video = Video(middle_seconds(campaign.project.video), f"{project.folder}新版视频{i}.mp4")
            only = dataclasses.replace(project, form=False, registered=False, summary_chars=None, photos=[])
            mails.append(
                complete_city_package(
                    campaign, stars=[], **{**common, "projects": [dataclasses.replace(only, videos=[video])]}
                )
            )
        else:  # one more photo
            photo = Photo(700 + i, 500 + i, f"{star.name}补充照片{i}.jpg")
            only = dataclasses.replace(star, form=False, registered=False, photos=[photo], videos=[])
            mails.append(complete_city_package(campaign, stars=[only], **common))
    return mails


def _load(desk: Desk, mails: list[Path]) -> None:
    for path in mails:
        desk.ingest_file(path)
    desk.process_pending()


def _once(desk: Desk, unit: str, campaign: Campaign) -> tuple[float, float, int]:
    """One submission's repeated work: its wall time, its CPU time (steadier on a busy machine),
    and how many lines the receipt has."""
    started, cpu = time.perf_counter(), time.process_time()
    result = desk.evaluate(unit)
    reply = compose_receipt(result.dossier, result.findings, campaign, now=desk.clock())
    return time.perf_counter() - started, time.process_time() - cpu, reply.text.count("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nominees", type=int, default=10)
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    campaign = load_campaign()
    stars = args.nominees - args.nominees // 2
    projects = args.nominees - stars
    with tempfile.TemporaryDirectory(prefix="nomdesk-bench-") as tmp:
        root = Path(tmp)
        first = complete_city_package(campaign, stars=stars, projects=projects, date=_on(campaign, 9, 9))
        baseline_first = dataclasses.replace(first, sender=OTHER_SENDER, unit=OTHER_UNIT)
        follow_ups = _follow_ups(campaign, first, args.submissions - 1)
        mails = [build_eml(spec, root / f"{i:02d}.eml") for i, spec in enumerate([first, *follow_ups])]
        baseline_mail = build_eml(baseline_first, root / "baseline.eml")

        data = root / "var"
        store = Store.open(data)
        store.directory.sync_units(campaign)
        store.contacts.add(OTHER_UNIT, name="基准联系人", emails=[OTHER_SENDER])
        desk = Desk(Settings(data_dir=data, database_url=None), campaign, store)
        started = time.perf_counter()
        _load(desk, [baseline_mail, *mails])
        print(f"setup: {len(mails) + 1} mails read and answered in {time.perf_counter() - started:.1f} s")

        firsts: list[tuple[float, float]] = []
        lasts: list[tuple[float, float]] = []
        lines = (0, 0)
        for _ in range(args.repeat):  # interleaved, so a slow moment of the machine hits both
            *t_first, n_first = _once(desk, OTHER_UNIT, campaign)
            *t_last, n_last = _once(desk, UNIT, campaign)
            firsts.append((t_first[0], t_first[1]))
            lasts.append((t_last[0], t_last[1]))
            lines = (n_first, n_last)
        tracemalloc.start()
        _once(desk, UNIT, campaign)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        subs = len(store.submissions.of_unit(UNIT))
        nominees = len(desk.evaluate(UNIT).dossier.stars) + len(desk.evaluate(UNIT).dossier.projects)
        store.close()

    first_s, last_s = (statistics.median(t[0] for t in ts) for ts in (firsts, lasts))
    first_cpu, last_cpu = (statistics.median(t[1] for t in ts) for ts in (firsts, lasts))
    ratio, cpu_ratio = last_s / first_s, last_cpu / first_cpu
    print(f"dossier: {nominees} nominees; {subs} submissions in the resubmitting unit")
    print(
        f"first submission (baseline): {first_s * 1000:.1f} ms wall, {first_cpu * 1000:.1f} ms CPU "
        f"(medians of {args.repeat}); receipt {lines[0]} lines"
    )
    print(f"submission {subs}: {last_s * 1000:.1f} ms wall, {last_cpu * 1000:.1f} ms CPU; receipt {lines[1]} lines")
    print(f"python heap peak of one submission {subs}: {peak / 1e6:.1f} MB")
    print(f"ratio: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU; goal <= 1.5x:", "met" if ratio <= 1.5 else "NOT met")


if __name__ == "__main__":
    main()
