"""A nominee's photo set after one more submission: every case of RULES.md's photo rule."""

from __future__ import annotations

from pathlib import Path

from intake.models import Outcome, PackageFile
from intake.photoset import merge_photos


def _photo(path: str, sha: str) -> PackageFile:
    return PackageFile(path=path, local=Path("/nonexistent"), size=1, sniffed="jpeg", sha256=sha)


HELD = [_photo("1/张三证件照.jpg", "a"), _photo("1/张三生活照.jpg", "b")]


def test_a_missing_photo_joins_the_set() -> None:
    merged = merge_photos(HELD[:1], [_photo("2/张三生活照2.jpg", "c")], 2, 2)
    assert [p.path for p in merged.photos] == ["1/张三证件照.jpg", "2/张三生活照2.jpg"]
    assert [o for _, o, _ in merged.outcomes] == [Outcome.ADDED]
    assert merged.set_aside == [] and merged.changed


def test_the_same_bytes_change_nothing() -> None:
    merged = merge_photos(HELD, [_photo("2/另存为.jpg", "a")], 2, 2)
    assert merged.photos == HELD and not merged.changed
    assert [o for _, o, _ in merged.outcomes] == [Outcome.SAME]


def test_the_same_name_replaces_that_photo_only() -> None:
    merged = merge_photos(HELD, [_photo("2/补充/张三生活照.JPG", "d")], 2, 2)
    assert [p.path for p in merged.photos] == ["1/张三证件照.jpg", "2/补充/张三生活照.JPG"]
    assert merged.outcomes[0][1:] == (Outcome.REPLACED, ["1/张三生活照.jpg"])
    assert merged.retired == ["1/张三生活照.jpg"] and merged.set_aside == []


def test_a_complete_new_set_that_would_overflow_replaces_the_old_one() -> None:
    sent = [_photo("2/新证件照.jpg", "e"), _photo("2/新生活照.jpg", "f")]
    merged = merge_photos(HELD, sent, 2, 2)
    assert merged.photos == sent
    assert merged.set_aside == [p.path for p in HELD]


def test_new_photos_that_fit_are_added_even_when_they_are_a_set() -> None:
    project = [_photo(f"1/活动{i}.jpg", str(i)) for i in range(4)]
    sent = [_photo(f"2/新活动{i}.jpg", f"n{i}") for i in range(4)]
    merged = merge_photos(project, sent, 4, 10)  # 8 photos: within the maximum, nothing set aside
    assert len(merged.photos) == 8 and merged.set_aside == []


def test_an_incomplete_batch_is_added_even_past_the_maximum() -> None:
    """One photo more than allowed is the count rule's warning to give, not a reason to drop the set."""
    merged = merge_photos(HELD, [_photo("2/张三第三张.jpg", "g")], 2, 2)
    assert len(merged.photos) == 3 and merged.set_aside == []


def test_a_complete_set_sent_again_with_one_photo_changed_replaces_the_set() -> None:
    """The unit re-sends the whole set, the ID photo unchanged: the set is what it sent, not three photos."""
    sent = [_photo("2/张三证件照.jpg", "a"), _photo("2/张三生活照（新）.jpg", "c")]
    merged = merge_photos(HELD, sent, 2, 2)
    assert [p.path for p in merged.photos] == ["1/张三证件照.jpg", "2/张三生活照（新）.jpg"]
    assert [o for _, o, _ in merged.outcomes] == [Outcome.SAME, Outcome.REPLACED]
    assert merged.set_aside == merged.retired == ["1/张三生活照.jpg"]


def test_a_new_photo_takes_the_place_of_a_damaged_one() -> None:
    """A retake under another name replaces the photo that could not be opened, so its error goes."""
    merged = merge_photos(HELD, [_photo("2/张三生活照（重发）.jpg", "c")], 2, 2, damaged={"1/张三生活照.jpg"})
    assert [p.path for p in merged.photos] == ["1/张三证件照.jpg", "2/张三生活照（重发）.jpg"]
    assert merged.outcomes[0][1:] == (Outcome.REPLACED, ["1/张三生活照.jpg"])
    assert merged.retired == ["1/张三生活照.jpg"] and merged.set_aside == []


def test_new_photos_without_an_id_photo_never_set_aside_the_held_one() -> None:
    """Two life photos sent to a star who has only the ID photo join it (a warning for one too
    many), rather than replace it (an ID-photo error): the dossier never gets worse by adding."""
    id_photo = _photo("1/张三证件照.jpg", "id")
    life = [_photo("2/生活照1.jpg", "l1"), _photo("2/生活照2.jpg", "l2")]

    def is_id(p: PackageFile) -> bool:
        return p.sha256 == "id" or "证件照" in p.path

    merged = merge_photos([id_photo], life, 2, 2, essential=is_id)
    assert merged.photos == [id_photo, *life] and merged.set_aside == []
    # a new set that brings its own ID photo still replaces the old one
    new_set = [_photo("2/张三新证件照.jpg", "id2"), _photo("2/生活照3.jpg", "l3")]
    replaced = merge_photos([id_photo, life[0]], new_set, 2, 2, essential=is_id)
    assert replaced.photos == new_set and replaced.set_aside == [id_photo.path, life[0].path]
