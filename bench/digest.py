"""Time to build the office's digest (WeCom message + .xlsx) and the expert-review roster, and to
render the dashboard's campaign page, for a full campaign of 70 units and 1,000 nominees and for
the size asked (every nominee evaluated by the real rules), each against a baseline measured in the
same run: every row of the same SQLite database read with the standard library (JSON columns
decoded) and plain workbooks of the same size as the digest's and the roster's written with
openpyxl (values only, no styling).

Goal (issue 16): at 700 units and 10,000 nominees, digest + roster in <= 8 s (it took 24.3 s, 15x
the 1,000-nominee time for 10x the data) and the campaign page in <= 300 ms; the reads scale with
the data, not worse (the time ratio between the two sizes is printed beside the data ratio).

    python bench/digest.py [--units 700] [--nominees 10000] [--repeat 3] [--quick] [--dashboard]

--dashboard: also serve the dashboard over each size's data (logged in, as tests/web do) and time
its campaign page: the median of several GETs after one warm-up, and the first (cold) one.
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
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openpyxl import Workbook, load_workbook

from config.campaign import Campaign, Unit, UnitKind, load_campaign
from nomdesk.exports import roster_xlsx
from schedule.digest import build_digest, digest_markdown, digest_xlsx
from schedule.status import collect_status, forget_evaluations
from storage.repo import Store
from tests.support.campaign_script import Script, missing_form, scripted_campaign

GOAL_RATIO = 6.0  # (digest + roster) / (rows read + plain workbooks written), the 1,000-nominee goal
GOAL_SIZE = (700, 10_000)  # units, nominees: the size the goals are for
GOAL_SECONDS = 8.0  # digest + roster at GOAL_SIZE
GOAL_PAGE_MS = 300.0  # the campaign page at GOAL_SIZE
REFERENCE = (70, 1_000)  # the size every run measures beside the one asked
PAGE_GETS = 7  # GETs of the campaign page timed after the warm-up


@dataclass
class Result:
    units: int
    nominees: int
    stored_seconds: float
    digest: list[float] = field(default_factory=list)
    roster: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    base: list[float] = field(default_factory=list)
    base_cpu: list[float] = field(default_factory=list)
    base_rows: int = 0
    books: list[list[tuple[int, int]]] = field(default_factory=list)
    message_bytes: int = 0
    digest_bytes: int = 0
    roster_bytes: int = 0
    page_ms: list[float] = field(default_factory=list)
    page_first_ms: float | None = None

    @property
    def total(self) -> float:
        return statistics.median(d + r for d, r in zip(self.digest, self.roster, strict=True))


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


def campaign_of(units: int) -> Campaign:
    """The campaign's config with `units` units (test colleges added past the config's own)."""
    base = load_campaign()
    extra = [Unit(name=f"测试学院{i}", kind=UnitKind.CITY) for i in range(max(0, units - len(base.units)))]
    return scripted_campaign(base.model_copy(update={"units": [*base.units, *extra]}), units)


def seed(store: Store, campaign: Campaign, nominees: int, now: dt.datetime) -> int:
    """Every unit's package, evaluated by the real rules (a third complete, the rest missing a
    form), `nominees` nominees in all; returns how many were stored."""
    store.directory.sync_units(campaign)
    script = Script(campaign)
    q = campaign.quotas
    per_unit, rest = divmod(nominees, len(campaign.units))
    stored = 0
    for i, unit in enumerate(campaign.units):
        n = per_unit + (1 if i < rest else 0)
        projects = min(q.projects.min, n // 3)
        breakages = [missing_form(0)] if i % 3 else []
        sent = script.submit(store, unit.name, now - dt.timedelta(days=3), breakages=breakages, stars=n - projects)
        sent.dossier.projects = sent.dossier.projects[:projects]
        store.evaluations.save(unit.name, sent.dossier, sent.findings)
        stored += len(sent.dossier.stars) + len(sent.dossier.projects)
    return stored


def measure(store: Store, campaign: Campaign, db: Path, now: dt.datetime, result: Result, repeat: int) -> None:
    """Digest and roster built cold (nothing kept between rounds: the roster reads the dossiers the
    digest read, as in one desk process), interleaved with the baseline so a slow moment of the
    machine hits both."""
    for _ in range(repeat):
        if result.books:
            seconds, cpu, result.base_rows = baseline(db, result.books)
            result.base.append(seconds)
            result.base_cpu.append(cpu)
        forget_evaluations(store)  # every round reads every dossier, as a process that just started
        t0, cpu0 = time.perf_counter(), time.process_time()
        statuses = collect_status(store, campaign)
        digest = build_digest(statuses, campaign, now)
        markdown = digest_markdown(digest, campaign)
        xlsx = digest_xlsx(digest, campaign)
        t1 = time.perf_counter()
        roster = roster_xlsx(store, collect_status(store, campaign))
        t2 = time.perf_counter()
        result.cpu.append(time.process_time() - cpu0)
        result.digest.append(t1 - t0)
        result.roster.append(t2 - t1)
        result.message_bytes, result.digest_bytes, result.roster_bytes = len(markdown.encode()), len(xlsx), len(roster)
        if not result.books:  # the first round's workbooks give the baseline's shapes; its time is measured again
            result.books = [shape(xlsx), shape(roster)]
            seconds, cpu, result.base_rows = baseline(db, result.books)
            result.base.append(seconds)
            result.base_cpu.append(cpu)


def measure_page(data_dir: Path, campaign: Campaign, result: Result) -> None:
    """The campaign page served over the same data, logged in as the office: the first GET, then the
    median of PAGE_GETS after it."""
    from fastapi.testclient import TestClient

    from nomdesk.app import create_app
    from tests.support.dashboard import OFFICE_NAME, OFFICE_PASSWORD, OFFICE_USER, build_service, login

    service = build_service(data_dir, campaign)
    try:
        service.store.directory.add_user(OFFICE_USER, OFFICE_PASSWORD, OFFICE_NAME)
        with TestClient(create_app(service), base_url="http://127.0.0.1") as client:
            assert login(client).status_code == 303, "the office could not log in"
            times = []
            for _ in range(PAGE_GETS + 1):
                started = time.perf_counter()
                page = client.get("/")
                times.append((time.perf_counter() - started) * 1000)
                assert page.status_code == 200 and campaign.units[-1].name in page.text, "the page lacks a unit"
            result.page_first_ms, result.page_ms = times[0], times[1:]
    finally:
        service.shutdown()


def run(units: int, nominees: int, repeat: int, dashboard: bool) -> Result:
    campaign = campaign_of(units)
    now = dt.datetime.combine(campaign.deadline, dt.time(8), campaign.tz)
    with tempfile.TemporaryDirectory(prefix="nomdesk-bench-") as tmp:
        data_dir = Path(tmp) / "var"
        store = Store.open(data_dir)
        started = time.perf_counter()
        stored = seed(store, campaign, nominees, now)
        result = Result(units, stored, time.perf_counter() - started)
        print(f"campaign: {units} units, {stored} nominees stored in {result.stored_seconds:.1f} s", flush=True)
        measure(store, campaign, next(data_dir.glob("*.sqlite3")), now, result, repeat)
        store.close()
        if dashboard:
            measure_page(data_dir, campaign, result)
    report(result, repeat)
    return result


def report(r: Result, repeat: int) -> None:
    digest = statistics.median(r.digest)
    print(f"  digest: {digest:.2f} s (message {r.message_bytes} bytes, xlsx {r.digest_bytes} bytes)")
    print(f"  roster: {statistics.median(r.roster):.2f} s (xlsx {r.roster_bytes} bytes)")
    base = statistics.median(r.base)
    cells = ", ".join("+".join(f"{rows}x{cols}" for rows, cols in sheets) for sheets in r.books)
    print(
        f"  baseline: {base:.2f} s wall, {statistics.median(r.base_cpu):.2f} s CPU "
        f"({r.base_rows} database rows read; plain workbooks of {cells} cells written)"
    )
    ratio = r.total / base
    cpu_ratio = statistics.median(r.cpu) / statistics.median(r.base_cpu)
    print(
        f"  digest + roster: {r.total:.2f} s wall, {statistics.median(r.cpu):.2f} s CPU = {ratio:.2f}x baseline "
        f"wall, {cpu_ratio:.2f}x CPU (steadier on a busy machine; medians of {repeat})"
    )
    if (r.units, r.nominees) == REFERENCE:
        print(
            f"  goal digest + roster <= {GOAL_RATIO:.0f}x baseline: {ratio:.2f}x,",
            "met" if ratio <= GOAL_RATIO else "NOT met",
        )
    if r.page_ms:
        print(
            f"  campaign page: {statistics.median(r.page_ms):.0f} ms (median of {len(r.page_ms)} GETs after the "
            f"first, which took {r.page_first_ms:.0f} ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=REFERENCE[0])
    parser.add_argument("--nominees", type=int, default=REFERENCE[1])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2 runs instead of 3")
    parser.add_argument("--dashboard", action="store_true", help="time the dashboard's campaign page too")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 2

    sizes = [REFERENCE] + ([(args.units, args.nominees)] if (args.units, args.nominees) != REFERENCE else [])
    results = [run(units, nominees, args.repeat, args.dashboard) for units, nominees in sizes]
    if len(results) < 2:
        return
    small, large = results
    data = large.nominees / small.nominees
    print(
        f"scaling {small.units}->{large.units} units, {small.nominees}->{large.nominees} nominees "
        f"({data:.1f}x the data): digest + roster {large.total / small.total:.1f}x the time"
        + (
            f", campaign page {statistics.median(large.page_ms) / statistics.median(small.page_ms):.1f}x"
            if large.page_ms and small.page_ms
            else ""
        )
    )
    if (large.units, large.nominees) == GOAL_SIZE:
        print(
            f"goal digest + roster <= {GOAL_SECONDS:.0f} s at {large.units} units / {large.nominees} nominees: "
            f"{large.total:.2f} s,",
            "met" if large.total <= GOAL_SECONDS else "NOT met",
        )
        if large.page_ms:
            page = statistics.median(large.page_ms)
            print(
                f"goal campaign page <= {GOAL_PAGE_MS:.0f} ms at {large.units} units: {page:.0f} ms,",
                "met" if page <= GOAL_PAGE_MS else "NOT met",
            )


if __name__ == "__main__":
    main()
