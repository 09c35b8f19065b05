"""What the rules say in the cases the office cares about: marks, titles, names, fields, duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import Campaign
from intake.models import Dossier, FileKind, FileProblem, LargeFileLink, PackageFile, StarEntry
from tests.support.dossiers import (
    city_dossier,
    rename_project,
    rename_star,
    set_project_fields,
    set_star_fields,
    unregister_project,
)
from validators import REGISTRY, check_dossier, finding_to_json, is_exemplar_mark, run_rules
from validators.base import Finding, Registry, Rule, Severity
from validators.rules.project import named_as_unit
from validators.rules.star import leader_match


def _run(dossier: Dossier, campaign: Campaign, code: str) -> list[dict]:
    return [finding_to_json(f) for f in run_rules(dossier, campaign, strict=True) if f.code == code]


@pytest.mark.parametrize(
    ("remarks", "marked"),
    [
        ("事迹特别感人", True),
        ("特别受百姓喜爱", True),
        ("典范", True),
        ("特别推荐", True),
        ("该同志事迹特别感人，推荐为典范", True),
        ("非遗传承典范", True),  # 非 belongs to 非遗, not to the mark
        ("无私奉献，典范", True),
        ("不作为典范", False),
        ("非典范", False),
        ("不列为典范", False),
        ("典范：否", False),
        ("不是特别推荐", False),
        ("典范（否）", False),
        ("不再作为典范", False),
        ("作为典范推荐：否", False),
        ("本人不同意作为典范", False),
        ("典范：×", False),
        ("是否典范：是", True),
        ("是否典范：否", False),
        ("事迹特别感人，不愧为学习典范", True),
        ("", False),
        (None, False),
        ("优秀", False),
    ],
)
def test_exemplar_mark(campaign: Campaign, remarks: str | None, marked: bool) -> None:
    assert is_exemplar_mark(remarks, campaign) is marked


def test_exemplar_mark_words_come_from_config(campaign: Campaign) -> None:
    other = campaign.model_copy(
        update={"exemplar": campaign.exemplar.model_copy(update={"marks": ["示范"], "negations": ["不"]})}
    )
    assert is_exemplar_mark("示范", other) and not is_exemplar_mark("典范", other)
    assert not is_exemplar_mark("不示范", other)


@pytest.mark.parametrize(
    "title",
    [
        "某某县 县长",
        "某某县人民政府 副县长",
        "某某县委书记",
        "吉林省教育厅职成处 处长",
        "吉林省教育厅 副处长",
        "吉林省教育厅 厅长",
        "长春市 市长",
        "长春市教育局 局长",
        "松原市长岭县人民政府 副县长",  # the place name clears 市长, not the 县长 after it
        "延边州 州长",
    ],
)
def test_leader_titles_flagged(campaign: Campaign, title: str) -> None:
    assert leader_match(title, campaign), title


@pytest.mark.parametrize(
    "title",
    [
        "龙井市东盛涌镇仁化村 党支部书记",
        "延吉市河南街道某社区 书记",
        "吉林省教育厅职成处 科长",
        "汪清县教育局 局长",
        "某某村 村长",
        "长白山森林经营局 高级技师",
        # Jilin place and street names beginning with 长 after 市/州/县
        "松原市长岭县 农民",
        "白山市长白朝鲜族自治县马鹿沟镇 农民",
        "延吉市长白乡 种植户",
        "延吉市长途汽车站 司机",
        "吉林市长春路小学 教师",
        "延边州长白山旅游公司 导游",
        "抚松县长白山镇 个体户",
        None,
    ],
)
def test_leader_titles_not_flagged(campaign: Campaign, title: str | None) -> None:
    assert leader_match(title, campaign) is None, title


def test_leader_finding_names_title(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    set_star_fields(d, 0, where="form", employer_title="长春市教育局 副局长")
    (found,) = _run(d, campaign, "STAR_LEADER")
    assert found["severity"] == "warning" and "长春市教育局 副局长" in found["message_zh"]
    assert found["evidence"]["where"] == "附表1"


@pytest.mark.parametrize(
    ("name", "institutions", "named"),
    [
        ("延边大学", ["延边大学"], True),
        ("吉林市第一中学终身学习项目", ["吉林市第一中学"], True),
        ("吉林市第一中学终身学习项目", [], True),  # an institution's name and generic words only
        ("“长鼓舞”非遗文化传承学习项目", ["延边朝鲜族自治州群众艺术馆", "延边朝鲜族自治州教育局"], False),
        ("“阿里郎”老年大学", ["延边朝鲜族自治州老年大学"], False),
        ("延边大学读书会", ["延边大学"], False),
        ("“延边大学”", ["延边大学"], True),
        ("海兰江畔农民夜校", ["龙井市职业教育中心"], False),
        ("“书香南关”全民阅读推广行动", ["长春市南关区图书馆"], False),
    ],
)
def test_named_as_unit(name: str, institutions: list[str], named: bool) -> None:
    assert bool(named_as_unit(name, institutions)) is named


def test_named_as_unit_uses_the_unit_name(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.unit, d.unit_kind = "延边大学", "college"
    rename_project(d, 0, "延边大学")
    (found,) = _run(d, campaign, "PROJECT_NAMED_AS_UNIT")
    assert found["subject"] == "终身学习品牌项目 延边大学" and found["severity"] == "warning"


def test_field_missing_in_table_though_filled_in_form(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    star = set_star_fields(d, 0, where="row", phone=None, employer_title="  ")
    set_star_fields(d, 0, where="form", story=None)
    (found,) = _run(d, campaign, "STAR_FIELD_MISSING")
    assert found["subject"] == f"百姓学习之星 {star.name}"
    assert "附表2 缺少：工作单位及职务（职业）、联系电话" in found["message_zh"]
    assert "附表1 缺少：主要学习事迹" in found["message_zh"]
    assert found["evidence"]["missing"] == {"附表2": ["工作单位及职务（职业）", "联系电话"], "附表1": ["主要学习事迹"]}


def test_project_needs_people_or_participations(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    set_project_fields(d, 1, where="row", people_per_year=None)
    assert _run(d, campaign, "PROJECT_FIELD_MISSING") == []  # 年参与人次 is enough
    set_project_fields(d, 1, where="row", participations_per_year="")
    (found,) = _run(d, campaign, "PROJECT_FIELD_MISSING")
    assert "附表4 缺少：年参与人数或年参与人次" in found["message_zh"]


def test_register_missing_cases(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.stars, d.star_register = [], None
    assert _run(d, campaign, "REGISTER_MISSING") == []  # only projects nominated: no 附表2 needed
    d.project_register = None
    (found,) = _run(d, campaign, "REGISTER_MISSING")
    assert found["subject"] == "附表4 终身学习品牌项目推荐登记表"
    empty = Dossier(unit="吉林大学", unit_kind="college")
    subjects = sorted(f["subject"] for f in _run(empty, campaign, "REGISTER_MISSING"))
    assert subjects == ["附表2 百姓学习之星推荐登记表", "附表4 终身学习品牌项目推荐登记表"]


def test_register_mismatch_not_without_a_table(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    unregister_project(d, 0)
    (found,) = _run(d, campaign, "REGISTER_MISMATCH")
    assert found["subject"] == f"终身学习品牌项目 {d.projects[0].name}"
    d.project_register = None
    assert _run(d, campaign, "REGISTER_MISMATCH") == []


def test_quota_counts_registered_nominees_only(campaign: Campaign) -> None:
    d = city_dossier(campaign, stars=10)
    d.stars.append(city_dossier(campaign, stars=11).stars[10])
    d.stars[10].registered, d.stars[10].row = False, None
    assert _run(d, campaign, "STAR_QUOTA") == []
    d.star_register = None  # without a table, whoever sent material counts
    assert [f["severity"] for f in _run(d, campaign, "STAR_QUOTA")] == ["error"]


def test_duplicate_by_name_birth_phone_without_id(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    first, second = d.stars[0], d.stars[1]
    for s in (first, second):
        s.form.fields.id_number = None
    twin = first.row.model_copy()
    d.star_register.star_rows.append(twin)
    (found,) = _run(d, campaign, "DUPLICATE_NOMINEE")
    assert found["subject"] == f"百姓学习之星 {first.name}" and "2 次" in found["message_zh"]
    twin.phone = "13900000000"  # another phone: another person of the same name
    assert _run(d, campaign, "DUPLICATE_NOMINEE") == []
    assert second.name not in json.dumps(_run(d, campaign, "DUPLICATE_NOMINEE"), ensure_ascii=False)


def test_a_name_registered_twice_is_one_duplicate_not_a_missing_form_too(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    first = d.stars[0]
    twin_row = first.row.model_copy()
    d.star_register.star_rows.append(twin_row)
    # intake's entry for the second row: registered, its materials all went to the first
    d.stars.append(
        StarEntry(name=first.name.replace(first.name[0], first.name[0] + " ", 1), registered=True, row=twin_row)
    )
    codes = [f.code for f in run_rules(d, campaign, strict=True)]
    assert codes.count("DUPLICATE_NOMINEE") == 1
    assert "STAR_FORM_MISSING" not in codes and "STAR_PHOTO_COUNT" not in codes, codes


def test_duplicate_found_whichever_way_the_numbers_are_written(campaign: Campaign) -> None:
    """FORMS.md: numbers come with +86, spaces and full-width digits; the same person is still found."""
    d = city_dossier(campaign)
    first = d.stars[0]
    first.form.fields.id_number = None
    twin = first.row.model_copy(update={"id_number": None})
    twin.phone = "+86 " + " ".join([first.row.phone[:3], first.row.phone[3:7], first.row.phone[7:]])
    d.star_register.star_rows.append(twin)
    first.row.id_number = None
    (found,) = _run(d, campaign, "DUPLICATE_NOMINEE")
    assert found["subject"] == f"百姓学习之星 {first.name}"

    d = city_dossier(campaign)
    wide = d.stars[0].form.fields.id_number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    d.stars[1].form.fields.id_number = wide
    (found,) = _run(d, campaign, "DUPLICATE_NOMINEE")
    assert found["subject"] in (f"百姓学习之星 {d.stars[0].name}", f"百姓学习之星 {d.stars[1].name}")


def test_duplicate_evidence_masks_id_numbers(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    id_number = d.stars[0].form.fields.id_number
    d.stars[1].form.fields.id_number = id_number
    (found,) = _run(d, campaign, "DUPLICATE_NOMINEE")
    text = json.dumps(found, ensure_ascii=False)
    assert id_number not in text and id_number[-4:] in found["evidence"]["id_number"]


def test_duplicate_project_and_across_units(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    rename_project(d, 1, d.projects[0].name.replace("“", '"').replace("”", '"'))
    d.other_unit_nominees = {d.stars[2].name: ["吉林市教育局"]}
    found = {f["subject"]: f for f in _run(d, campaign, "DUPLICATE_NOMINEE")}
    assert f"终身学习品牌项目 {d.projects[0].name}" in found
    across = found[f"百姓学习之星 {d.stars[2].name}"]
    # A unit learns that someone else nominated the same person, not who: that is the office's to know.
    assert "另有 1 个单位也推荐了同一对象" in across["message_zh"]
    assert "吉林市教育局" not in across["message_zh"] + across["hint_zh"]
    assert across["evidence"]["other_units"] == ["吉林市教育局"]


def test_previously_honored_project_by_its_brand(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    rename_project(d, 0, "书香南关全民阅读推广行动")
    (found,) = _run(d, campaign, "PROJECT_PREVIOUSLY_HONORED")
    assert "2020 年" in found["message_zh"]


def test_previously_honored_star_with_another_id_is_another_person(campaign: Campaign) -> None:
    past = campaign.past_honorees.stars[0]
    other = campaign.model_copy(
        update={
            "past_honorees": campaign.past_honorees.model_copy(
                update={"stars": [past.model_copy(update={"id_number": "220101196001010000"})]}
            )
        }
    )
    d = city_dossier(campaign)
    rename_star(d, 0, past.name)
    assert _run(d, other, "STAR_PREVIOUSLY_HONORED") == []
    d.stars[0].form.fields.id_number = "220101196001010000"
    assert _run(d, other, "STAR_PREVIOUSLY_HONORED")


def test_exemplar_not_city_and_limit_both_fire_and_mark_stays(campaign: Campaign) -> None:
    d = city_dossier(campaign, exemplar_star=True, exemplar_project=True)
    d.unit, d.unit_kind = "吉林大学", "college"
    (found,) = _run(d, campaign, "EXEMPLAR_NOT_CITY")
    assert d.stars[1].name in found["message_zh"] and d.projects[2].name in found["message_zh"]
    assert d.stars[1].exemplar  # rules only report


def test_file_findings_name_the_file_and_reason(campaign: Campaign) -> None:
    d = city_dossier(campaign)
    d.problems.append(
        FileProblem(code="ARCHIVE_REJECTED", path="材料.zip/内层.zip", reason="解压后超过 8 GiB", params={"limit": 8})
    )
    d.unmatched.append(
        PackageFile(path="材料/杂项.docx", local=Path("/x"), size=1, sniffed="docx", kind=FileKind.DOCUMENT)
    )
    (rejected,) = _run(d, campaign, "ARCHIVE_REJECTED")
    assert rejected["subject"] == "附件 材料.zip/内层.zip" and "解压后超过 8 GiB" in rejected["message_zh"]
    assert rejected["evidence"]["limit"] == 8
    (unmatched,) = _run(d, campaign, "FILE_UNMATCHED")
    assert unmatched["subject"] == "附件 材料/杂项.docx" and unmatched["severity"] == "warning"


def test_findings_sorted_and_json_shaped(campaign: Campaign) -> None:
    d = city_dossier(campaign, stars=7)
    d.paper_received = False
    d.stars[0].form = None
    d.links.append(LargeFileLink(url="https://pan.baidu.com/s/x", host="pan.baidu.com"))
    findings = run_rules(d, campaign, strict=True)
    order = [({"error": 0, "warning": 1, "info": 2}[f.severity.value], f.subject) for f in findings]
    assert order == sorted(order)
    for f in findings:
        out = finding_to_json(f)
        assert set(out) == {"code", "severity", "subject", "message_zh", "hint_zh", "evidence"}
        json.dumps(out, ensure_ascii=False)
    star = next(f for f in findings if f.code == "STAR_FORM_MISSING")
    assert star.nominee == d.stars[0].name and finding_to_json(star)["evidence"]["nominee"] == star.nominee


@pytest.mark.rule_faults
def test_a_failing_rule_does_not_withhold_the_others(campaign: Campaign, caplog) -> None:
    class Broken(Rule):
        code = "ZZ_BROKEN"
        severity = Severity.INFO
        title_zh = "故障"
        message_zh = "故障"
        hint_zh = "故障"

        def check(self, dossier, campaign):  # type: ignore[override]
            raise RuntimeError("boom")

    registry = Registry()
    registry.register(Broken)
    registry.register(type(REGISTRY.get("STAR_QUOTA")))
    d = city_dossier(campaign, stars=7)
    run = check_dossier(d, campaign, registry=registry)
    findings: list[Finding] = run.findings
    assert [f.code for f in findings] == ["STAR_QUOTA"]
    assert "ZZ_BROKEN" in caplog.text
    # ...but the failure is kept, not swallowed: the check is incomplete, never a pass
    assert run.incomplete and [(e.code, e.error) for e in run.failures] == [("ZZ_BROKEN", "RuntimeError: boom")]
    with pytest.raises(RuntimeError):
        run_rules(d, campaign, registry=registry)  # strict by default: "no findings" is never a crash
