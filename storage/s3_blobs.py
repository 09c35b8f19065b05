"""The blob store in an S3-compatible object store (Ceph RGW, MinIO, Alibaba OSS, Tencent COS, AWS).

Desks on several machines share one database; their blobs must be where every desk reads them,
or a mail one desk stored is a FileNotFoundError on the next. Keys are `<prefix>ab/cd/<sha256>`,
the local store's layout, so `nomdesk store migrate` copies a store key for key.

Writes hash the stream into a local temporary file (which becomes the read cache's copy) and
upload it with boto3's managed transfer (multipart for big files, parts in parallel); a key
already there with the same size is not sent again (equal content is stored once). Readers that
need a file (the mail parser, ffprobe, unpacking, downloads) get `local_path`: a copy under
DATA_DIR/cache/blobs, downloaded once, verified against its name, renamed into place, and swept
oldest first when the cache outgrows `s3_cache_max_gb`. Network retries are botocore's own
(standard mode), not a loop here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import io
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from storage.blobs import (
    CHUNK,
    TMP_SWEEP_AGE_SECONDS,
    Blob,
    BlobStore,
    BlobStoreRefused,
    hash_stream,
    new_store_id,
    relpath_of,
    sweep_old_files,
    write_hashed,
)

if TYPE_CHECKING:
    from config.settings import Settings

STORE_ID_KEY = "nomdesk-store-id"
PART_SIZE = 16 * 1024 * 1024  # multipart above this, in parts of this size
TRANSFER_THREADS = 8
RETRY_ATTEMPTS = 5  # botocore's standard mode: exponential backoff with jitter between them
IN_USE_SECONDS = 15 * 60  # a cached copy handed out this recently may be in use: not swept
READ_BUFFER = 4 * 1024 * 1024  # ranged GETs of `open` fetch this much at a time
_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3ConfigError(BlobStoreRefused):
    """NOMDESK_S3_* names no usable store (a bucket without an endpoint is AWS; the reverse is nothing)."""


class BlobCorruptError(OSError):
    """A blob read back from the object store does not hash to its name (a damaged transfer)."""


def _missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code", "")) in _MISSING


class S3BlobStore(BlobStore):
    def __init__(
        self,
        *,
        bucket: str,
        cache_dir: Path,
        endpoint: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str | None = None,
        prefix: str = "",
        addressing_style: str = "auto",
        cache_max_bytes: int = 20 * 1024**3,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint
        self.description = f"对象存储 {endpoint or 'AWS S3'} 桶 {bucket}" + (f" 前缀 {prefix}" if prefix else "")
        self.cache_dir = Path(cache_dir)
        self._cache_tmp = self.cache_dir / "tmp"
        self._cache_tmp.mkdir(parents=True, exist_ok=True)
        self.cache_max_bytes = cache_max_bytes
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint or None,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region or None,
            config=Config(
                retries={"mode": "standard", "max_attempts": RETRY_ATTEMPTS},
                # botocore's newer default trailing CRC checksums (aws-chunked uploads) are refused by
                # several S3-compatible stores; integrity is ours anyway: every blob is re-hashed by name.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                s3={"addressing_style": addressing_style},
                max_pool_connections=TRANSFER_THREADS * 4,
                connect_timeout=10,
                read_timeout=120,
            ),
        )
        self.transfer = TransferConfig(
            multipart_threshold=PART_SIZE,
            multipart_chunksize=PART_SIZE,
            max_concurrency=TRANSFER_THREADS,
            use_threads=True,
        )
        self._lock = threading.Lock()
        self._cache_bytes: int | None = None  # an estimate: counted once, then added to
        self._store_id: str | None = None

    # -- names ------------------------------------------------------------------------------

    def key_of(self, sha256: str) -> str:
        return self.prefix + relpath_of(sha256)

    def cache_path(self, sha256: str) -> Path:
        return self.cache_dir / relpath_of(sha256)

    def head_size(self, sha256: str) -> int | None:
        """The stored object's size; None when the store lacks it."""
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self.key_of(sha256))["ContentLength"])
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    # -- writing ----------------------------------------------------------------------------

    def put_stream(self, stream: BinaryIO) -> Blob:
        tmp, sha, size = write_hashed(iter(lambda: stream.read(CHUNK), b""), self._cache_tmp, fsync=False)
        try:
            created = self.head_size(sha) != size
            if created:
                self.client.upload_file(
                    str(tmp),
                    self.bucket,
                    self.key_of(sha),
                    ExtraArgs={"ContentType": "application/octet-stream", "Metadata": {"sha256": sha}},
                    Config=self.transfer,
                )
            self._keep_in_cache(tmp, sha, size)
            return Blob(sha256=sha, size=size, relpath=relpath_of(sha), created=created)
        finally:
            tmp.unlink(missing_ok=True)

    def upload_verified(self, source: Path, sha256: str) -> None:
        """Upload a file already known to hash to `sha256`, then read it back and re-hash it
        (`nomdesk store migrate`: nothing is recorded as moved before it is proven there)."""
        self.client.upload_file(
            str(source),
            self.bucket,
            self.key_of(sha256),
            ExtraArgs={"ContentType": "application/octet-stream", "Metadata": {"sha256": sha256}},
            Config=self.transfer,
        )
        if not self.verify(sha256):
            raise BlobCorruptError(errno.EIO, f"上传后读回的内容与原文件不符：{sha256}")

    # -- reading ----------------------------------------------------------------------------

    def exists(self, sha256: str) -> bool:
        return self.head_size(sha256) is not None

    def open(self, sha256: str) -> BinaryIO:
        cached = self.cache_path(sha256)
        with contextlib.suppress(FileNotFoundError):
            return open(cached, "rb")
        size = self.head_size(sha256)
        if size is None:
            raise self._not_found(sha256)
        reader = _RangeReader(self, sha256, size)
        return io.BufferedReader(reader, buffer_size=READ_BUFFER)  # type: ignore[return-value]

    def read_range(self, sha256: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        with contextlib.suppress(FileNotFoundError), open(self.cache_path(sha256), "rb") as fh:
            fh.seek(start)
            return fh.read(length)
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=self.key_of(sha256), Range=f"bytes={start}-{start + length - 1}"
            )
        except ClientError as exc:
            if _missing(exc):
                raise self._not_found(sha256) from None
            if str(exc.response.get("Error", {}).get("Code")) == "InvalidRange":
                return b""  # from beyond the end
            raise
        return response["Body"].read()

    def local_path(self, sha256: str) -> Path:
        target = self.cache_path(sha256)
        if target.is_file():
            with contextlib.suppress(OSError):
                os.utime(target)  # recently used: swept last
            return target
        fd, tmp_name = tempfile.mkstemp(dir=self._cache_tmp, prefix="get-")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            try:
                self.client.download_file(self.bucket, self.key_of(sha256), str(tmp), Config=self.transfer)
            except ClientError as exc:
                if _missing(exc):
                    raise self._not_found(sha256) from None
                raise
            with open(tmp, "rb") as fh:
                found, size = hash_stream(fh)
            if found != sha256:
                raise BlobCorruptError(errno.EIO, f"blob {sha256} from the object store hashes to {found}")
            self._keep_in_cache(tmp, sha256, size)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def verify(self, sha256: str) -> bool:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key_of(sha256))
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        digest = hashlib.sha256()
        for chunk in response["Body"].iter_chunks(CHUNK):
            digest.update(chunk)
        return digest.hexdigest() == sha256

    # -- upkeep -----------------------------------------------------------------------------

    def sweep_tmp(self, older_than: float = TMP_SWEEP_AGE_SECONDS) -> int:
        """The cache's leftovers, and multipart uploads a killed writer never finished (the store
        keeps their parts, and bills them, until they are aborted)."""
        removed = sweep_old_files(self._cache_tmp, older_than)
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than)
        with contextlib.suppress(ClientError):
            listed = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix)
            for upload in listed.get("Uploads", []):
                if upload["Initiated"] < cutoff:
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    removed += 1
        return removed

    def store_id(self) -> str:
        """Read at every start (Store.open): also the first proof the bucket is reachable and ours."""
        if self._store_id is None:
            try:
                self._store_id = self._read_or_make_id()
            except (BotoCoreError, ClientError) as exc:
                raise S3ConfigError(
                    f"无法使用{self.description}（{type(exc).__name__}：{exc}）：请检查 NOMDESK_S3_ENDPOINT、"
                    "NOMDESK_S3_BUCKET（桶须已建好）、NOMDESK_S3_ACCESS_KEY_ID、NOMDESK_S3_SECRET_ACCESS_KEY、"
                    "NOMDESK_S3_REGION 以及网络，然后重新启动。\n"
                    f"Cannot use the object store (bucket {self.bucket}): check NOMDESK_S3_* and the network."
                ) from exc
        return self._store_id

    def _read_or_make_id(self) -> str:
        key = self.prefix + STORE_ID_KEY
        with contextlib.suppress(ClientError):
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode().strip()
        try:  # two desks starting at once: the conditional write lets only one id in
            self.client.put_object(Bucket=self.bucket, Key=key, Body=(new_store_id() + "\n").encode(), IfNoneMatch="*")
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code not in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
                raise
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode().strip()

    def _keep_in_cache(self, tmp: Path, sha256: str, size: int) -> None:
        """A verified copy into the read cache (atomically: a reader never sees half a file)."""
        target = self.cache_path(sha256)
        if target.is_file():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
        with self._lock:
            if self._cache_bytes is None:
                self._cache_bytes = self._cache_usage()
            else:
                self._cache_bytes += size
            over = self._cache_bytes > self.cache_max_bytes
        if over:
            self.sweep_cache()

    def _cache_files(self) -> list[tuple[float, int, Path]]:
        found = []
        for path in self.cache_dir.glob("??/??/*"):
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                found.append((stat.st_mtime, stat.st_size, path))
        return found

    def _cache_usage(self) -> int:
        return sum(size for _, size, _ in self._cache_files())

    def sweep_cache(self) -> int:
        """Oldest copies first until the cache is below 90% of its bound; returns bytes freed.
        Copies handed out in the last minutes stay: a reader may be about to open one."""
        files = sorted(self._cache_files())
        used = sum(size for _, size, _ in files)
        goal = int(self.cache_max_bytes * 0.9)
        freed = 0
        recent = time.time() - IN_USE_SECONDS
        for mtime, size, path in files:
            if used - freed <= goal:
                break
            if mtime >= recent:
                continue
            path.unlink(missing_ok=True)
            freed += size
        with self._lock:
            self._cache_bytes = used - freed
        return freed

    def _not_found(self, sha256: str) -> FileNotFoundError:
        return FileNotFoundError(errno.ENOENT, f"{self.description} 中没有该文件", self.key_of(sha256))


class _RangeReader(io.RawIOBase):
    """A blob read with ranged GETs: seekable, so a download can start mid-file and a zip reader
    can jump to the central directory without fetching the whole object."""

    def __init__(self, store: S3BlobStore, sha256: str, size: int) -> None:
        self._store, self._sha, self._size, self._pos = store, sha256, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        data = self._store.read_range(self._sha, self._pos, want)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def s3_configured(settings: Settings) -> bool:
    return bool(settings.s3_bucket or settings.s3_endpoint)


def s3_store(settings: Settings, data_dir: Path) -> S3BlobStore:
    """The object store NOMDESK_S3_* names, its read cache under DATA_DIR/cache/blobs."""
    if not settings.s3_bucket:
        raise S3ConfigError("已设置 NOMDESK_S3_ENDPOINT 但没有 NOMDESK_S3_BUCKET：请填写对象存储的桶名")
    secret = settings.s3_secret_access_key
    return S3BlobStore(
        bucket=settings.s3_bucket,
        cache_dir=Path(data_dir) / "cache" / "blobs",
        endpoint=settings.s3_endpoint,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
        region=settings.s3_region,
        prefix=settings.s3_prefix,
        addressing_style=settings.s3_addressing_style,
        cache_max_bytes=int(settings.s3_cache_max_gb * 1024**3),
    )
