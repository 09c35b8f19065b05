"""Whole nomination packages, declared as data and written as real .eml files or folders.

A `PackageSpec` says what a unit sends: who is nominated, what each nominee's table row
and form say, which photos and videos come with them, how the files are laid out (one
GBK-named zip as the samples, or loose attachments), and what else rides along (a broken
photo, a .pages file, an encrypted or hostile archive, a download link in the body).

`complete_city_package(campaign)` is a valid city package built from the campaign's
numbers (quotas, photo counts, durations), so a test changes one thing and expects
exactly one finding. Media are shared: one ID photo, one life photo, one activity photo
and one video per duration/size are made once (tests/support/media.py) and reused by
every nominee; the .eml itself is cached by the spec's hash.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.campaign import Campaign
from tests.support.archives import encrypted_zip, noise, without_member, zip_bytes
from tests.support.cache import cached_file
from tests.support.dossiers import ORGANIZERS, PROJECT_NAMES, STAR_NAMES, TITLES
from tests.support.forms import (
    cached,
    project_forms_docx,
    register_xls,
    register_xlsx,
    star_forms_docx,
    summary_docx,
)
from tests.support.mail import attachment, build_mail, filename_rfc2047
from tests.support.media import make_photo, make_video
from tests.support.volumes import small_7z_volumes

# Bump when the layout written for a spec changes, so cached packages are rebuilt.
VERSION = 1

YANBIAN = "延边朝鲜族自治州教育局"
YANBIAN_SENDER = "ybjyj_zcjy@163.com"
STAR_ROW_KEYS = ("name", "gender", "birth", "ethnicity", "politics", "education", "employer_title", "group", "phone")
STAR_FORM_KEYS = (*STAR_ROW_KEYS, "id_number", "email", "address", "postcode", "honours", "story")
PROJECT_ROW_KEYS = (
    "name",
    "organizer",
    "leader",
    "phone",
    "founded",
    "people_per_year",
    "participations_per_year",
    "category",
)
PROJECT_FORM_KEYS = (*PROJECT_ROW_KEYS, "online", "activities", "measures", "effects")
STORY_SENTENCE = "她三十年如一日坚持自学，从扫盲班学到大专，又把所学教给村里的姐妹们。"
SUMMARY_SENTENCE = "本项目坚持面向群众开展学习活动，线上线下结合，参与人数逐年增加，成效显著。"


@dataclass
class Photo:
    width: int
    height: int
    name: str  # file name, e.g. "金哲洙证件照.jpg"
    grey: bool = False
    fmt: str = "JPEG"
    folder: str = ""  # sub-folder inside the nominee's folder ("典范材料", "照片")
    broken: bool = False  # the first half of the file only: an interrupted copy


@dataclass
class Video:
    seconds: float
    name: str
    width: int = 160
    height: int = 90
    fps: float = 25
    container: str = "mp4"
    folder: str = ""


@dataclass
class StarSpec:
    name: str
    fields: dict[str, Any]  # keys of StarFields, written to both the 附表2 row and the 附表1 form
    row: dict[str, Any] = field(default_factory=dict)  # overrides for the 附表2 row only
    form_fields: dict[str, Any] = field(default_factory=dict)  # overrides for 附表1 only
    remarks: str | None = None  # 备注 of the row: an exemplar mark
    photos: list[Photo] = field(default_factory=list)
    videos: list[Video] = field(default_factory=list)
    form: bool = True  # a 附表1 is sent
    registered: bool = True  # a row in 附表2 (when the package carries one)


@dataclass
class ProjectSpec:
    name: str
    folder: str  # the folder units name after the project: its quoted part
    fields: dict[str, Any]
    row: dict[str, Any] = field(default_factory=dict)
    form_fields: dict[str, Any] = field(default_factory=dict)
    remarks: str | None = None
    photos: list[Photo] = field(default_factory=list)
    videos: list[Video] = field(default_factory=list)
    summary_chars: int | None = None  # None: no work summary
    form: bool = True
    registered: bool = True


@dataclass
class Extra:
    """Something else the unit sends.

    kind: "broken_photo", "pages", "photo" (an unplaceable photo), "encrypted_zip", "first_volume"
    (X.7z.001 of two), "traversal_zip", "text", "noise" (random bytes: a copy that never finished, whatever
    its name says), "cover_letter" (a short Word letter), "docx_without_content_types" (a
    Word file whose [Content_Types].xml was lost), "story" (a star's own long story as a
    .docx). `path` is relative to the package root, or the attachment's name when `attach` is set (a separate attachment
    beside the main zip).
    """

    kind: str
    path: str
    attach: bool = False


@dataclass
class PackageSpec:
    unit: str  # as written on the tables' "推荐单位（盖章）：" line
    short: str  # the short name used in the zip's and root folder's names (延边州)
    sender: str
    sender_name: str = "伍凤霞"
    date: str | None = "Sat, 21 Aug 2021 14:20:00 +0800"
    subject: str = ""
    body: str = "吴老师：\n您好！推荐材料见附件，盖章的纸质材料已通过邮政快递寄出。"
    stars: list[StarSpec] = field(default_factory=list)
    projects: list[ProjectSpec] = field(default_factory=list)
    star_register: bool = True
    project_register: bool = True
    register_format: str = "xlsx"  # or "xls"
    layout: str = "folders"  # "folders": 百姓学习之星/<name>/...; "flat": <name>证件照.jpg in one folder
    zipped: bool = True  # one zip attachment (else each file is its own attachment, flat names)
    zip_name: str = ""
    root: str = ""  # the folder inside the zip
    extras: list[Extra] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def star(self, name: str) -> StarSpec:
        return next(s for s in self.stars if s.name == name)

    def project(self, name: str) -> ProjectSpec:
        return next(p for p in self.projects if p.name == name)


# The complete package ------------------------------------------------------------------


def id_photo_size(campaign: Campaign) -> tuple[int, int]:
    """A colour ID photo in the middle of the configured ratio, a little above the minimum size."""
    spec = campaign.star.id_photo
    height = spec.min_height + 49
    width = max(round(height * (spec.min_ratio + spec.max_ratio) / 2), spec.min_width)
    return width, height


def middle_seconds(spec: Any) -> float:
    return (spec.min_seconds + spec.max_seconds) / 2


def exemplar_video(campaign: Campaign, name: str, **overrides: Any) -> Video:
    spec = campaign.exemplar.video
    values: dict[str, Any] = {
        "seconds": middle_seconds(spec),
        "name": name,
        "width": spec.width or 1280,
        "height": spec.height or 720,
        "fps": spec.fps or 25,
        "container": spec.containers[0],
        "folder": "典范材料",
    }
    return Video(**{**values, **overrides})


def star_spec(campaign: Campaign, index: int, name: str, *, exemplar: bool = False) -> StarSpec:
    birth_year = 1960 + index
    fields = {
        "name": name,
        "gender": "男" if index % 2 else "女",
        "birth": f"{birth_year}年3月",
        "ethnicity": "朝鲜族",
        "politics": "群众",
        "education": "大专",
        "employer_title": TITLES[index % len(TITLES)],
        "group": campaign.star.groups[index % len(campaign.star.groups)],
        "phone": f"138431000{index:02d}",
        "id_number": f"222401{birth_year}0301{index:03d}X",
        "address": "吉林省延吉市河南街道",
        "postcode": "133000",
        "honours": "延边州优秀学习者",
        "story": f"{name}长期坚持参加继续教育，带动身边群众共同学习。" * 8,
    }
    width, height = id_photo_size(campaign)
    photos = [Photo(width, height, f"{name}证件照.jpg")]
    photos += [Photo(640, 480, f"{name}生活照{i}.jpg") for i in range(1, campaign.star.photos.min)]
    videos: list[Video] = []
    if exemplar:
        photos += [
            Photo(640, 480, f"{name}事迹照片{i}.jpg", folder="典范材料")
            for i in range(1, campaign.exemplar.extra_photos.min + 1)
        ]
        videos.append(exemplar_video(campaign, f"{name}典型事迹宣传片.mp4"))
    return StarSpec(
        name=name,
        fields=fields,
        remarks="事迹特别感人" if exemplar else None,
        photos=photos,
        videos=videos,
    )


def project_folder(name: str) -> str:
    """The folder name units use for a project: its quoted brand, else the whole name."""
    if "“" in name and "”" in name:
        return name.split("“", 1)[1].split("”", 1)[0]
    return name


def project_spec(campaign: Campaign, index: int, name: str, *, exemplar: bool = False) -> ProjectSpec:
    founded_year = campaign.deadline.year - campaign.project.min_age_years - 3
    scale = campaign.project.scale
    folder = project_folder(name)
    fields = {
        "name": name,
        "organizer": ORGANIZERS[index % len(ORGANIZERS)],
        "leader": "钟丽萍",
        "phone": f"186409734{index:02d}",
        "founded": f"{founded_year}年3月",
        "people_per_year": f"约{scale.min_people + 1000}人",
        "participations_per_year": f"{scale.min_participations + 3000}人次",
        "category": campaign.project.categories[index % len(campaign.project.categories)],
        "online": "是",
        "activities": "读书分享、专题讲座、研学实践。" * 10,
        "measures": "专人负责，经费保障。",
        "effects": "参与群众逐年增加。",
    }
    count = campaign.project.photos.min
    photos = [Photo(640, 480, f"活动照片{i}.jpg", folder="照片") for i in range(1, count + 1)]
    if exemplar:
        photos += [
            Photo(640, 480, f"{folder}典范照片{i}.jpg", folder="典范材料")
            for i in range(1, campaign.exemplar.extra_photos.min + 1)
        ]
        videos = [exemplar_video(campaign, f"{folder}宣传视频.mp4", folder="")]
    else:
        videos = [Video(middle_seconds(campaign.project.video), f"{folder}宣传视频.mp4")]
    summary = campaign.project.summary
    return ProjectSpec(
        name=name,
        folder=folder,
        fields=fields,
        remarks="特别受百姓喜爱" if exemplar else None,
        photos=photos,
        videos=videos,
        summary_chars=(summary.min_chars + summary.max_chars) // 2,
    )


def complete_city_package(
    campaign: Campaign,
    *,
    stars: int | list[StarSpec] | None = None,
    projects: int | list[ProjectSpec] | None = None,
    exemplar_star: int | None = 1,
    exemplar_project: int | None = 2,
    **overrides: Any,
) -> PackageSpec:
    """A valid package from 延边州, its registered contact as sender, before the deadline.

    The quota's minimum of stars and projects (unless given), one exemplar star (the
    second) and one exemplar project (the third), each with its extra photos and video.
    `stars`/`projects` are a number of nominees, or the nominees themselves.
    """
    n_stars = campaign.quotas.stars.min if stars is None else stars
    n_projects = campaign.quotas.projects.min if projects is None else projects
    if isinstance(n_stars, list):
        overrides["stars"], n_stars = n_stars, 0
    if isinstance(n_projects, list):
        overrides["projects"], n_projects = n_projects, 0
    date = dt.datetime.combine(campaign.deadline - dt.timedelta(days=9), dt.time(14, 20))
    spec = PackageSpec(
        unit=YANBIAN,
        short="延边州",
        sender=YANBIAN_SENDER,
        date=date.strftime("%a, %d %b %Y %H:%M:%S +0800"),
        subject="延边州教育局报送百姓学习之星和终身学习品牌项目推荐材料",
        stars=[star_spec(campaign, i, STAR_NAMES[i], exemplar=i == exemplar_star) for i in range(n_stars)],
        projects=[
            project_spec(campaign, i, PROJECT_NAMES[i], exemplar=i == exemplar_project) for i in range(n_projects)
        ],
        zip_name=f"延边州{campaign.year}年百姓学习之星和终身学习品牌项目推荐材料.zip",
        root="延边州推荐材料",
    )
    return dataclasses.replace(spec, **overrides)


def mail_date(moment: dt.datetime) -> str:
    """An RFC 2822 Date header in China's offset, as Chinese mail services write it."""
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0800")


# Writing -------------------------------------------------------------------------------


def _photo_bytes(photo: Photo) -> bytes:
    data = make_photo(photo.width, photo.height, fmt=photo.fmt, grey=photo.grey).read_bytes()
    return data[: len(data) // 2] if photo.broken else data


def _video_bytes(video: Video) -> bytes:
    return make_video(
        video.seconds, width=video.width, height=video.height, fps=video.fps, container=video.container
    ).read_bytes()


def _summary_bytes(name: str, chars: int) -> bytes:
    title = f"{name}工作总结"
    body_chars = max(chars - len(title.replace(" ", "")), 0)
    text = (SUMMARY_SENTENCE * (body_chars // len(SUMMARY_SENTENCE) + 1))[:body_chars]
    paragraphs = [text[i : i + 300] for i in range(0, len(text), 300)]
    return cached(summary_docx, ".docx", title=title, paragraphs=paragraphs).read_bytes()


def _star_row(star: StarSpec) -> dict[str, Any]:
    row = {k: star.fields.get(k) for k in STAR_ROW_KEYS}
    row["intro"] = f"{star.name}坚持读书学习，学以致用成效显著。"
    row["remarks"] = star.remarks
    return {**row, **star.row}


def _star_form(star: StarSpec) -> dict[str, Any]:
    return {**{k: star.fields.get(k) for k in STAR_FORM_KEYS}, **star.form_fields}


def _project_row(project: ProjectSpec) -> dict[str, Any]:
    row = {k: project.fields.get(k) for k in PROJECT_ROW_KEYS}
    row["intro"] = f"{project.name}面向群众开展学习活动，深受欢迎。"
    row["remarks"] = project.remarks
    return {**row, **project.row}


def _project_form(project: ProjectSpec) -> dict[str, Any]:
    return {**{k: project.fields.get(k) for k in PROJECT_FORM_KEYS}, **project.form_fields}


def _register(spec: PackageSpec, kind: str, rows: list[dict[str, Any]]) -> bytes:
    builder = register_xls if spec.register_format == "xls" else register_xlsx
    return cached(builder, f".{spec.register_format}", kind=kind, rows=rows, unit=spec.unit).read_bytes()


def package_files(spec: PackageSpec) -> dict[str, bytes]:
    """The package's files by their path under the root folder (or bare name, flat layout)."""
    files: dict[str, bytes] = {}
    flat = spec.layout == "flat" or not spec.zipped
    ext = spec.register_format
    if spec.star_register:
        rows = [_star_row(s) for s in spec.stars if s.registered]
        files[f"附表2 百姓学习之星推荐登记表.{ext}"] = _register(spec, "stars", rows)
    if spec.project_register:
        rows = [_project_row(p) for p in spec.projects if p.registered]
        files[f"附表4 终身学习品牌项目推荐登记表.{ext}"] = _register(spec, "projects", rows)

    for star in spec.stars:
        folder = "" if flat else f"百姓学习之星/{star.name}/"
        if star.form:
            files[f"{folder}{star.name}推荐表.docx"] = cached(
                star_forms_docx, ".docx", persons=[_star_form(star)], unit=spec.unit
            ).read_bytes()
        for photo in star.photos:
            files[_media_path(folder, photo.folder, photo.name, flat, star.name)] = _photo_bytes(photo)
        for video in star.videos:
            files[_media_path(folder, video.folder, video.name, flat, star.name)] = _video_bytes(video)

    for project in spec.projects:
        folder = "" if flat else f"终身学习品牌项目/{project.folder}/"
        if project.form:
            name = f"{project.folder}推荐表.docx" if flat else "附表3 终身学习品牌项目推荐表.docx"
            files[f"{folder}{name}"] = cached(
                project_forms_docx, ".docx", projects=[_project_form(project)], unit=spec.unit
            ).read_bytes()
        if project.summary_chars is not None:
            files[f"{folder}{project.folder}工作总结.docx"] = _summary_bytes(project.name, project.summary_chars)
        for photo in project.photos:
            files[_media_path(folder, photo.folder, photo.name, flat, project.folder)] = _photo_bytes(photo)
        for video in project.videos:
            files[_media_path(folder, video.folder, video.name, flat, project.folder)] = _video_bytes(video)

    for extra in spec.extras:
        if not extra.attach:
            files[extra.path] = _extra_bytes(extra)
    return files


def _media_path(folder: str, sub: str, name: str, flat: bool, owner: str) -> str:
    if flat:
        return name if owner in name else f"{owner}{name}"
    return f"{folder}{sub + '/' if sub else ''}{name}"


def _extra_bytes(extra: Extra) -> bytes:
    if extra.kind == "broken_photo":
        data = make_photo(640, 480).read_bytes()
        return data[: len(data) // 3]
    if extra.kind == "photo":
        return make_photo(640, 480, text="IMG").read_bytes()
    if extra.kind == "pages":
        # What Pages saves: a zip whose content sits under Index/ (protobuf .iwa files).
        return zip_bytes({"Index/Document.iwa": b"\x00" * 64, "Metadata/Properties.plist": b"<plist/>"})
    if extra.kind == "encrypted_zip":
        return encrypted_zip({"photo.jpg": make_photo(640, 480).read_bytes()})
    if extra.kind == "traversal_zip":
        return zip_bytes({"../../../etc/cron.d/evil": b"* * * * * root true\n", "ok.txt": b"ok"})
    if extra.kind == "text":
        return "说明：纸质材料已寄出。".encode()
    if extra.kind == "noise":
        return noise(zlib.crc32(extra.path.encode()), 5000)
    if extra.kind == "docx_without_content_types":
        form = cached(star_forms_docx, ".docx", persons=[{"name": "金哲洙", "birth": "1968.03"}]).read_bytes()
        return without_member(form, "[Content_Types].xml")
    if extra.kind == "cover_letter":
        title = extra.path.rsplit("/", 1)[-1].split(".", 1)[0]
        return cached(
            summary_docx, ".docx", title=title, paragraphs=["省领导小组办公室：现将我单位推荐材料报上，请审核。"]
        ).read_bytes()
    if extra.kind == "first_volume":  # the first of two 7z volumes; the second never sent
        return small_7z_volumes({"补充照片/IMG_0001.jpg": make_photo(640, 480, text="IMG").read_bytes()})[0]
    if extra.kind == "story":
        name = extra.path.rsplit("/", 1)[-1].split(".", 1)[0]
        return cached(summary_docx, ".docx", title=name, paragraphs=[STORY_SENTENCE * 12] * 3).read_bytes()
    raise ValueError(f"unknown extra kind {extra.kind!r}")


def eml_bytes(spec: PackageSpec) -> bytes:
    files = package_files(spec)
    parts = []
    if spec.zipped:
        root = f"{spec.root}/" if spec.root else ""
        archive = zip_bytes({f"{root}{path}": data for path, data in files.items()}, encoding="gbk")
        name = spec.zip_name or f"{spec.short}推荐材料.zip"
        parts.append(attachment(archive, filename_rfc2047(name), content_type="application/zip"))
    else:
        for path, data in files.items():
            parts.append(attachment(data, filename_rfc2047(path.rsplit("/", 1)[-1])))
    for extra in spec.extras:
        if extra.attach:
            parts.append(attachment(_extra_bytes(extra), filename_rfc2047(extra.path)))
    sender = f'"=?UTF-8?B?{_b64(spec.sender_name)}?=" <{spec.sender}>'
    return build_mail(parts, subject=spec.subject, sender=sender, date=spec.date, text=spec.body)


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def build_eml(spec: PackageSpec, path: Path | None = None) -> Path:
    """The package as a real .eml (cached by the spec); copied to `path` when given."""
    cached_path = cached_file("package", {"v": VERSION, "spec": spec.to_json()}, ".eml", _writer(spec))
    if path is None:
        return cached_path
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached_path, path)
    return path


def _writer(spec: PackageSpec):
    def write(target: Path) -> None:
        target.write_bytes(eml_bytes(spec))

    return write


def build_folder(spec: PackageSpec, directory: Path) -> Path:
    """The package unpacked into `directory` (root folder included), as a unit's shared folder."""
    base = directory / spec.root if spec.root else directory
    for rel, data in package_files(spec).items():
        target = base / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for extra in spec.extras:
        if extra.attach:
            (directory / extra.path).write_bytes(_extra_bytes(extra))
    return directory


# Checking ------------------------------------------------------------------------------

NOMDESK = Path(sys.executable).with_name("nomdesk")
CLI_TIMEOUT = 300


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        """The printed object; strict: a check in which a rule raised is no result to assert on."""
        data = json.loads(self.stdout)
        assert not data.get("incomplete"), f"a rule raised: {data.get('rule_errors')}"
        return data


def check_json(paths: list[Path], campaign: Campaign, unit: str | None = None) -> dict[str, Any] | None:
    """`nomdesk check --json`'s object computed in this process (saves the interpreter's start-up).
    Strict: a rule that raised fails the test (its silence must never read as "no findings")."""
    from nomdesk.check import check_paths, result_json

    with tempfile.TemporaryDirectory(prefix="nomdesk-test-") as workdir:
        result = check_paths(list(paths), campaign, workdir=Path(workdir), explicit_unit=unit)
    assert result is None or not result.incomplete, f"a rule raised: {result.check_error}"
    return None if result is None else result_json(result)


def run_nomdesk(*args: str | Path, env: dict[str, str] | None = None) -> CliRun:
    """The real `nomdesk` command of this virtualenv."""
    done = subprocess.run(
        [str(NOMDESK), *(str(a) for a in args)], capture_output=True, text=True, timeout=CLI_TIMEOUT, env=env
    )
    return CliRun(done.returncode, done.stdout, done.stderr)


def finding_codes(result: dict[str, Any]) -> set[str]:
    return {f["code"] for f in result["findings"]}
