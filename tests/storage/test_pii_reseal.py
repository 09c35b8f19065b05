"""Rows written before encryption at rest (a deployment older than migration 0007) are sealed once,
when the store opens: the SQLite file read as an intruder would (its bytes, a plain sqlite3 dump)
holds none of their numbers afterwards, the desk still reads them in full, and a second open does
no work. Two processes opening the old store together leave every value sealed exactly once."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from storage import pii
from storage.db import SQLITE_FILENAME
from storage.repo import Store
from storage.reseal import RESEALED_MARKER

UNIT = "延边州"
ID_NUMBER = "22240119610301001X"
MOBILE = "13843100001"
LANDLINE = "0433-2513420"
CLAIM_PHONE = "13912345678"
CONTACT_PHONE = "13900001111"
NUMBERS = (ID_NUMBER, MOBILE, LANDLINE, CLAIM_PHONE, CONTACT_PHONE, "04332513420")

SUMMARY = {
    "submission": {"body_text": f"吴老师：材料见附件，如有问题请联系 {LANDLINE} 或 {MOBILE}。", "sender": "a@yb.cn"},
    "claim_phone": CLAIM_PHONE,
    "files": ["照片.jpg"],
}
DOSSIER = {
    "stars": [{"name": "张三", "form": {"fields": {"id_number": ID_NUMBER, "phone": MOBILE, "name": "张三"}}}],
    "projects": [{"name": "书香南关", "form": {"fields": {"联系电话": "04332513420"}}}],
}
PARAMS = {"nominee": "张三", "phone": MOBILE}
EVIDENCE = {"cell": "B3", "value": f"身份证号 {ID_NUMBER}"}


def old_deployment(data: Path, submissions: int = 3) -> Path:
    """A store as a deployment before sealing left it: every number in clear text, no secret key,
    no key check, no reseal marker."""
    Store.open(data).close()  # the schema
    (data / pii.SECRET_KEY_FILE).unlink()
    db_file = data / SQLITE_FILENAME
    with sqlite3.connect(db_file) as con:
        con.execute("DELETE FROM key_value")
        con.execute(
            "INSERT INTO unit (name, kind, aliases, position, from_config, active) VALUES (?, 'city', '[]', 0, 1, 1)",
            (UNIT,),
        )
        for n in range(1, submissions + 1):
            con.execute(
                "INSERT INTO raw_message (id, sha256, size, store_path, source, received_at, state, attempts,"
                " created_at, transient_failures) VALUES (?, ?, 10, 'x', 'imap', '2025-03-01 08:00:00', 'done', 1,"
                " '2025-03-01 08:00:00', 0)",
                (n, f"{n:064x}"),
            )
            con.execute(
                "INSERT INTO submission (raw_message_id, unit_name, unit_confirmed, arrived_at, unit_index, summary,"
                " created_at) VALUES (?, ?, 1, '2025-03-01 08:00:00', ?, ?, '2025-03-01 08:00:00')",
                (n, UNIT, n, json.dumps(SUMMARY, ensure_ascii=False)),
            )
        con.execute(
            "INSERT INTO dossier_snapshot (unit_name, version, dossier, created_at) VALUES (?, 1, ?, '2025-03-01')",
            (UNIT, json.dumps(DOSSIER, ensure_ascii=False)),
        )
        con.execute(
            "INSERT INTO finding (unit_name, version, code, severity, subject, params, evidence, created_at)"
            " VALUES (?, 1, 'star.phone', 'warning', '张三', ?, ?, '2025-03-01')",
            (UNIT, json.dumps(PARAMS, ensure_ascii=False), json.dumps(EVIDENCE, ensure_ascii=False)),
        )
        con.execute(
            "INSERT INTO contact (unit_id, name, phone, is_office, from_config, role, added_by, office_edited)"
            " VALUES (1, '王老师', ?, 0, 0, '联系人', 'config', 0)",
            (CONTACT_PHONE,),
        )
    con.close()
    return db_file


def leaks(db_file: Path) -> list[str]:
    """The numbers found in the database's bytes (file, WAL) or in a plain sqlite3 dump."""
    con = sqlite3.connect(db_file)
    dump = "\n".join(con.iterdump())
    con.close()
    raw = b"".join(p.read_bytes() for p in db_file.parent.glob(SQLITE_FILENAME + "*"))
    return [n for n in NUMBERS if n in dump or n.encode() in raw]


def test_an_old_deployment_is_sealed_at_open(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "var"
    db_file = old_deployment(data)
    assert set(leaks(db_file)) == set(NUMBERS)  # the clear text the old code left
    with caplog.at_level(logging.INFO, logger="storage.reseal"), Store.open(data) as store:
        [dossier] = [store.evaluations.latest_dossier(UNIT)]
        assert dossier is not None and dossier.dossier == DOSSIER
        submissions = store.submissions.of_unit(UNIT)
        assert [s.summary for s in submissions] == [SUMMARY] * 3
        [finding] = store.evaluations.current_findings(UNIT)
        assert (finding.params, finding.evidence) == (PARAMS, EVIDENCE)
        assert [c.phone for c in store.contacts.list(UNIT)] == [CONTACT_PHONE]
        assert store.state.kv_get(RESEALED_MARKER) is not None
        assert leaks(db_file) == []  # while the desk runs: the old pages are overwritten, not waiting for a close
    assert leaks(db_file) == []
    progress = [r.getMessage() for r in caplog.records if r.name == "storage.reseal"]
    assert any("6 of 6 rows rewritten" in m for m in progress), progress  # 3 submissions, dossier, finding, contact
    assert not any(n in m for m in progress for n in NUMBERS)
    with sqlite3.connect(db_file) as con:
        (summary,) = con.execute("SELECT summary FROM submission LIMIT 1").fetchone()
    con.close()
    stored = json.loads(summary)
    assert stored["files"] == ["照片.jpg"] and stored["claim_phone"].startswith(pii.SEALED_PREFIX)


def test_a_second_open_does_no_work(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "var"
    db_file = old_deployment(data, submissions=1)
    Store.open(data).close()
    with sqlite3.connect(db_file) as con:  # a plain value written after the reseal (by hand, say)
        con.execute("UPDATE contact SET phone = ?", (CLAIM_PHONE,))
    con.close()
    with caplog.at_level(logging.INFO, logger="storage.reseal"), Store.open(data) as store:
        assert [c.phone for c in store.contacts.list(UNIT)] == [CLAIM_PHONE]
    assert [r for r in caplog.records if r.name == "storage.reseal"] == []
    assert leaks(db_file) == [CLAIM_PHONE]  # the marker said done: nothing was read or rewritten


OPEN = "import sys; from storage.repo import Store; Store.open(sys.argv[1]).close()"


def test_two_processes_opening_together_seal_each_value_once(tmp_path: Path) -> None:
    data = tmp_path / "var"
    db_file = old_deployment(data, submissions=400)
    Store.open(data).close()  # makes the key file first, as the one service start of a real desk would
    with sqlite3.connect(db_file) as con:  # the reseal has not run yet: as an old deployment at first start
        con.execute("DELETE FROM key_value WHERE key = ?", (RESEALED_MARKER,))
        con.execute("UPDATE submission SET summary = ?", (json.dumps(SUMMARY, ensure_ascii=False),))
    con.close()
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([sys.executable, "-c", OPEN, str(data)], cwd=root) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert leaks(db_file) == []
    sealer = pii.Sealer(pii.load_or_create_secret(data))
    with sqlite3.connect(db_file) as con:
        stored = [json.loads(r[0]) for r in con.execute("SELECT summary FROM submission")]
    con.close()
    assert len(stored) == 400 and all(sealer.open(s) == SUMMARY for s in stored)  # opened once: sealed once
