"""Stamped scans of filled-in forms, as units send them: a phone photo (JPG) or an image-only PDF.

A form is built as the other fixtures build it (tests/support/forms.py), printed to PDF by
the real LibreOffice, rendered at 300 dpi (pypdfium2), then "scanned": a red round stamp
over the opinion cell, a slight rotation, grey paper and speckle noise. Cached per parameters.
"""

from __future__ import annotations

import math
import random
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tests.support.cache import cached_file
from tests.support.forms import cached, project_forms_docx, star_forms_docx

VERSION = 1
DPI = 300
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
SOFFICE_TIMEOUT = 180


def docx_to_pdfs(docx_files: list[Path], out_dir: Path) -> list[Path]:
    """Print Word files to PDF in one LibreOffice run (a start costs ~2 s): the PDFs, in order."""
    binary = shutil.which("soffice") or shutil.which("libreoffice")
    assert binary, "LibreOffice (soffice) is needed to render form scans"
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scan-soffice-") as tmp:
        work = Path(tmp)
        inputs = []
        for n, source in enumerate(docx_files):  # ASCII names: soffice names its output after its input
            inputs.append(work / f"form{n}.docx")
            shutil.copyfile(source, inputs[-1])
        subprocess.run(
            [binary, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless", "--norestore",
             "--convert-to", "pdf", "--outdir", str(work / "out"), *map(str, inputs)],
            check=True, capture_output=True, timeout=SOFFICE_TIMEOUT,
        )  # fmt: skip
        targets = []
        for n, _ in enumerate(docx_files):
            targets.append(out_dir / f"form{n}.pdf")
            shutil.copyfile(work / "out" / f"form{n}.pdf", targets[-1])
    return targets


def render_pages(pdf: Path, dpi: int = DPI) -> list[Image.Image]:
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        return [page.render(scale=dpi / 72).to_pil().convert("RGB") for page in document]
    finally:
        document.close()


def stamp(image: Image.Image, centre: tuple[int, int], text: str, radius: int = 260) -> None:
    """A red round official seal: a thick ring, a star, the unit's name in an arc, drawn half-transparent."""
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    red = (215, 30, 40, 190)
    x, y = centre
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=red, width=radius // 14)
    star = [
        (x + radius * 0.3 * r * math.sin(a), y - radius * 0.3 * r * math.cos(a))
        for i in range(10)
        for a, r in [(i * math.pi / 5, 1.0 if i % 2 == 0 else 0.4)]
    ]
    draw.polygon(star, fill=red)
    font = ImageFont.truetype(FONT, radius // 4)
    span = math.radians(220)
    for i, char in enumerate(text):
        angle = -span / 2 + span * (i + 0.5) / len(text)
        glyph = Image.new("RGBA", (radius // 3, radius // 3), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((radius // 24, 0), char, font=font, fill=red)
        glyph = glyph.rotate(-math.degrees(angle), resample=Image.Resampling.BICUBIC)
        gx = x + (radius * 0.72) * math.sin(angle) - glyph.width / 2
        gy = y - (radius * 0.72) * math.cos(angle) - glyph.height / 2
        layer.alpha_composite(glyph, (int(gx), int(gy)))
    image.paste(layer, (0, 0), layer)


def scan_look(page: Image.Image, *, angle: float, noise: float, seed: int, seal: str | None) -> Image.Image:
    """What a phone or a cheap scanner makes of the printed page: stamp, turn, grey paper, speckles."""
    page = page.copy()
    if seal:
        stamp(page, (int(page.width * 0.55), int(page.height * 0.56)), seal)
    page = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(238, 238, 236))
    rng = random.Random(seed)
    paper = Image.new("RGB", page.size, (236, 235, 230))
    page = Image.blend(page, paper, 0.08)
    draw = ImageDraw.Draw(page)
    for _ in range(int(page.width * page.height * noise / 1000)):
        px, py = rng.randrange(page.width), rng.randrange(page.height)
        shade = rng.randrange(40, 140)
        draw.point((px, py), fill=(shade, shade, shade))
    return page.filter(ImageFilter.GaussianBlur(0.6))


def _form_docx(kind: str, entries: list[dict[str, Any]], unit: str | None) -> Path:
    if kind == "star":
        return cached(star_forms_docx, ".docx", persons=entries, unit=unit)
    return cached(project_forms_docx, ".docx", projects=entries, unit=unit)


def _scanned_pages(
    kind: str, entries: list[dict[str, Any]], unit: str | None, angle: float, noise: float, seal: str | None
) -> list[Image.Image]:
    source = _form_docx(kind, entries, unit)
    with tempfile.TemporaryDirectory(prefix="scan-pdf-") as tmp:
        (pdf,) = docx_to_pdfs([source], Path(tmp))
        pages = render_pages(pdf)
    return [scan_look(p, angle=angle, noise=noise, seed=n, seal=seal if n == 0 else None) for n, p in enumerate(pages)]


def form_scan(
    kind: str,
    entries: list[dict[str, Any]],
    *,
    fmt: str = "jpg",
    unit: str | None = "延边朝鲜族自治州教育局",
    angle: float = 1.5,
    noise: float = 0.4,
    seal: str | None = "延边朝鲜族自治州教育局",
) -> Path:
    """A stamped scan of a filled 附表1 (kind "star") or 附表3 ("project"): page 1 as a JPG
    photo (fmt "jpg"), or every page as an image-only PDF (fmt "pdf")."""
    params = {"v": VERSION, "kind": kind, "entries": entries, "fmt": fmt, "unit": unit, "angle": angle}
    params |= {"noise": noise, "seal": seal}

    def build(path: Path) -> None:
        pages = _scanned_pages(kind, entries, unit, angle, noise, seal)
        if fmt == "pdf":
            pages[0].save(path, format="PDF", resolution=DPI, save_all=True, append_images=pages[1:])
        else:
            pages[0].save(path, format="JPEG", quality=85, dpi=(DPI, DPI))

    return cached_file("form_scan", params, f".{fmt}", build)


def scans_of(docx_files: list[Path], out_dir: Path, *, angle: float = 1.2, seal: str | None = "推荐单位") -> list[Path]:
    """Page 1 of each Word form as a stamped 300-dpi JPG scan (the bench makes a package's worth at once)."""
    with tempfile.TemporaryDirectory(prefix="scan-batch-") as tmp:
        pdfs = docx_to_pdfs(docx_files, Path(tmp))
        out_dir.mkdir(parents=True, exist_ok=True)
        targets = []
        for n, pdf in enumerate(pdfs):
            page = scan_look(render_pages(pdf)[0], angle=angle, noise=0.4, seed=n, seal=seal)
            targets.append(out_dir / f"scan{n}.jpg")
            page.save(targets[-1], format="JPEG", quality=85, dpi=(DPI, DPI))
    return targets
