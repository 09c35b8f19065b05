"""Time to build the office's digest (WeCom message + .xlsx) and the expert-review roster for a
full campaign: 70 units and 1,000 nominees, every one evaluated by the real rules. Goal: <= 2 s each.

    python bench/digest.py [--units 70] [--nominees 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.campaign import Unit, UnitKind, load_campaign
from nomdesk.exports import roster_xlsx
from schedule.digest import build_digest, digest_markdown, digest_xlsx
from schedule.status import collect_status
from storage.repo import Store
from tests.support.campaign_script import Script, missing_form, scripted_campaign


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=70)
    parser.add_argument("--nominees", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    base = load_campaign()
    extra = [Unit(name=f"测试学院{i}", kind=UnitKind.CITY) for i in range(max(0, args.units - len(base.units)))]
    campaign = scripted_campaign(base.model_copy(update={"units": [*base.units, *extra]}), args.units)
    q = campaign.quotas
    per_unit, rest = divmod(args.nominees, args.units)
    with tempfile.TemporaryDirectory(prefix="nomdesk-bench-") as tmp:
        store = Store.open(Path(tmp) / "var")
        store.sync_units(campaign)
        script = Script(campaign)
        now = dt.datetime.combine(campaign.deadline, dt.time(8), campaign.tz)
        started = time.perf_counter()
        nominees = 0
        for i, unit in enumerate(campaign.units):
            n = per_unit + (1 if i < rest else 0)
            projects = min(q.projects.min, n // 3)
            stars = n - projects
            sent = script.submit(
                store, unit.name, now - dt.timedelta(days=3), breakages=[missing_form(0)] if i % 3 else [], stars=stars
            )
            sent.dossier.projects = sent.dossier.projects[:projects]
            store.save_evaluation(unit.name, sent.dossier, sent.findings)
            nominees += len(sent.dossier.stars) + len(sent.dossier.projects)
        print(f"campaign: {args.units} units, {nominees} nominees stored in {time.perf_counter() - started:.1f} s")

        digest_times, roster_times = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            statuses = collect_status(store, campaign)
            digest = build_digest(statuses, campaign, now)
            markdown = digest_markdown(digest, campaign)
            xlsx = digest_xlsx(digest, campaign)
            t1 = time.perf_counter()
            roster = roster_xlsx(store, collect_status(store, campaign))
            t2 = time.perf_counter()
            digest_times.append(t1 - t0)
            roster_times.append(t2 - t1)
        store.close()
    print(
        f"digest: {statistics.median(digest_times):.2f} s "
        f"(message {len(markdown.encode())} bytes, xlsx {len(xlsx)} bytes)"
    )
    print(f"roster: {statistics.median(roster_times):.2f} s (xlsx {len(roster)} bytes)")
    total = statistics.median(d + r for d, r in zip(digest_times, roster_times, strict=True))
    print(f"digest + roster: {total:.2f} s; goal <= 2 s:", "met" if total <= 2 else "NOT met")


if __name__ == "__main__":
    main()
