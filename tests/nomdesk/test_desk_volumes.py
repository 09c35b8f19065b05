"""A package split as 7z volumes over two mails (issue 14), in the service: 延边州 mails
`….7z.001` today ("（1/2）") and `….7z.002` tomorrow ("（2/2）"). The first receipt names the
missing volume; the second mail's check joins the set from the stored volumes and its receipt
lists the package's files with nothing wrong; later checks join nothing again; a new desk on the
same store reads the same dossier; voiding the completing mail brings the missing volume back."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from config.campaign import Campaign
from config.settings import Settings
from nomdesk.desk import Desk
from nomdesk.exports import materials_plan
from storage.repo import Store
from storage.submissions import VOLUME_KIND
from tests.conftest import SHARED
from tests.support.clock import Clock
from tests.support.mail import attachment, filename_rfc2047
from tests.support.media import make_photo
from tests.support.service import mail
from tests.support.volumes import STEM, package_folder, seven_zip_volumes

UNIT = "延边朝鲜族自治州教育局"
SENDER = "ybjyj_zcjy@163.com"  # 延边州's registered contact
WECOM_CONTACT = "wufengxia"  # 延边州's contact in WeCom
SAMPLE = SHARED / "samples" / "yanbian_complete"
ARCHIVE = f"{STEM}.7z"
UNREADABLE_WORDS = ("无法打开", "类型无法自动读取")  # what the volumes were called before they were joined


@pytest.fixture(scope="module")
def volumes() -> list[bytes]:
    """X.7z.001 and X.7z.002: the sample's package as a 7z by the real 7z, its bytes cut in two as
    7-Zip's -v cuts them (tests/support/volumes.py, made once per run)."""
    made = seven_zip_volumes(2)
    assert [name for name, _ in made] == [f"{ARCHIVE}.001", f"{ARCHIVE}.002"]
    return [data for _, data in made]


def _send(desk: Desk, clock: Clock, tmp_path: Path, n: int, parts: list, subject: str) -> int:
    """Mail n of the unit's contact, read by the desk; its raw message id."""
    path = tmp_path / f"{n}.eml"
    path.write_bytes(mail(SENDER, subject=subject, parts=parts, message_id=f"<vol{n}@163.com>", date=None))
    record = desk.ingest_file(path, received_at=clock())
    desk.process_pending()
    clock.now += dt.timedelta(days=1)
    return record.id


def _volume_mail(desk: Desk, clock: Clock, tmp_path: Path, volumes: list[bytes], number: int) -> int:
    name = f"{ARCHIVE}.{number:03d}"
    part = attachment(volumes[number - 1], filename_rfc2047(name), content_type="application/octet-stream")
    return _send(desk, clock, tmp_path, number, [part], f"延边州推荐材料（{number}/{len(volumes)}）")


def _receipt(desk: Desk, raw_id: int) -> str:
    row = desk.store.outbox.by_key(f"reply:{raw_id}")
    assert row is not None, f"no receipt of mail {raw_id}"
    return row.body_text


def _codes(store: Store) -> list[str]:
    return [f.code for f in store.evaluations.current_findings(UNIT)]


def _errors(store: Store) -> list[str]:
    return [f.code for f in store.evaluations.current_findings(UNIT) if f.severity == "error"]


def _unit_files(store: Store) -> list[str]:
    rows = store.submissions.of_unit(UNIT)
    return [f.path for row in rows for f in store.submissions.files(row.id or 0) if f.kind != VOLUME_KIND]


def _names(store: Store) -> tuple[list[str], list[str]]:
    snapshot = store.evaluations.latest_dossier(UNIT)
    assert snapshot is not None
    return [s["name"] for s in snapshot.dossier["stars"]], [p["name"] for p in snapshot.dossier["projects"]]


def _package_files() -> list[str]:
    """The paths the package's files have once joined: under the archive the set makes."""
    root = package_folder()
    return sorted(f"{ARCHIVE}/{p.relative_to(root).as_posix()}" for p in root.rglob("*") if p.is_file())


def _expected() -> tuple[list[str], list[str]]:
    expected = json.loads((SAMPLE / "expected.json").read_text(encoding="utf-8"))
    return expected["stars"], expected["projects"]


def test_volumes_over_two_mails_are_joined_in_the_store(
    desk: Desk, campaign: Campaign, clock: Clock, tmp_path: Path, volumes: list[bytes]
) -> None:
    first = _volume_mail(desk, clock, tmp_path, volumes, 1)
    text = _receipt(desk, first)
    # The first mail alone: its volume kept (not opened), the missing one named, nothing "unreadable".
    assert "ARCHIVE_PART_MISSING" in _codes(desk.store)
    assert f"{ARCHIVE}.002" in text
    assert not any(word in text for word in UNREADABLE_WORDS), text
    [row1] = desk.store.submissions.of_unit(UNIT)
    [kept] = desk.store.submissions.files(row1.id or 0)
    assert (kept.kind, kept.path, kept.size) == (VOLUME_KIND, f"{ARCHIVE}.001", len(volumes[0]))
    problems_before = [f for f in desk.store.evaluations.current_findings(UNIT) if f.severity != "info"]

    second = _volume_mail(desk, clock, tmp_path, volumes, 2)
    text = _receipt(desk, second)
    # The set is whole: joined, read, and the whole package checked with nothing wrong.
    assert _errors(desk.store) == [], desk.store.evaluations.current_findings(UNIT)
    assert "ARCHIVE_PART_MISSING" not in _codes(desk.store)
    assert _names(desk.store) == _expected()
    assert not any(word in text for word in UNREADABLE_WORDS), text
    assert "受理编号：延边-02" in text and "金哲洙推荐表.docx" in text
    assert f"与上次相比：已解决 {len(problems_before)} 项，新增 0 项" in text
    # The joined content belongs to the completing mail's stored submission, with its bytes.
    row1, row2 = desk.store.submissions.of_unit(UNIT)
    joined = [f for f in desk.store.submissions.files(row2.id or 0) if f.kind != VOLUME_KIND]
    assert sorted(f.path for f in joined) == _package_files()
    assert all(desk.store.submissions.file_path(f).stat().st_size == f.size for f in joined)
    assert row2.summary["submission"]["joined_volumes"] == [ARCHIVE]
    assert row1.summary["submission"]["joined_volumes"] == []  # the earlier mail is never rewritten
    files = _unit_files(desk.store)

    # Checking again (a re-check, another mail) finds the set joined: nothing joined twice.
    desk.evaluation.recheck(UNIT)
    other = _send(desk, clock, tmp_path, 3, [], "补充说明")
    assert _receipt(desk, other)
    assert _unit_files(desk.store) == files
    assert len(desk.store.audit.entries(action="submission.volumes_joined")) == 1
    assert _errors(desk.store) == [] and _names(desk.store) == _expected()

    # A new desk on the same store (a restart) reads the same joined dossier.
    data = tmp_path / "var"
    with Store.open(data) as store:
        again = Desk(Settings(data_dir=data, reply_rate_per_hour=20), campaign, store, clock=clock)
        result = again.evaluate(UNIT)
        assert [s.name for s in result.dossier.stars] == _expected()[0]
        assert not [f for f in result.findings if f.severity == "error"]
        assert _unit_files(store) == files
        # The office's materials export finds the joined files' bytes for every nominee.
        plan = materials_plan(store, UNIT, result.dossier)
        assert len({placed.nominee for placed in plan if placed.nominee}) == 8 + 5
        assert all(placed.source.is_file() for placed in plan)

    # Voiding the completing mail takes the joined content with it: volume 2 is missing again.
    desk.void(row2.id or 0, actor="office:wu", reason="分卷发错，请重新发送")
    desk.process_pending()
    assert "ARCHIVE_PART_MISSING" in _codes(desk.store)
    assert _names(desk.store) == ([], [])
    missing = [f for f in desk.store.evaluations.current_findings(UNIT) if f.code == "ARCHIVE_PART_MISSING"]
    assert f"{ARCHIVE}.002" in json.dumps(missing[0].params, ensure_ascii=False)
    # Taking the void back brings the joined content back as it was stored: nothing joined again.
    desk.unvoid(row2.id or 0, actor="office:wu")
    desk.process_pending()
    assert _errors(desk.store) == [] and _names(desk.store) == _expected()
    assert len(desk.store.audit.entries(action="submission.volumes_joined")) == 1


def test_volumes_sent_one_by_one_in_wecom_are_joined_into_the_file_that_completed_them(
    desk: Desk, clock: Clock, volumes: list[bytes]
) -> None:
    """WeCom carries one file a message: the two volumes are two stored submissions of one burst.
    The join is written to the second one's row, and the burst reads as one submission."""
    for number, data in enumerate(volumes, start=1):
        last = desk.accept_wecom_file(WECOM_CONTACT, f"media-{number}", f"{ARCHIVE}.{number:03d}", data).id
        desk.process_pending()
        clock.now += dt.timedelta(minutes=2)
    text = _receipt(desk, last)
    for number in (1, 2):  # the burst's receipt: both volumes, joined
        assert f"{ARCHIVE}.00{number}：分卷已合并解压（{ARCHIVE}，共 2 卷）" in text, text
    first, second = desk.store.submissions.of_unit(UNIT)
    assert first.summary["submission"]["joined_volumes"] == []
    assert second.summary["submission"]["joined_volumes"] == [ARCHIVE]
    assert _names(desk.store) == _expected() and _errors(desk.store) == []
    snapshot = desk.store.evaluations.latest_dossier(UNIT)
    assert snapshot is not None and len(snapshot.dossier["submissions"]) == 1  # one burst, one submission


def test_a_join_that_raises_leaves_the_check_unfinished_until_a_restart_joins_it(
    desk: Desk, clock: Clock, tmp_path: Path, volumes: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in joining is no lost mail and no quarantined unit: the unit is 检查未完成 (never 材料齐全),
    the office is told; the restart that deploys the fix joins the set and sends the promised receipt."""
    _volume_mail(desk, clock, tmp_path, volumes, 1)

    def broken(*args: object) -> list[int]:
        raise RuntimeError("join bug")

    monkeypatch.setattr("nomdesk.volumes.join_volume_sets", broken)
    second = _volume_mail(desk, clock, tmp_path, volumes, 2)
    assert "ARCHIVE_PART_MISSING" in (desk.store.evaluations.check_error(UNIT) or "")
    assert "人工核查" in _receipt(desk, second)
    [notice] = [r for r in desk.store.outbox.all() if r.dedupe_key.startswith("office-check-incomplete:")]
    assert "join bug" in notice.body_text  # to the office, for whoever fixes it
    assert desk.store.raw.get(second).state == "done"
    row2 = desk.store.submissions.of_unit(UNIT)[1]
    assert row2.summary["submission"]["joined_volumes"] == []  # nothing half-joined was stored

    monkeypatch.undo()
    desk.recover()  # a restart: units whose check did not finish are checked again
    desk.process_pending()
    assert desk.store.evaluations.check_error(UNIT) is None
    assert _names(desk.store) == _expected() and _errors(desk.store) == []
    told = [r for r in desk.store.outbox.all() if r.dedupe_key.startswith("reply-recheck:")]
    assert len(told) == 1 and "材料齐全" in told[0].subject


def test_two_checks_of_the_unit_at_once_store_the_join_once(
    desk: Desk, clock: Clock, tmp_path: Path, volumes: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two checks (the pipeline and a clerk's void, say) read the unit before either joined: both
    join in memory, the second finds the set stored already and writes nothing."""
    _volume_mail(desk, clock, tmp_path, volumes, 1)
    monkeypatch.setattr("nomdesk.volumes.join_volume_sets", lambda *args: [])  # mail 2 stored, not joined
    _volume_mail(desk, clock, tmp_path, volumes, 2)
    monkeypatch.undo()
    rows = desk.store.submissions.of_unit(UNIT)
    one, other = desk.evaluation.read_rows(rows), desk.evaluation.read_rows(rows)
    assert desk.evaluation.volumes.join(UNIT, one) and desk.evaluation.volumes.join(UNIT, other)

    assert len(desk.store.audit.entries(action="submission.volumes_joined")) == 1
    joined = [f for f in desk.store.submissions.files(rows[1].id or 0) if f.kind != VOLUME_KIND]
    assert sorted(f.path for f in joined) == _package_files()  # each once
    assert desk.evaluate(UNIT).dossier.stars and _names(desk.store) == _expected()


def test_a_set_whole_in_the_units_second_mail_is_named_in_its_receipt(
    desk: Desk, clock: Clock, tmp_path: Path, volumes: list[bytes]
) -> None:
    """Both volumes in one mail (joined when the mail is read), the unit's second: its receipt says
    what each volume did, though the mail was read alone and is the dossier's second submission."""
    photo = attachment(make_photo(800, 600, text="金哲洙").read_bytes(), filename_rfc2047("金哲洙生活照.jpg"))
    _send(desk, clock, tmp_path, 1, [photo], "金哲洙照片")
    parts = [attachment(data, filename_rfc2047(f"{ARCHIVE}.{n:03d}")) for n, data in enumerate(volumes, start=1)]
    text = _receipt(desk, _send(desk, clock, tmp_path, 2, parts, "推荐材料（分卷）"))
    assert f"本次收到 {len(_package_files()) + 2} 个文件：" in text
    for number in (1, 2):
        assert f"{ARCHIVE}.00{number}：分卷已合并解压（{ARCHIVE}，共 2 卷）" in text, text
    assert _names(desk.store) == _expected() and _errors(desk.store) == []
    assert desk.store.audit.entries(action="submission.volumes_joined") == []  # nothing to join in the store
