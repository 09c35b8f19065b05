"""附表1/附表3 in Word, laid out as the samples are, read back by label."""

from __future__ import annotations

from typing import Any

import pytest

from intake.forms.fields import PROJECT_FIELDS, STAR_FIELDS, label_index
from intake.models import FileKind, YearMonth
from tests.support.forms import cached, project_forms_docx, register_xlsx, star_forms_docx

STORY = "朴英子，女，蒙古族，1985年1月出生。\n她牵头成立了职工创新工作室，带出徒弟33名。"
PERSONS: list[dict[str, Any]] = [
    {
        "name": "朴英子",
        "gender": "女",
        "birth": "1985-1",
        "ethnicity": "蒙古族",
        "politics": "共青团员",
        "education": "中专",
        "id_number": "222401198501184125",
        "group": "技术能手",
        "employer_title": "延边石岘白麓纸业 焊工班组长",
        "phone": "18997472321",
        "email": "221498383@qq.com",
        "address": "吉林省和龙市光明路402号",
        "postcode": "137400",
        "honours": "全国五一劳动奖章",
        "story": STORY,
    },
    {
        "name": "丁卫东",
        "gender": "男",
        "birth": "1984.10",
        "employer_title": "池北区向阳镇 网店店主（听力残疾）",
        "phone": "13943844100",
        "story": "丁卫东，男，汉族。",
    },
    {"name": "宋丽萍", "gender": "女", "birth": "1988年03月", "employer_title": "养殖户", "story": "宋丽萍。"},
]
PROJECT: dict[str, Any] = {
    "name": "“长鼓舞”非遗文化传承学习项目",
    "organizer": "延边朝鲜族自治州群众艺术馆",
    "leader": "岳长林",
    "phone": "15831258427",
    "founded": "2011年3月",
    "category": "社区教育",
    "people_per_year": "约3000人",
    "participations_per_year": "约2万人次",
    "online": "否",
    "activities": "常年开设家庭教育、法律常识、传统文化等课程。",
    "measures": "组建了一支由43名专兼职教师组成的队伍。",
    "effects": "为当地推进学习型城市建设提供了经验。",
}


def test_one_star_form_every_field(read: Any) -> None:
    path = cached(star_forms_docx, ".docx", persons=PERSONS[:1])
    result = read(path, "docx")
    assert result.kind is FileKind.STAR_FORM
    (form,) = result.star_forms
    fields = form.fields
    assert fields.model_dump(exclude_none=True, exclude={"birth_parsed", "opinion", "unit_line"}) == PERSONS[0]
    assert fields.birth_parsed == YearMonth(year=1985, month=1)
    assert fields.unit_line == "延边朝鲜族自治州教育局"
    assert form.missing_labels == []
    assert form.path == path.name


def test_several_persons_in_one_docx(read: Any) -> None:
    path = cached(star_forms_docx, ".docx", persons=PERSONS)
    forms = read(path, "docx").star_forms
    assert [f.fields.name for f in forms] == ["朴英子", "丁卫东", "宋丽萍"]
    assert [f.fields.birth_parsed for f in forms] == [
        YearMonth(year=1985, month=1),
        YearMonth(year=1984, month=10),
        YearMonth(year=1988, month=3),
    ]
    assert all(f.fields.unit_line == "延边朝鲜族自治州教育局" for f in forms)
    # 宋丽萍's phone cell is there but empty: found, not missing
    assert forms[2].fields.phone is None
    assert forms[2].missing_labels == []
    assert forms[1].fields.email is None


def test_several_persons_in_one_table(read: Any) -> None:
    path = cached(star_forms_docx, ".docx", persons=PERSONS, one_table=True)
    forms = read(path, "docx").star_forms
    assert [f.fields.name for f in forms] == ["朴英子", "丁卫东", "宋丽萍"]
    assert forms[1].fields.story == "丁卫东，男，汉族。"


def test_labels_spelled_otherwise(read: Any) -> None:
    overrides = {
        "employer_title": "工作单位及职务（职业）",
        "education": "学历（文化程度）",
        "story": "主要学习事迹\n（1500字以内）",
        "phone": "联系电话*",
        "birth": "出生年月",
    }
    path = cached(star_forms_docx, ".docx", persons=PERSONS[:1], label_overrides=overrides, unit=None)
    (form,) = read(path, "docx").star_forms
    assert form.fields.employer_title == PERSONS[0]["employer_title"]
    assert form.fields.education == "中专"
    assert form.fields.story == STORY
    assert form.fields.phone == "18997472321"
    assert form.fields.unit_line is None
    assert form.missing_labels == []


def test_labels_not_found_are_named(read: Any) -> None:
    path = cached(star_forms_docx, ".docx", persons=PERSONS[:1], drop_labels=["phone", "birth"])
    (form,) = read(path, "docx").star_forms
    assert form.missing_labels == ["出生年月", "联系电话"]
    assert form.fields.name == "朴英子"
    assert form.fields.email == "221498383@qq.com"


def test_photo_placeholder_is_no_value(read: Any) -> None:
    path = cached(star_forms_docx, ".docx", persons=[{"name": "张三"}])
    (form,) = read(path, "docx").star_forms
    values = form.fields.model_dump(exclude_none=True, exclude={"opinion", "unit_line"})
    assert values == {"name": "张三"}
    assert "（照片）" not in str(form.fields.model_dump())


def test_project_form_every_field(read: Any) -> None:
    path = cached(project_forms_docx, ".docx", projects=[PROJECT])
    result = read(path, "docx")
    assert result.kind is FileKind.PROJECT_FORM
    (form,) = result.project_forms
    fields = form.fields
    excluded = {"founded_parsed", "people_per_year_n", "participations_per_year_n", "opinion", "unit_line"}
    assert fields.model_dump(exclude_none=True, exclude=excluded) == PROJECT
    assert fields.founded_parsed == YearMonth(year=2011, month=3)
    assert (fields.people_per_year_n, fields.participations_per_year_n) == (3000, 20000)
    assert form.missing_labels == []


def test_several_projects_and_a_missing_scale(read: Any) -> None:
    second = {**PROJECT, "name": "“阿里郎”老年大学"}
    path = cached(
        project_forms_docx,
        ".docx",
        projects=[PROJECT, second],
        drop_labels=["people_per_year", "participations_per_year"],
    )
    forms = read(path, "docx").project_forms
    assert [f.fields.name for f in forms] == [PROJECT["name"], "“阿里郎”老年大学"]
    assert forms[1].missing_labels == ["年参与人数/年参与人次"]


@pytest.mark.parametrize(("key", "label"), [("birth", "出生年月日"), ("phone", "手机号"), ("phone", "手机号码")])
def test_star_labels_the_register_knows_are_known_in_the_form(key: str, label: str, read: Any) -> None:
    """附表1 and 附表2 accept the same labels: one alias list (forms/fields.py) for both readers."""
    path = cached(star_forms_docx, ".docx", persons=PERSONS[:1], label_overrides={key: label})
    (form,) = read(path, "docx").star_forms
    assert getattr(form.fields, key) == PERSONS[0][key]
    assert form.missing_labels == []
    row = {"name": "朴英子", key: PERSONS[0][key]}
    register = cached(register_xlsx, ".xlsx", kind="stars", rows=[row], labels={key: label})
    (table,) = read(register, "xlsx").registers
    assert getattr(table.star_rows[0], key) == PERSONS[0][key]


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("founded", "创建年月"),
        ("founded", "项目创建时间"),
        ("founded", "创建日期"),
        ("leader", "项目负责人及职务"),
        ("leader", "负责人及职务"),
        ("phone", "手机号"),
    ],
)
def test_project_labels_spelled_otherwise(key: str, label: str, read: Any) -> None:
    path = cached(project_forms_docx, ".docx", projects=[PROJECT], label_overrides={key: label})
    (form,) = read(path, "docx").project_forms
    assert getattr(form.fields, key) == PROJECT[key]
    assert form.missing_labels == []
    register = cached(register_xlsx, ".xlsx", kind="projects", rows=[PROJECT], labels={key: label})
    (table,) = read(register, "xlsx").registers
    assert getattr(table.project_rows[0], key) == PROJECT[key]
    assert table.missing_columns == []


def test_every_register_label_of_a_form_field_is_a_form_label() -> None:
    """The Word reader matches labels exactly: each label the register reads must be listed for it too."""
    for specs in (STAR_FIELDS, PROJECT_FIELDS):
        form = label_index(specs, register=False)
        register = label_index(specs, register=True)
        shared = {label: spec.key for label, spec in register.items() if spec.in_form}
        assert {label: form[label].key for label in shared} == shared
