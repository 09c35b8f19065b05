"""Photo thumbnails for the dashboard, made with Pillow from the blob store and cached on disk.

The browser never gets a path or the original file: a JPEG rendition, at most `size` pixels
on its longer side, EXIF rotation applied. Oversized images are refused before decoding, as
intake refuses them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pillow_heif
from fastapi import HTTPException
from fastapi.responses import FileResponse
from PIL import Image, ImageOps

from storage.repo import Store
from storage.tables import FileRecord

pillow_heif.register_heif_opener()

SIZES = (320, 1600)


def thumbnail(source: Path, sha256: str, size: int, cache_dir: Path, max_pixels: int) -> Path | None:
    """The cached JPEG of `source` (content `sha256`) at `size`; None when it cannot be shown."""
    if size not in SIZES:
        raise ValueError(f"unsupported thumbnail size {size}")
    target = cache_dir / f"{sha256}-{size}.jpg"
    if target.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        with Image.open(source) as img:
            width, height = img.size
            if width * height > max_pixels:
                return None
            img.draft("RGB", (size, size))  # JPEG decodes at a fraction of its size: fast
            rendition = ImageOps.exif_transpose(img)
            rendition.thumbnail((size, size))
            rendition = rendition.convert("RGB")
            fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                rendition.save(fh, "JPEG", quality=82)
            os.replace(tmp, target)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        return None
    return target


def thumbnail_response(
    store: Store, record: FileRecord | None, size: int, max_pixels: int, headers: dict[str, str] | None = None
) -> FileResponse:
    """A photo's thumbnail as the dashboard and a unit's page answer it (`record` None: not this
    unit's file, or no such file): a 404 with a Chinese detail when it cannot be shown."""
    if record is None or size not in SIZES:
        raise HTTPException(status_code=404, detail="没有这张照片")
    path = thumbnail(store.submissions.file_path(record), record.sha256, size, store.data_dir / "thumbs", max_pixels)
    if path is None:
        raise HTTPException(status_code=404, detail="这张照片无法显示")
    return FileResponse(path, media_type="image/jpeg", headers=headers)
