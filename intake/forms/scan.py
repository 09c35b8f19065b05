"""Stamped scans of 附表1/附表3 (an image-only PDF, a phone photo of the paper form) read by OCR.

Units often send the stamped paper form's scan as the "electronic copy". Reading costs
seconds of CPU a page, so the work is done in steps, cheapest first, and each step drops
what cannot be a form:
1. which files may be scans: PDFs without a text layer; photos whose size and thumbnail look
   like a paper page (portrait, mostly light grey paper, no colour but a red stamp). Photos of
   people and activities stop here, unread.
2. which of those are forms: the title words (百姓学习之星推荐表 / 附表1, 终身学习品牌项目推荐表 /
   附表3) found by OCR in the top band of page 1, at a modest resolution.
3. a form scan beside the Word form of the same nominee needs nothing more: it is recorded as
   that nominee's scanned form (the receipt's "盖章扫描件✓"; the Word form is the one read).
4. any other form scan is read whole (intake/forms/ocr.py) and its cells go through the same
   label rules as a Word form's (intake/forms/word.py), giving a StarForm/ProjectForm with
   `scanned=True` and the required labels it could not read in `missing_labels`.
A scan that cannot be read (no tesseract, a timeout) stays the photo or document it was.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from difflib import SequenceMatcher
from pathlib import Path
from typing import TypeVar

from PIL import Image, ImageChops, ImageOps

from config.campaign import Campaign, ScanRules
from intake.forms.document import SCAN_MAX_CHARS
from intake.forms.fields import PROJECT_FIELDS, PROJECT_FORM_TITLE, STAR_FIELDS, STAR_FORM_TITLE, normalise_label
from intake.forms.ocr import (
    DARK,
    OcrUnavailable,
    by_span,
    ink_channel,
    ocr_words,
    page_cells,
    stack,
    tesseract_binary,
)
from intake.forms.register import missing_columns
from intake.forms.summary import count_chars, read_pdf_text
from intake.forms.word import INDEXES, PROJECT, STAR, Token, forms_from_tokens, project_form, star_form
from intake.models import FileKind, PackageFile, ProjectFields, ProjectForm, StarFields, StarForm, Submission
from intake.names import names_in, project_keys, same_name, star_keys

log = logging.getLogger(__name__)
T = TypeVar("T")

PAGE_WIDTH_INCHES = 8.27  # A4: a photo's pixels per inch are guessed from its width
THUMBNAIL = 256
LABEL_MATCH = 0.75  # how close an OCR'd cell must be to a label (difflib ratio) to be taken for it
_JUNK_EDGES = " \t\n\u3000‘’`|｜!！.,，。、:：;；_-—~〔〕[]【】"
_QUOTES = '"“”'
_DIGIT_FIXES = str.maketrans({"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1", "S": "5", "B": "8", "Z": "2"})
_DIGITS_FIELDS = ("phone", "id_number", "postcode")
_FORM_WORDS = r"(推荐表|登记表|申报表|扫描件|扫描|盖章|附表\d|附件\d|百姓学习之星|终身学习品牌项目)"
# Brackets as OCR reads them, back to the full-width ones the labels and the unit line are written with.
_BRACKETS = str.maketrans(dict(zip("〈《〔(〉》〕)", "（（（（））））", strict=True)))


def read_scans(submission: Submission, campaign: Campaign, index: int = 0) -> None:
    """Add the form scans of `submission` to its star/project forms and type their files as forms."""
    rules = campaign.scans
    shaped = [f for f in submission.files if _shaped_like_scan(f, rules)]
    if not shaped:
        return
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, rules.workers), thread_name_prefix="ocr") as pool:
        fits = list(pool.map(lambda f: _looks_like_scan(f, rules), shaped))
        candidates = [f for f, fit in zip(shaped, fits, strict=True) if fit]
        if not candidates:
            return
        if tesseract_binary() is None:
            log.warning("%d possible form scans not read: tesseract is not installed", len(candidates))
            return
        kinds = classify_all(candidates, rules, pool)
        to_read: list[tuple[PackageFile, str]] = []
        for file, kind in zip(candidates, kinds, strict=True):
            if kind is None:
                continue
            twin = _word_twin(file, kind, submission)
            if twin is not None:  # step 3: no reading, the Word form is the one that counts
                _add(submission, file, kind, _twin_record(file, kind, twin.fields.name, index))
            else:
                to_read.append((file, kind))
        hints = _name_hints(submission)
        read = list(pool.map(lambda fk: _safely(fk[0], lambda: read_scan(fk[0], fk[1], rules, hints, index)), to_read))
    for (file, kind), form in zip(to_read, read, strict=True):
        if form is not None:
            _add(submission, file, kind, form)
    log.info(
        "form scans: %d candidates, %d forms, %d read by OCR in %.1f s",
        len(candidates),
        sum(1 for k in kinds if k),
        sum(1 for f in read if f is not None),
        time.perf_counter() - started,
    )


def _safely(file: PackageFile, work: Callable[[], T]) -> T | None:
    """OCR that fails (tesseract missing or killed at its timeout, a broken picture) leaves the file as it was."""
    try:
        return work()
    except OcrUnavailable as exc:
        log.warning("form scan %s not read: %s", file.name, exc)
    except Exception as exc:  # a broken or hostile picture: never a crash
        log.warning("form scan %s not read: %s: %s", file.name, type(exc).__name__, exc)
    return None


def _add(submission: Submission, file: PackageFile, kind: str, form: StarForm | ProjectForm) -> None:
    if isinstance(form, StarForm):
        submission.star_forms.append(form)
    else:
        submission.project_forms.append(form)
    file.kind = FileKind.STAR_FORM if kind == STAR else FileKind.PROJECT_FORM


# Step 1: which files may be scans -------------------------------------------------------------


def _shaped_like_scan(file: PackageFile, rules: ScanRules) -> bool:
    """A PDF that is no summary, or a photo of a page's size and shape (from the probe: no reading)."""
    if file.sniffed == "pdf":
        return file.kind in (FileKind.DOCUMENT, FileKind.OTHER)
    if file.photo is None or file.sniffed not in ("jpeg", "png"):
        return False
    short, long = sorted((file.photo.width, file.photo.height))
    if short < rules.min_short_side or file.photo.width > file.photo.height:
        return False
    low, high = rules.aspect
    return low <= long / short <= high


def _looks_like_scan(file: PackageFile, rules: ScanRules) -> bool:
    """A PDF without a text layer, or a photo whose thumbnail looks like paper."""
    if file.sniffed == "pdf":
        return _image_only_pdf(file.local)
    try:
        return looks_like_paper(file.local, rules)
    except Exception as exc:  # the probe read it, so this is rare: a truncated file
        log.info("cannot look at %s: %s", file.name, exc)
        return False


def _image_only_pdf(path: Path) -> bool:
    try:
        return count_chars(read_pdf_text(path)) < SCAN_MAX_CHARS
    except Exception:  # encrypted or broken: the document reader has said so
        return False


def looks_like_paper(path: Path, rules: ScanRules) -> bool:
    """Mostly light unsaturated pixels, and few saturated ones that are not red (a stamp), on a thumbnail."""
    with Image.open(path) as image:
        image.draft("RGB", (THUMBNAIL * 2, THUMBNAIL * 2))  # JPEG: decode at 1/2..1/8 scale, fast
        thumb = image.convert("RGB")
    thumb.thumbnail((THUMBNAIL, THUMBNAIL))
    hue, saturation, value = thumb.convert("HSV").split()
    unsaturated = saturation.point(lambda s: 255 if s < 60 else 0)
    light = value.point(lambda v: 255 if v > 150 else 0)
    saturated = saturation.point(lambda s: 255 if s > 80 else 0)
    not_red = hue.point(lambda h: 0 if h < 14 or h > 240 else 255)
    pixels = thumb.width * thumb.height
    paper = ImageChops.darker(unsaturated, light).histogram()[255] / pixels
    colour = ImageChops.darker(saturated, not_red).histogram()[255] / pixels
    return paper >= rules.min_paper_share and colour <= rules.max_colour_share


# Step 2: which scans are forms ----------------------------------------------------------------


def page_image(file: PackageFile, dpi: int, page: int = 0) -> Image.Image | None:
    """Page `page` of a scan at about `dpi` (a photo is taken as an A4 page across); None past the last page."""
    if file.sniffed == "pdf":
        import pypdfium2

        document = pypdfium2.PdfDocument(str(file.local))
        try:
            if page >= len(document):
                return None
            sheet = document[page]
            # Any page size is rendered as wide as an A4 page at `dpi`: an A0 scan does not take gigabytes.
            scale = min(dpi / 72, PAGE_WIDTH_INCHES * dpi / max(1.0, sheet.get_width()))
            return sheet.render(scale=scale).to_pil()
        finally:
            document.close()
    if page:
        return None
    with Image.open(file.local) as image:
        target = int(PAGE_WIDTH_INCHES * dpi)
        image.draft("RGB", (target, target))
        image.load()
        image = ImageOps.exif_transpose(image)
        if image.width > target * 1.2:
            image = image.resize((target, round(image.height * target / image.width)), Image.Resampling.LANCZOS)
        return image.convert("RGB")


def classify_all(files: list[PackageFile], rules: ScanRules, pool: ThreadPoolExecutor) -> list[str | None]:
    """STAR, PROJECT or None for each file, by the title words in the top band of its page 1.

    Loading tesseract's Chinese model costs ~0.5 s a run, more than reading a band: the bands
    are stacked on one sheet per worker and each sheet is read in one run.
    """
    bands = list(pool.map(lambda f: _safely(f, lambda: title_band(f, rules)), files))
    present = [n for n, band in enumerate(bands) if band is not None]
    kinds: list[str | None] = [None] * len(files)
    if not present:
        return kinds
    size = -(-len(present) // max(1, rules.workers))
    groups = [present[i : i + size] for i in range(0, len(present), size)]

    def read_sheet(group: list[int]) -> dict[int, str]:
        sheet, spans = stack([bands[n] for n in group])  # type: ignore[misc]
        try:
            words = ocr_words(sheet, rules.page_timeout_seconds * len(group) / 4 + rules.page_timeout_seconds)
        except OcrUnavailable as exc:
            log.warning("form scan titles not read: %s", exc)
            return {}
        return {group[at]: "".join(w.text for w in found) for at, found in by_span(words, spans).items()}

    for texts in pool.map(read_sheet, groups):
        for n, text in texts.items():
            kinds[n] = title_kind(text, rules)
    return kinds


def title_band(file: PackageFile, rules: ScanRules) -> Image.Image | None:
    """The top band of page 1 where the title is, at the title resolution, as ink on white."""
    page = page_image(file, rules.title_dpi)
    if page is None:
        return None
    band = ink_channel(page.crop((0, 0, page.width, max(1, int(page.height * rules.title_band)))))
    width = int(PAGE_WIDTH_INCHES * rules.title_dpi)
    band = band.resize((width, max(1, round(band.height * width / band.width))), Image.Resampling.BOX)
    lines = text_lines(band, rules.title_dpi)[: rules.title_lines]
    if not lines:
        return None
    # Only the first lines (附表1, the title), each cut to its ink: tesseract's time goes by the characters.
    return stack([band.crop(box) for box in lines], gap=rules.title_dpi // 6)[0]


def text_lines(band: Image.Image, dpi: int) -> list[tuple[int, int, int, int]]:
    """Boxes of the text lines of a band, top to bottom, by its row and column ink profiles."""
    ink = band.point(lambda v: 255 if v < DARK else 0)
    rows = ink.resize((1, ink.height), Image.Resampling.BOX).tobytes()
    min_height, pad = dpi // 15, dpi // 20  # a line of 10-point text or more; a little white around it
    boxes: list[tuple[int, int, int, int]] = []
    start = None
    for y, level in enumerate([*rows, 0]):
        if level > 2 and start is None:
            start = y
        elif level <= 2 and start is not None:
            if y - start >= min_height:
                strip = ink.crop((0, start, ink.width, y))
                columns = strip.resize((ink.width, 1), Image.Resampling.BOX).tobytes()
                inked = [x for x, c in enumerate(columns) if c > 0]
                if len(inked) > min_height:
                    box = (
                        max(0, inked[0] - pad),
                        max(0, start - pad),
                        min(ink.width, inked[-1] + pad),
                        min(ink.height, y + pad),
                    )
                    boxes.append(box)
            start = None
    return boxes


def title_kind(text: str, rules: ScanRules) -> str | None:
    """The form a page's title says, read with OCR's slips allowed (two characters of the title)."""
    text = normalise_label(text)
    if any(normalise_label(w) in text for w in rules.not_form_words):
        return None
    scores = {
        STAR: max([_in_order(STAR_FORM_TITLE, text)] + [len(STAR_FORM_TITLE) for w in rules.star_words if w in text]),
        PROJECT: max(
            [_in_order(PROJECT_FORM_TITLE, text)] + [len(PROJECT_FORM_TITLE) for w in rules.project_words if w in text]
        ),
    }
    need = {STAR: len(STAR_FORM_TITLE) - 2, PROJECT: len(PROJECT_FORM_TITLE) - 2}
    found = [k for k in (STAR, PROJECT) if scores[k] >= need[k]]
    if not found:
        return None
    return max(found, key=lambda k: scores[k] / need[k])


def _in_order(title: str, text: str) -> int:
    """How many of the title's characters the text has, in order."""
    return sum(block.size for block in SequenceMatcher(None, title, text, autojunk=False).get_matching_blocks())


# Step 3: a scan beside its Word form -----------------------------------------------------------


def _word_twin(file: PackageFile, kind: str, submission: Submission) -> StarForm | ProjectForm | None:
    """The Word form of the same nominee in this submission: its name (or a project's quoted brand)
    is in the scan's path, or it is the one form in the scan's folder."""
    forms: list[StarForm] | list[ProjectForm] = submission.star_forms if kind == STAR else submission.project_forms
    words = [f for f in forms if not f.scanned and f.fields.name]
    folder = file.path.rsplit("/", 1)[0] if "/" in file.path else ""
    # A name at a name boundary of a path part, the longest winning: 王丹丹推荐表.jpg is not 王丹's.
    owners = {key: form for form in words for key in _keys(form)}
    for part in file.path.rsplit(".", 1)[0].split("/"):
        named = names_in(part, owners)
        if named:
            return owners[named[0]]
    in_folder = [f for f in words if (f.path.rsplit("/", 1)[0] if "/" in f.path else "") == folder]
    if len(in_folder) != 1:
        return None
    # A scan named after someone else (李四推荐表.jpg beside 张三's form in a shared folder) is not its twin.
    named = _names_in(file.name.rsplit(".", 1)[0])
    return None if named and not any(same_name(n, in_folder[0].fields.name) for n in named) else in_folder[0]


def _names_in(path: str) -> list[str]:
    """The parts of a path that may be a person's or brand's name: 2-4 Chinese characters left
    when the form words are taken out ("金哲洙推荐表（盖章）.jpg" -> 金哲洙)."""
    names = []
    for part in re.split(r"[/_\-\s（）()、.]+", path):
        part = re.sub(_FORM_WORDS, "", part)
        if 2 <= len(part) <= 4 and all("\u4e00" <= c <= "\u9fff" for c in part):
            names.append(part)
    return names


def _keys(form: StarForm | ProjectForm) -> list[str]:
    """The name keys a folder or file may name a Word form's nominee by: a person's name, or a
    project's whole name and its quoted brand."""
    name = form.fields.name or ""
    return star_keys(name) if isinstance(form, StarForm) else project_keys(name)


def _twin_record(file: PackageFile, kind: str, name: str | None, index: int) -> StarForm | ProjectForm:
    """A scan recorded for its nominee only: the Word form beside it holds the fields."""
    if kind == STAR:
        return StarForm(path=file.path, submission=index, fields=StarFields(name=name), scanned=True)
    return ProjectForm(path=file.path, submission=index, fields=ProjectFields(name=name), scanned=True)


# Step 4: reading a scan -------------------------------------------------------------------------


def read_scan(
    file: PackageFile, kind: str, rules: ScanRules, hints: list[str], index: int = 0
) -> StarForm | ProjectForm:
    """The form a scan holds, its fields found by the Word forms' label rules on its OCR'd cells."""
    tokens: list[Token] = []
    for number in range(max(1, rules.max_pages)):
        page = page_image(file, rules.read_dpi, number)
        if page is None:
            break
        for cell in page_cells(ink_channel(page), rules.page_timeout_seconds):
            if not any(c.isalnum() for c in cell.text):  # a speck or a piece of the frame
                continue
            text = cell.text.translate(_BRACKETS)
            text = as_label(text, kind) if cell.in_table else text
            tokens.append(Token(text, in_table=cell.in_table, table=number if cell.in_table else -1))
    found = [f for f in forms_from_tokens(tokens)[kind] if f.values]
    if not found:
        return _unread(file, kind, index)
    _tidy(found[0].values, hints)
    make = star_form if kind == STAR else project_form
    return make(found[0], file.path, index).model_copy(update={"scanned": True})


def _unread(file: PackageFile, kind: str, index: int) -> StarForm | ProjectForm:
    """A scan whose title says it is a form but whose cells could not be read: every label missing."""
    if kind == STAR:
        missing = missing_columns(STAR_FIELDS, [], register=False)
        return StarForm(path=file.path, submission=index, fields=StarFields(), missing_labels=missing, scanned=True)
    missing = missing_columns(PROJECT_FIELDS, [], register=False)
    return ProjectForm(path=file.path, submission=index, fields=ProjectFields(), missing_labels=missing, scanned=True)


def as_label(text: str, kind: str) -> str:
    """A cell OCR'd one character off a label ("联系电适") is that label; anything else is left as read."""
    core = normalise_label(text)
    index = INDEXES[kind]
    if core in index or not 3 <= len(core) <= 12:
        return text
    best, score = None, 0.0
    for label in index:
        ratio = SequenceMatcher(None, core, label, autojunk=False).ratio()
        if ratio > score:
            best, score = label, ratio
    return best if best is not None and score >= LABEL_MATCH else text


def _tidy(values: dict[str, str | None], hints: list[str]) -> None:
    """OCR's edges off the values; digits fields with look-alike letters fixed; a name one
    character off a name the package gives (its folders, its register) taken as that name."""
    for key, value in list(values.items()):
        if value is None:
            continue
        value = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])", "", value).translate(_BRACKETS)
        value = value.strip(_JUNK_EDGES)
        value = (_paired_quotes(value) if key == "name" else value.strip(_QUOTES)) or None
        if value is not None and key in _DIGITS_FIELDS:
            fixed = value.translate(_DIGIT_FIXES).replace(" ", "")
            if sum(c.isdigit() for c in fixed) >= len(fixed) - 1:
                value = fixed
        values[key] = value
    name = values.get("name")
    if name:
        values["name"] = _nearest_name(name, hints)


def _paired_quotes(value: str) -> str:
    """Quotes as a brand is written, “海兰江畔”读书会: OCR reads either quote as " or drops one."""
    marks = [i for i, c in enumerate(value) if c in _QUOTES]
    if len(marks) == 2:
        chars = list(value)
        chars[marks[0]], chars[marks[1]] = "“", "”"
        return "".join(chars)
    if len(marks) == 1:
        at = marks[0]
        if at == 0 or at == len(value) - 1:  # a lone mark at an edge: a speck
            return value.strip(_QUOTES)
        return "“" + value[:at] + "”" + value[at + 1 :]  # the opening one was lost
    return value


def _nearest_name(name: str, hints: list[str]) -> str:
    if name in hints:
        return name
    brand = re.search(r"“([^”]{2,})”", name)
    if brand:  # a project: its brand is what its folder is named after
        fixed = _nearest_name(brand[1], hints)
        return name.replace(brand[1], fixed) if fixed != brand[1] else name
    # A stray mark read before or after the name (a cell's frame, the top of 金 read as 人).
    readings = [name, name[1:], name[:-1]] if len(name) > 2 else [name]
    for reading in readings:
        for hint in hints:
            if len(hint) == len(reading) and sum(a != b for a, b in zip(hint, reading, strict=True)) <= 1:
                return hint
    return name


def _name_hints(submission: Submission) -> list[str]:
    """Names the package itself gives: its register rows and forms, and its folder and file names."""
    hints: list[str] = []
    for table in submission.registers:
        hints += [r.name for r in table.star_rows if r.name] + [r.name for r in table.project_rows if r.name]
    hints += [f.fields.name for f in (*submission.star_forms, *submission.project_forms) if f.fields.name]
    for file in submission.files:
        hints += _names_in(file.path)
    return list(dict.fromkeys(hints))
