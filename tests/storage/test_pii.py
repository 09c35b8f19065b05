"""ID and phone numbers at rest (issue 13, item 9): a real package goes through the desk, then the
SQLite file is read as an intruder would (plain sqlite3, no repository, no key) and holds none of
the numbers; the desk itself (repositories, the roster export) still has them in full, the
dashboard shows them masked, and the WeCom secret is no part of any stored key."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from bot.token_store import StoreTokenStorage
from bot.wecom_client import WeComClient
from config.campaign import Campaign
from config.masking import has_personal_number, mask_id_number, mask_phone
from config.settings import Settings
from nomdesk.app import create_app
from nomdesk.exports import STARS_DIR, roster_xlsx
from nomdesk.service import Service
from schedule.status import collect_status
from storage import pii
from storage.db import SQLITE_FILENAME
from storage.repo import Store
from tests.support.dashboard import CLAIMED_UNIT, add_waiting_mail, build_service, form_csrf, login
from tests.support.packages import YANBIAN, build_eml, complete_city_package
from tests.support.wecom_sim import WeComSimulator

BODY_PHONES = ("0433-2513420", "13843100099")  # numbers the unit's contact wrote in her mail
BODY = f"吴老师：\n您好！推荐材料见附件。如有问题请联系 {BODY_PHONES[0]}，或手机 {BODY_PHONES[1]}。"
CLAIM_PHONE = "13912345678"  # the unregistered sender's own phone (tests.support.dashboard.waiting_mail)
CONTACT_PHONE = "0431-88886666"
WECOM_SECRET = "WeComSecret-Do-Not-Store-7f3a9c"


@dataclasses.dataclass
class Desk:
    service: Service
    data_dir: Path
    ids: list[str]
    phones: list[str]  # every phone of the package, its mail and its contacts


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, campaign: Campaign) -> Iterator[Desk]:
    data = tmp_path_factory.mktemp("pii") / "var"
    spec = complete_city_package(campaign, exemplar_star=None, exemplar_project=None, body=BODY)
    service = build_service(data, campaign)
    service.store.directory.add_user("wu", "correct-horse-1", "吴晓辉")
    service.store.contacts.add(CLAIMED_UNIT, "王老师", phone=CONTACT_PHONE)
    service.desk.ingest_file(build_eml(spec))
    service.desk.process_pending()
    service.start_pipeline()
    add_waiting_mail(service, tmp_path_factory.mktemp("waiting"))
    ids = [s.fields["id_number"] for s in spec.stars]
    phones = [s.fields["phone"] for s in spec.stars] + [p.fields["phone"] for p in spec.projects]
    yield Desk(service, data, ids, [*phones, *BODY_PHONES, CLAIM_PHONE, CONTACT_PHONE])
    service.shutdown()


def raw_text(db_file: Path) -> list[tuple[str, str, str]]:
    """(table, column, value) of every text value in the database, read without the desk."""
    found = []
    with sqlite3.connect(db_file) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            for column in columns:
                for (value,) in con.execute(f'SELECT "{column}" FROM "{table}"'):
                    if isinstance(value, str | bytes):
                        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                        found.append((table, column, text))
    return found


def variants(number: str) -> set[str]:
    """The number as written and as bare digits (a JSON or a sheet may have either)."""
    return {number, re.sub(r"\D", "", number)}


# Cipher text and content hashes are random letters and digits: a hash may hold 11 digits in a row.
_NOT_PROSE = re.compile(r"enc1:[A-Za-z0-9_=-]+|\b[0-9a-f]{32,}\b")


def test_the_database_file_holds_no_id_or_phone_number(desk: Desk, campaign: Campaign) -> None:
    """Every text value of every table, read with sqlite3: none of the package's numbers, and nothing
    shaped like an ID, mobile or landline but the office's own phone (the letters' signature)."""
    rows = raw_text(desk.data_dir / SQLITE_FILENAME)
    assert any(t == "dossier_snapshot" for t, _, _ in rows) and any(t == "submission" for t, _, _ in rows)
    numbers = {v for n in desk.ids + desk.phones for v in variants(n)}
    leaks = [(t, c, n) for t, c, text in rows for n in numbers if n in text]
    assert leaks == []
    office = campaign.office.phone

    def prose(text: str) -> str:
        return _NOT_PROSE.sub(" ", text).replace(office, " ")

    shaped = [(t, c, text[:200]) for t, c, text in rows if has_personal_number(prose(text))]
    assert shaped == []
    sealed = [text for t, c, text in rows if (t, c) == ("contact", "phone") and text]
    assert sealed and all(v.startswith(pii.SEALED_PREFIX) for v in sealed)


def test_the_desk_reads_the_numbers_in_full(desk: Desk) -> None:
    store = desk.service.store
    dossier = store.evaluations.latest_dossier(YANBIAN)
    assert dossier is not None
    forms = {s["name"]: s["form"]["fields"] for s in dossier.dossier["stars"] if s.get("form")}
    assert sorted(f["id_number"] for f in forms.values()) == sorted(desk.ids)
    (submission,) = store.submissions.of_unit(YANBIAN)
    assert submission.summary["submission"]["body_text"].strip().startswith(BODY.split("\n")[0])
    assert all(p in submission.summary["submission"]["body_text"] for p in BODY_PHONES)
    (waiting,) = store.submissions.waiting_mails()
    assert waiting.claim_phone == CLAIM_PHONE
    assert [c.phone for c in store.contacts.list(CLAIMED_UNIT)] == [CONTACT_PHONE]


def test_the_roster_export_keeps_the_phones_in_full(desk: Desk, campaign: Campaign) -> None:
    store = desk.service.store
    wb = load_workbook(io.BytesIO(roster_xlsx(store, collect_status(store, campaign))))
    sheet = wb[STARS_DIR]
    header = [c.value for c in sheet[1]]
    column = header.index("联系电话")
    phones = {str(r[column].value) for r in sheet.iter_rows(min_row=2)}
    assert set(desk.phones[: len(desk.ids)]) <= phones


def test_the_dashboard_shows_the_numbers_masked(desk: Desk) -> None:
    with TestClient(create_app(desk.service), base_url="http://127.0.0.1") as client:
        assert login(client).status_code == 303
        pages = {
            path: client.get(path).text for path in (f"/units/{YANBIAN}", "/waiting", f"/contacts?unit={CLAIMED_UNIT}")
        }
    assert all(mask_id_number(i) in pages[f"/units/{YANBIAN}"] for i in desk.ids)
    assert mask_phone(CLAIM_PHONE) in pages["/waiting"]
    assert mask_phone(CONTACT_PHONE) in pages[f"/contacts?unit={CLAIMED_UNIT}"]
    shown = [(path, n) for path, page in pages.items() for n in desk.ids + desk.phones if n in page]
    assert shown == []


def test_letters_in_the_outbox_show_the_phone_masked(desk: Desk) -> None:
    """The office's notice and the letter to the stranger quote her phone masked: the outbox table
    keeps them, and she knows her own number."""
    with sqlite3.connect(desk.data_dir / SQLITE_FILENAME) as con:
        bodies = [r[0] for r in con.execute("SELECT body_text FROM outbox")]
    assert any(mask_phone(CLAIM_PHONE) in b for b in bodies)


def test_the_key_file_is_made_at_first_start_for_the_owner_only(desk: Desk) -> None:
    key_file = desk.data_dir / pii.SECRET_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_key_file_others_can_read_stops_the_start(tmp_path: Path) -> None:
    Store.open(tmp_path / "var").close()
    (tmp_path / "var" / pii.SECRET_KEY_FILE).chmod(0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        Store.open(tmp_path / "var")


def test_the_configured_key_is_used_and_another_key_cannot_read(tmp_path: Path) -> None:
    data = tmp_path / "var"
    key = "k" * 32
    with Store.open(data, secret_key=key) as store:
        store.contacts.add(None, "李明", phone="13900001111", is_office=True)
    assert not (data / pii.SECRET_KEY_FILE).exists()  # NOMDESK_SECRET_KEY set: no key file
    with Store.open(data, secret_key=key) as store:
        assert [c.phone for c in store.contacts.list(office=True)] == ["13900001111"]
    with pytest.raises(pii.SealError, match="密钥"):
        Store.open(data, secret_key="another-key-of-32-characters-xx")
    with sqlite3.connect(data / SQLITE_FILENAME) as con:
        (sealed,) = con.execute("SELECT phone FROM contact").fetchone()
    with pytest.raises(pii.SealError):  # the value itself: an error, never garbage
        pii.Sealer(b"another-key-of-32-characters-xx").open_text(sealed)


def test_the_secret_key_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOMDESK_SECRET_KEY", "e" * 40)
    settings = Settings(data_dir=tmp_path / "var")
    with Store.open(settings.data_dir, secret_key=settings.secret_key):
        pass
    assert not (settings.data_dir / pii.SECRET_KEY_FILE).exists()
    with pytest.raises(pii.SealError):
        Store.open(settings.data_dir)  # the key file made now is not the key the data has


def test_rows_written_before_sealing_still_read(tmp_path: Path) -> None:
    data = tmp_path / "var"
    with Store.open(data) as store:
        contact = store.contacts.add(None, "李明", phone="13900001111", is_office=True)
    with sqlite3.connect(data / SQLITE_FILENAME) as con:
        con.execute("UPDATE contact SET phone = '13900002222' WHERE id = ?", (contact.id,))
    with Store.open(data) as store:
        assert store.contacts.get(contact.id).phone == "13900002222"


def test_sealing_is_exact_for_any_string() -> None:
    sealer = pii.Sealer(b"x" * 32)
    value = {
        "phone": "0433 251 3420",
        "story": "家住延吉，电话13843100001，常年义务辅导。",
        "name": "张三",
        "n": 3,
        "odd": "enc1:not-a-token",
        "list": ["22240119610301001X", "照片.jpg"],
    }
    sealed = sealer.seal(value)
    assert sealed["name"] == "张三" and sealed["list"][1] == "照片.jpg" and sealed["n"] == 3
    assert all(sealed[k].startswith(pii.SEALED_PREFIX) for k in ("phone", "story", "odd"))
    assert sealer.open(sealed) == value


def test_the_wecom_secret_is_no_part_of_a_stored_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "var"
    with WeComSimulator(secret=WECOM_SECRET) as sim:
        monkeypatch.setenv("NOMDESK_WECOM_SECRET", WECOM_SECRET)
        monkeypatch.setenv("NOMDESK_WECOM_CORP_ID", sim.corp_id)
        monkeypatch.setenv("NOMDESK_WECOM_AGENT_ID", str(sim.agent_id))
        monkeypatch.setenv("NOMDESK_WECOM_API_BASE", sim.base_url)
        settings = Settings(data_dir=data)
        with Store.open(data, secret_key=settings.secret_key) as store:
            client = WeComClient.from_settings(settings, session=StoreTokenStorage(store))
            client.send_text(["zhangsan"], "你好")
            assert len(sim.token_requests) == 1
            again = WeComClient.from_settings(settings, session=StoreTokenStorage(store))
            again.send_text(["zhangsan"], "再次")
            assert len(sim.token_requests) == 1  # the stored token was found and used
    with sqlite3.connect(data / SQLITE_FILENAME) as con:
        keys = [r[0] for r in con.execute("SELECT key FROM key_value")]
    assert any(k.startswith("wecom:session:") for k in keys)
    secret = WECOM_SECRET.encode()
    for name in os.listdir(data):
        if name.startswith(SQLITE_FILENAME):
            content = (data / name).read_bytes()
            assert secret not in content and secret[:10] not in content, name


def test_a_contact_edited_with_its_phone_as_shown_keeps_the_phone(desk: Desk) -> None:
    store = desk.service.store
    [contact] = store.contacts.list(CLAIMED_UNIT)
    with TestClient(create_app(desk.service), base_url="http://127.0.0.1") as client:
        assert login(client).status_code == 303
        page = client.get(f"/contacts?unit={CLAIMED_UNIT}").text
        shown = re.search(rf'/contacts/{contact.id}/edit.*?name="phone" value="([^"]*)"', page, re.S)
        assert shown is not None and shown.group(1) == mask_phone(CONTACT_PHONE)
        response = client.post(
            f"/contacts/{contact.id}/edit",
            data={"csrf": form_csrf(page), "name": contact.name, "role": "经办人", "phone": shown.group(1)},
        )
    assert "已保存联系人的修改" in response.text
    [edited] = store.contacts.list(CLAIMED_UNIT)
    assert (edited.role, edited.phone) == ("经办人", CONTACT_PHONE)


def _english_left(message: str, *allowed: str) -> list[str]:
    """Latin words of an error message other than the names the clerk must type or find."""
    for name in sorted(allowed, key=len, reverse=True):
        message = message.replace(name, " ")
    return re.findall(r"[A-Za-z]{3,}", message)


def test_the_start_errors_speak_to_the_clerk_in_chinese(tmp_path: Path) -> None:
    """Whoever starts the desk (a clerk, an installer) reads what is wrong and what to do, in Chinese."""
    data = tmp_path / "var"
    Store.open(data).close()
    key_file = data / pii.SECRET_KEY_FILE
    key_file.chmod(0o644)
    with pytest.raises(PermissionError) as too_open:
        Store.open(data)
    message = str(too_open.value)
    assert f"密钥文件 {key_file} 权限过宽（当前为 644，应为 600），请执行 chmod 600 {key_file} 后重新启动" == message
    assert _english_left(message, str(key_file), "chmod") == []
    key_file.chmod(0o600)
    with pytest.raises(ValueError) as too_short:
        Store.open(data, secret_key="short")
    assert "太短" in str(too_short.value) and _english_left(str(too_short.value), "NOMDESK_SECRET_KEY") == []
    with pytest.raises(pii.SealError) as wrong:
        Store.open(data, secret_key="another-key-of-32-characters-xx")
    assert "重新启动" in str(wrong.value)
    assert _english_left(str(wrong.value), "NOMDESK_SECRET_KEY", pii.SECRET_KEY_FILE) == []
