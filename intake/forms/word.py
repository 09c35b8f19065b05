"""附表1 / 附表3 from Word: label cells followed by value cells, one or several forms per file.

The document body is read in order as a stream of paragraphs and table cells. A cell
(or a "label：value" paragraph) whose normalised text is a known label makes the next
distinct cell its value. python-docx repeats a merged cell in every grid position it
covers; each cell is taken once, by identity. A new form starts when the name label
comes again, or after a title or "推荐单位（盖章）" paragraph that follows a form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# python-docx (with lxml, ~7 MB and 0.05 s) is imported inside the functions that walk a document:
# every desk process imports this module, few of them ever read a .docx (`_read_docx` loads it).
if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.table import Table

from intake.forms.fields import (
    PROJECT_FIELDS,
    PROJECT_FORM_TITLE,
    STAR_FIELDS,
    STAR_FORM_TITLE,
    FieldSpec,
    label_index,
    normalise_label,
)
from intake.forms.register import UNIT_LINE, clean_unit_line, missing_columns, project_fields, star_fields
from intake.forms.values import clean_inline
from intake.models import ProjectForm, StarForm

STAR = "star"
PROJECT = "project"
SPECS = {STAR: STAR_FIELDS, PROJECT: PROJECT_FIELDS}
TITLES = {STAR: STAR_FORM_TITLE, PROJECT: PROJECT_FORM_TITLE}
# Labels that only one of the forms has: they tell which form a table belongs to.
_STAR_INDEX = label_index(STAR_FIELDS, register=False)
_PROJECT_INDEX = label_index(PROJECT_FIELDS, register=False)
INDEXES = {STAR: _STAR_INDEX, PROJECT: _PROJECT_INDEX}
_ONLY = {
    STAR: set(_STAR_INDEX) - set(_PROJECT_INDEX),
    PROJECT: set(_PROJECT_INDEX) - set(_STAR_INDEX),
}
_PLACEHOLDER = re.compile(r"^[\s\u3000]*[（(【\[]?[^）)】\]]{0,6}照片[^）)】\]]{0,6}[）)】\]]?[\s\u3000]*$")
_INLINE = re.compile(r"^\s*([^:：\n]{1,20})[:：](.*)$", re.S)


@dataclass
class Token:
    """One piece of the body: a paragraph or a (distinct) table cell."""

    text: str
    in_table: bool
    table: int = -1  # which table, for cells


@dataclass
class _Form:
    kind: str
    values: dict[str, str | None] = field(default_factory=dict)
    unit_line: str | None = None
    from_table: bool = False  # some label was found in a table cell (not only "label：value" paragraphs)

    @property
    def empty(self) -> bool:
        return not self.values


def body_tokens(document: DocxDocument) -> Iterator[Token]:
    """Paragraphs and distinct table cells in document order (nested tables are flattened)."""
    from docx.oxml.ns import qn  # lazy: see the imports above
    from docx.table import Table

    body = document.element.body
    table_no = 0
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            yield Token(_paragraph_text(child), in_table=False)
        elif child.tag == qn("w:tbl"):
            seen: set[Any] = set()
            yield from _table_tokens(Table(child, document), table_no, seen)
            table_no += 1


def _paragraph_text(p: Any) -> str:
    from docx.oxml.ns import qn  # lazy: see the imports above

    return "".join(node.text or "" for node in p.iter(qn("w:t")))


def _table_tokens(table: Table, table_no: int, seen: set[Any]) -> Iterator[Token]:
    # `seen` holds the <w:tc> elements themselves: lxml keeps one proxy per node while it is
    # referenced, so identity is stable (an id() of a dropped proxy could be reused).
    from docx.table import _Cell  # lazy: see the imports above

    for row in table.rows:
        try:
            cells: list[_Cell] = list(row.cells)
        except (IndexError, ValueError):  # malformed grid spans
            cells = [_Cell(tc, table) for tc in row._tr.tc_lst]
        for cell in cells:
            if cell._tc in seen:
                continue
            seen.add(cell._tc)
            yield Token(cell.text, in_table=True, table=table_no)
            for inner in cell.tables:
                yield from _table_tokens(inner, table_no, seen)


def table_kind(tokens: list[Token]) -> str | None:
    """STAR or PROJECT by the labels only one of the forms has, or None."""
    hits = {kind: 0 for kind in _ONLY}
    for token in tokens:
        label = normalise_label(token.text)
        for kind, only in _ONLY.items():
            if label in only:
                hits[kind] += 1
    if not any(hits.values()):
        return None
    return STAR if hits[STAR] >= hits[PROJECT] else PROJECT


def is_placeholder(text: str) -> bool:
    return not normalise_label(text) or bool(_PLACEHOLDER.match(text))


def _value(text: str) -> str | None:
    if is_placeholder(text):
        return None
    return clean_inline(text)


def read_forms(document: DocxDocument) -> dict[str, list[_Form]]:
    """Every 附表1 and 附表3 in the document, in order, by kind."""
    return forms_from_tokens(list(body_tokens(document)))


def forms_from_tokens(tokens: list[Token]) -> dict[str, list[_Form]]:
    """The label rules on a body read as tokens: a Word file's, or a scan's cells (intake/forms/scan.py)."""
    kinds = _kinds_by_table(tokens)
    forms: dict[str, list[_Form]] = {STAR: [], PROJECT: []}
    current: dict[str, _Form] = {}
    pending_unit: str | None = None
    pending_title: str | None = None

    def start(kind: str) -> _Form:
        form = _Form(kind, unit_line=pending_unit)
        forms[kind].append(form)
        current[kind] = form
        return form

    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not token.in_table:
            label = normalise_label(token.text)
            unit = UNIT_LINE.search(token.text)
            if unit and label.startswith("推荐单位"):
                pending_unit = clean_unit_line(unit[1])
                for kind, form in list(current.items()):
                    if form.empty and form.unit_line is None:
                        form.unit_line = pending_unit
                    elif not form.empty:
                        current.pop(kind)  # a unit line after a form opens the next one
                continue
            for kind, title in TITLES.items():
                if label == title or (label.startswith(title) and len(label) <= len(title) + 4):
                    pending_title = kind
                    if kind in current and not current[kind].empty:
                        current.pop(kind)
            match = _INLINE.match(token.text)
            if match:
                for kind in (pending_title or STAR, PROJECT if pending_title != PROJECT else STAR):
                    spec = INDEXES[kind].get(normalise_label(match[1]))
                    if spec is not None:
                        form = _current(current, kind, spec, start)
                        form.values[spec.key] = _value(match[2])
                        break
            continue
        kind = kinds.get(token.table)
        if kind is None:
            continue
        index = INDEXES[kind]
        label = normalise_label(token.text)
        spec = index.get(label)
        if spec is None:
            # "姓名：张三" in one cell
            match = _INLINE.match(token.text)
            if match and (spec := index.get(normalise_label(match[1]))) is not None:
                form = _current(current, kind, spec, start)
                form.from_table = True
                form.values.setdefault(spec.key, _value(match[2]))
            continue
        form = _current(current, kind, spec, start)
        form.from_table = True
        value: str | None = None
        if i < len(tokens) and tokens[i].in_table and tokens[i].table == token.table:
            nxt = tokens[i]
            if normalise_label(nxt.text) not in index:
                value = _value(nxt.text)
                i += 1
        if spec.key not in form.values or form.values[spec.key] is None:
            form.values[spec.key] = value
    for kind, found in forms.items():
        forms[kind] = _merge_trailing(found)
    return forms


def _current(current: dict[str, _Form], kind: str, spec: FieldSpec, start: Any) -> _Form:
    form = current.get(kind)
    if form is None or (spec.key == "name" and "name" in form.values):
        form = start(kind)
    return form


def _merge_trailing(forms: list[_Form]) -> list[_Form]:
    """Drop forms that got no field (a trailing unit line), giving their unit line to the form before."""
    kept: list[_Form] = []
    for form in forms:
        if form.empty:
            if kept and kept[-1].unit_line is None:
                kept[-1].unit_line = form.unit_line
            continue
        kept.append(form)
    return kept


def _kinds_by_table(tokens: list[Token]) -> dict[int, str]:
    """Each table's form kind; a table with only shared labels continues the table before it."""
    by_table: dict[int, list[Token]] = {}
    for token in tokens:
        if token.in_table:
            by_table.setdefault(token.table, []).append(token)
    kinds: dict[int, str] = {}
    previous: str | None = None
    for table in sorted(by_table):
        kind = table_kind(by_table[table]) or previous
        if kind is None:
            shared = {normalise_label(t.text) for t in by_table[table]} & set(_STAR_INDEX)
            kind = STAR if "姓名" in shared else None
        if kind is not None:
            kinds[table] = kind
            previous = kind
    return kinds


def star_form(form: _Form, path: str, submission: int = 0) -> StarForm:
    return StarForm(
        path=path,
        submission=submission,
        fields=star_fields(dict(form.values), unit_line=form.unit_line),
        missing_labels=missing_columns(STAR_FIELDS, form.values.keys(), register=False),
    )


def project_form(form: _Form, path: str, submission: int = 0) -> ProjectForm:
    return ProjectForm(
        path=path,
        submission=submission,
        fields=project_fields(dict(form.values), unit_line=form.unit_line),
        missing_labels=missing_columns(PROJECT_FIELDS, form.values.keys(), register=False),
    )


def table_grids(document: DocxDocument) -> list[list[list[str]]]:
    """Each top-level table as a grid of cell texts, merged cells repeated (for registers in Word)."""
    from docx.table import _Cell  # lazy: see the imports above

    grids = []
    for table in document.tables:
        grid = []
        for row in table.rows:
            try:
                grid.append([cell.text for cell in row.cells])
            except (IndexError, ValueError):
                grid.append([_Cell(tc, table).text for tc in row._tr.tc_lst])
        grids.append(grid)
    return grids


def document_text(document: DocxDocument) -> str:
    """All text of the body, paragraphs and distinct cells, one per line."""
    return "\n".join(t.text for t in body_tokens(document))
