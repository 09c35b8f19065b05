"""The four forms' fields: one list that the readers, the validators and `nomdesk templates` share.

Readers find a field by its label (normalised by `normalise_label`), never by position;
templates write the same labels; validators read `required_*` to decide what is missing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldSpec:
    key: str  # attribute of StarFields / ProjectFields
    label: str  # the label as the blank form prints it
    aliases: tuple[str, ...] = ()  # other labels units use (already normalised or not)
    required_in_form: bool = False
    required_in_register: bool = False
    in_form: bool = True
    in_register: bool = True
    group: str = ""  # for "at least one of" requirements (年参与人数 / 年参与人次)
    extra: dict[str, str] = field(default_factory=dict)


_BRACKETS = re.compile(r"[（(\[【][^）)\]】]*[）)\]】]")
_SPACES = re.compile(r"[\s\u3000*＊:：]+")


def normalise_label(text: str) -> str:
    """Fold a label as units write it ("姓　　名", "工作单位及职务\\n（职业）", "联系电话*") to its core."""
    text = unicodedata.normalize("NFKC", str(text))
    text = _BRACKETS.sub("", text)
    return _SPACES.sub("", text)


# Every label a reader accepts is listed here, the Word reader (exact labels: a value cell may begin
# with a label's words) and the register reader (which also takes a label's longer forms) alike,
# so a label one reader knows is never unknown to the other.
PHONE_ALIASES = ("电话", "手机", "手机号", "手机号码", "联系手机", "联系方式")

# 附表1 and 附表2
STAR_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("name", "姓名", required_in_form=True, required_in_register=True),
    FieldSpec("gender", "性别", required_in_form=True, required_in_register=True),
    FieldSpec(
        "birth",
        "出生年月",
        ("出生年月日", "出生日期", "出生时间"),
        required_in_form=True,
        required_in_register=True,
    ),
    FieldSpec("ethnicity", "民族"),
    FieldSpec("politics", "政治面貌"),
    FieldSpec("education", "学历（文化程度）", ("学历", "文化程度")),
    FieldSpec("id_number", "身份证号", ("身份证号码", "公民身份号码", "身份证"), in_register=False),
    FieldSpec(
        "employer_title",
        "工作单位及职务（职业）",
        ("工作单位及职务", "工作单位及职业", "单位及职务", "工作单位和职务", "工作单位"),
        required_in_form=True,
        required_in_register=True,
    ),
    FieldSpec("group", "所属群体", ("群体", "人员类别", "所属类别")),
    FieldSpec("phone", "联系电话", PHONE_ALIASES, required_in_form=True, required_in_register=True),
    FieldSpec("email", "电子邮箱", ("邮箱", "电子邮件", "Email", "E-mail"), in_register=False),
    FieldSpec("address", "通讯地址", ("通信地址", "地址"), in_register=False),
    FieldSpec("postcode", "邮编", ("邮政编码",), in_register=False),
    FieldSpec("honours", "所获荣誉", ("获得荣誉", "荣誉", "获奖情况"), in_register=False),
    FieldSpec("story", "主要学习事迹", ("主要事迹", "学习事迹", "事迹材料"), required_in_form=True, in_register=False),
    FieldSpec("intro", "事迹简介（100字以内）", ("事迹简介", "简要事迹", "主要事迹简介"), in_form=False),
    FieldSpec("opinion", "推荐单位意见", ("推荐意见",), in_register=False),
    FieldSpec("remarks", "备注", in_form=False),
)

# 附表3 and 附表4
PROJECT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("name", "项目名称", ("品牌项目名称",), required_in_form=True, required_in_register=True),
    FieldSpec(
        "organizer",
        "申报单位（举办主体）",
        ("申报单位", "举办主体", "主办单位", "实施单位"),
        required_in_form=True,
        required_in_register=True,
    ),
    FieldSpec(
        "leader",
        "项目负责人",
        ("负责人", "项目负责人及职务", "负责人及职务", "项目负责人姓名"),
        required_in_form=True,
        required_in_register=True,
    ),
    FieldSpec("phone", "联系电话", PHONE_ALIASES, required_in_form=True, required_in_register=True),
    FieldSpec(
        "founded",
        "创建时间",
        ("创建年月", "创建日期", "项目创建时间", "创办时间", "创办年月", "启动时间", "成立时间", "开始时间"),
        required_in_form=True,
        required_in_register=True,
    ),
    FieldSpec("people_per_year", "年参与人数", ("参与人数", "年受益人数"), group="scale"),
    FieldSpec("participations_per_year", "年参与人次", ("参与人次", "年受益人次"), group="scale"),
    FieldSpec("category", "项目类别", ("类别", "项目类型")),
    FieldSpec("online", "是否开展线上学习", ("线上学习", "是否线上"), in_register=False),
    FieldSpec(
        "activities", "活动内容与形式", ("活动内容及形式", "主要内容与形式"), required_in_form=True, in_register=False
    ),
    FieldSpec("measures", "具体措施与保障", ("具体措施及保障", "措施与保障"), in_register=False),
    FieldSpec("effects", "取得的成效与影响", ("成效与影响", "取得成效与影响", "取得的成效及影响"), in_register=False),
    FieldSpec("intro", "项目简介（100字以内）", ("项目简介", "简介"), in_form=False),
    FieldSpec("opinion", "推荐单位意见", ("推荐意见",), in_register=False),
    FieldSpec("remarks", "备注", in_form=False),
)

# A group of fields of which at least one is required (附表3/附表4: 年参与人数 or 年参与人次).
REQUIRED_GROUPS = {"scale": ("people_per_year", "participations_per_year")}

STAR_FORM_TITLE = "百姓学习之星推荐表"
STAR_REGISTER_TITLE = "百姓学习之星推荐登记表"
PROJECT_FORM_TITLE = "终身学习品牌项目推荐表"
PROJECT_REGISTER_TITLE = "终身学习品牌项目推荐登记表"
UNIT_LINE_LABEL = "推荐单位（盖章）"


def label_index(specs: tuple[FieldSpec, ...], *, register: bool) -> dict[str, FieldSpec]:
    """Normalised label -> field, for the labels (and aliases) a reader may meet."""
    index: dict[str, FieldSpec] = {}
    for spec in specs:
        if register and not spec.in_register:
            continue
        if not register and not spec.in_form:
            continue
        for text in (spec.label, *spec.aliases):
            index.setdefault(normalise_label(text), spec)
    return index


def field_label(specs: tuple[FieldSpec, ...], key: str) -> str:
    for spec in specs:
        if spec.key == key:
            return spec.label
    raise KeyError(key)
