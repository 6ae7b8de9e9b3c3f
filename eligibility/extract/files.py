"""The files of an upload, as the readers see them, and the limits they are held to.

Shared by ``bundle`` (which decides the format) and ``archives`` (which looks inside ZIP and
XLSX containers). ``Guarded`` is the stream every CSV in a ZIP file passes through: no entry
yields more bytes than the ZIP file declared for it, and a decompression failure met while
reading becomes a clear error instead of a stack trace.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from eligibility.extract.problems import Code, ExtractRefused, FileUnreadable, Level, Problem

MB = 1024**2
GB = 1024**3
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a local file header, or an empty archive
ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!", b"BZh", b"\xfd7zXZ")
ARCHIVE_EXTENSIONS = frozenset(
    {"zip", "xlsx", "xlsm", "ods", "gz", "tgz", "tar", "7z", "rar", "bz2", "xz", "jar", "cab"}
)
JUNK = frozenset({".ds_store", "thumbs.db", "desktop.ini"})  # added by file managers, ignored
TYPES = "a CSV, XLSX or ZIP"


@dataclass(frozen=True, slots=True)
class Limits:
    """Refusal thresholds. ``max_file_bytes`` applies to each selected file (at most five loose
    table files can be selected, so a loose upload is bounded like an unzipped one); the
    unzipped limits apply to a ZIP upload and to the XLSX container alike."""

    max_file_bytes: int = 200 * MB
    max_zip_entries: int = 20
    max_unzipped_bytes: int = 1 * GB
    max_xlsx_entries: int = 100  # an XLSX is itself a zip: styles, theme, one part per sheet
    max_problems_per_kind: int = 1000


class Table(StrEnum):
    """SSD tables, in the order they are read: people first, so every link can be checked
    against the people as soon as it is read."""

    PERSON = "ssd_person"
    MOTHER = "ssd_mother"
    LEGAL_STATUS = "ssd_legal_status"
    EPISODE = "ssd_cla_episodes"
    ADDRESS = "ssd_address"


REQUIRED_TABLES = (Table.PERSON, Table.MOTHER, Table.LEGAL_STATUS, Table.EPISODE)
TABLE_ORDER = tuple(Table)


class ExtractFormat(StrEnum):
    SSD = "ssd"
    FLAT = "flat"


class FileKind(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@dataclass(frozen=True, slots=True)
class TableFile:
    """One file to read: a loose upload or a ZIP entry. ``open()`` gives a fresh binary stream
    at its start, each time it is called."""

    name: str
    kind: FileKind
    table: Table | None  # None for the flat template
    size: int
    opener: Callable[[], AbstractContextManager[BinaryIO]]

    def open(self) -> AbstractContextManager[BinaryIO]:
        return self.opener()


@dataclass(frozen=True, slots=True)
class Bundle:
    format: ExtractFormat
    files: tuple[TableFile, ...]  # SSD files in TABLE_ORDER; one file for the flat template
    archive: str | None = None  # the ZIP file's name, when the tables came in one


class Guarded:
    """A binary stream that may not yield more than ``cap`` bytes, and whose decompression
    failures (bad CRC, truncated data) become a ``FileUnreadable`` naming the problem."""

    def __init__(self, raw: BinaryIO, cap: int, too_large: str):
        self._raw, self._cap, self._read, self._too_large = raw, cap, 0, too_large

    def read(self, n: int = -1) -> bytes:
        try:
            data = self._raw.read(n)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
            raise FileUnreadable(
                Code.BROKEN_ZIP,
                "{file} cannot be unzipped. The ZIP file may be damaged: create it again and "
                "upload it",
            ) from exc
        self._read += len(data)
        if self._read > self._cap:
            raise FileUnreadable(Code.ZIP_TOO_LARGE, self._too_large)
        return data


def error(code: Code, message: str, file: str = "") -> Problem:
    return Problem(Level.ERROR, code, message, file)


def refuse(code: Code, message: str, file: str = "") -> ExtractRefused:
    return ExtractRefused([error(code, message, file)])


def base_name(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def stem(name: str) -> str:
    return name.rsplit(".", 1)[0].lower() if "." in name else name.lower()


def stream_size(stream: BinaryIO) -> int:
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    return size


def head(stream: BinaryIO, n: int = 8) -> bytes:
    stream.seek(0)
    head = stream.read(n)
    stream.seek(0)
    return head


def duplicates(names: list[str], same: str, variant: str) -> list[Problem]:
    """Names equal when case is ignored: ``ssd_person.csv`` and ``SSD_Person.CSV`` would both be
    the person table, and which one wins would be an accident. ``same`` words a name that
    repeats exactly (``{name}``), ``variant`` two that differ in case (``{first}``, ``{second}``)."""
    seen: dict[str, str] = {}
    problems = []
    for name in names:
        key = name.casefold()
        if key in seen:
            first = seen[key]
            if first == name:
                message = same.replace("{name}", name)
            else:
                message = variant.replace("{first}", first).replace("{second}", name)
            problems.append(error(Code.DUPLICATE_FILE, message, name))
        else:
            seen[key] = name
    return problems
