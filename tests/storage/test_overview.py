from __future__ import annotations

import datetime as dt

from storage.repo import Store
from tests.storage.dossiers import JLU, YANBIAN, dossier, finding, project, star
from validators.base import Severity


def test_overview_per_unit(store: Store, campaign) -> None:
    store.directory.sync_units(campaign)
    raw, _ = store.raw.put(b"Message-ID: <o@x>\r\n\r\nx", source="cli")
    arrived = dt.datetime(2021, 8, 21, 1, 2, 3, tzinfo=dt.UTC)
    store.submissions.add(raw.id, unit_name=YANBIAN, arrived_at=arrived)
    raw2, _ = store.raw.put(b"Message-ID: <p@x>\r\n\r\ny", source="cli")
    store.submissions.add(raw2.id, unit_name="某某职业学院", arrived_at=arrived)
    store.evaluations.save(
        YANBIAN,
        dossier(YANBIAN, [star("金哲洙"), star("李梅")], [project("乐龄学堂")]),
        [finding("A", Severity.ERROR, "x"), finding("B", Severity.ERROR, "y")],
    )
    store.evaluations.save(
        YANBIAN,
        dossier(YANBIAN, [star("金哲洙"), star("李梅")], [project("乐龄学堂")]),
        [finding("A", Severity.ERROR, "x"), finding("C", Severity.WARNING, "z")],
    )
    store.state.record_paper(YANBIAN, dt.date(2021, 8, 25), "office:wuxiaohui")

    overview = {o.name: o for o in store.overview.units()}

    assert list(overview)[: len(campaign.units)] == [u.name for u in campaign.units]
    yb = overview[YANBIAN]
    assert (yb.submissions, yb.stars, yb.projects) == (1, 2, 1)
    assert (yb.errors, yb.warnings, yb.infos) == (1, 1, 0)
    assert yb.last_arrival == arrived
    assert yb.paper_received and yb.known and yb.kind == "city"
    assert yb.evaluated_version == 2
    assert overview[JLU].submissions == 0 and not overview[JLU].paper_received
    stranger = overview["某某职业学院"]
    assert not stranger.known and stranger.submissions == 1


def test_overview_says_late_and_counts_exemplars_without_a_query_per_unit(store: Store, campaign) -> None:
    """The campaign page marks 逾期 and counts 典范 from the overview (one read for all units): a
    LATE finding counts only in the latest evaluation, exemplars only among the current nominees."""
    store.directory.sync_units(campaign)
    stars = [star("金哲洙", exemplar=True), star("李梅"), star("王芳", exemplar=True)]
    store.evaluations.save(YANBIAN, dossier(YANBIAN, stars), [finding("LATE", Severity.WARNING, "x")])
    store.evaluations.save(JLU, dossier(JLU, [star("赵岩", exemplar=True)]), [finding("LATE", Severity.WARNING, "x")])
    store.evaluations.save(JLU, dossier(JLU, [star("赵岩")]), [])

    overview = {o.name: o for o in store.overview.units()}

    assert overview[YANBIAN].late and (overview[YANBIAN].exemplar_stars, overview[YANBIAN].exemplar_projects) == (2, 0)
    assert not overview[JLU].late and overview[JLU].exemplar_stars == 0
