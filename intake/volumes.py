"""Multi-volume archives: which files are volumes, which set they make, and what is missing.

Units split big packages because their mail limits attachments ("（1/2）", "（2/2）"): 7-Zip's
`-v` cuts an archive's bytes in pieces (X.7z.001, X.zip.001, X.001), WinZip/Info-ZIP span a zip
(X.z01 … X.zip, the .zip being the LAST volume), WinRAR makes X.part1.rar … or X.rar + X.r00 ….
No volume can be read alone, so a volume is recorded (a VolumePart) until its set is whole
and then joined (intake/archive/joined.py). Everything here is pure: names, a few header bytes,
and the completeness of a set (RULES.md ARCHIVE_PART_MISSING).
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from intake.models import FileProblem, Outcome, Placement, Submission, VolumePart

SPLIT, ZIP, RAR = "split", "zip", "rar"
_SPLIT_EXT = re.compile(r"^(?P<stem>.+)\.(?P<ext>7z|zip|rar)\.(?P<n>\d{3,})$", re.IGNORECASE)
_BARE_SPLIT = re.compile(r"^(?P<stem>.+?)\.(?P<n>\d{3})$")
_ZIP_PART = re.compile(r"^(?P<stem>.+)\.z(?P<n>\d{2,})$", re.IGNORECASE)
_RAR_PART = re.compile(r"^(?P<stem>.+)\.part(?P<n>\d+)\.rar$", re.IGNORECASE)
_RAR_OLD = re.compile(r"^(?P<stem>.+)\.r(?P<n>\d{2})$", re.IGNORECASE)
_ARCHIVE_EXT = {"zip": ".zip", "7z": ".7z", "rar": ".rar"}
_EOCD = b"PK\x05\x06"
# Types whose first bytes a later piece of a cut archive does not begin with: "照片.002" that is a JPEG is a photo.
_MATERIAL_KINDS = frozenset(
    {"jpeg", "png", "gif", "bmp", "tiff", "webp", "heic", "avif", "pdf", "docx", "xlsx", "doc", "xls", "wps", "et"}
    | {"pptx", "ppt", "mp4", "mov", "avi", "mkv", "wmv", "flv", "webm", "3gp", "mp3", "m4a", "wav", "eml"}
)
_ARCHIVE_REFUSALS = ("FILE_UNREADABLE", "ARCHIVE_ENCRYPTED", "ARCHIVE_REJECTED")
_SEVENZIP = b"7z\xbc\xaf\x27\x1c"


def volume_part(name: str, local: Path, kind: str, logical: str = "", submission: int = 0) -> VolumePart | None:
    """The VolumePart a file is, from its name and (for a few cases) its first or last bytes; None if none.

    `kind` is what intake.sniff said: a bare X.001 is a volume only when it starts like an
    archive (or is a later piece of one), and a lone X.zip only when its end record says it
    is not the first disk of a span.
    """
    found = _classify(name, local, kind)
    if found is None:
        return None
    set_name, style, number = found
    size = local.stat().st_size
    part = VolumePart(
        path=logical or name,
        local=local,
        size=size,
        set_name=set_name,
        style=style,
        number=number,
        submission=submission,
    )
    part.total = _total(part, kind)
    return part


def _classify(name: str, local: Path, kind: str) -> tuple[str, str, int] | None:
    if m := _SPLIT_EXT.match(name):
        return f"{m['stem']}.{m['ext'].lower()}", SPLIT, int(m["n"])
    if m := _BARE_SPLIT.match(name):
        number = int(m["n"])
        if (number == 1 and kind not in _ARCHIVE_EXT) or number == 0 or kind in _MATERIAL_KINDS:
            return None  # a file that merely ends in .001, .002 …: a piece of an archive starts like none
        return m["stem"] + _ARCHIVE_EXT.get(kind, ""), SPLIT, number
    if m := _RAR_PART.match(name):
        return f"{m['stem']}.rar", RAR, int(m["n"])
    if m := _ZIP_PART.match(name):
        return f"{m['stem']}.zip", ZIP, int(m["n"])
    if m := _RAR_OLD.match(name):
        return f"{m['stem']}.rar", RAR, int(m["n"]) + 2  # X.rar is volume 1, X.r00 volume 2
    lower = name.lower()
    if lower.endswith(".zip") and kind in ("zip", "unknown"):
        disk = zip_disk_number(local)
        if disk:
            return name, ZIP, disk + 1
    if lower.endswith(".rar") and kind == "rar" and rar_is_volume(local):
        return name, RAR, 1
    return None


def _total(part: VolumePart, kind: str) -> int | None:
    """How many volumes the set has, when this volume says so."""
    if part.style == ZIP and part.path.lower().endswith(".zip"):
        return part.number  # the .zip is the last volume of a span
    if part.style == SPLIT and part.number == 1 and kind == "7z":
        length = sevenzip_length(part.local)
        if length is not None:
            return max(1, math.ceil(length / max(part.size, 1)))
    if part.style == SPLIT and zip_ends_here(part.local):
        return part.number  # the end record of a split zip sits in its last piece
    if part.style == RAR and rar_continues(part.local) is False:
        return part.number  # its end-of-archive block says no volume follows
    return None


# -- header bytes ----------------------------------------------------------------------------
def sevenzip_length(path: Path) -> int | None:
    """The whole 7z archive's length from its signature header (next header offset + size + 32)."""
    with path.open("rb") as fh:
        head = fh.read(32)
    if len(head) < 32 or not head.startswith(_SEVENZIP):
        return None
    offset, size = struct.unpack_from("<QQ", head, 12)
    return 32 + offset + size


def zip_end_record(path: Path) -> tuple[int, bytes] | None:
    """The position of a zip end-of-central-directory record that ends this file exactly, and the file's tail."""
    size = path.stat().st_size
    span = min(size, 22 + 0xFFFF)
    with path.open("rb") as fh:
        fh.seek(size - span)
        tail = fh.read(span)
    pos = tail.rfind(_EOCD)
    while pos >= 0:
        if pos + 22 <= len(tail):
            comment = struct.unpack_from("<H", tail, pos + 20)[0]
            if pos + 22 + comment == len(tail):
                return pos, tail
        pos = tail.rfind(_EOCD, 0, pos)
    return None


def zip_disk_number(path: Path) -> int:
    """ "Number of this disk" of a zip's end record: > 0 for the last volume of a spanned zip."""
    found = zip_end_record(path)
    if found is None:
        return 0
    pos, tail = found
    return struct.unpack_from("<H", tail, pos + 4)[0]


def zip_ends_here(path: Path) -> bool:
    return zip_end_record(path) is not None


def rar_is_volume(path: Path) -> bool:
    """The "volume" flag of a RAR 4 or RAR 5 main header (a first volume named plain X.rar)."""
    with path.open("rb") as fh:
        head = fh.read(64)
    if head.startswith(b"Rar!\x1a\x07\x00") and len(head) >= 12:
        return head[9] == 0x73 and bool(struct.unpack_from("<H", head, 10)[0] & 0x0001)
    if head.startswith(b"Rar!\x1a\x07\x01\x00"):
        pos = 12  # after the signature and the header CRC32
        _size, pos = _vint(head, pos)
        kind, pos = _vint(head, pos)
        flags, pos = _vint(head, pos)
        archive_flags, pos = _vint(head, pos)
        if kind != 1:
            return False
        if flags & 0x0001:  # what was read is the extra area's size: the archive flags come next
            archive_flags, pos = _vint(head, pos)
        return bool(archive_flags & 0x0001)
    return False


def _vint(data: bytes, pos: int) -> tuple[int, int]:
    """A RAR 5 variable-length integer at `pos` (7 bits a byte, a set high bit: more follow), and where it ends.

    Bytes cut short give what was read: a header too short to say is then simply no volume."""
    value, shift = 0, 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return value, pos


def rar_continues(path: Path) -> bool | None:
    """Whether a RAR volume's end-of-archive block says another volume follows; None if it has none."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 32))
        tail = fh.read()
    # RAR 4: CRC16, type 0x7B, flags (0x0001: next volume), size; its optional fields make 7 to 13 bytes
    for length in (7, 9, 11, 13):
        block = tail[-length:]
        if len(block) == length and block[2] == 0x7B and struct.unpack_from("<H", block, 5)[0] == length:
            return bool(struct.unpack_from("<H", block, 3)[0] & 0x0001)
    # RAR 5: CRC32, size 3, type 5, header flags 0, end flags (0x0001: not the last volume)
    if len(tail) >= 8 and tail[-4] == 3 and tail[-3] == 5 and tail[-2] == 0:
        return bool(tail[-1] & 0x0001)
    return None


# -- sets -------------------------------------------------------------------------------------
def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def set_key(part: VolumePart, parts: Iterable[VolumePart]) -> str:
    """The set a volume belongs to; a later piece of a bare X.001 split takes volume 1's name (X.zip)."""
    bare = _BARE_SPLIT.match(_basename(part.path))
    if part.style != SPLIT or bare is None or part.set_name != bare["stem"]:
        return part.set_name
    for other in parts:
        named = other.style == SPLIT and other.number == 1 and other.set_name.startswith(part.set_name + ".")
        if named and _BARE_SPLIT.match(_basename(other.path)):
            return other.set_name
    return part.set_name


def group_sets(parts: Iterable[VolumePart]) -> dict[str, list[VolumePart]]:
    """Volumes by set; in each set one volume per number (the latest sent), in order."""
    parts = list(parts)
    sets: dict[str, dict[int, VolumePart]] = {}
    for part in parts:
        sets.setdefault(set_key(part, parts), {})[part.number] = part
    return {name: [by_number[n] for n in sorted(by_number)] for name, by_number in sets.items()}


def set_total(parts: list[VolumePart]) -> int | None:
    totals = [p.total for p in parts if p.total]
    if totals:
        return max(totals)
    if parts and parts[0].style == SPLIT and len(parts) > 1:
        # 7-Zip cuts pieces of one size; a smaller piece at the top is the last
        biggest = max(p.size for p in parts)
        if parts[-1].size < biggest:
            return parts[-1].number
    return None


@dataclass
class Completeness:
    whole: bool
    total: int | None
    missing: list[str]  # file names of the volumes missing, and "第 N 卷及之后的分卷（如有）"
    have: list[str]  # file names of the volumes present


def completeness(parts: list[VolumePart]) -> Completeness:
    """Whether one set (its volumes, perhaps from several submissions) is whole, else what is missing."""
    parts = sorted({p.number: p for p in parts}.values(), key=lambda p: p.number)
    have = [_basename(p.path) for p in parts]
    total = set_total(parts)
    numbers = {p.number for p in parts}
    top = total or max(numbers)
    missing = [volume_name(parts, n, total) for n in range(1, top + 1) if n not in numbers]
    if total is None:
        if parts[0].style == ZIP:
            missing.append(volume_name(parts, top + 1, top + 1))  # the span ends with its .zip
        elif parts[0].style == RAR and rar_continues(parts[-1].local) is None:
            pass  # a RAR set whose last volume does not say: tried as it is (a reader stops if it is not)
        else:
            missing.append(f"第 {top + 1} 卷及之后的分卷（如有）")
    whole = not missing
    return Completeness(whole=whole, total=total or (top if whole else None), missing=missing, have=have)


def volume_name(parts: list[VolumePart], number: int, total: int | None) -> str:
    """The file name volume `number` of the set has, written like the volumes that came."""
    sample = parts[0]
    name = _basename(sample.path)
    if sample.style == SPLIT:
        m = _SPLIT_EXT.match(name) or _BARE_SPLIT.match(name)
        assert m is not None
        width = len(m["n"])
        return name[: m.start("n")] + f"{number:0{width}d}"
    stem = sample.set_name.rsplit(".", 1)[0]
    if sample.style == ZIP:
        return f"{stem}.zip" if total is not None and number == total else f"{stem}.z{number:02d}"
    for part in parts:
        if m := _RAR_PART.match(_basename(part.path)):
            return f"{m['stem']}.part{number:0{len(m['n'])}d}.rar"
    return f"{stem}.rar" if number == 1 else f"{stem}.r{number - 2:02d}"


# -- findings ---------------------------------------------------------------------------------
def pending_sets(submissions: list[Submission]) -> dict[str, list[VolumePart]]:
    """Volumes not yet joined, by set: those after the last submission that joined their set."""
    ordered = sorted(submissions, key=lambda s: s.index)
    parts = [p for s in ordered for p in s.volumes]
    joined_at: dict[str, int] = {}
    for sub in ordered:
        for name in sub.joined_volumes:
            joined_at[name] = sub.index
    sets = group_sets(parts)
    pending: dict[str, list[VolumePart]] = {}
    for name, members in sets.items():
        after = joined_at.get(name)
        kept = [p for p in members if after is None or p.submission > after]
        if kept:
            pending[name] = kept
    return pending


def missing_part_problems(submissions: list[Submission]) -> list[FileProblem]:
    """ARCHIVE_PART_MISSING for every set of the dossier still lacking a volume (RULES.md)."""
    problems: list[FileProblem] = []
    for name, parts in pending_sets(submissions).items():
        state = completeness(parts)
        if state.whole:
            continue
        latest = max(parts, key=lambda p: (p.submission, p.number))
        problems.append(
            FileProblem(
                code="ARCHIVE_PART_MISSING",
                path=name,
                reason=f"压缩包 {name} 缺少分卷：{'、'.join(state.missing)}",
                params={"archive": name, "missing": state.missing, "have": state.have},
                submission=latest.submission,
            )
        )
    return problems


def whole_sets(parts: list[VolumePart]) -> dict[str, list[VolumePart]]:
    """The sets among `parts` that are whole, each in volume order."""
    return {name: members for name, members in group_sets(parts).items() if completeness(members).whole}


def record_joined(sub: Submission, name: str, parts: list[VolumePart]) -> None:
    """Set `name` (`parts`) was joined and read in `sub`: its volumes wait no more, and the name
    keeps any later pass (pending_sets) from joining them again."""
    joined = {id(p) for p in parts}
    sub.volumes = [p for p in sub.volumes if id(p) not in joined]
    sub.joined_volumes.append(name)
    sub.joined_parts += parts


# -- the receipt ------------------------------------------------------------------------------
def volume_placements(sub: Submission, submissions: list[Submission]) -> list[Placement]:
    """What each volume of `sub` did, for the receipt: waiting for its set, or joined and read."""
    placements: list[Placement] = []
    joined: dict[str, list[VolumePart]] = {}
    for part in sub.joined_parts:
        joined.setdefault(set_key(part, sub.joined_parts), []).append(part)
    refused = {_basename(p.path) for p in sub.problems if p.code in _ARCHIVE_REFUSALS}
    for name, parts in joined.items():
        count = len({p.number for p in parts})
        reason = f"分卷已合并解压（{name}，共 {count} 卷）"
        if name in refused:  # joined, but what they make cannot be opened: its finding says why
            reason = f"分卷已合并（{name}，共 {count} 卷），但合并后的压缩包无法解压，见下方问题"
        placements += [
            Placement(path=p.path, outcome=Outcome.VOLUME, reason=reason) for p in parts if p.submission == sub.index
        ]
    earlier = [s for s in submissions if s.index <= sub.index]
    for name, parts in pending_sets(earlier).items():
        state = completeness(parts)
        for part in (p for p in parts if p.submission == sub.index):
            total = f"（共 {state.total} 卷）" if state.total else ""
            waiting = f"，等待 {'、'.join(state.missing)}" if state.missing else ""
            reason = f"分卷压缩包 {name} 的第 {part.number} 卷{total}{waiting}"
            placements.append(Placement(path=part.path, outcome=Outcome.VOLUME, reason=reason))
    return placements
