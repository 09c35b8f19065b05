"""One unit's week of mails through `nomdesk serve`'s drop folder, each answered by a receipt.

RULES.md "Resubmissions": every receipt says what that mail did (its reference, the files
received and where each went, what changed, "与上次相比"), then the whole dossier as it
now stands; and the service's final dossier is the one `nomdesk check` gives offline for
the same mails in the same order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from config import Campaign
from intake.models import Dossier
from tests.support.packages import (
    PackageSpec,
    Photo,
    Video,
    check_json,
    complete_city_package,
    eml_bytes,
    mail_date,
    middle_seconds,
)
from tests.support.service import (
    ServeProcess,
    body_text,
    mail,
    message_id_of,
    outbox_mails,
    replies_to,
    store_of,
    wait_until,
)

pytestmark = pytest.mark.slow

UNIT = "延边朝鲜族自治州教育局"
SENDER = "YBJYJ_zcjy@163.com"  # the unit's registered contact


def _day(campaign: Campaign, days_before: int, hour: int) -> dt.datetime:
    naive = dt.datetime.combine(campaign.deadline - dt.timedelta(days=days_before), dt.time(hour, 0))
    return naive.replace(tzinfo=campaign.tz)


def _deliver_at(data: Path, raw: bytes, moment: dt.datetime) -> None:
    """Into the drop folder the Maildir way, delivered at `moment` (a Maildir's arrival is its mtime)."""
    inbox = data / "inbox"
    for sub in ("tmp", "new", "cur"):
        (inbox / sub).mkdir(parents=True, exist_ok=True)
    name = f"{moment.timestamp():.0f}.{uuid.uuid4().hex}.test"
    tmp = inbox / "tmp" / name
    tmp.write_bytes(raw)
    os.utime(tmp, (moment.timestamp(), moment.timestamp()))
    os.replace(tmp, inbox / "new" / name)


def _follow_up(campaign: Campaign, moment: dt.datetime, subject: str, **kw: Any) -> PackageSpec:
    values: dict[str, Any] = {
        "subject": subject,
        "date": mail_date(moment.replace(tzinfo=None)),
        "zip_name": f"{subject}.zip",
        "root": subject,
        "star_register": False,
        "project_register": False,
        "stars": [],
        "projects": [],
        **kw,
    }
    return complete_city_package(campaign, **values)


def _own_id(raw: bytes, n: int) -> bytes:
    """Generated packages share one Message-ID; a unit's real mails each have their own."""
    return raw.replace(b"Message-ID: <test.0001@163.com>", f"Message-ID: <week.{n}@163.com>".encode(), 1)


def _received(text: str) -> list[str]:
    """The receipt's "本次收到" lines: one per file, "name：where it went"."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("本次收到"))
    out = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        out.append(line.strip())
    return out


def _checklist(text: str) -> dict[str, str]:
    """The "二、已收材料清单" rows by nominee name: the mark and the row as written."""
    lines = text.splitlines()
    start = lines.index("二、已收材料清单")
    rows: dict[str, str] = {}
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        mark, _, rest = line.strip().partition(" ")
        kind, _, name = rest.split("：", 1)[0].partition(" ")
        if kind in ("百姓学习之星", "终身学习品牌项目"):  # not the unit's documents or the withdrawn
            rows[name.removesuffix("（典范）")] = f"{mark} {rest}"
    return rows


def test_a_units_five_mails_over_a_week(tmp_path: Path, campaign: Campaign) -> None:
    first = complete_city_package(
        campaign, stars=campaign.quotas.stars.min + 1, date=mail_date(_day(campaign, 9, 9).replace(tzinfo=None))
    )
    star, project, leaving = first.stars[0], first.projects[0], first.stars[-1]
    id_photo, life_photo = star.photos
    star.photos = [id_photo]  # one photo short
    project.videos = []  # no video yet
    times = [_day(campaign, days, 10) for days in (9, 8, 6, 4, 2)]

    only_star = dataclasses.replace(star, form=False, registered=False, videos=[])
    only_project = dataclasses.replace(project, form=False, registered=False, summary_chars=None, photos=[])
    short = Video(campaign.project.video.min_seconds - 60, f"{project.folder}宣传视频.mp4")
    right = Video(middle_seconds(campaign.project.video), f"{project.folder}宣传视频（定稿）.mp4")
    missing_photo = Photo(life_photo.width + 1, life_photo.height + 1, life_photo.name)
    mails = [
        eml_bytes(first),
        eml_bytes(
            _follow_up(campaign, times[1], "补充照片", stars=[dataclasses.replace(only_star, photos=[missing_photo])])
        ),
        eml_bytes(
            _follow_up(campaign, times[2], "补充视频", projects=[dataclasses.replace(only_project, videos=[short])])
        ),
        mail(
            SENDER,
            subject=f"撤回 {leaving.name}",
            text="您好，我单位申请撤回该人选。",
            date=mail_date(times[3].replace(tzinfo=None)),
        ),
        eml_bytes(
            _follow_up(campaign, times[4], "更正视频", projects=[dataclasses.replace(only_project, videos=[right])])
        ),
    ]
    mails = [_own_id(raw, n) for n, raw in enumerate(mails, 1)]
    paths = []
    for n, raw in enumerate(mails, 1):
        path = tmp_path / f"{n}.eml"
        path.write_bytes(raw)
        paths.append(path)

    data = tmp_path / "var"
    receipts: list[str] = []
    subjects: list[str] = []
    with ServeProcess(data, env={"NOMDESK_REPLY_RATE_PER_HOUR": "50"}):
        for raw, moment in zip(mails, times, strict=True):
            _deliver_at(data, raw, moment)
            reply: EmailMessage = wait_until(
                lambda raw=raw: replies_to(outbox_mails(data), message_id_of(raw)), 90, what="the receipt"
            )[0]
            receipts.append(body_text(reply))
            subjects.append(str(reply["Subject"]))

    one, two, three, four, five = receipts
    # 1: the first package, every file placed; its reference; no comparison yet
    assert "受理编号：延边-01" in one and "（延边-01）" in subjects[0]
    assert "与上次相比" not in one
    assert f"{id_photo.name}：{star.name} 照片" in _received(one)
    assert _checklist(one)[star.name].startswith("✗") and "照片1张✗" in _checklist(one)[star.name].replace(" ", "")
    assert _checklist(one)[project.name].startswith("✗")

    # 2: the one missing photo, sent alone, joins the set
    assert "受理编号：延边-02" in two
    assert _received(two) == [f"{missing_photo.name}：{star.name} 照片（新增）"]
    assert "与上次相比：已解决 1 项，新增 0 项" in two
    assert _checklist(two)[star.name].startswith("✓")

    # 3: a wrong fix: the video comes but is too short
    assert _received(three) == [f"{short.name}：{project.name} 视频"]
    assert "与上次相比：已解决 1 项，新增 1 项" in three
    assert _checklist(three)[project.name].startswith("✗")

    # 4: the withdrawal
    assert "本次收到 0 个文件" in four or "本次收到" not in four
    assert f"已撤回：百姓学习之星 {leaving.name}（材料仍保留）" in four
    assert leaving.name not in _checklist(four)
    assert f"  已撤回：百姓学习之星 {leaving.name}（材料仍保留" in four  # listed below the checklist
    assert "与上次相比：已解决 0 项，新增 0 项" in four

    # 5: the final fix: the video replaces the short one, and the dossier is complete
    assert _received(five) == [f"{right.name}：{project.name} 视频（替换原视频 {short.name}）"]
    assert "与上次相比：已解决 1 项，新增 0 项" in five
    assert "材料齐全" in subjects[4]
    assert all(row.startswith("✓") for row in _checklist(five).values()), _checklist(five)

    # the service's final dossier is the one the offline check gives for the same five mails
    offline = check_json(paths, campaign)
    assert offline is not None
    with store_of(data) as store:
        snapshot = store.evaluations.latest_dossier(UNIT)
        assert snapshot is not None
        served = Dossier.model_validate(snapshot.dossier)

    def entries(dossier_entries: list[Any]) -> dict[str, tuple[list[str], list[str]]]:
        return {e.name: ([p.name for p in e.photos], [v.name for v in e.videos]) for e in dossier_entries}

    def offline_entries(items: list[dict[str, Any]]) -> dict[str, tuple[list[str], list[str]]]:
        return {
            e["name"]: (
                [p.rsplit("/", 1)[-1] for p in e["photos"]],
                [v["path"].rsplit("/", 1)[-1] for v in e["videos"]],
            )
            for e in items
        }

    assert entries(served.stars) == offline_entries(offline["stars"])
    assert entries(served.projects) == offline_entries(offline["projects"])
    assert (
        [(w.name, w.kind) for w in served.withdrawn]
        == [(leaving.name, "star")]
        == [(w["name"], w["kind"]) for w in offline["withdrawn"]]
    )
    assert offline["findings"] == [] and len(served.stars) == campaign.quotas.stars.min
    assert entries(served.stars)[star.name][0] == [id_photo.name, missing_photo.name]
