"""Time to build the office's digest (WeCom message + .xlsx) and the expert-review roster for a
full campaign: 70 units and 1,000 nominees, every one evaluated by the real rules, against a
baseline measured in the same run: every row of the same SQLite database read with the
standard library (JSON columns decoded) and plain workbooks of the same size as the digest's
and the roster's written with openpyxl (values only, no styling). Goal: digest + roster <= 6x
that baseline (it was "<= 2 s"; the baseline takes ~0.35 s on the 2-core machine).

    python bench/digest.py [--units 70] [--nominees 1000] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openpyxl import Workbook, load_workbook

from config.campaign import Unit, UnitKind, load_campaign
from nomdesk.exports import roster_xlsx
from schedule.digest import build_digest, digest_markdown, digest_xlsx
from schedule.status import collect_status
from storage.repo import Store
from tests.support.campaign_script import Script, missing_form, scripted_campaign

GOAL_RATIO = 6.0  # (digest + roster) / (rows read + plain workbooks written)


def shape(xlsx: bytes) -> list[tuple[int, int]]:
    """(rows, columns) of each sheet of a workbook."""
    book = load_workbook(io.BytesIO(xlsx), read_only=True)
    return [(sheet.max_row or 0, sheet.max_column or 0) for sheet in book.worksheets]


def baseline(db: Path, books: list[list[tuple[int, int]]]) -> tuple[float, float, int]:
    """Seconds (wall, CPU) to read every row of the database (JSON decoded) and write plain workbooks
    of these shapes, and how many rows it read."""
    started, cpu = time.perf_counter(), time.process_time()
    rows = 0
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in con.execute(f'SELECT * FROM "{table}"'):
                rows += 1
                for value in row:
                    if isinstance(value, str) and value[:1] in ("[", "{"):
                        json.loads(value)
    finally:
        con.close()
    for sheets in books:
        book = Workbook()
        for i, (n_rows, n_cols) in enumerate(sheets):
            sheet = book.active if i == 0 else book.create_sheet()
            for r in range(n_rows):
                sheet.append([f"单元格{r}-{c}" for c in range(n_cols)])
        book.save(io.BytesIO())
    return time.perf_counter() - started, time.process_time() - cpu, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=70)
    parser.add_argument("--nominees", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2 runs instead of 3")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 2

    base = load_campaign()
    extra = [Unit(name=f"测试学院{i}", kind=UnitKind.CITY) for i in range(max(0, args.units - len(base.units)))]
    campaign = scripted_campaign(base.model_copy(update={"units": [*base.units, *extra]}), args.units)
    q = campaign.quotas
    per_unit, rest = divmod(args.nominees, args.units)
    with tempfile.TemporaryDirectory(prefix="nomdesk-bench-") as tmp:
        store = Store.open(Path(tmp) / "var")
        store.directory.sync_units(campaign)
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
            store.evaluations.save(unit.name, sent.dossier, sent.findings)
            nominees += len(sent.dossier.stars) + len(sent.dossier.projects)
        print(f"campaign: {args.units} units, {nominees} nominees stored in {time.perf_counter() - started:.1f} s")

        db = next((Path(tmp) / "var").glob("*.sqlite3"))
        digest_times, roster_times, base_times, cpu_times, base_cpu = [], [], [], [], []
        books: list[list[tuple[int, int]]] = []
        for _ in range(args.repeat):  # interleaved, so a slow moment of the machine hits both
            if books:
                seconds, cpu, base_rows = baseline(db, books)
                base_times.append(seconds)
                base_cpu.append(cpu)
            t0, cpu0 = time.perf_counter(), time.process_time()
            statuses = collect_status(store, campaign)
            digest = build_digest(statuses, campaign, now)
            markdown = digest_markdown(digest, campaign)
            xlsx = digest_xlsx(digest, campaign)
            t1 = time.perf_counter()
            roster = roster_xlsx(store, collect_status(store, campaign))
            t2 = time.perf_counter()
            cpu_times.append(time.process_time() - cpu0)
            digest_times.append(t1 - t0)
            roster_times.append(t2 - t1)
            if not books:  # the first round's workbooks give the baseline's shapes; its time is measured again
                books = [shape(xlsx), shape(roster)]
                seconds, cpu, base_rows = baseline(db, books)
                base_times.append(seconds)
                base_cpu.append(cpu)
        store.close()
    print(
        f"digest: {statistics.median(digest_times):.2f} s "
        f"(message {len(markdown.encode())} bytes, xlsx {len(xlsx)} bytes)"
    )
    print(f"roster: {statistics.median(roster_times):.2f} s (xlsx {len(roster)} bytes)")
    base = statistics.median(base_times)
    cells = ", ".join("+".join(f"{r}x{c}" for r, c in sheets) for sheets in books)
    print(
        f"baseline: {base:.2f} s wall, {statistics.median(base_cpu):.2f} s CPU "
        f"({base_rows} database rows read; plain workbooks of {cells} cells written)"
    )
    total = statistics.median(d + r for d, r in zip(digest_times, roster_times, strict=True))
    ratio = total / base
    cpu_ratio = statistics.median(cpu_times) / statistics.median(base_cpu)
    print(
        f"digest + roster: {total:.2f} s wall, {statistics.median(cpu_times):.2f} s CPU = {ratio:.2f}x baseline "
        f"wall, {cpu_ratio:.2f}x CPU (steadier on a busy machine; medians of {args.repeat})"
    )
    print(
        f"goal digest + roster <= {GOAL_RATIO:.0f}x baseline: {ratio:.2f}x,",
        "met" if ratio <= GOAL_RATIO else "NOT met",
    )


if __name__ == "__main__":
    main()
