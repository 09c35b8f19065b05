"""Dossiers for rule tests: a complete, valid city dossier, and small ways to break one thing.

Every number comes from the campaign passed in, so a dossier built for a changed
campaign is still complete for that campaign. Each call builds fresh objects: a test
may change what it gets without touching another test's dossier.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from config.campaign import Campaign, VideoSpec
from intake.models import (
    Dossier,
    FileKind,
    FileProblem,
    LargeFileLink,
    PackageFile,
    PhotoInfo,
    ProjectEntry,
    ProjectFields,
    ProjectForm,
    RegisterTable,
    StarEntry,
    StarFields,
    StarForm,
    SubmissionMeta,
    Summary,
    VideoInfo,
    YearMonth,
)

UNIT = "延边朝鲜族自治州教育局"
SENDER = "ybjyj_zcjy@163.com"
ROOT = "延边州推荐材料"

STAR_NAMES = (
    "金哲洙",
    "朴英子",
    "崔明浩",
    "李春花",
    "熊长林",
    "邓秀芝",
    "岳卫东",
    "熊玉兰",
    "王建国",
    "刘桂兰",
    "张海燕",
    "陈志强",
    "孙丽华",
    "赵春生",
)
PROJECT_NAMES = (
    "“海兰江畔”农民夜校",
    "“布尔哈通河”市民读书会",
    "“长鼓舞”非遗文化传承学习项目",
    "“图们江畔”边境村民学习项目",
    "“阿里郎”老年大学",
    "“书山有路”职工读书行动",
    "“银发课堂”智慧助老",
    "“指尖非遗”传承工坊",
    "“田间课堂”农民实用技术培训",
    "“云上书房”学习资源共享",
    "“边疆红烛”教师研修",
    "“长白林海”生态课堂",
)
ORGANIZERS = (
    "龙井市职业教育中心",
    "延吉市图书馆",
    "延边朝鲜族自治州群众艺术馆",
    "图们市成人教育中心",
    "延边朝鲜族自治州老年大学",
)
TITLES = (
    "延吉市河南街道社区 网格员",
    "延边某建筑公司 高级技师",
    "龙井市东盛涌镇仁化村 种植大户",
    "和龙市八家子镇 养殖户（退役军人）",
    "延吉市建工街道 退休职工",
    "图们市月宫街道 网店店主",
)


def photo_file(path: str, width: int, height: int, *, colour: bool = True) -> PackageFile:
    return PackageFile(
        path=path,
        local=Path("/nonexistent") / path,
        size=width * height // 10,
        sniffed="jpeg",
        kind=FileKind.PHOTO,
        photo=PhotoInfo(format="JPEG", width=width, height=height, colour=colour),
    )


def video_file(
    path: str,
    seconds: float | None,
    *,
    container: str = "mp4",
    codec: str | None = "h264",
    width: int | None = 1280,
    height: int | None = 720,
    fps: float | None = 25.0,
    has_video: bool = True,
    variable_frame_rate: bool = False,
) -> PackageFile:
    return PackageFile(
        path=path,
        local=Path("/nonexistent") / path,
        size=1000,
        sniffed=container,
        kind=FileKind.VIDEO,
        video=VideoInfo(
            container=container,
            format_name="mov,mp4,m4a,3gp,3g2,mj2" if container == "mp4" else container,
            has_video=has_video,
            has_audio=True,
            codec=codec if has_video else None,
            width=width if has_video else None,
            height=height if has_video else None,
            fps=fps if has_video else None,
            variable_frame_rate=variable_frame_rate,
            duration=seconds,
        ),
    )


def unreadable(path: str, kind: FileKind) -> PackageFile:
    """A file that was sent but could not be probed (intake reports FILE_UNREADABLE for it)."""
    return PackageFile(path=path, local=Path("/nonexistent") / path, size=10, sniffed="unknown", kind=kind)


def video_to_spec(path: str, spec: VideoSpec) -> PackageFile:
    """A video in the middle of the spec's duration, with the spec's codec/size/fps where it names them."""
    return video_file(
        path,
        (spec.min_seconds + spec.max_seconds) / 2,
        container=spec.containers[0],
        codec=spec.codec or "h264",
        width=spec.width or 1280,
        height=spec.height or 720,
        fps=spec.fps or 25.0,
    )


def id_photo(campaign: Campaign, path: str) -> PackageFile:
    spec = campaign.star.id_photo
    height = spec.min_height + 49
    width = round(height * (spec.min_ratio + spec.max_ratio) / 2)
    return photo_file(path, max(width, spec.min_width), height)


def star_entry(campaign: Campaign, index: int, name: str, *, exemplar: bool = False) -> StarEntry:
    birth = YearMonth(year=1960 + index, month=3)
    phone = f"138431000{index:02d}"
    id_number = f"222401{1960 + index}0301{index:03d}X"
    group = campaign.star.groups[index % len(campaign.star.groups)]
    title = TITLES[index % len(TITLES)]
    row = StarFields(
        name=name,
        gender="男" if index % 2 else "女",
        birth=f"{birth.year}年{birth.month}月",
        birth_parsed=birth,
        ethnicity="朝鲜族",
        politics="群众",
        education="大专",
        employer_title=title,
        group=group,
        phone=phone,
        intro=f"{name}坚持读书学习，学以致用成效显著。",
        remarks="事迹特别感人" if exemplar else None,
    )
    form = StarFields(
        name=name,
        gender=row.gender,
        birth=row.birth,
        birth_parsed=birth,
        id_number=id_number,
        employer_title=title,
        group=group,
        phone=phone,
        story=f"{name}长期坚持参加继续教育，带动身边群众共同学习。" * 10,
    )
    folder = f"{ROOT}/百姓学习之星/{name}"
    photos = [id_photo(campaign, f"{folder}/{name}证件照.jpg")]
    normal = campaign.star.photos.min + (campaign.exemplar.extra_photos.min if exemplar else 0)
    photos += [photo_file(f"{folder}/{name}生活照{i}.jpg", 1024, 768) for i in range(1, normal)]
    videos = [video_to_spec(f"{folder}/{name}事迹宣传片.mp4", campaign.exemplar.video)] if exemplar else []
    return StarEntry(
        name=name,
        registered=True,
        row=row,
        form=StarForm(path=f"{folder}/{name}推荐表.docx", fields=form),
        photos=photos,
        videos=videos,
        exemplar=exemplar,
    )


def project_entry(campaign: Campaign, index: int, name: str, *, exemplar: bool = False) -> ProjectEntry:
    founded = YearMonth(year=campaign.deadline.year - campaign.project.min_age_years - 3, month=3)
    scale = campaign.project.scale
    people = scale.min_people + 1000
    participations = scale.min_participations + 3000
    row = ProjectFields(
        name=name,
        organizer=ORGANIZERS[index % len(ORGANIZERS)],
        leader="钟丽萍",
        phone=f"186409734{index:02d}",
        founded=str(founded),
        founded_parsed=founded,
        people_per_year=f"约{people}人",
        people_per_year_n=people,
        participations_per_year=f"{participations}人次",
        participations_per_year_n=participations,
        category=campaign.project.categories[index % len(campaign.project.categories)],
        intro=f"{name}面向群众开展学习活动，深受欢迎。",
        remarks="特别受百姓喜爱" if exemplar else None,
    )
    form = row.model_copy(update={"remarks": None, "intro": None, "activities": "读书分享、讲座、研学。" * 20})
    folder = f"{ROOT}/终身学习品牌项目/{name.strip('“').replace('”', '')}"
    count = campaign.project.photos.min + (campaign.exemplar.extra_photos.min if exemplar else 0)
    video_spec = campaign.exemplar.video if exemplar else campaign.project.video
    summary = campaign.project.summary
    return ProjectEntry(
        name=name,
        registered=True,
        row=row,
        form=ProjectForm(path=f"{folder}/推荐表.docx", fields=form),
        summary=Summary(path=f"{folder}/工作总结.docx", chars=(summary.min_chars + summary.max_chars) // 2),
        photos=[photo_file(f"{folder}/活动照片{i}.jpg", 1024, 768) for i in range(1, count + 1)],
        videos=[video_to_spec(f"{folder}/宣传片.mp4", video_spec)],
        exemplar=exemplar,
    )


def city_dossier(
    campaign: Campaign,
    stars: int | None = None,
    projects: int | None = None,
    *,
    exemplar_star: bool = False,
    exemplar_project: bool = False,
) -> Dossier:
    """A complete, valid city dossier: no rule finds anything in it.

    `stars`/`projects` default to the quota's minimum; an exemplar (the second star,
    the third project) comes with its extra photos and its exemplar video.
    """
    n_stars = campaign.quotas.stars.min if stars is None else stars
    n_projects = campaign.quotas.projects.min if projects is None else projects
    star_list = [star_entry(campaign, i, STAR_NAMES[i], exemplar=exemplar_star and i == 1) for i in range(n_stars)]
    project_list = [
        project_entry(campaign, i, PROJECT_NAMES[i], exemplar=exemplar_project and i == 2) for i in range(n_projects)
    ]
    arrived = campaign.deadline_end - dt.timedelta(days=3)
    return Dossier(
        unit=UNIT,
        unit_kind="city",
        unit_known=True,
        sender_registered=None,
        submissions=[
            SubmissionMeta(index=0, source="1.eml", arrived_at=arrived, sender=SENDER, subject="延边州推荐材料")
        ],
        star_register=RegisterTable(
            kind=FileKind.REGISTER_STARS,
            path=f"{ROOT}/附表2 百姓学习之星推荐登记表.xlsx",
            unit_line=UNIT,
            star_rows=[s.row for s in star_list if s.row],
        ),
        project_register=RegisterTable(
            kind=FileKind.REGISTER_PROJECTS,
            path=f"{ROOT}/附表4 终身学习品牌项目推荐登记表.xlsx",
            unit_line=UNIT,
            project_rows=[p.row for p in project_list if p.row],
        ),
        stars=star_list,
        projects=project_list,
        paper_received=None,
    )


# Ways to break one thing -------------------------------------------------------------


def rename_star(dossier: Dossier, index: int, name: str) -> StarEntry:
    """Give a star another name everywhere it is written (entry, table row, form)."""
    star = dossier.stars[index]
    star.name = name
    for fields in (star.row, star.form.fields if star.form else None):
        if fields is not None:
            fields.name = name
    _sync_star_register(dossier)
    return star


def rename_project(dossier: Dossier, index: int, name: str) -> ProjectEntry:
    project = dossier.projects[index]
    project.name = name
    for fields in (project.row, project.form.fields if project.form else None):
        if fields is not None:
            fields.name = name
    _sync_project_register(dossier)
    return project


def unregister_star(dossier: Dossier, index: int) -> StarEntry:
    """The star keeps its form and folder but is not in 附表2."""
    star = dossier.stars[index]
    star.registered = False
    star.row = None
    _sync_star_register(dossier)
    return star


def unregister_project(dossier: Dossier, index: int) -> ProjectEntry:
    project = dossier.projects[index]
    project.registered = False
    project.row = None
    _sync_project_register(dossier)
    return project


def set_star_fields(dossier: Dossier, index: int, *, where: str = "both", **values: object) -> StarEntry:
    """Change fields of a star in its table row ("row"), its form ("form") or both."""
    star = dossier.stars[index]
    targets = []
    if where in ("row", "both") and star.row is not None:
        targets.append(star.row)
    if where in ("form", "both") and star.form is not None:
        targets.append(star.form.fields)
    for fields in targets:
        for key, value in values.items():
            setattr(fields, key, value)
    _sync_star_register(dossier)
    return star


def set_project_fields(dossier: Dossier, index: int, *, where: str = "both", **values: object) -> ProjectEntry:
    project = dossier.projects[index]
    targets = []
    if where in ("row", "both") and project.row is not None:
        targets.append(project.row)
    if where in ("form", "both") and project.form is not None:
        targets.append(project.form.fields)
    for fields in targets:
        for key, value in values.items():
            setattr(fields, key, value)
    _sync_project_register(dossier)
    return project


def add_problem(dossier: Dossier, code: str, path: str, reason: str, **params: object) -> Dossier:
    dossier.problems.append(FileProblem(code=code, path=path, reason=reason, params=dict(params)))
    return dossier


def add_link(dossier: Dossier, url: str, host: str, text: str = "") -> Dossier:
    dossier.links.append(LargeFileLink(url=url, host=host, text=text))
    return dossier


def _sync_star_register(dossier: Dossier) -> None:
    if dossier.star_register is not None:
        dossier.star_register.star_rows = [s.row for s in dossier.stars if s.row is not None]


def _sync_project_register(dossier: Dossier) -> None:
    if dossier.project_register is not None:
        dossier.project_register.project_rows = [p.row for p in dossier.projects if p.row is not None]
