"""Tesseract on a scanned form page: clean the picture, find the table's cells, read each cell's text.

A scanned 附表1/附表3 is a ruled table. Tesseract reads a whole page in one run (one model
load, ~1 s at 300 dpi on one core) far faster than cell by cell, but its lines mix cells; so
the page is read once with word boxes (TSV) and each word is put back into the cell that
holds it, found from the ruling lines. The cells then read like a Word table's: label cell,
value cell, in rows (intake/forms/word.py applies the same label rules to them).

Only Pillow is used for the picture work (no numpy/OpenCV in the desk): long-line masks by
box-averaging ("reduce") and thresholds, a projection search for the small skew.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageFilter, ImageOps

log = logging.getLogger(__name__)

LANG = "chi_sim"
# Grey levels of the red channel under which a pixel is ink. A red stamp is light in it (~225 on
# white paper); black under the stamp's translucent red stays darker (~160), so lines and text go on.
DARK = 190
LINE_RUN = 150  # px at 300 dpi: a dark run at least this long is a ruling line, not a character stroke
COLUMN_RUN = 80  # the same for vertical lines (a row of two text lines is ~110 px tall)
LINE_FILL = 235  # share of a window (of 255) that must be ink
BINARY = 190  # the same for the picture tesseract reads
CELL_MARGIN = 14  # px: the thickening of the masks the walk to a cell's lines stops at
SHEET_GAP = 40  # px of white around each cell on the sheet of cells read again
SKEW_RANGE = 4.0  # degrees searched either way
SKEW_STEP = 0.25


class OcrUnavailable(Exception):
    """Tesseract (or its chi_sim model) is not installed, timed out or failed."""


@dataclass
class Word:
    text: str
    left: int
    top: int
    width: int
    height: int
    line: tuple[int, int, int]  # (block, paragraph, line) as tesseract numbered them

    @property
    def centre(self) -> tuple[int, int]:
        return self.left + self.width // 2, self.top + self.height // 2


@dataclass
class Cell:
    """One table cell (or, outside the table, one text line) and the words read in it."""

    top: int
    left: int
    text: str
    in_table: bool
    box: tuple[int, int, int, int] | None = None  # a table cell's inside (left, top, right, bottom)


def tesseract_binary() -> str | None:
    return shutil.which("tesseract")


def ocr_words(
    image: Image.Image, timeout: float, *, psm: int = 6, lang: str = LANG, extra: tuple[str, ...] = ()
) -> list[Word]:
    """Word boxes of `image` (TSV), one tesseract process on one core, killed after `timeout` s."""
    binary = tesseract_binary()
    if binary is None:
        raise OcrUnavailable("tesseract is not installed")
    with tempfile.TemporaryDirectory(prefix="nomdesk-ocr-") as tmp:
        source = Path(tmp) / "page.png"
        image.save(source, format="PNG")
        command = [binary, str(source), "stdout", "-l", lang, "--psm", str(psm), *extra, "tsv"]
        # One thread per tesseract: on few cores a small pool of single-threaded runs beats
        # OpenMP's threads fighting over them (bench/check_package.py).
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
        )
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise OcrUnavailable(f"tesseract took more than {timeout:g} s") from exc
    if process.returncode != 0:
        raise OcrUnavailable(f"tesseract failed: {err.decode(errors='replace')[-300:]}")
    return parse_tsv(out.decode("utf-8", errors="replace"))


def parse_tsv(text: str) -> list[Word]:
    words = []
    for row in csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE):
        word = (row.get("text") or "").strip()
        if not word or row.get("level") != "5":
            continue
        try:
            box = [int(row[k]) for k in ("left", "top", "width", "height")]
            line = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        except (KeyError, ValueError):
            continue
        words.append(Word(word, *box, line=line))
    return words


def ink_channel(image: Image.Image) -> Image.Image:
    """A grey page where black ink stays dark and a red stamp fades: the red channel."""
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    return image.getchannel("R") if image.mode == "RGB" else image


def find_skew(grey: Image.Image) -> float:
    """The small angle (degrees) that makes the ruling lines and text rows level: the one whose
    row profile is sharpest (largest sum of squared differences between neighbouring rows)."""
    small = grey.reduce(4) if min(grey.size) > 1200 else grey
    ink = small.point(lambda v: 255 if v < DARK else 0)

    def sharpness(angle: float) -> float:
        turned = ink.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=0)
        profile = list(turned.resize((1, turned.height), Image.Resampling.BOX).tobytes())
        return float(sum((a - b) ** 2 for a, b in itertools.pairwise(profile)))

    best = max((n * SKEW_STEP for n in range(int(-SKEW_RANGE / SKEW_STEP), int(SKEW_RANGE / SKEW_STEP) + 1)),
               key=sharpness)  # fmt: skip
    fine = [best + d / 20 for d in range(-4, 5)]
    return max(fine, key=sharpness)


def straighten(grey: Image.Image) -> Image.Image:
    angle = find_skew(grey)
    if abs(angle) < 0.05:
        return grey
    return grey.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)


def line_masks(grey: Image.Image) -> tuple[Image.Image, Image.Image]:
    """Masks (255 on the line) of the long horizontal and vertical ruling lines."""
    ink = grey.point(lambda v: 255 if v < DARK else 0)
    scale = grey.width / 2480
    across = _runs(ink, max(12, int(LINE_RUN * scale)), horizontal=True)
    return across, _runs(ink, max(8, int(COLUMN_RUN * scale)), horizontal=False)


def _runs(ink: Image.Image, run: int, *, horizontal: bool) -> Image.Image:
    """Where `ink` is dark over a whole window of `run` px along one axis (a character stroke
    never is), on four window grids a quarter window apart, so a line is found to within a
    quarter window of its ends."""
    mask = Image.new("L", ink.size, 0)
    length = ink.width if horizontal else ink.height
    for offset in (0, run // 4, run // 2, 3 * run // 4):
        windows = (length - offset) // run
        if windows < 1:
            continue
        # Cropped to whole windows: a BOX resize of any other width would stretch the windows.
        if horizontal:
            box = (offset, 0, offset + windows * run, ink.height)
            size = (windows, ink.height)
        else:
            box = (0, offset, ink.width, offset + windows * run)
            size = (ink.width, windows)
        part = ink.crop(box)
        found = part.resize(size, Image.Resampling.BOX).point(lambda v: 255 if v > LINE_FILL else 0)
        found = found.resize(part.size, Image.Resampling.NEAREST)
        mask.paste(ImageChops.lighter(mask.crop(box), found), box[:2])
    return mask.filter(ImageFilter.MaxFilter(3))


def without_lines(grey: Image.Image, horizontal: Image.Image, vertical: Image.Image) -> Image.Image:
    """The page with its ruling lines painted white, so tesseract sees text only."""
    lines = ImageChops.lighter(horizontal, vertical)
    return ImageChops.lighter(grey, lines)


def page_cells(grey: Image.Image, timeout: float) -> list[Cell]:
    """The page's text as cells in reading order: table cells row by row, other lines as their own."""
    grey = straighten(grey)
    horizontal, vertical = line_masks(grey)
    # Binarised: speckles and JPEG haze go, and the stamp's remains in the red channel with them.
    clean = without_lines(grey, horizontal, vertical).point(lambda v: 0 if v < BINARY else 255)
    # The page read only finds the words (which cell, which line): half the resolution does, in a
    # third of the time; the cells are then read again at full resolution (`reread`).
    words = [
        Word(w.text, 2 * w.left, 2 * w.top, 2 * w.width, 2 * w.height, w.line)
        for w in ocr_words(clean.reduce(2), timeout)
    ]
    cells = assign(words, horizontal, vertical)
    return reread(clean, cells, timeout)


def reread(clean: Image.Image, cells: list[Cell], timeout: float) -> list[Cell]:
    """Read the table's cells again, each cut out and stacked on one sheet (one more tesseract run).

    On the whole page tesseract's lines run across cells and its language model guesses from
    the neighbours (李春花 read as 地春花, 海兰江畔 as 海兰江昱); a cell alone reads as it is.
    """
    table = [c for c in cells if c.box is not None]
    if not table:
        return cells
    sheet, spans = stack([clean.crop(c.box) for c in table if c.box is not None], gap=SHEET_GAP, margin=SHEET_GAP)
    found = by_span(ocr_words(sheet, timeout), spans)
    for n, cell in enumerate(table):
        if n in found:
            cell.text = _joined(found[n])
    return cells


def stack(pictures: list[Image.Image], gap: int = 40, margin: int = 0) -> tuple[Image.Image, list[tuple[int, int]]]:
    """Pictures one under the other on white, `gap` apart and `margin` in from the sheet's edges,
    and the rows each one takes: many small pictures read in one tesseract run (one model load)."""
    width = max(p.width for p in pictures) + 2 * margin
    sheet = Image.new("L", (width, margin + sum(p.height + gap for p in pictures)), 255)
    spans, y = [], margin
    for picture in pictures:
        sheet.paste(picture, (margin, y))
        spans.append((y, y + picture.height))
        y += picture.height + gap
    return sheet, spans


def by_span(words: list[Word], spans: list[tuple[int, int]]) -> dict[int, list[Word]]:
    """The words read off a `stack` sheet, by the index of the picture their middle falls in."""
    found: dict[int, list[Word]] = {}
    for word in words:
        middle = word.centre[1]
        n = next((n for n, (start, end) in enumerate(spans) if start <= middle < end), None)
        if n is not None:
            found.setdefault(n, []).append(word)
    return found


def _joined(words: list[Word]) -> str:
    words = sorted(words, key=lambda w: (w.line, w.left))
    lines: dict[tuple[int, int, int], list[str]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word.text)
    return "".join("".join(parts) for parts in lines.values())  # CJK wraps without spaces


def assign(words: list[Word], horizontal: Image.Image, vertical: Image.Image) -> list[Cell]:
    """Group words by the ruled cell around their centre; words outside any cell group by text line."""
    # Masks at quarter size, lines thickened: the walk to the nearest line is 4x shorter, and a
    # word beside a small gap in a found line (a crossing, a stroke touching it) still meets it.
    h = horizontal.reduce(4).point(lambda v: 255 if v > 60 else 0).filter(ImageFilter.MaxFilter(7))
    v = vertical.reduce(4).point(lambda v: 255 if v > 60 else 0).filter(ImageFilter.MaxFilter(7))
    hp, vp = h.load(), v.load()
    width, height = h.size
    groups: dict[tuple, list[Word]] = {}
    bounds: dict[tuple, tuple[int, int, int, int]] = {}
    for word in words:
        x, y = (c // 4 for c in word.centre)
        x, y = min(x, width - 1), min(y, height - 1)
        top = next((yy for yy in range(y, -1, -1) if hp[x, yy]), None)
        bottom = next((yy for yy in range(y, height) if hp[x, yy]), None)
        left = next((xx for xx in range(x, -1, -1) if vp[xx, y]), None)
        right = next((xx for xx in range(x, width) if vp[xx, y]), None)
        if None in (top, bottom, left, right):
            key: tuple = ("line", word.line)
        else:
            key = ("cell", _snap(top), _snap(left))
            was = bounds.get(key, (left, top, right, bottom))
            bounds[key] = (min(was[0], left), min(was[1], top), max(was[2], right), max(was[3], bottom))
        groups.setdefault(key, []).append(word)
    cells = []
    for key, members in groups.items():
        text = _joined(members)
        top = min(w.top for w in members)
        left = min(w.left for w in members)
        if key[0] == "cell":
            # The walk stopped at the thickened line's edge: out to the line itself (erased in the page read).
            x0, y0, x1, y1 = (4 * b for b in bounds[key])
            box = (x0 - CELL_MARGIN, y0 - CELL_MARGIN, x1 + CELL_MARGIN, y1 + CELL_MARGIN)
            cells.append(Cell(top=key[1] * 4, left=key[2] * 4, text=text, in_table=True, box=box))  # type: ignore[arg-type]
        else:
            cells.append(Cell(top=top, left=left, text=text, in_table=False))
    cells.sort(key=lambda c: (c.top, c.left))
    return _without_strays(cells)


def _without_strays(cells: list[Cell]) -> list[Cell]:
    """Text outside the cells but level with the table is a remnant of its frame (a border line
    read as "于", "可"), not text: between a label and its value it would part them."""
    rows = [c.top for c in cells if c.in_table]
    if not rows:
        return cells
    first, last = min(rows), max(rows)
    return [c for c in cells if c.in_table or not first <= c.top <= last]


def _snap(value: int, step: int = 3) -> int:
    """Line positions found from different words of one cell may differ by a pixel or two."""
    return value // step * step
