"""Time to import the office's contact sheet (`nomdesk contacts import`, the dashboard's 联系人 page:
the page waits for it): every unit of the campaign with 3 contacts, each with a phone, an address
and a WeCom account, into a fresh store, then the same sheet again (all unchanged). Baseline,
measured in the same run: the same sheet read with openpyxl (values only) and its rows written
to a plain SQLite table of the same store's kind (one transaction per row, as the store does).
Goal: each import <= 10x that baseline (~5x and ~3.5x on the 2-core machine; before an address's
owner was looked up by one row instead of every contact, ~14x and ~30x).

    .venv/bin/python -m bench.contact_import [--per-unit 3] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import io
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook, load_workbook

from config.campaign import Campaign, load_campaign
from nomdesk.contacts import import_contacts
from storage.repo import Store

GOAL_RATIO = 10.0  # each import / (sheet read + rows written)
HEADER = ["单位", "联系人", "电话", "邮箱", "企业微信账号"]


def sheet(campaign: Campaign, per_unit: int) -> bytes:
    book = Workbook()
    rows = book.active
    rows.append(HEADER)
    n = 0
    for i, unit in enumerate(campaign.units):
        for j in range(per_unit):
            n += 1
            rows.append([unit.name, f"联系人{i}之{j}", f"139{n:08d}", f"c{n}@qq.com", f"wx{n}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def baseline(data: bytes, folder: Path) -> float:
    started = time.perf_counter()
    rows = list(load_workbook(io.BytesIO(data), read_only=True).active.iter_rows(min_row=2, values_only=True))
    con = sqlite3.connect(folder / f"baseline-{time.monotonic_ns()}.sqlite3")
    try:
        con.execute("CREATE TABLE contact (unit TEXT, name TEXT, phone TEXT, email TEXT UNIQUE, wecom TEXT)")
        for row in rows:
            with con:
                con.execute("INSERT INTO contact VALUES (?, ?, ?, ?, ?)", row)
    finally:
        con.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-unit", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2 runs instead of 3")
    args = parser.parse_args()
    repeat = 2 if args.quick else args.repeat
    campaign = load_campaign()
    data = sheet(campaign, args.per_unit)
    rows = len(campaign.units) * args.per_unit
    first, second, base = [], [], []
    with tempfile.TemporaryDirectory(prefix="nomdesk-bench-") as tmp:
        for run in range(repeat):  # interleaved, so a slow moment of the machine hits both
            base.append(baseline(data, Path(tmp)))
            with Store.open(Path(tmp) / f"var{run}") as store:
                store.directory.sync_units(campaign)
                t0 = time.perf_counter()
                done = import_contacts(store, campaign, data, actor="bench")
                t1 = time.perf_counter()
                again = import_contacts(store, campaign, data, actor="bench")
                t2 = time.perf_counter()
            assert (done.added, again.unchanged, done.problems) == (rows, rows, []), (done, again)
            first.append(t1 - t0)
            second.append(t2 - t1)
    b = statistics.median(base)
    print(f"sheet: {rows} contacts of {len(campaign.units)} units ({len(data)} bytes)")
    print(f"baseline: {b:.3f} s (sheet read with openpyxl, {rows} rows written to SQLite one by one)")
    for label, times in (("first import (all added)", first), ("same sheet again (all unchanged)", second)):
        ratio = statistics.median(times) / b
        print(
            f"{label}: {statistics.median(times):.2f} s = {ratio:.1f}x baseline; goal <= {GOAL_RATIO:.0f}x:",
            "met" if ratio <= GOAL_RATIO else "NOT met",
        )


if __name__ == "__main__":
    main()
