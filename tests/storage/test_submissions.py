from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

from intake.models import FileKind, PackageFile, PhotoInfo
from storage.repo import Store
from tests.storage.threads import claim_in_threads

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
    assert [s.id for s in store.submissions.waiting()] == [sub.id]

    assigned = store.submissions.assign_unit(sub.id, UNIT, actor="office:wuxiaohui")

    assert assigned.unit_name == UNIT and assigned.unit_confirmed
    assert assigned.unit_index == 2
    assert store.submissions.waiting() == []
    assert [s.id for s in store.submissions.of_unit(UNIT)][-1] == sub.id
    entry = store.audit.entries(action="submission.unit_assigned")[0]
    assert entry.actor == "office:wuxiaohui" and entry.unit_name == UNIT


def test_the_waiting_queue_shows_who_sent_what_and_rejected_mails_leave_it(store: Store, tmp_path: Path) -> None:
    raw_id, _ = store.raw.put(
        b"From: =?utf-8?b?546L5Li9?= <WangLi@QQ.com>\r\nSubject: report\r\nMessage-ID: <w1@x>\r\n\r\nx\r\n",
        source="imap",
        received_at=T0,
    )
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"\xff\xd8\xff jpeg")
    new_file = store.submissions.store_file(
        PackageFile(path="材料.zip/a.jpg", local=photo, size=photo.stat().st_size, sniffed="jpeg", kind=FileKind.PHOTO)
    )
    summary = {
        "submission": {"sender": "WangLi@QQ.com", "sender_name": "王丽"},
        "unit_guess": "吉林市教育局",
        "claim": {"unit": "梅河口市教育局", "certain": True, "name": "王丽", "phone": "13912345678"},
    }
    sub, _ = store.submissions.add(raw_id.id, unit_name=None, arrived_at=T0, summary=summary, files=[new_file])
    other, _ = store.submissions.add(raw(store, 9), unit_name=None, arrived_at=T0 + dt.timedelta(hours=1))

    (mail, second) = store.submissions.waiting_mails()
    assert (mail.submission_id, mail.raw_id) == (sub.id, raw_id.id)
    assert (mail.sender, mail.sender_name) == ("wangli@qq.com", "王丽")
    assert mail.guess == "梅河口市教育局" and mail.claim_certain and mail.claim_phone == "13912345678"
    assert mail.files == ["材料.zip/a.jpg"] and mail.subject == "report"
    assert second.guess is None and second.sender == ""

    store.submissions.reject(other.id, actor="office:wu", reason="广告")
    store.submissions.reject(other.id, actor="office:wu")  # twice is once
    assert [m.submission_id for m in store.submissions.waiting_mails()] == [sub.id]
    assert len(store.audit.entries(action="submission.rejected")) == 1

    store.submissions.assign_unit(sub.id, UNIT)
    assert store.submissions.waiting_mails() == []
    with pytest.raises(ValueError):
        store.submissions.reject(sub.id, actor="office:wu")


def test_a_sender_naming_several_units_does_not_override_the_desks_guess(store: Store) -> None:
    """Naming "长春或梅河口" names no one unit: the queue proposes what the desk read from the mail, as the
    office's notice of it does, and counts it there."""
    vague = {
        "unit_guess": "吉林市教育局",
        "claim": {"unit": "梅河口市教育局", "certain": False, "name": "王丽", "phone": None},
    }
    sure = {"unit_guess": "吉林市教育局", "claim": {"unit": "梅河口市教育局", "certain": True, "name": "王丽"}}
    store.submissions.add(raw(store, 1), unit_name=None, arrived_at=T0, summary=vague)
    store.submissions.add(raw(store, 2), unit_name=None, arrived_at=T0 + dt.timedelta(hours=1), summary=sure)
    store.submissions.add(raw(store, 3), unit_name=None, arrived_at=T0 + dt.timedelta(hours=2))

    first, second, third = store.submissions.waiting_mails()
    assert (first.guess, first.claim_unit, first.claim_certain) == ("吉林市教育局", "梅河口市教育局", False)
    assert (second.guess, second.claim_certain) == ("梅河口市教育局", True)
    assert third.guess is None
    assert store.submissions.waiting_by_unit() == {"吉林市教育局": 1, "梅河口市教育局": 1, None: 1}


def mail_from(store: Store, n: int, sender: str, at: dt.datetime, summary: dict, *, source: str = "imap") -> int:
    """A waiting mail of `sender` (its raw message and its submission); its submission id."""
    data = f"From: {sender}\r\nSubject: 材料{n}\r\nMessage-ID: <s{n}@x>\r\n\r\nx\r\n".encode()
    ref = f"wecom:{sender.split('@')[0]}:media-{n}" if source == "wecom" else None
    row, _ = store.raw.put(data, source=source, source_ref=ref, received_at=at)
    summary = {"submission": {"sender": sender}, **summary}
    return store.submissions.add(row.id, unit_name=None, arrived_at=at, summary=summary)[0].id


def test_one_senders_waiting_mails_share_one_guess_and_are_counted_once(store: Store) -> None:
    """She is confirmed once for all her mails: a first mail guessed 长春 and a later one naming 吉林
    are both 吉林's, on her card and in the counts; a later mail guessed anew does not undo her answer."""
    hour = dt.timedelta(hours=1)
    named = {"claim": {"unit": "吉林市教育局", "certain": True, "name": "王丽"}}
    mail_from(store, 1, "wangli@qq.com", T0, {"unit_guess": "长春市教育局"})
    mail_from(store, 2, "wangli@qq.com", T0 + hour, {"unit_guess": "长春市教育局", **named})
    mail_from(store, 3, "WangLi@QQ.com", T0 + 2 * hour, {"unit_guess": "四平市教育局"})
    # Another sender never named her unit: her newest guess stands for both her mails.
    mail_from(store, 4, "lisi@163.com", T0, {"unit_guess": "通化市教育局"})
    mail_from(store, 5, "lisi@163.com", T0 + hour, {"unit_guess": "白山市教育局"})
    mail_from(store, 6, "lisi@163.com", T0 + 2 * hour, {"unit_guess": None})
    # Mails with no sender are not one person's: each keeps its own guess.
    store.submissions.add(raw(store, 7), unit_name=None, arrived_at=T0, summary={"unit_guess": "长春市教育局"})
    store.submissions.add(raw(store, 8), unit_name=None, arrived_at=T0, summary={"unit_guess": "辽源市教育局"})

    guesses = [(m.sender, m.guess, m.mail_guess) for m in store.submissions.waiting_mails()]
    assert sorted(guesses, key=str) == sorted(
        [
            ("wangli@qq.com", "吉林市教育局", "长春市教育局"),
            ("wangli@qq.com", "吉林市教育局", "长春市教育局"),
            ("wangli@qq.com", "吉林市教育局", "四平市教育局"),
            ("lisi@163.com", "白山市教育局", "通化市教育局"),
            ("lisi@163.com", "白山市教育局", "白山市教育局"),
            ("lisi@163.com", "白山市教育局", None),
            ("", "长春市教育局", "长春市教育局"),
            ("", "辽源市教育局", "辽源市教育局"),
        ],
        key=str,
    )
    counts = {"吉林市教育局": 3, "白山市教育局": 3, "长春市教育局": 1, "辽源市教育局": 1}
    assert store.submissions.waiting_by_unit() == counts


def test_a_wecom_file_in_the_queue_names_its_wecom_user(store: Store) -> None:
    mail_from(store, 1, "zhangsan@wecom.invalid", T0, {"unit_guess": None}, source="wecom")
    mail_from(store, 2, "lisi@163.com", T0, {"unit_guess": None})

    wecom, mailed = store.submissions.waiting_mails()
    assert (wecom.sender, wecom.wecom_user) == ("zhangsan@wecom.invalid", "zhangsan")
    assert mailed.wecom_user is None


def test_two_clerks_assigning_one_waiting_mail_at_once_one_of_them_wins(store: Store) -> None:
    sub, _ = store.submissions.add(raw(store, 40), unit_name=None, arrived_at=T0)
    units = iter(["吉林大学", UNIT, "长春市教育局", "吉林市教育局"])
    lock = threading.Lock()

    def claim() -> str | None:
        with lock:
            unit = next(units, None)
        if unit is None:
            return None
        try:
            store.submissions.assign_unit(sub.id, unit, actor="office:x", only_waiting=True)
        except ValueError:
            return "refused"
        return unit

    outcomes = claim_in_threads(claim, most=1, threads=4)

    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1 and outcomes.count("refused") == 3
    assert store.submissions.get(sub.id).unit_name == winners[0]
    assert len(store.audit.entries(action="submission.unit_assigned")) == 1
