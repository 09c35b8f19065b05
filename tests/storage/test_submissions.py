from __future__ import annotations

import datetime as dt
from pathlib import Path

from intake.models import FileKind, PackageFile, PhotoInfo
from storage.repo import Store

T0 = dt.datetime(2021, 8, 20, 9, 0, tzinfo=dt.UTC)
UNIT = "延边朝鲜族自治州教育局"


def raw(store: Store, n: int, at: dt.datetime = T0) -> int:
    row, _ = store.raw.put(f"Message-ID: <{n}@x>\r\n\r\nbody {n}\r\n".encode(), source="cli", received_at=at)
    return row.id


def test_submission_with_files_is_kept_once_per_raw_message(store: Store, tmp_path: Path) -> None:
    photo = tmp_path / "证件照.jpg"
    photo.write_bytes(b"\xff\xd8\xff fake jpeg bytes")
    package_file = PackageFile(
        path="材料.zip/金哲洙/证件照.jpg",
        local=photo,
        size=photo.stat().st_size,
        sniffed="jpeg",
        kind=FileKind.PHOTO,
        photo=PhotoInfo(format="JPEG", width=413, height=579, colour=True),
    )
    new_file = store.submissions.store_file(package_file)
    raw_id = raw(store, 1)

    sub, created = store.submissions.add(
        raw_id, unit_name=UNIT, arrived_at=T0, summary={"stars": ["金哲洙"]}, files=[new_file]
    )
    again, created_again = store.submissions.add(raw_id, unit_name=UNIT, arrived_at=T0, files=[new_file])

    assert created and not created_again
    assert again.id == sub.id
    files = store.submissions.files(sub.id)
    assert [(f.path, f.kind, f.sniffed, f.size) for f in files] == [
        ("材料.zip/金哲洙/证件照.jpg", "photo", "jpeg", package_file.size)
    ]
    assert files[0].probe["photo"]["width"] == 413
    assert store.submissions.file_path(files[0]).read_bytes() == photo.read_bytes()
    assert store.submissions.for_raw(raw_id).summary == {"stars": ["金哲洙"]}


def test_unit_submissions_come_in_arrival_order_with_indexes(store: Store) -> None:
    later = store.submissions.add(raw(store, 1), unit_name=UNIT, arrived_at=T0 + dt.timedelta(days=2))[0]
    earlier = store.submissions.add(raw(store, 2), unit_name=UNIT, arrived_at=T0)[0]
    store.submissions.add(raw(store, 3), unit_name="吉林大学", arrived_at=T0)

    subs = store.submissions.of_unit(UNIT)

    assert [s.id for s in subs] == [earlier.id, later.id]
    assert {s.unit_index for s in subs} == {1, 2}
    assert subs[0].arrived_at == T0


def test_unknown_sender_submission_is_assigned_by_the_office(store: Store) -> None:
    sub, _ = store.submissions.add(raw(store, 1), unit_name=None, arrived_at=T0)
    store.submissions.add(raw(store, 2), unit_name=UNIT, arrived_at=T0 - dt.timedelta(days=1))
    assert [s.id for s in store.submissions.unassigned()] == [sub.id]

    assigned = store.submissions.assign_unit(sub.id, UNIT, actor="office:wuxiaohui")

    assert assigned.unit_name == UNIT and assigned.unit_confirmed
    assert assigned.unit_index == 2
    assert store.submissions.unassigned() == []
    assert [s.id for s in store.submissions.of_unit(UNIT)][-1] == sub.id
    entry = store.audit.entries(action="submission.unit_assigned")[0]
    assert entry.actor == "office:wuxiaohui" and entry.unit_name == UNIT
