"""A DKIM signature's body hash computed from the stored file in pieces, and dkimpy given the header
block only.

Memory: dkimpy splits a whole message into lines (about five times its size); a 200 MB mail would
cost a gigabyte. So dkimpy sees the header block alone, and each signature's body hash (bh=) is
computed here by streaming the stored file through the same canonicalization (RFC 6376 3.4).

dkimpy (and dnspython, which it imports) is loaded on the first verification, not with this module:
they add about 3 MB to every process that imports the desk, and most never verify a mail.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

BODY_CHUNK = 1 << 20  # the body is hashed in pieces of about this size


def _relaxed(piece: bytes) -> bytes:
    """Relaxed body canonicalization of whole lines: every run of blanks one space, none at a line's
    end. Done with bytes.replace, about 15 times faster than a regular expression on base64."""
    if b"\t" in piece:
        piece = piece.replace(b"\t", b" ")
    while b"  " in piece:
        piece = piece.replace(b"  ", b" ")
    return piece.replace(b" \r\n", b"\r\n")


def _pieces(f: BinaryIO) -> Iterator[bytes]:
    """The body in pieces that split no line end and no run of blanks (canonicalization is
    per line and per run, so each piece can be canonicalized alone)."""
    carry = b""
    while data := f.read(BODY_CHUNK):
        buf = carry + data
        cut = buf.rfind(b"\n") + 1 or len(buf.rstrip(b" \t\r"))
        carry = buf[cut:]
        if cut:
            yield buf[:cut]
    if carry:
        yield carry


def body_hash(f: BinaryIO, *, relaxed: bool, algorithm: str, length: int | None, bare_lf: bool = True) -> bytes:
    """The DKIM body hash (RFC 6376 3.4.3/3.4.4, as dkimpy computes it) of the body from `f`'s
    position on, streamed: the trailing empty lines are held back as a count, never the body.
    Without `bare_lf` the lines are taken to end in CRLF already (a mail as sent): no pass over
    the bytes to rewrite line ends, which costs more than the hash itself."""
    hasher = hashlib.new(algorithm)
    left = length  # l=: only this many bytes of the canonical body are hashed
    pending = 0  # CRLFs at the end of what was read so far: dropped if nothing follows them
    emitted = False

    def feed(data: bytes) -> None:
        nonlocal left
        if left is not None:
            data, left = data[:left], max(0, left - len(data))
        if data:
            hasher.update(data)

    for piece in _pieces(f):
        if bare_lf:  # a bare LF ends a line as CRLF does (dkimpy reads them so)
            piece = piece.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if relaxed and (b" " in piece or b"\t" in piece):
            piece = _relaxed(piece)
        end = len(piece)
        while piece.endswith(b"\r\n", 0, end):
            end -= 2
        if end:
            feed(b"\r\n" * pending + piece[:end])
            emitted = True
            pending = (len(piece) - end) // 2
        else:
            pending += len(piece) // 2
    if emitted or not relaxed:
        feed(b"\r\n")  # the last line's own end (simple: an empty body is one CRLF)
    return hasher.digest()


@functools.cache
def _header_only_dkim() -> type:
    """dkimpy's DKIM class, made to check the body hash against the stored file (defined on first
    use, so that importing this module does not import dkimpy)."""
    import dkim

    class _HeaderOnlyDKIM(dkim.DKIM):  # type: ignore[misc]
        """dkimpy's verification given the header block only; the body hash is checked against the
        stored file by `check_body` (see the module's note on memory)."""

        def __init__(self, headers: bytes, check_body: Callable[[dict], bool], timeout: float) -> None:
            super().__init__(headers + b"\r\n", timeout=int(max(1, timeout)), logger=log)
            self._check_body = check_body

        def verify_headerprep(self, idx: int = 0):  # type: ignore[no-untyped-def]
            prep = super().verify_headerprep(idx)
            if prep:
                sig = prep[0]
                if not self._check_body(sig):
                    raise dkim.ValidationError("body hash mismatch")
                sig.pop(b"bh", None)  # checked; the header hash still covers bh= (it signs the header)
            return prep

    return _HeaderOnlyDKIM


def header_only_dkim(headers: bytes, check_body: Callable[[dict], bool], timeout: float) -> Any:
    """A dkimpy verifier of the header block `headers` whose body hashes `check_body` decides."""
    return _header_only_dkim()(headers, check_body, timeout)
