"""Read what composition needs from an MP4/MOV file's `moov` box in Python: each track's kind and
length. Cheaper than starting ffprobe for each clip (which costs more CPU than reading a few
kilobytes); anything this does not understand returns None and is probed by ffprobe instead.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

#: A `moov` larger than this is left to ffprobe.
MAX_MOOV_BYTES = 64 << 20
_CONTAINERS = {b"trak", b"mdia"}


@dataclass(frozen=True)
class Track:
    """A track's handler (`vide`, `soun`, ...) and its length in seconds (None when not recorded)."""

    kind: str
    duration: float | None


def read_tracks(path: Path) -> list[Track] | None:
    """The tracks of an MP4/MOV file, or None if it is not one (or not one this reader handles)."""
    try:
        with path.open("rb") as file:
            moov = _find_moov(file)
    except OSError:
        return None
    return parse_moov(moov) if moov is not None else None


def parse_moov(moov: bytes) -> list[Track] | None:
    """The tracks described by the payload of a `moov` box."""
    try:
        return [_track(payload) for kind, payload in boxes(moov) if kind == b"trak"]
    except (struct.error, ValueError):
        return None


def boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, payload) of each box in `data`, in order."""
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = len(data) - pos
        if size < header or pos + size > len(data):
            raise ValueError("truncated box")
        yield kind, data[pos + header : pos + size]
        pos += size


def _track(trak: bytes) -> Track:
    kind, duration = "", None
    for name, payload in _walk(trak):
        if name == b"hdlr":
            kind = payload[8:12].decode("latin-1")
        elif name == b"mdhd":
            duration = _media_duration(payload)
    return Track(kind, duration)


def _walk(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    for kind, payload in boxes(data):
        yield kind, payload
        if kind in _CONTAINERS:
            yield from _walk(payload)


def _media_duration(mdhd: bytes) -> float | None:
    if mdhd[0] == 1:
        timescale, duration = struct.unpack_from(">IQ", mdhd, 20)
    else:
        timescale, duration = struct.unpack_from(">II", mdhd, 12)
    unknown = duration in (0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF)
    return None if unknown or not timescale else duration / timescale


def _find_moov(file: BinaryIO) -> bytes | None:
    """The payload of the top-level `moov` box, found by skipping other boxes (e.g. a large `mdat`)."""
    first = True
    while header := file.read(8):
        if len(header) < 8:
            return None
        size, kind = struct.unpack(">I4s", header)
        if first and kind not in (b"ftyp", b"moov", b"wide", b"free", b"mdat", b"skip"):
            return None
        first = False
        skip = size - 8
        if size == 1:
            skip = struct.unpack(">Q", file.read(8))[0] - 16
        elif size == 0:
            return None
        if kind == b"moov":
            moov = file.read(skip) if skip <= MAX_MOOV_BYTES else b""
            return moov if len(moov) == skip else None
        if skip < 0:
            return None
        file.seek(skip, 1)
    return None
