"""Name equivalence (RULES.md "Matching files to nominees"): names are the same name when equal
after NFKC, with all whitespace removed and every middle-dot form (and a full stop between name
parts) as one; a name is not matched inside a longer name.

Property tests generate names as units type them (Chinese given names, ethnic names with any
dot, half- and full-width spaces, full-width latin) and check that every spelling is one name
and that a name never joins another one; examples pin each dot form and the path matching.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.attribution import Owners
from intake.names import name_key, names_in, same_name, star_keys

DOTS = ("\u00b7", "\u30fb", "\u2022", "\u2027", "\uff65", "\u2219")
SPACES = (" ", "\u3000", "\u00a0", "\t", "\u2002", "\u200b")
# Surnames and given-name characters of the people units nominate (common ones, not random
# code points: a generated name should look like one, so the boundary words are real words).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤"
)
GIVEN = "丹伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彬鹏辉建国志春梅海波宁淑珍凤云莲荣"
# Parts of ethnic names written in Chinese characters (Uyghur, Kazakh, Hui, ...).
ETHNIC_PARTS = (
    *("阿依古丽", "买买提", "迪丽娜尔", "阿不都", "热依汗", "古丽"),
    *("艾力", "努尔", "吐尔逊", "帕提古丽", "阿布都热西提"),
)
LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

NAMES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def chinese_names(draw: st.DrawFn) -> str:
    surname = draw(st.sampled_from(SURNAMES))
    given = draw(st.text(alphabet=GIVEN, min_size=1, max_size=2))
    return surname + given


@st.composite
def ethnic_names(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(ETHNIC_PARTS), min_size=2, max_size=3))
    return "\u00b7".join(parts)


@st.composite
def latin_names(draw: st.DrawFn) -> str:
    """A name written (partly) in latin letters: "Anna李", "MARY"."""
    return draw(st.text(alphabet=LATIN, min_size=2, max_size=8)) + draw(st.sampled_from(("", *SURNAMES[:5])))


names = st.one_of(chinese_names(), ethnic_names(), latin_names())


@st.composite
def spellings(draw: st.DrawFn, name: str) -> str:
    """`name` as a unit may type it: any dot form or a full stop for its dots, spaces of any width
    inserted anywhere, full-width latin and digits (NFKC folds them back)."""
    dot = draw(st.sampled_from((*DOTS, ".", "\uff0e", " ", "\u3000")))
    text = name.replace("\u00b7", dot)
    chars = list(text)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(chars)))
        chars.insert(at, draw(st.sampled_from(SPACES)))
    text = "".join(chars)
    if draw(st.booleans()):  # full-width forms of ASCII (a name with a latin letter or digit)
        text = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    return text


@NAMES
@given(data=st.data(), name=names)
def test_every_spelling_of_a_name_is_the_same_name(data: st.DataObject, name: str) -> None:
    spelt = data.draw(spellings(name))
    assert same_name(name, spelt), (name, spelt)
    assert name_key(spelt) == name_key(name) == name_key(unicodedata.normalize("NFKC", spelt))


@NAMES
@given(data=st.data(), name=names, extra=st.sampled_from(GIVEN))
def test_a_name_never_joins_a_longer_or_different_name(data: st.DataObject, name: str, extra: str) -> None:
    longer = name + extra
    assert not same_name(name, longer)
    assert not same_name(data.draw(spellings(name)), data.draw(spellings(longer)))
    other = name[:-1] + ("龙" if name[-1] != "龙" else "虎")
    assert not same_name(name, other)


@NAMES
@given(data=st.data(), name=chinese_names(), extra=st.sampled_from(GIVEN))
def test_in_paths_the_longest_registered_name_wins(data: st.DataObject, name: str, extra: str) -> None:
    """With 王丹 and 王丹丹 both nominated, each keeps its folder and files, however they are spelt."""
    owners = Owners()
    short, long = owners.add(name, star=True), owners.add(name + extra, star=True)
    short_spelt, long_spelt = data.draw(spellings(name)), data.draw(spellings(name + extra))
    assert owners.of_path(f"百姓学习之星/{long_spelt}/照片1.jpg") is long
    assert owners.of_path(f"{long_spelt}证件照.jpg") is long
    assert owners.of_path(f"百姓学习之星/{short_spelt}/照片1.jpg") is short
    assert owners.of_path(f"{short_spelt}推荐表.docx") is short


@NAMES
@given(data=st.data(), name=chinese_names(), extra=st.sampled_from(GIVEN))
def test_in_paths_a_name_is_not_found_inside_a_longer_one(data: st.DataObject, name: str, extra: str) -> None:
    """Only 王丹 is nominated: 王丹丹's and 李王丹's folders and files are not hers."""
    owners = Owners()
    owners.add(name, star=True)
    for longer in (name + extra, extra + name):
        spelt = data.draw(spellings(longer))
        assert owners.of_path(f"百姓学习之星/{spelt}/照片1.jpg") is None, spelt
        assert owners.of_path(f"{spelt}证件照.jpg") is None, spelt


@NAMES
@given(data=st.data(), name=ethnic_names())
def test_an_ethnic_name_in_a_path_is_found_with_any_dot(data: st.DataObject, name: str) -> None:
    owners = Owners()
    owner = owners.add(name, star=True)
    spelt = data.draw(spellings(name))
    assert owners.of_path(f"百姓学习之星/{spelt}/生活照1.jpg") is owner
    assert owners.of_path(f"材料/{spelt}证件照.jpg") is owner


# -- examples -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dot", [*DOTS, ".", "\uff0e", " ", "\u3000", "\u22c5", ""])
def test_each_dot_form_is_the_middle_dot(dot: str) -> None:
    assert same_name("阿依古丽·买买提", f"阿依古丽{dot}买买提")
    assert star_keys(f"阿依古丽{dot}买买提") == ["阿依古丽买买提"]


def test_different_names_stay_different() -> None:
    assert not same_name("王丹", "王丹丹")
    assert not same_name("阿依古丽·买买提", "阿依古丽")
    assert not same_name("", "")
    assert not same_name(None, "王丹")


def _owners(*names: str) -> tuple[Owners, dict[str, object]]:
    owners = Owners()
    return owners, {n: owners.add(n, star=True) for n in names}


@pytest.mark.parametrize(
    "path",
    [
        "百姓学习之星/阿依古丽・买买提/照片1.jpg",
        "阿依古丽.买买提/证件照.jpg",
        "阿依古丽.买买提证件照.jpg",
        "阿依古丽　买买提推荐表.docx",
        "阿依古丽･买买提.jpg",
    ],
)
def test_a_path_with_another_dot_belongs_to_the_registered_name(path: str) -> None:
    owners, by_name = _owners("阿依古丽·买买提", "王丹")
    assert owners.of_path(path) is by_name["阿依古丽·买买提"]


@pytest.mark.parametrize(
    ("path", "owner"),
    [
        ("王丹.jpg", "王丹"),  # the dot of a file extension is no name dot
        ("王丹/照片1.jpg", "王丹"),
        ("王丹丹/照片1.jpg", "王丹丹"),
        ("王丹丹推荐表.docx", "王丹丹"),
        ("王丹丹.jpg", "王丹丹"),
        ("百姓学习之星/王丹/王丹丹生活照.jpg", "王丹丹"),  # the file's own name says whose it is
    ],
)
def test_wang_dan_and_wang_dandan_keep_their_files_apart(path: str, owner: str) -> None:
    owners, by_name = _owners("王丹", "王丹丹")
    assert owners.of_path(path) is by_name[owner]


@pytest.mark.parametrize(
    ("path", "claimed"),
    [
        ("王丹丹/照片1.jpg", False),  # another person's folder
        ("王丹丹推荐表.docx", False),
        ("王丹丹.jpg", False),
        ("李王丹证件照.jpg", False),  # 李王丹, not 王丹
        ("王丹讲课.jpg", True),  # words after the name, not a longer name
        ("王丹的照片.jpg", True),
        ("王丹头像.jpg", True),
        ("王丹美照.jpg", True),
        ("王丹丹的照片.jpg", False),
        ("延边州王丹推荐表.docx", True),
        ("1号王丹.jpg", True),
        ("王丹(1).jpg", True),
        ("王丹_丹.jpg", True),  # a separator ends the name
    ],
)
def test_a_name_is_not_matched_inside_a_longer_name(path: str, claimed: bool) -> None:
    owners, by_name = _owners("王丹")
    assert (owners.of_path(path) is by_name["王丹"]) is claimed


def test_a_dot_continues_a_name() -> None:
    """阿依古丽 is not 阿依古丽·买买提: the dot joins the parts of one name."""
    assert names_in("阿依古丽・买买提", ["阿依古丽"]) == []
    assert names_in("阿依古丽・买买提证件照", ["阿依古丽买买提", "阿依古丽"]) == ["阿依古丽买买提"]
    assert names_in("1.阿依古丽", ["阿依古丽"]) == ["阿依古丽"]  # a numbering dot is no name dot
