from __future__ import annotations

import datetime as dt

from intake.models import Dossier, ProjectEntry, ProjectFields, StarEntry, StarFields, YearMonth
from storage.repo import Store
from validators.base import Finding, Severity

YANBIAN = "延边朝鲜族自治州教育局"
JLU = "吉林大学"
ID_NUMBER = "22240119800101123X"


def star(name: str, id_number: str | None = None, phone: str | None = None, exemplar: bool = False) -> StarEntry:
    row = StarFields(
        name=name,
        id_number=id_number,
        phone=phone,
        birth="1980.01",
        birth_parsed=YearMonth(year=1980, month=1),
        group="社区居民",
    )
    return StarEntry(name=name, registered=True, row=row, exemplar=exemplar)


def project(name: str) -> ProjectEntry:
    return ProjectEntry(name=name, registered=True, row=ProjectFields(name=name, category="社区教育"))


def dossier(unit: str, stars: list[StarEntry], projects: list[ProjectEntry] = ()) -> Dossier:
    return Dossier(unit=unit, unit_known=True, stars=stars, projects=list(projects))


def finding(code: str, severity: Severity, subject: str, **params) -> Finding:
    return Finding(code=code, severity=severity, subject=subject, params=params)


def test_current_findings_are_those_of_the_latest_evaluation(store: Store) -> None:
    first = [
        finding("STAR_QUOTA", Severity.WARNING, "推荐单位 延边", count=1, min=8),
        finding("STAR_ID_PHOTO", Severity.ERROR, "百姓学习之星 金哲洙"),
    ]
    v1 = store.save_evaluation(YANBIAN, dossier(YANBIAN, [star("金哲洙")]), first)
    second = [finding("STAR_QUOTA", Severity.WARNING, "推荐单位 延边", count=2, min=8)]
    v2 = store.save_evaluation(YANBIAN, dossier(YANBIAN, [star("金哲洙"), star("李梅")]), second)

    assert (v1, v2) == (1, 2)
    assert store.current_findings(YANBIAN) == second
    assert store.current_findings(JLU) == []
    assert store.current_version(YANBIAN) == 2
    snapshot = store.latest_dossier(YANBIAN)
    assert snapshot.version == 2
    assert [s["name"] for s in snapshot.dossier["stars"]] == ["金哲洙", "李梅"]
    assert Dossier.model_validate(store.dossier_version(YANBIAN, 1).dossier).stars[0].name == "金哲洙"


def test_findings_round_trip_with_params_and_evidence(store: Store) -> None:
    f = Finding(
        code="PROJECT_VIDEO_SPEC",
        severity=Severity.ERROR,
        subject="终身学习品牌项目 “书香南关”全民阅读推广行动",
        nominee="“书香南关”全民阅读推广行动",
        params={"seconds": 200.5, "min": 240, "max": 300},
        evidence={"path": "视频.mp4", "sizes": [1, 2]},
    )
    store.save_evaluation(YANBIAN, {"unit": YANBIAN}, [f])
    assert store.current_findings(YANBIAN) == [f]


def test_nominees_are_replaced_and_keep_no_raw_numbers(store: Store) -> None:
    store.save_evaluation(YANBIAN, dossier(YANBIAN, [star("金哲洙", ID_NUMBER, "13812345678", exemplar=True)]), [])
    store.save_evaluation(
        YANBIAN, dossier(YANBIAN, [star("金哲洙", ID_NUMBER, "13812345678")], [project("“书香延边”阅读行动")]), []
    )

    nominees = store.unit_nominees(YANBIAN)
    assert [(n.kind, n.name, n.exemplar) for n in nominees] == [
        ("star", "金哲洙", False),
        ("project", "“书香延边”阅读行动", False),
    ]
    star_row = nominees[0]
    assert star_row.id_hash == store.id_hash(ID_NUMBER.lower())  # normalised: x == X
    assert ID_NUMBER not in star_row.model_dump_json()
    assert "13812345678" not in star_row.model_dump_json()
    assert star_row.person_key is not None


def test_the_same_person_or_project_is_found_in_another_unit(store: Store) -> None:
    store.save_evaluation(
        JLU,
        dossier(JLU, [star("金哲洙", ID_NUMBER), star("王芳", None, "139 0000 1111")], [project("书香延边阅读行动")]),
        [],
    )
    mine = dossier(
        YANBIAN,
        [star("金哲洙", ID_NUMBER), star("王芳", None, "13900001111"), star("张三", "220102199001011234")],
        [project("“书香延边”阅读行动"), project("乐龄学堂")],
    )
    store.save_evaluation(YANBIAN, mine, [])

    assert store.cross_unit_duplicates(YANBIAN, mine) == {
        "金哲洙": [JLU],
        "王芳": [JLU],
        "“书香延边”阅读行动": [JLU],
    }
    assert [n.unit_name for n in store.find_nominee_elsewhere(JLU, id_hash=store.id_hash(ID_NUMBER))] == [YANBIAN]
    assert store.find_nominee_elsewhere(YANBIAN) == []


def test_withdrawn_nominees_are_not_duplicates_and_stay_withdrawn(store: Store) -> None:
    store.save_evaluation(JLU, dossier(JLU, [star("金哲洙", ID_NUMBER)]), [])
    assert store.set_nominee_withdrawn(JLU, "star", "金哲洙")
    store.save_evaluation(JLU, dossier(JLU, [star("金哲洙", ID_NUMBER)]), [])

    assert store.unit_nominees(JLU) == []
    assert store.unit_nominees(JLU, include_withdrawn=True)[0].withdrawn
    mine = dossier(YANBIAN, [star("金哲洙", ID_NUMBER)])
    assert store.cross_unit_duplicates(YANBIAN, mine) == {}


def test_overview_per_unit(store: Store, campaign) -> None:
    store.sync_units(campaign)
    raw, _ = store.put_raw(b"Message-ID: <o@x>\r\n\r\nx", source="cli")
    arrived = dt.datetime(2021, 8, 21, 1, 2, 3, tzinfo=dt.UTC)
    store.add_submission(raw.id, unit_name=YANBIAN, arrived_at=arrived)
    raw2, _ = store.put_raw(b"Message-ID: <p@x>\r\n\r\ny", source="cli")
    store.add_submission(raw2.id, unit_name="某某职业学院", arrived_at=arrived)
    store.save_evaluation(
        YANBIAN,
        dossier(YANBIAN, [star("金哲洙"), star("李梅")], [project("乐龄学堂")]),
        [finding("A", Severity.ERROR, "x"), finding("B", Severity.ERROR, "y")],
    )
    store.save_evaluation(
        YANBIAN,
        dossier(YANBIAN, [star("金哲洙"), star("李梅")], [project("乐龄学堂")]),
        [finding("A", Severity.ERROR, "x"), finding("C", Severity.WARNING, "z")],
    )
    store.record_paper(YANBIAN, dt.date(2021, 8, 25), "office:wuxiaohui")

    overview = {o.name: o for o in store.unit_overview()}

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
