"""Two campaigns in one database: Jilin 2021 and Liaoning 2022, each with its own desk, TOML, units,
deadline, WeCom app and office logins, on one PostgreSQL database (and on one SQLite data directory).

Each desk takes its own units' mails, and what the office of one campaign reads (`nomdesk status`,
the WeCom bot, the dashboard) names nothing of the other: no unit, no nominee, no mail subject.
Liaoning's unit has the very address Jilin's 长白山 contact uses, so a desk reading the other
campaign's rows would show them under 长白山 at once.
"""

from __future__ import annotations

import datetime as dt
import email.header
import itertools
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from config.campaign import DEFAULT_CAMPAIGN, Campaign, load_campaign
from config.settings import Settings
from nomdesk.app import create_app
from nomdesk.service import Service
from tests.conftest import SHARED
from tests.support.dashboard import form_csrf
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.support.service import nomdesk, wecom_settings
from tests.support.wecom_sim.serve import BackgroundServer
from tests.support.wecom_sim.server import WeComSimulator

pytestmark = pytest.mark.slow  # two whole desks over the sample packages, as the service tests

SAMPLES = SHARED / "samples"
JILIN_NAME = "2021年吉林省“百姓学习之星”和“终身学习品牌项目”征集"
LIAONING_NAME = "2022年辽宁省“百姓学习之星”和“终身学习品牌项目”征集"
JILIN_NOW = dt.datetime(2021, 8, 23, 2, 0, tzinfo=dt.UTC)
LIAONING_NOW = dt.datetime(2022, 9, 1, 2, 0, tzinfo=dt.UTC)
# Liaoning's units; 沈阳's contact writes from the address of Jilin's 长白山 contact (2295831465@qq.com).
LIAONING_UNITS = """
[[units]]
name = "沈阳市教育局"
kind = "city"
aliases = ["沈阳市", "沈阳"]
[[units.contacts]]
name = "刘海"
emails = ["2295831465@qq.com"]
wecom_user = "liuhai"

[[units]]
name = "大连市教育局"
kind = "city"
aliases = ["大连市", "大连"]
"""
LIAONING_SUBJECT = "沈阳市教育局报送辽宁省二〇二二年推荐材料"
# What only Liaoning has: its units, the nominees of its mail (the 长白山 sample's), its subject.
LIAONING_ONLY = [
    "沈阳市教育局",
    "大连市教育局",
    "沈阳",
    "刘海",
    "乔长林",
    "舒玉兰",
    "池北书苑",
    LIAONING_SUBJECT,
    LIAONING_NAME,
]
# What only Jilin has received: the 延边 sample's nominees.
JILIN_ONLY = ["金哲洙", JILIN_NAME]
JILIN_USER, JILIN_PASSWORD = "wu", "correct-horse-1"
LIAONING_USER, LIAONING_PASSWORD = "lnoffice", "liaoning-horse-2"
_msg_ids = itertools.count(int(time.time()) * 1000)


def jilin_toml(path: Path) -> Path:
    """The shipped campaign, keyed."""
    path.write_text('key = "jilin-2021"\n' + DEFAULT_CAMPAIGN.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def liaoning_toml(path: Path) -> Path:
    """The shipped campaign made another province's next year: another key, name, deadline and units."""
    text = DEFAULT_CAMPAIGN.read_text(encoding="utf-8")
    text = text.replace(f'name = "{JILIN_NAME}"', f'name = "{LIAONING_NAME}"', 1)
    text = text.replace("year = 2021", "year = 2022", 1).replace("deadline = 2021-08-30", "deadline = 2022-09-30", 1)
    text = text[: text.index("\n[[units]]\n")] + "\n" + LIAONING_UNITS
    path.write_text('key = "liaoning-2022"\n' + text, encoding="utf-8")
    return path


def liaoning_mail(folder: Path) -> Path:
    """The 长白山 sample package, subject rewritten: from 沈阳's contact address in Liaoning's campaign."""
    raw = (SAMPLES / "changbaishan_missing" / "1.eml").read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    newline = b"\r\n" if b"\r\n" in head else b"\n"
    subject = email.header.Header(LIAONING_SUBJECT, "utf-8").encode().encode()
    lines = [b"Subject: " + subject if line.lower().startswith(b"subject:") else line for line in head.split(newline)]
    path = folder / "liaoning.eml"
    path.write_bytes(newline.join(lines) + newline + newline + body)
    return path


def build(
    settings: Settings, campaign: Campaign, now: dt.datetime, mails: list[Path], user: tuple[str, str]
) -> Service:
    service = Service.build(settings, campaign, clock=lambda: now)
    for path in mails:
        service.desk.ingest_file(path)
    service.desk.process_pending()
    service.store.directory.add_user(user[0], user[1], user[0])
    return service


def assert_none_of(words: list[str], text: str, where: str) -> None:
    leaked = [w for w in words if w in text]
    assert not leaked, f"{where} shows the other campaign's {leaked}"


def login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf": form_csrf(page.text), "next": "/"},
        follow_redirects=False,
    )


@contextmanager
def two_desks(tmp_path: Path, database_url: str | None, *, shared_dir: bool) -> Iterator[tuple[Service, Service, dict]]:
    """Jilin's desk (with a WeCom app played by the simulator) and Liaoning's, on one database; yields
    both services and the paths and simulator the tests need."""
    a_file, b_file = jilin_toml(tmp_path / "jilin.toml"), liaoning_toml(tmp_path / "liaoning.toml")
    a_dir = tmp_path / "var" if shared_dir else tmp_path / "jilin"
    b_dir = tmp_path / "var" if shared_dir else tmp_path / "liaoning"
    with WeComSimulator() as sim:
        a_settings = wecom_settings(sim, a_dir, database_url=database_url)
        b_settings = Settings(data_dir=b_dir, database_url=database_url)
        a = build(
            a_settings,
            load_campaign(a_file),
            JILIN_NOW,
            [SAMPLES / "yanbian_complete" / "1.eml"],
            (JILIN_USER, JILIN_PASSWORD),
        )
        try:
            b = build(
                b_settings,
                load_campaign(b_file),
                LIAONING_NOW,
                [liaoning_mail(tmp_path)],
                (LIAONING_USER, LIAONING_PASSWORD),
            )
            try:
                yield a, b, {"a_file": a_file, "b_file": b_file, "a_dir": a_dir, "b_dir": b_dir, "sim": sim}
            finally:
                b.shutdown()
        finally:
            a.shutdown()


def status(data_dir: Path, campaign_file: Path, database_url: str | None, *unit: str) -> str:
    env = {"NOMDESK_DATABASE_URL": database_url} if database_url else {}
    done = nomdesk("status", *unit, "--data-dir", data_dir, "--campaign", campaign_file, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def wecom_ask(sim: WeComSimulator, url: str, user: str, text: str) -> str:
    # Signed at the desk's time: the desk checks WeCom's timestamp against its own clock (in 2021).
    stamp = int(JILIN_NOW.timestamp())
    response = sim.send_callback(url, sim.text_message(user, text, next(_msg_ids)), timestamp=stamp)
    assert response.status_code == 200, response.text
    return (ET.fromstring(sim.decrypt_passive_reply(response.text)).findtext("Content") or "") if response.text else ""


@pytest.mark.parametrize("shared_dir", [True, False], ids=["one-data-dir-and-blob-store", "a-data-dir-each"])
def test_two_campaigns_on_one_postgres_database_see_only_their_own(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811  (the fixture)
    shared_dir: bool,
) -> None:
    """Desks of two campaigns sharing one data directory (blob store, keys) or each with its own."""
    with two_desks(tmp_path, postgres_url, shared_dir=shared_dir) as (a, b, paths):
        assert (a.store.campaign_key, b.store.campaign_key) == ("jilin-2021", "liaoning-2022")
        # Each desk took its own units' mail, and only that.
        assert [r.name for r in a.store.overview.units() if r.submissions] == ["延边朝鲜族自治州教育局"]
        assert [r.name for r in b.store.overview.units() if r.submissions] == ["沈阳市教育局"]
        assert len(a.store.raw.all()) == 1 and len(b.store.raw.all()) == 1
        assert {r.name for r in a.store.overview.units()}.isdisjoint({r.name for r in b.store.overview.units()})

        # `nomdesk status`, as the office runs it for each campaign.
        a_status = status(paths["a_dir"], paths["a_file"], postgres_url)
        assert "延边朝鲜族自治州教育局" in a_status and JILIN_NAME in a_status
        assert_none_of(LIAONING_ONLY, a_status, "Jilin's status")
        a_changbai = status(paths["a_dir"], paths["a_file"], postgres_url, "长白山")  # same address as 沈阳's contact
        assert_none_of(LIAONING_ONLY, a_changbai, "Jilin's 长白山 dossier")
        b_status = status(paths["b_dir"], paths["b_file"], postgres_url, "沈阳")
        assert "乔长林" in b_status
        assert_none_of(JILIN_ONLY, b_status, "Liaoning's 沈阳 dossier")

        with BackgroundServer(create_app(a)) as server:
            # Jilin's WeCom app: the office asks for its 汇总, 长白山's contact asks her 进度.
            callback = server.url + "/wecom/callback"
            office = wecom_ask(paths["sim"], callback, "wuxiaohui", "汇总")
            assert JILIN_NAME in office and "已报送 1，" in office  # 延边 only: not 沈阳 too
            assert_none_of(LIAONING_ONLY, office, "Jilin's WeCom summary")
            contact = wecom_ask(paths["sim"], callback, "dinglijun", "我们的进度怎么样？")
            assert "长白山管委会教育科技局" in contact
            assert_none_of(LIAONING_ONLY, contact, "Jilin's WeCom answer to 长白山")
            stranger = wecom_ask(paths["sim"], callback, "liuhai", "进度")  # Liaoning's contact: nobody here
            assert_none_of(LIAONING_ONLY, stranger, "Jilin's WeCom answer to Liaoning's contact")

            # Jilin's dashboard: Liaoning's office cannot log in; Jilin's sees only Jilin.
            with httpx.Client(base_url=server.url) as client:
                refused = login(client, LIAONING_USER, LIAONING_PASSWORD)
                assert refused.status_code == 401 and "用户名或密码错误" in refused.text
                assert client.get("/", follow_redirects=False).status_code == 303
                assert login(client, JILIN_USER, JILIN_PASSWORD).status_code == 303
                home = client.get("/")
                assert home.status_code == 200 and JILIN_NAME in home.text and "延边朝鲜族自治州教育局" in home.text
                assert 'id="campaign-name">' + JILIN_NAME in home.text  # the header names the campaign
                assert_none_of(LIAONING_ONLY, home.text, "Jilin's campaign page")
                for path in ("/waiting", "/contacts", f"/units/{quote('长白山管委会教育科技局')}"):
                    page = client.get(path)
                    assert page.status_code == 200, path
                    assert 'id="campaign-name">' + JILIN_NAME in page.text
                    assert_none_of(LIAONING_ONLY, page.text, f"Jilin's {path}")
                assert_none_of(
                    LIAONING_ONLY, client.get(f"/units/{quote('沈阳市教育局')}").text, "an unknown unit's page"
                )

        with BackgroundServer(create_app(b)) as server, httpx.Client(base_url=server.url) as client:
            assert login(client, JILIN_USER, JILIN_PASSWORD).status_code == 401  # and the other way round
            assert login(client, LIAONING_USER, LIAONING_PASSWORD).status_code == 303
            home = client.get("/")
            assert 'id="campaign-name">' + LIAONING_NAME in home.text and "沈阳市教育局" in home.text
            assert_none_of([*JILIN_ONLY[:1], "延边朝鲜族自治州教育局"], home.text, "Liaoning's campaign page")


def test_two_keyed_campaigns_in_one_sqlite_data_dir_keep_apart(tmp_path: Path) -> None:
    with two_desks(tmp_path, None, shared_dir=True) as (a, b, paths):
        assert [r.name for r in a.store.overview.units() if r.submissions] == ["延边朝鲜族自治州教育局"]
        assert [r.name for r in b.store.overview.units() if r.submissions] == ["沈阳市教育局"]
        a_status = status(paths["a_dir"], paths["a_file"], None, "长白山")
        assert_none_of(LIAONING_ONLY, a_status, "Jilin's 长白山 dossier")
        assert "乔长林" in status(paths["b_dir"], paths["b_file"], None, "沈阳")
    data = paths["a_dir"]
    assert (data / "nomdesk-jilin-2021.sqlite3").is_file() and (data / "nomdesk-liaoning-2022.sqlite3").is_file()
    assert not (data / "nomdesk.sqlite3").exists()  # the default campaign's file: nobody opened it


@pytest.mark.parametrize("key", ["Jilin-2021", "吉林"])  # the rest: tests/config/test_campaign.py
def test_a_bad_key_in_the_toml_stops_the_desk_naming_it(tmp_path: Path, key: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'key = "{key}"\n' + DEFAULT_CAMPAIGN.read_text(encoding="utf-8"), encoding="utf-8")
    done = nomdesk("status", "--data-dir", tmp_path / "var", "--campaign", path)
    assert done.returncode == 2
    assert "key" in done.stderr and "活动标识" in done.stderr
    assert not list((tmp_path / "var").glob("nomdesk*.sqlite3"))
