"""Probe a photo with Pillow: real format, displayed size and colour, without decoding it in full.

Only the header is read to learn the size, so an image whose declared pixels exceed the
campaign's limit is refused before any pixel is decoded (RULES.md "Safety limits"). The
colour check and the integrity check share one decode of a small draft (JPEG decodes at
1/8 scale), so a 6000x4000 camera photo costs a few milliseconds.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

from PIL import Image, ImageChops, UnidentifiedImageError

from config import Campaign
from config.campaign import IdPhoto
from intake.models import FileProblem, PackageFile, PhotoInfo

# Size is checked against the campaign's own limit below, before anything is decoded;
# Pillow's warning for images between the limit and twice the limit would only be noise.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

EXIF_ORIENTATION = 0x0112
SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})  # transposed or rotated by 90/270 degrees
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
# Pillow names a JPEG holding a multi-picture index (many phone cameras) "MPO"; it is a JPEG.
FORMAT_ALIASES = {"MPO": "JPEG"}
DRAFT_BOX = (64, 64)
# A pixel counts as coloured when its channels spread by more than this (0-255); JPEG
# chroma noise on a grey picture stays well below it.
COLOUR_SPREAD = 12
# A picture is colour when more than this share of its pixels are coloured, so a stray
# coloured speck (a stamp, a watermark) does not make a black-and-white photo colour.
COLOUR_SHARE = 0.005

CORRUPT_REASON = "图片文件已损坏或不完整"


@functools.cache
def _open_heif_too() -> None:
    """Teach Pillow HEIF/HEIC (iPhone photos) at the first probe, not at import: pillow_heif costs
    ~7 MB and 0.1 s, paid by every desk process, most of which never see a photo."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def probe_photo(file: PackageFile, campaign: Campaign) -> PhotoInfo | FileProblem:
    _open_heif_too()
    limit = campaign.limits.max_image_pixels
    Image.MAX_IMAGE_PIXELS = limit
    try:
        with Image.open(file.local) as img:
            width, height = img.size
            if width * height > limit:
                return _too_large(file, width, height, limit)
            fmt = FORMAT_ALIASES.get(img.format or "", img.format or "UNKNOWN")
            orientation, already_rotated = _orientation(img)
            colour = _is_colour(img)
    except Image.DecompressionBombError:
        size = _declared_size(file.local)
        width, height = size if size else (0, 0)
        return _too_large(file, width, height, limit)
    except UnidentifiedImageError:
        return _unreadable(file, "无法识别的图片格式（文件已损坏或不是图片）")
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        # Pillow reports truncated and malformed data with any of these.
        return _unreadable(file, CORRUPT_REASON, detail=str(exc))
    if orientation in SWAPPING_ORIENTATIONS and not already_rotated:
        width, height = height, width
    return PhotoInfo(format=fmt, width=width, height=height, exif_orientation=orientation, colour=colour)


def _orientation(img: Image.Image) -> tuple[int | None, bool]:
    """The EXIF orientation, and whether the decoder already applied it to `img.size`.

    pillow-heif applies the rotation itself (HEIF carries it in `irot`/`imir`) and keeps the
    original EXIF value in `info["original_orientation"]`.
    """
    original = img.info.get("original_orientation")
    if isinstance(original, int) and original:
        return original, True
    try:
        value = img.getexif().get(EXIF_ORIENTATION)
    except Exception:  # a malformed EXIF block must not hide an otherwise good photo
        return None, False
    return (value if isinstance(value, int) and 1 <= value <= 8 else None), False


def _is_colour(img: Image.Image) -> bool:
    """Decode a small version of the picture (this also proves it is not truncated) and look at it."""
    img.draft("RGB", DRAFT_BOX)
    img.load()
    if img.mode in GREY_MODES:
        return False
    small = img.copy()
    small.thumbnail(DRAFT_BOX)
    rgb = small.convert("RGB")
    red, green, blue = rgb.split()
    spread = ImageChops.lighter(
        ImageChops.lighter(ImageChops.difference(red, green), ImageChops.difference(green, blue)),
        ImageChops.difference(red, blue),
    )
    histogram = spread.histogram()
    coloured = sum(histogram[COLOUR_SPREAD + 1 :])
    return coloured > COLOUR_SHARE * rgb.width * rgb.height


def _declared_size(path: Path) -> tuple[int, int] | None:
    """The size a header declares, read by the format plugins directly (they decode nothing).

    Only needed when Pillow's own guard refused the image before telling us its size.
    """
    Image.init()
    with path.open("rb") as fp:
        prefix = fp.read(16)
        for fmt in Image.ID:
            factory, accept = Image.OPEN[fmt]
            if accept is not None and not accept(prefix):
                continue
            fp.seek(0)
            try:
                return factory(fp, str(path)).size
            except Exception:
                continue
    return None


def _too_large(file: PackageFile, width: int, height: int, limit: int) -> FileProblem:
    return FileProblem(
        code="FILE_UNREADABLE",
        path=file.path,
        reason=f"图片尺寸过大（{width}×{height}），超过 {limit:,} 像素上限，未予解码",
        params={"width": width, "height": height, "max_pixels": limit},
        submission=file.submission,
    )


def _unreadable(file: PackageFile, reason: str, detail: str | None = None) -> FileProblem:
    params = {"detail": detail} if detail else {}
    return FileProblem(code="FILE_UNREADABLE", path=file.path, reason=reason, params=params, submission=file.submission)


def looks_like_id_photo(info: PhotoInfo | None, spec: IdPhoto) -> bool:
    """Which of a star's photos is meant as the ID photo, for merging a resubmitted set: portrait,
    in the configured width/height ratio, in colour. Whether it passes (size included, with what
    is wrong) is STAR_ID_PHOTO's to say (validators.measure.id_photo_shortfalls)."""
    if info is None or info.height <= info.width:
        return False
    return spec.min_ratio - 1e-6 <= info.width / info.height <= spec.max_ratio + 1e-6 and info.colour
