from __future__ import annotations

from intake.models import Dossier
from intake.nominees import cross_unit_duplicates
from storage.repo import Store
from tests.storage.dossiers import ID_NUMBER, JLU, YANBIAN, dossier, finding, project, star
from validators.base import Finding, Severity


def test_current_findings_are_those_of_the_latest_evaluation(store: Store) -> None:
    first = [
        finding("STAR_QUOTA", Severity.WARNING, "推荐单位 延边", count=1, min=8),
        finding("STAR_ID_PHOTO", Severity.ERROR, "百姓学习之星 金哲洙"),
    ]
    v1 = store.evaluations.save(YANBIAN, dossier(YANBIAN, [star("金哲洙")]), first)
    second = [finding("STAR_QUOTA", Severity.WARNING, "推荐单位 延边", count=2, min=8)]
    v2 = store.evaluations.save(YANBIAN, dossier(YANBIAN, [star("金哲洙"), star("李梅")]), second)

    assert (v1, v2) == (1, 2)
    assert store.evaluations.current_findings(YANBIAN) == second
    assert store.evaluations.current_findings(JLU) == []
    assert store.evaluations.current_version(YANBIAN) == 2
    snapshot = store.evaluations.latest_dossier(YANBIAN)
    assert snapshot.version == 2
    assert [s["name"] for s in snapshot.dossier["stars"]] == ["金哲洙", "李梅"]
    assert Dossier.model_validate(store.evaluations.dossier_version(YANBIAN, 1).dossier).stars[0].name == "金哲洙"


def test_findings_round_trip_with_params_and_evidence(store: Store) -> None:
    f = Finding(
        code="PROJECT_VIDEO_SPEC",
        severity=Severity.ERROR,
        subject="终身学习品牌项目 “书香南关”全民阅读推广行动",
        nominee="“书香南关”全民阅读推广行动",
        params={"seconds": 200.5, "min": 240, "max": 300},
        evidence={"path": "视频.mp4", "sizes": [1, 2]},
    )
    store.evaluations.save(YANBIAN, {"unit": YANBIAN}, [f])
    assert store.evaluations.current_findings(YANBIAN) == [f]


def test_nominees_are_replaced_and_keep_no_raw_numbers(store: Store) -> None:
    store.evaluations.save(YANBIAN, dossier(YANBIAN, [star("金哲洙", ID_NUMBER, "13812345678", exemplar=True)]), [])
    store.evaluations.save(
        YANBIAN, dossier(YANBIAN, [star("金哲洙", ID_NUMBER, "13812345678")], [project("“书香延边”阅读行动")]), []
    )

    nominees = store.evaluations.nominees(YANBIAN)
    assert [(n.kind, n.name, n.exemplar) for n in nominees] == [
        ("star", "金哲洙", False),
        ("project", "“书香延边”阅读行动", False),
    ]
    star_row = nominees[0]
    assert star_row.id_hash == store.evaluations.id_hash(ID_NUMBER.lower())  # normalised: x == X
    assert ID_NUMBER not in star_row.model_dump_json()
    assert "13812345678" not in star_row.model_dump_json()
    assert star_row.person_key is not None


def test_the_same_person_or_project_is_found_in_another_unit(store: Store) -> None:
    store.evaluations.save(
        JLU,
        dossier(JLU, [star("金哲洙", ID_NUMBER), star("王芳", None, "139 0000 1111")], [project("书香延边阅读行动")]),
        [],
    )
    mine = dossier(
        YANBIAN,
        [star("金哲洙", ID_NUMBER), star("王芳", None, "13900001111"), star("张三", "220102199001011234")],
        [project("“书香延边”阅读行动"), project("乐龄学堂")],
    )
    store.evaluations.save(YANBIAN, mine, [])

    assert cross_unit_duplicates(YANBIAN, mine, store.evaluations) == {
        "金哲洙": [JLU],
        "王芳": [JLU],
        "“书香延边”阅读行动": [JLU],
    }
    assert [
        n.unit_name for n in store.evaluations.find_nominee_elsewhere(JLU, id_hash=store.evaluations.id_hash(ID_NUMBER))
    ] == [YANBIAN]
    assert store.evaluations.find_nominee_elsewhere(YANBIAN) == []


def test_latest_evaluations_read_every_unit_at_once_as_one_by_one(store: Store) -> None:
    """The digest and the roster read every unit's latest evaluation in one go: the same snapshot and
    findings as the per-unit reads, sealed phone numbers opened, a unit never evaluated absent."""
    store.evaluations.save(YANBIAN, dossier(YANBIAN, [star("金哲洙")]), [finding("A", Severity.ERROR, "x")])
    second = [finding("B", Severity.WARNING, "y", phone="13843100000"), finding("C", Severity.ERROR, "z")]
    store.evaluations.save(YANBIAN, dossier(YANBIAN, [star("金哲洙", phone="13843100000")]), second)
    store.evaluations.save(JLU, dossier(JLU, [star("李梅")]), [])

    found = store.evaluations.latest_evaluations([YANBIAN, JLU, "长春市教育局"])

    assert set(found) == {YANBIAN, JLU}
    snapshot, findings = found[YANBIAN]
    assert snapshot.version == 2 and findings == second == store.evaluations.current_findings(YANBIAN)
    assert snapshot.dossier == store.evaluations.latest_dossier(YANBIAN).dossier
    assert snapshot.dossier["stars"][0]["row"]["phone"] == "13843100000"
    assert found[JLU][0].version == 1 and found[JLU][1] == []
