"""Read a page file into text, or say in one line why it cannot be used.

Checks, in order: size limit, readability, emptiness, binary content, encoding (UTF-8, with or
without BOM; UTF-16 with a BOM). Cleaning the text is left to ``clean``.
"""

from __future__ import annotations

import codecs
from pathlib import Path

SNIFF_BYTES = 8192
READ_PIECE_BYTES = 1 << 20


class UnusableFile(Exception):
    """A file that cannot be read as a page; the message is the reason shown to the user."""


class EmptyPage(UnusableFile):
    """A readable page with nothing in it: its earlier version leaves the index too."""


def read_page_bytes(path: Path, max_bytes: int) -> bytes:
    """Return the file's bytes, or raise ``UnusableFile`` for a size or OS problem."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnusableFile(f"cannot stat: {exc.strerror or exc}") from exc
    if size > max_bytes:
        raise UnusableFile(f"file too large ({size / 1e6:.1f} MB > limit {max_bytes / 1e6:.1f} MB)")
    parts: list[bytes] = []
    total = 0
    try:  # in pieces: a limit set far above memory ("no limit") must not ask for a buffer that size
        with path.open("rb") as handle:
            while total <= max_bytes and (part := handle.read(min(READ_PIECE_BYTES, max_bytes + 1 - total))):
                parts.append(part)
                total += len(part)
    except OSError as exc:
        raise UnusableFile(f"unreadable: {exc.strerror or exc}") from exc
    if total > max_bytes:  # it grew after the size check
        raise UnusableFile(f"file too large (> limit {max_bytes / 1e6:.1f} MB)")
    return b"".join(parts)


def decode_page(data: bytes) -> str:
    """Decode page bytes to text, or raise ``UnusableFile`` saying what is wrong."""
    if not data.strip():
        raise EmptyPage("empty file")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise UnusableFile(f"invalid UTF-16 at byte {exc.start}") from exc
    if b"\x00" in data[:SNIFF_BYTES]:
        raise UnusableFile("binary content (NUL bytes), not a text page")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnusableFile(f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")
