"""The cross-unit duplicate check compares names as the intake does (`intake.names.name_key`): a
person another unit wrote with ・ or spaces, or a project with other quotes, is the same nominee."""

from __future__ import annotations

from intake.nominees import cross_unit_duplicates
from storage.repo import Store
from tests.storage.dossiers import JLU, YANBIAN, dossier, project, star


def test_another_units_spelling_of_a_name_is_the_same_nominee(store: Store) -> None:
    store.evaluations.save(
        JLU,
        dossier(
            JLU,
            [star("阿依古丽・买买提", None, "13900001111"), star("王丹丹", None, "13900002222")],
            [project("书香 延边")],
        ),
        [],
    )
    mine = dossier(
        YANBIAN,
        [star("阿依古丽·买买提", None, "13900001111"), star("王丹", None, "13900002222")],
        [project("“书香延边”")],
    )
    store.evaluations.save(YANBIAN, mine, [])

    assert cross_unit_duplicates(YANBIAN, mine, store.evaluations) == {
        "阿依古丽·买买提": [JLU],  # the same name (another dot), birth month and phone
        "“书香延边”": [JLU],
    }  # 王丹 is not 王丹丹, whatever their phone
    named = store.evaluations.find_nominee_elsewhere(YANBIAN, kind="star", name="阿依古丽 买买提")
    assert [(n.unit_name, n.name) for n in named] == [(JLU, "阿依古丽・买买提")]
