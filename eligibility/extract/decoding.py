"""Text from a CSV byte stream: UTF-8 with or without a byte order mark, else Windows-1252.

The approach, and why. Files must be streamed (a 200MB extract is never held in memory), yet
the encoding of a file is only known for certain at its end: an Excel "CSV" file can be pure
ASCII for 50,000 rows and then hold "Siân" as the single Windows-1252 byte 0xE2. So the stream
is decoded by ``io.TextIOWrapper`` (C line splitting, ``newline=""`` so that the csv module sees
CRLF and quoted line breaks untouched) with an incremental decoder of our own, registered as the
codec ``pause_utf8_or_cp1252``, that decides as it goes:

1. A UTF-8 byte order mark declares UTF-8: it is stripped and the file must then be valid UTF-8
   to its end. A UTF-16 byte order mark is refused with advice (Excel's "Unicode text").
2. Otherwise the first chunk is decoded as UTF-8. On the first byte that is not valid UTF-8, the
   decoder switches to Windows-1252 *if every byte before it was ASCII*. ASCII decodes to the
   same text in both encodings, so switching there gives exactly what restarting the stream as
   Windows-1252 from its first byte would, without re-reading the file or taking back a row
   the reader has already handed on.
3. If real UTF-8 (non-ASCII) text came before the invalid byte, the file mixes two encodings and
   no single reading of it is right: it is refused with advice to save it as "CSV UTF-8",
   rather than importing names with the wrong letters in them.
4. The five bytes Windows-1252 leaves undefined, and any NUL byte, mean the file is not text.

Problems are raised as ``FileUnreadable``; the reader catches it and reports the file and row.
"""

from __future__ import annotations

import codecs
import io
from typing import BinaryIO

from eligibility.extract.problems import Code, FileUnreadable

CODEC_NAME = "pause_utf8_or_cp1252"
_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
CHUNK = 64 * 1024
SAVE_AS = "Save it as ‘CSV UTF-8’ and upload it again"


def _nul() -> FileUnreadable:
    return FileUnreadable(
        Code.NUL_BYTES, f"{{file}} cannot be read because it contains NUL characters. {SAVE_AS}"
    )


class Utf8OrCp1252Decoder(codecs.IncrementalDecoder):
    """See the module docstring. Messages name the file through the ``{file}`` placeholder,
    filled in by the reader that catches them (the C TextIOWrapper builds its decoder itself)."""

    def __init__(self, errors: str = "strict"):
        super().__init__(errors)
        self.reset()

    def reset(self) -> None:
        self._pending = b""  # bytes of an incomplete UTF-8 sequence, or of a possible BOM
        self._started = False
        self._declared_utf8 = False
        self._cp1252 = False
        self._non_ascii_seen = False
        self.encoding = "utf-8"

    def getstate(self) -> tuple[bytes, int]:
        flags = self._started | self._declared_utf8 << 1 | self._cp1252 << 2
        return self._pending, flags | self._non_ascii_seen << 3

    def setstate(self, state: tuple[bytes, int]) -> None:
        self._pending, flags = state
        self._started, self._declared_utf8 = bool(flags & 1), bool(flags & 2)
        self._cp1252, self._non_ascii_seen = bool(flags & 4), bool(flags & 8)
        self.encoding = "cp1252" if self._cp1252 else "utf-8"

    def decode(self, input: bytes, final: bool = False) -> str:  # noqa: A002 - codecs' name
        data = self._pending + bytes(input)
        self._pending = b""
        if b"\x00" in data:
            if data.startswith(_UTF16_BOMS) and not self._started:
                raise FileUnreadable(
                    Code.NOT_TEXT,
                    f"{{file}} is saved as UTF-16 (‘Unicode text’), which cannot be read. {SAVE_AS}",
                )
            raise _nul()
        if not self._started:
            if len(data) < len(_BOM) and _BOM.startswith(data) and not final:
                self._pending = data  # too short to tell whether a BOM begins here
                return ""
            self._started = True
            if data.startswith(_BOM):
                data = data[len(_BOM) :]
                self._declared_utf8 = True
        if self._cp1252:
            return self._windows_1252(data)
        try:
            text, consumed = codecs.utf_8_decode(data, "strict", final)
        except UnicodeDecodeError as exc:
            return self._not_utf8(data, exc.start)
        self._pending = data[consumed:]
        if not self._non_ascii_seen and not text.isascii():
            self._non_ascii_seen = True
        return text

    def _not_utf8(self, data: bytes, bad_at: int) -> str:
        if self._declared_utf8:
            raise FileUnreadable(
                Code.NOT_TEXT,
                f"{{file}} starts as UTF-8 but has characters that are not UTF-8. {SAVE_AS}",
            )
        if self._non_ascii_seen or not data[:bad_at].isascii():
            raise FileUnreadable(
                Code.NOT_TEXT,
                f"{{file}} mixes two text encodings (UTF-8 and Windows-1252), so some "
                f"names cannot be read correctly. {SAVE_AS}",
            )
        self._cp1252 = True
        self.encoding = "cp1252"
        return self._windows_1252(data)

    def _windows_1252(self, data: bytes) -> str:
        try:
            return codecs.decode(data, "cp1252")
        except UnicodeDecodeError:
            raise FileUnreadable(
                Code.NOT_TEXT,
                f"{{file}} cannot be read because it is not a text file in UTF-8 or "
                f"Windows-1252. {SAVE_AS}",
            ) from None


def _search(name: str) -> codecs.CodecInfo | None:
    if name != CODEC_NAME:
        return None
    return codecs.CodecInfo(
        name=CODEC_NAME,
        encode=codecs.utf_8_encode,  # writing is never done with this codec; UTF-8 if it were
        decode=lambda data, errors="strict": (
            Utf8OrCp1252Decoder(errors).decode(data, True),
            len(data),
        ),
        incrementaldecoder=Utf8OrCp1252Decoder,
    )


codecs.register(_search)


class _Unclosing(io.RawIOBase):
    """A read-only, non-seekable view of a binary stream that does not close it.

    TextIOWrapper closes what it wraps; the caller's upload must outlive our reading (it is read
    twice: once to validate, once to import). Non-seekable, so TextIOWrapper keeps no decoder
    snapshots either.
    """

    def __init__(self, raw: BinaryIO):
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n


def open_text(raw: BinaryIO) -> io.TextIOWrapper:
    """A text stream over ``raw`` (positioned at its start) for ``csv.reader``."""
    text = io.TextIOWrapper(
        io.BufferedReader(_Unclosing(raw), buffer_size=CHUNK), encoding=CODEC_NAME, newline=""
    )
    text._CHUNK_SIZE = CHUNK  # type: ignore[attr-defined] # fewer, larger decode calls
    return text
