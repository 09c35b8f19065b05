"""Volumes kept with their submission, and a submission's reading replaced once its volume set is
joined (issue 14): written once, whoever of two checks of the unit comes second writes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from intake.models import FileKind, PackageFile, VolumePart
from storage.repo import Store
from storage.submissions import VOLUME_KIND

T0 = dt.datetime(2021, 8, 20, 9, 0, tzinfo=dt.UTC)
UNIT = "延边朝鲜族自治州教育局"
SET = "材料.7z"


def _raw(store: Store, n: int) -> int:
    row, _ = store.raw.put(f"Message-ID: <v{n}@x>\r\n\r\nbody {n}\r\n".encode(), source="cli", received_at=T0)
    return row.id


def test_a_volume_is_kept_and_a_joined_reading_is_written_once(store: Store, tmp_path: Path) -> None:
    piece = tmp_path / "材料.7z.002"
    piece.write_bytes(b"second half of the archive")
    volume = VolumePart(path=piece.name, local=piece, size=26, set_name=SET, style="split", number=2)
    kept = store.submissions.store_volume(volume)
    summary = {"submission": {"index": 0, "source": "raw:1", "volumes": [volume.model_dump(mode="json")]}, "x": 1}
    row, _ = store.submissions.add(_raw(store, 1), unit_name=UNIT, arrived_at=T0, summary=summary, files=[kept])
    [stored] = store.submissions.files(row.id)
    assert (stored.kind, stored.path, stored.size) == (VOLUME_KIND, "材料.7z.002", 26)
    assert store.submissions.file_path(stored).read_bytes() == piece.read_bytes()

    photo = tmp_path / "照片.jpg"
    photo.write_bytes(b"\xff\xd8\xff joined photo")
    joined_photo = PackageFile(path=f"{SET}/照片.jpg", local=photo, size=16, sniffed="jpeg", kind=FileKind.PHOTO)
    content = store.submissions.store_file(joined_photo)
    reading = {"index": 0, "source": "raw:1", "volumes": [], "joined_volumes": [SET]}
    assert store.submissions.update_read(row.id, reading, [content], joined=[SET])
    # A second check of the unit that joined the same set from the same readings writes nothing.
    assert not store.submissions.update_read(row.id, reading, [content], joined=[SET])

    after = store.submissions.get(row.id)
    assert after.summary == {"submission": reading, "x": 1}  # what else the row kept stays
    assert [f.path for f in store.submissions.files(row.id)] == ["材料.7z.002", f"{SET}/照片.jpg"]
    [entry] = store.audit.entries(action="submission.volumes_joined")
    assert entry.detail["sets"] == [SET] and entry.detail["files"] == 1


def test_a_voided_submission_takes_no_joined_reading(store: Store) -> None:
    row, _ = store.submissions.add(_raw(store, 1), unit_name=UNIT, arrived_at=T0, summary={"submission": {}})
    store.submissions.void(row.id, actor="office:wu", reason="发错了")
    assert not store.submissions.update_read(row.id, {"joined_volumes": [SET]}, [], joined=[SET])
    assert store.submissions.get(row.id).summary == {"submission": {}}
