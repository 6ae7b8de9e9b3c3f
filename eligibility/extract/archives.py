"""Inside the containers: a ZIP upload of the SSD tables, and the XLSX flat template (an XLSX
file is itself a ZIP file).

Both are judged on their central directory before anything is decompressed: the number of
entries and the sum of the sizes they declare. zipfile never yields more bytes than an entry
declares (and fails its CRC check if the data says otherwise), and ``Guarded`` enforces the same
bound again on every CSV read, so a zip bomb is refused on its declaration and cannot
decompress past it. Inside a ZIP upload every entry must be a CSV at the top level or in a
folder; names that climb out of the archive (``../``, absolute paths, drive letters), archives
within the archive (by name or by their first bytes), password-protected entries and names
that differ only in case are refused. Folders and the files that macOS and Windows add on
their own (``__MACOSX/``, ``.DS_Store``, ``Thumbs.db``) are ignored but still count as entries.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import BinaryIO

from eligibility.extract.files import (
    ARCHIVE_EXTENSIONS,
    ARCHIVE_MAGIC,
    JUNK,
    FileKind,
    Guarded,
    Limits,
    TableFile,
    base_name,
    duplicates,
    error,
    extension,
    refuse,
    stream_size,
)
from eligibility.extract.problems import Code, ExtractRefused, FileUnreadable, Problem, size_text


def _unsafe(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return (
        name.startswith(("/", "\\"))
        or ":" in parts[0]
        or ".." in parts
        or any(ord(c) < 32 for c in name)
    )


def _ignored(name: str) -> bool:
    base = base_name(name)
    return (
        name.endswith("/")
        or name.startswith("__MACOSX/")
        or base.startswith("._")
        or base.lower() in JUNK
    )


_END = struct.Struct("<4s4H2LH")  # end of central directory record
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
MAX_DIRECTORY_ENTRY = 1024  # bytes: a 46-byte header, a name, extras; real entries are far less


def _declared_directory(stream: BinaryIO) -> tuple[int, int] | None:
    """The entry count and central directory size an archive declares in its end record, read
    before zipfile parses the directory: zipfile loads every entry of it into memory, and it
    trusts the directory's size, not its count. None when there is no end record (zipfile will
    then refuse the file)."""
    size = stream.seek(0, io.SEEK_END)
    stream.seek(max(0, size - _END.size - 65535))  # the record, then a comment of <= 64KB
    tail = stream.read()
    stream.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + _END.size > len(tail):
        return None
    entries, directory = _END.unpack_from(tail, at)[4:6]
    locator = at - _ZIP64_LOCATOR.size
    if (entries == 0xFFFF or directory == 0xFFFFFFFF) and tail[locator:at].startswith(
        b"PK\x06\x07"
    ):
        stream.seek(_ZIP64_LOCATOR.unpack_from(tail, locator)[2])
        record = stream.read(_ZIP64_END.size)
        stream.seek(0)
        if len(record) == _ZIP64_END.size and record.startswith(b"PK\x06\x06"):
            entries, directory = _ZIP64_END.unpack(record)[7:9]
    return entries, directory


def _open_zip(
    stream: BinaryIO, code: Code, subject: str, max_entries: int, too_many: str, name: str
) -> zipfile.ZipFile:
    declared = _declared_directory(stream)
    if declared and (declared[0] > max_entries or declared[1] > max_entries * MAX_DIRECTORY_ENTRY):
        raise refuse(Code.ZIP_TOO_MANY_FILES, too_many, name)
    stream.seek(0)
    try:
        return zipfile.ZipFile(stream)  # reads only the central directory
    except Exception as exc:  # zipfile raises many types on crafted input
        raise refuse(code, f"{subject} cannot be opened. It may be damaged") from exc


def zip_members(name: str, stream: BinaryIO, limits: Limits) -> list[TableFile]:
    """The CSV files in a ZIP upload, after every check its central directory allows: entry
    count and declared unzipped size first, then each entry's name, encryption flag, type and
    first bytes. Raises ``ExtractRefused`` with all the problems found."""
    too_many = f"The ZIP file must contain no more than {limits.max_zip_entries} files"
    archive = _open_zip(
        stream, Code.BROKEN_ZIP, "The ZIP file", limits.max_zip_entries, too_many, name
    )
    infos = archive.infolist()
    if len(infos) > limits.max_zip_entries:
        raise refuse(Code.ZIP_TOO_MANY_FILES, too_many, name)
    if sum(i.file_size for i in infos) > limits.max_unzipped_bytes:
        limit = size_text(limits.max_unzipped_bytes)
        raise refuse(
            Code.ZIP_TOO_LARGE, f"The ZIP file must be smaller than {limit} when unzipped", name
        )
    problems: list[Problem] = []
    members: list[TableFile] = []
    for info in infos:
        entry = info.filename
        if _unsafe(entry):
            problems.append(
                error(
                    Code.UNSAFE_NAME,
                    f"The ZIP file contains a file name that is not allowed: {entry}",
                    entry,
                )
            )
            continue
        if _ignored(entry):
            continue
        base = base_name(entry)
        if info.flag_bits & 0x1:
            problems.append(
                error(Code.ZIP_ENCRYPTED, "The ZIP file must not be password protected", base)
            )
            continue
        if extension(base) in ARCHIVE_EXTENSIONS or _sniff(archive, info).startswith(ARCHIVE_MAGIC):
            problems.append(
                error(
                    Code.NESTED_ARCHIVE,
                    f"The ZIP file must not contain other archives or spreadsheets ({base})",
                    base,
                )
            )
        elif extension(base) != "csv":
            problems.append(
                error(Code.WRONG_TYPE, f"{base} in the ZIP file must be a CSV file", base)
            )
        elif info.file_size == 0:
            problems.append(error(Code.FILE_EMPTY, f"{base} in the ZIP file is empty", base))
        else:
            members.append(
                TableFile(
                    base, FileKind.CSV, None, info.file_size, _member_opener(archive, info, limits)
                )
            )
    problems += duplicates(
        [m.name for m in members],
        "The ZIP file must not contain {name} more than once",
        "The ZIP file must not contain both {first} and {second}",
    )
    if not problems and not members:
        problems.append(error(Code.FILE_EMPTY, "The ZIP file has no CSV files in it", name))
    if problems:
        raise ExtractRefused(problems)
    return members


def _sniff(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The first bytes of an entry, to catch an archive inside the archive whatever its name."""
    try:
        with archive.open(info) as member:
            return member.read(8)
    except Exception as exc:  # unsupported method, bad header, bad data...
        raise refuse(
            Code.BROKEN_ZIP, "The ZIP file cannot be opened. It may be damaged", info.filename
        ) from exc


def _member_opener(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits
) -> Callable[[], AbstractContextManager[BinaryIO]]:
    too_large = (
        "{file} in the ZIP file unzips to more than the ZIP file says it holds, so it is not "
        "read. Create the ZIP file again and upload it"
    )
    cap = min(info.file_size, limits.max_unzipped_bytes)

    @contextmanager
    def opener() -> Iterator[BinaryIO]:
        try:
            member = archive.open(info)
        except Exception as exc:  # as in _sniff
            raise FileUnreadable(
                Code.BROKEN_ZIP, "{file} cannot be unzipped. It may be damaged"
            ) from exc
        with member:
            yield Guarded(member, cap, too_large)  # type: ignore[misc]

    return opener


def xlsx_file(name: str, stream: BinaryIO, limits: Limits) -> TableFile:
    """Check the XLSX container (itself a ZIP file) on what it declares, before openpyxl parses
    a byte of it. zipfile never yields more than an entry declares, so declared sizes bound what
    the parser can be made to read."""
    subject = "The selected file"
    too_many = (
        f"{subject} has too many parts for a spreadsheet (more than {limits.max_xlsx_entries})"
    )
    archive = _open_zip(stream, Code.BROKEN_XLSX, subject, limits.max_xlsx_entries, too_many, name)
    with archive:
        infos = archive.infolist()
    if len(infos) > limits.max_xlsx_entries:
        raise refuse(Code.ZIP_TOO_MANY_FILES, too_many, name)
    if sum(i.file_size for i in infos) > limits.max_unzipped_bytes:
        limit = size_text(limits.max_unzipped_bytes)
        raise refuse(
            Code.ZIP_TOO_LARGE, f"{subject} must be smaller than {limit} when unzipped", name
        )

    @contextmanager
    def opener() -> Iterator[BinaryIO]:
        stream.seek(0)
        yield stream

    return TableFile(name, FileKind.XLSX, None, stream_size(stream), opener)
