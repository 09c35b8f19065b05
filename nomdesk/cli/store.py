"""`nomdesk store`: the blob store (where mails and submitted files are kept).

`migrate` moves a desk from its data directory's store (DATA_DIR/store) to the S3-compatible
object store NOMDESK_S3_* names, so several desks on one database share their files. The
database is switched only after every blob was read back from the bucket and hashed, so a cut
run leaves the desks on the local store, and running it again goes on where it stopped.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from nomdesk.cli.common import CampaignOption, DataDirOption, campaign_of, err, fail, settings_of, setup_logging
from nomdesk.cli.zh import ZhCommand, chinese_typer

store_app = chinese_typer("文件库（邮件和材料文件的存放处）")

MIGRATE_HELP = (
    "把数据目录中的本地文件库（DATA_DIR/store）全部复制到 NOMDESK_S3_* 指定的对象存储，逐个读回校验，"
    "然后让数据库改用对象存储。可中断后重新运行（已校验的不再上传）。运行前请先停止所有 nomdesk serve。"
)
S3_NEEDED = (
    "请先设置对象存储：NOMDESK_S3_ENDPOINT、NOMDESK_S3_BUCKET、NOMDESK_S3_ACCESS_KEY_ID、"
    "NOMDESK_S3_SECRET_ACCESS_KEY、NOMDESK_S3_REGION（可选 NOMDESK_S3_PREFIX），再运行 nomdesk store migrate"
)


@store_app.command("migrate", cls=ZhCommand, help=MIGRATE_HELP)
def migrate(data_dir: DataDirOption = None, campaign_file: CampaignOption = None) -> None:
    """Copy DATA_DIR/store into the object store, verify every blob, then switch the database to it.

    Desks on several machines share one database only if they share its blobs; this is how an
    office that started on one machine moves to an object store without losing a mail."""
    from storage.blob_migrate import migrate_blobs, plan
    from storage.blobs import LocalBlobStore
    from storage.repo import Store
    from storage.s3_blobs import s3_store
    from storage.store_identity import BlobStoreMismatch, record_blob_store

    setup_logging(False)
    settings = settings_of(data_dir, campaign_file)
    if not (settings.s3_bucket or settings.s3_endpoint):
        fail(S3_NEEDED)
    campaign = campaign_of(settings.campaign)
    target = s3_store(settings, settings.data_dir)
    local = LocalBlobStore(settings.store_dir)
    opened, refusal = None, ""
    for blobs in (local, target):  # the database names the local store, or (a second run) the bucket
        try:
            opened = Store.open(
                settings.data_dir,
                settings.database_url,
                secret_key=settings.secret_key,
                campaign_key=getattr(campaign, "key", None),
                blobs=blobs,
            )
            break
        except BlobStoreMismatch as exc:
            refusal = str(exc)
    if opened is None:
        fail(refusal, code=1)
    with opened as store:
        blobs = plan(local)
        total = sum(size for _, size in blobs)
        err.print(f"本地文件库 {local.root}：{len(blobs)} 个文件，共 {total / 1e6:.1f} MB；目标：{target.description}")
        with Progress(
            TextColumn("[bold]迁移文件库"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("剩余"),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        ) as progress:
            task = progress.add_task("migrate", total=total or 1)
            result = migrate_blobs(
                local,
                target,
                settings.data_dir / "cache" / "migrate-verified",
                blobs,
                advance=lambda n: progress.advance(task, n),
            )
            if not blobs:
                progress.advance(task, 1)
        for sha in result.damaged:
            err.print(f"本地文件已损坏（内容与文件名的校验值不符），未上传：{_where(local.root, sha)}", style="red")
        for sha, why in result.failed:
            err.print(f"未能上传并校验：{_where(local.root, sha)}（{why}）", style="red")
        if not result.complete:
            fail(
                f"{len(result.damaged) + len(result.failed)} 个文件未迁移，数据库仍使用本地文件库；"
                "问题解决后请重新运行 nomdesk store migrate（已校验的文件不会重复上传）",
                code=1,
            )
        record_blob_store(store.state, target)
    typer.echo(
        f"迁移完成：{result.blobs} 个文件全部在对象存储中校验无误（本次上传 {result.uploaded} 个，"
        f"已在对象存储中 {result.already_there} 个）。数据库已改用 {target.description}。\n"
        "今后每一台受理台都必须设置相同的 NOMDESK_S3_* 后再启动；本地文件库未删除，确认无误后可自行备份或删除。"
    )


def _where(root: Path, sha: str) -> str:
    return str(root / sha[:2] / sha[2:4] / sha)
