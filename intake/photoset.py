"""A nominee's photo set after one more submission (RULES.md "Resubmissions", photos add).

Units send the one missing photo alone, a retake under the old file name, or, now and
then, the whole set again. Counting the set only by the latest mail lost photos; adding
everything blindly doubles a re-sent set. The rule, in order:
- the same bytes as a photo already held change nothing;
- a photo with the file name of a held one replaces that photo;
- the newly sent photos replace the whole set only when they are on their own a complete
  set (within the nominee's count) and adding them would exceed the maximum; a held photo
  sent again in that set (the same bytes) stays, the others are set aside;
- otherwise each takes the place of a held photo that could not be opened, while there is
  one (a retake under another name), or joins the set.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from intake.models import Outcome, PackageFile
from intake.names import fold


@dataclass
class PhotoMerge:
    photos: list[PackageFile]  # the set as it now stands
    outcomes: list[tuple[PackageFile, Outcome, list[str]]] = field(default_factory=list)  # each sent photo
    set_aside: list[str] = field(default_factory=list)  # paths a complete new set took the place of
    retired: list[str] = field(default_factory=list)  # every held path no longer in the set

    @property
    def changed(self) -> bool:
        return any(outcome != Outcome.SAME for _, outcome, _ in self.outcomes)


def merge_photos(
    held: list[PackageFile],
    sent: list[PackageFile],
    low: int,
    high: int,
    damaged: Collection[str] = (),
    essential: Callable[[PackageFile], bool] | None = None,
) -> PhotoMerge:
    """`held` and one submission's `sent` photos for one nominee, whose count must be `low`-`high`;
    `damaged`: paths of photos that could not be opened; `essential`: a photo a set must hold (a
    star's ID photo), so new photos without one never set aside a held one: two life photos sent
    to a star with only an ID photo join it rather than replace it.

    Within one submission every file counts: only a photo sent again in a later mail is "the same".
    """
    known = {p.sha256 for p in held if p.sha256}
    result = PhotoMerge(photos=list(held))
    new: list[PackageFile] = []
    for file in sent:
        if file.sha256 and file.sha256 in known:
            result.outcomes.append((file, Outcome.SAME, []))
        else:
            new.append(file)
    if not new:
        return result
    by_name = {fold(p.name): i for i, p in enumerate(held)}
    renames = {id(f): by_name[fold(f.name)] for f in new if fold(f.name) in by_name}
    fresh = [f for f in new if id(f) not in renames]
    loses_essential = essential is not None and any(map(essential, held)) and not any(map(essential, sent))
    if fresh and low <= len(sent) <= high and len(held) + len(fresh) > high and not loses_essential:
        resent = {f.sha256 for f in sent if f.sha256}
        kept = [p for p in held if p.sha256 and p.sha256 in resent]
        result.photos = kept + new
        result.set_aside = result.retired = [p.path for p in held if not any(p is k for k in kept)]
        result.outcomes += [(f, Outcome.REPLACED, []) for f in new]
        return result
    broken = [i for i, p in enumerate(held) if p.path in damaged and i not in renames.values()]
    for file in new:
        index = renames.get(id(file))
        if index is None and broken:
            index = broken.pop(0)
        if index is not None:
            old = result.photos[index].path
            result.photos[index] = file
            result.retired.append(old)
            result.outcomes.append((file, Outcome.REPLACED, [old]))
        else:
            result.photos.append(file)
            result.outcomes.append((file, Outcome.ADDED if held else Outcome.FILED, []))
    return result
