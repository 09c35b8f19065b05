"""Where each unit stands, as the digest, the roster and the reminders read it: every unit's dossier
read at once, kept between reads, and true after another desk process evaluated a unit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from config.campaign import Campaign
from schedule.status import UnitState, collect_status, forget_evaluations
from storage.repo import Store
from tests.support.campaign_script import Script, missing_form, scripted_campaign


def test_statuses_kept_between_reads_follow_an_evaluation_by_another_process(
    tmp_path: Path, campaign: Campaign
) -> None:
    small = scripted_campaign(campaign, 3)
    first, second, third = (u.name for u in small.units)
    at = dt.datetime.combine(small.deadline, dt.time(8), small.tz) - dt.timedelta(days=3)
    with Store.open(tmp_path / "var") as office, Store.open(tmp_path / "var") as pipeline:  # two processes
        pipeline.directory.sync_units(small)
        script = Script(small)
        script.submit(pipeline, first, at, stars=9)
        script.submit(pipeline, second, at, breakages=[missing_form(0)], stars=9)

        before = {s.name: s for s in collect_status(office, small)}
        assert (before[first].state, before[second].state) == (UnitState.COMPLETE, UnitState.INCOMPLETE)
        assert before[third].state == UnitState.NOTHING and before[first].stars == 9

        script.submit(pipeline, second, at + dt.timedelta(days=1), stars=10)  # the unit's corrected package
        script.submit(pipeline, third, at + dt.timedelta(days=1), stars=8)
        after = {s.name: s for s in collect_status(office, small)}

        assert [after[u].state for u in (first, second, third)] == [UnitState.COMPLETE] * 3
        assert (after[first].stars, after[second].stars, after[third].stars) == (9, 10, 8)
        assert after[second].errors == [] and len(after[second].dossier.submissions) == 2

        forget_evaluations(office)  # read again from scratch: the same
        again = {s.name: (s.state, s.stars, s.findings) for s in collect_status(office, small)}
        assert again == {u: (after[u].state, after[u].stars, after[u].findings) for u in after}
