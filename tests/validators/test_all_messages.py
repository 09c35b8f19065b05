"""Every sentence a unit can read in a finding, in one checked-in file: tests/validators/all_messages.txt.

A reviewer reads every message and hint of every registered finding code there, rendered with
realistic values (the rule's firing case of test_rules_each_code, run through the real rules, and
for the file codes the reasons intake really writes). The test fails when a rendered text differs
from the file: a wording change is made on purpose, and shows in the diff of the file.

To accept a wording change, regenerate the file and review its diff:

    NOMDESK_UPDATE_MESSAGES=1 .venv/bin/pytest -q tests/validators/test_all_messages.py

A code registered without a firing case (and so without example values) fails here too.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from config import Campaign
from intake.archive.base import Budget, check_entries, encrypted, safe_parts, symlink_refused, unreadable
from intake.models import Dossier
from tests.support.dossiers import add_problem, city_dossier, video_file
from tests.validators.test_rules_each_code import CASES
from validators import REGISTRY, run_rules
from validators.base import SEVERITY_ZH, Finding, label_of, render

MESSAGES = Path(__file__).with_name("all_messages.txt")
UPDATE_ENV = "NOMDESK_UPDATE_MESSAGES"


def _refused(raise_it: Callable[[], object]):
    """The ArchiveProblem the real archive code raises (or returns) for a refusal."""
    try:
        problem = raise_it()
    except Exception as exc:  # the refusal is the value we want
        problem = exc
    return problem


def _archive_problem(make: Callable[[], object], path: str) -> Callable[[Campaign], Dossier]:
    def build(c: Campaign) -> Dossier:
        p = _refused(make)
        return add_problem(city_dossier(c), p.code, path, p.reason, **p.params)

    return build


def _problem(code: str, path: str, reason: str, **params: object) -> Callable[[Campaign], Dossier]:
    return lambda c: add_problem(city_dossier(c), code, path, reason, **params)


def _mov_named_mp4(c: Campaign) -> Dossier:
    d = city_dossier(c)
    d.projects[0].videos = [video_file("项目/海兰江畔/视频.mp4", 270, container="mov")]
    return d


def _late(c: Campaign) -> Dossier:
    d = city_dossier(c)
    d.submissions[0].subject = "吉林市推荐材料（补充）"
    d.submissions[0].arrived_at = c.deadline_end + dt.timedelta(hours=9, minutes=30)
    return d


# More examples for the codes whose words depend on what intake found: the reasons intake writes,
# from the real archive code where it is cheap to call, else as intake words them.
EXTRA: dict[str, list[Callable[[Campaign], Dossier]]] = {
    "ARCHIVE_REJECTED": [
        _archive_problem(lambda: safe_parts("../../evil.txt"), "材料.zip"),
        _archive_problem(lambda: symlink_refused("link"), "材料.tar.gz"),
        _archive_problem(lambda: Budget(_LIMITS[0]).too_much(1 << 34), "材料.zip/视频合集.zip"),
        _archive_problem(lambda: check_entries(6012, _LIMITS[0]), "材料.zip"),
    ],
    "ARCHIVE_ENCRYPTED": [_archive_problem(encrypted, "推荐材料.rar")],
    "FILE_UNREADABLE": [
        _archive_problem(lambda: unreadable("不是完整的 zip 文件"), "推荐材料.zip"),
        _problem(
            "FILE_UNREADABLE",
            "材料.zip/照片1.jpg",
            "扩展名为 .jpg，但内容不是图片（文件已损坏、未下载完整或不是该类型）",
        ),
        _problem("FILE_UNREADABLE", "材料.zip/视频.mp4", "视频文件不完整（缺少 MP4 索引，可能上传中断）"),
        _problem("FILE_UNREADABLE", "材料.zip/推荐表.pdf", "PDF 文件设有密码，无法读取，请取消密码后重新发送"),
    ],
    "FILE_UNSUPPORTED": [
        _problem(
            "FILE_UNSUPPORTED",
            "材料.zip/说明.pages",
            "这是 Pages 文稿；如为推荐表或工作总结，请另存为 Word（.docx）或 Excel（.xlsx）后重新发送",
        ),
    ],
    "PROJECT_VIDEO_SPEC": [_mov_named_mp4],
    "LATE": [_late],
}
_LIMITS: list = []  # the campaign's limits, for the archive refusals above (set by the fixture)


def _examples(code: str, campaign: Campaign) -> list[Finding]:
    builds = [CASES[code][0], *EXTRA.get(code, [])]
    out: list[Finding] = []
    for build in builds:
        out += [f for f in run_rules(build(campaign), campaign, strict=True) if f.code == code]
    return out


def render_all(campaign: Campaign) -> str:
    _LIMITS[:] = [campaign.limits]
    lines = [
        "# 每个检查代码发给报送单位的全部文字（由 tests/validators/test_all_messages.py 生成，勿手改）。",
        f"# 更新：{UPDATE_ENV}=1 .venv/bin/pytest -q tests/validators/test_all_messages.py，再审阅本文件的差异。",
        "",
    ]
    for code in sorted(REGISTRY.codes()):
        rule = REGISTRY.get(code)
        lines.append(f"## {code}（{rule.severity.value}，{SEVERITY_ZH[rule.severity]}）{rule.title_zh}")
        seen: set[tuple[str, str, str]] = set()
        for f in _examples(code, campaign):
            message, hint = render(f)
            key = (label_of(f), message, hint)
            if key in seen:
                continue
            seen.add(key)
            lines.append(f"[{label_of(f)}] {message}")
            lines.append(f"    修改建议：{hint}")
        lines.append("")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def rendered(campaign: Campaign) -> str:
    return render_all(campaign)


def test_every_registered_code_has_example_values() -> None:
    """A new code needs a firing case (test_rules_each_code.CASES): without one it has no example here."""
    assert sorted(set(REGISTRY.codes()) - set(CASES)) == []
    assert sorted(set(EXTRA) - set(REGISTRY.codes())) == []


def test_every_code_renders_at_least_one_example(rendered: str) -> None:
    blocks = rendered.split("\n## ")
    for code in REGISTRY.codes():
        block = next(b for b in blocks if b.startswith(f"{code}（") or b.startswith(f"## {code}（"))
        assert "\n[" in block, f"{code} rendered no example"


def test_messages_file_matches(rendered: str) -> None:
    if os.environ.get(UPDATE_ENV) == "1":
        MESSAGES.write_text(rendered, encoding="utf-8")
    assert MESSAGES.exists(), f"{MESSAGES.name} is missing: run with {UPDATE_ENV}=1 to write it"
    expected = MESSAGES.read_text(encoding="utf-8")
    assert rendered == expected, (
        f"a finding's words changed: review, then regenerate {MESSAGES.name} with {UPDATE_ENV}=1 (see the docstring)"
    )


# Words only the office (or a programmer) understands, never in what a unit reads.
JARGON = ("压缩炸弹", "越出目录", "符号链接", "条目", "压缩比", "Traceback", "None", "？", "{", "}")


def test_no_jargon_and_no_placeholder(rendered: str) -> None:
    for line in rendered.splitlines():
        if line.startswith("#") or line.startswith("## "):
            continue
        for word in JARGON:
            assert word not in line, (word, line)


def _doubled(text: str, size: int = 6) -> str | None:
    """A run of `size` or more Chinese characters said twice in one text
    ("设有密码，无法解压：压缩包设有密码，无法解压")."""
    for i in range(len(text) - size):
        chunk = text[i : i + size]
        if re.fullmatch(r"[\u4e00-\u9fff，、]+", chunk) and text.find(chunk, i + 1) >= 0:
            return chunk
    return None


# Runs a message and its hint may both name: the call's own terms and the desk's fixed phrases.
ALLOWED_TWICE = ("百姓学习之星", "终身学习品牌项目", "免冠彩色证件照", "省级办公室")


def test_no_phrase_said_twice(rendered: str) -> None:
    for line in rendered.splitlines():
        if not line.startswith("["):
            continue
        text = re.sub(r"“[^”]*”", "“”", line)  # a value the unit wrote may well repeat another
        for term in ALLOWED_TWICE:
            text = text.replace(term, "〇")
        assert _doubled(text) is None, (_doubled(text), line)
