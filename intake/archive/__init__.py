"""The archive readers: one archive unpacked safely into a staging folder.

`unpack.extract` picks the reader by sniffed type (zip_reader, sevenzip_reader, rar_reader,
tar_reader); every reader answers to the limits in `base` (entry count, safe names, no
symlinks, declared sizes and ratios, bytes counted while written). Callers need only the
names below.
"""

from intake.archive.base import ArchiveProblem, Budget, Member, human_bytes
from intake.archive.unpack import extract

__all__ = ["ArchiveProblem", "Budget", "Member", "extract", "human_bytes"]
