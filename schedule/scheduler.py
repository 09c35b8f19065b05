"""APScheduler inside `nomdesk serve`: one persistent job that calls `Jobs.tick` every few minutes.

The job lives in the database (SQLAlchemyJobStore, table `apscheduler_jobs`), so a restart
finds it with its next run time. A restart after a missed run runs it once (coalesce, no
misfire limit), never once per missed interval; and what the tick does is idempotent
anyway, so neither a restart nor a second desk on the same database sends anything twice.
The job's reference is pickled into the database, not the desk: it names the runner by a
key, and each process registers its own `Jobs` under that key.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from schedule.jobs import Jobs

log = logging.getLogger(__name__)

JOB_ID = "nomdesk-tick"
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": None, "max_instances": 1}
DEFAULT_INTERVAL = dt.timedelta(minutes=5)

_runners: dict[str, Jobs] = {}
_runners_lock = threading.Lock()


def run_tick(key: str) -> int:
    """The scheduled job: the registered runner's tick (how many messages it queued)."""
    with _runners_lock:
        jobs = _runners.get(key)
    if jobs is None:
        log.warning("scheduled tick for %r, but no desk of this process runs it", key)
        return 0
    return len(jobs.tick().queued)


def make_scheduler(*, engine: Engine | None = None, url: str | None = None) -> BackgroundScheduler:
    """A background scheduler whose jobs are kept in the database (the store's engine, or a URL)."""
    store = SQLAlchemyJobStore(engine=engine) if engine is not None else SQLAlchemyJobStore(url=url)
    return BackgroundScheduler(jobstores={"default": store}, job_defaults=dict(JOB_DEFAULTS), timezone=dt.UTC)


class DeskScheduler:
    def __init__(
        self,
        jobs: Jobs,
        *,
        engine: Engine | None = None,
        url: str | None = None,
        key: str = "default",
        interval: dt.timedelta = DEFAULT_INTERVAL,
    ) -> None:
        self.jobs = jobs
        self.key = key
        self.interval = interval
        self.scheduler = make_scheduler(engine=None if url else engine or jobs.store.engine, url=url)

    def start(self) -> None:
        with _runners_lock:
            _runners[self.key] = self.jobs
        # Started paused: jobs already in the database are looked up before one is added.
        self.scheduler.start(paused=True)
        job = self.scheduler.get_job(JOB_ID)
        if job is None or job.args != (self.key,) or job.trigger.interval != self.interval:
            self.scheduler.add_job(
                run_tick,
                IntervalTrigger(seconds=self.interval.total_seconds(), timezone=dt.UTC),
                args=[self.key],
                id=JOB_ID,
                name="reminders and digest",
                replace_existing=True,
                next_run_time=dt.datetime.now(dt.UTC),
            )
        self.scheduler.resume()
        log.info("scheduler started: tick every %s", self.interval)

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        with _runners_lock:
            if _runners.get(self.key) is self.jobs:
                del _runners[self.key]
