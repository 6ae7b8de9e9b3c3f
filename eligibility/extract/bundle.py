"""The upload as a whole: which files, which format, and every refusal that needs no parsing.

An upload is several CSV files of the SSD table set, or one ZIP file holding them, or one flat
template (CSV or XLSX). Everything that can be decided from names, sizes and archive directories
is decided here, before a single row is parsed: a zip bomb or a 2GB file is refused on what it
declares, not after the server has tried to read it. What can only be found while reading (a
zip entry that unzips to more than it declared, a broken CRC) is enforced by ``Guarded``, which
every CSV stream from a ZIP file passes through (see ``archives``).

Which format: a ZIP file holds SSD tables (or one flat template); an XLSX file is a flat
template; CSV files named after SSD tables (``ssd_person.csv``, any case) are the table set,
any other single CSV file is a flat template. An ``ssd_`` name the portal does not know is
refused by name, and so is a mix of table files and a flat template.

File objects must be binary and seekable (Django's uploaded files are): each is read twice,
once to validate and once to import, and never closed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import BinaryIO

from eligibility.extract.archives import xlsx_file, zip_members
from eligibility.extract.files import (
    REQUIRED_TABLES,
    TABLE_ORDER,
    TYPES,
    ZIP_MAGIC,
    Bundle,
    ExtractFormat,
    FileKind,
    Limits,
    Table,
    TableFile,
    base_name,
    duplicates,
    error,
    extension,
    head,
    refuse,
    stem,
    stream_size,
)
from eligibility.extract.problems import Code, ExtractRefused, Problem, size_text

__all__ = ["Bundle", "ExtractFormat", "FileKind", "Limits", "Table", "TableFile", "open_bundle"]


def open_bundle(files: Sequence[tuple[str, BinaryIO]], limits: Limits | None = None) -> Bundle:
    """Decide the format of an upload and refuse what can be refused before parsing.

    Raises ``ExtractRefused`` with every problem found at this stage (a caseworker fixing an
    upload wants to see all that is wrong with it at once, not one problem per attempt).
    """
    limits = limits or Limits()
    if not files:
        raise refuse(Code.NO_FILE, "Select a CSV, XLSX or ZIP file")
    one = len(files) == 1
    problems: list[Problem] = []
    named = [(base_name(name) or "unnamed file", stream) for name, stream in files]
    problems += duplicates(
        [n for n, _ in named],
        "{name} is selected more than once",
        "{first} and {second} have the same name. Select only one of them",
    )
    for name, stream in named:
        subject = "The selected file" if one else name
        size = stream_size(stream)
        ext = extension(name)
        if ext not in ("csv", "zip", "xlsx"):
            problems.append(error(Code.WRONG_TYPE, f"{subject} must be {TYPES}", name))
        elif size == 0:
            problems.append(error(Code.FILE_EMPTY, f"{subject} is empty", name))
        elif size > limits.max_file_bytes:
            limit = size_text(limits.max_file_bytes)
            problems.append(error(Code.TOO_LARGE, f"{subject} must be smaller than {limit}", name))
        elif ext == "csv" and head(stream).startswith(ZIP_MAGIC):
            problems.append(
                error(
                    Code.WRONG_TYPE,
                    f"{subject} is not a CSV file: it looks like an XLSX or ZIP file. Check the "
                    "end of its name (.xlsx or .zip)",
                    name,
                )
            )
        elif ext in ("zip", "xlsx") and not head(stream).startswith(ZIP_MAGIC):
            code = Code.BROKEN_ZIP if ext == "zip" else Code.BROKEN_XLSX
            problems.append(error(code, f"{subject} cannot be opened. It may be damaged", name))
    if problems:
        raise ExtractRefused(problems)
    exts = {extension(n) for n, _ in named}
    if not one and exts & {"zip", "xlsx"}:
        raise refuse(
            Code.MIXED_FORMATS,
            "Upload a ZIP file or an XLSX flat template on its own, not with other files",
        )
    name, stream = named[0]
    if exts == {"zip"}:
        return _classify(zip_members(name, stream, limits), archive=name)
    if exts == {"xlsx"}:
        return Bundle(ExtractFormat.FLAT, (xlsx_file(name, stream, limits),))
    loose = [TableFile(n, FileKind.CSV, None, stream_size(s), _loose_opener(s)) for n, s in named]
    return _classify(loose, archive=None)


def _loose_opener(stream: BinaryIO) -> Callable[[], AbstractContextManager[BinaryIO]]:
    @contextmanager
    def opener() -> Iterator[BinaryIO]:
        stream.seek(0)
        yield stream  # the caller's own file: nothing to unzip, and never closed here

    return opener


def _classify(csvs: list[TableFile], archive: str | None) -> Bundle:
    """SSD tables by name (``ssd_person.csv``, any case); any other CSV is a flat template."""
    problems: list[Problem] = []
    tables: dict[Table, TableFile] = {}
    flats: list[TableFile] = []
    known = {t.value: t for t in Table}
    for f in csvs:
        key = stem(f.name)
        if key in known:
            tables[known[key]] = TableFile(f.name, f.kind, known[key], f.size, f.opener)
        elif key.startswith("ssd_"):
            problems.append(
                error(
                    Code.UNKNOWN_TABLE,
                    f"{f.name} is not an SSD table the portal reads. Upload ssd_person.csv, "
                    "ssd_mother.csv, ssd_legal_status.csv, ssd_cla_episodes.csv and, if you "
                    "have it, ssd_address.csv",
                    f.name,
                )
            )
        else:
            flats.append(f)
    if flats and (tables or problems):
        names = ", ".join(f.name for f in flats)
        what = "is not an SSD table file" if len(flats) == 1 else "are not SSD table files"
        problems.append(
            error(
                Code.MIXED_FORMATS,
                f"Upload either the SSD table files or one flat template, not both ({names} {what})",
            )
        )
    elif len(flats) > 1:
        problems.append(error(Code.MIXED_FORMATS, "Upload one flat template file at a time"))
    if problems:
        raise ExtractRefused(problems)
    if flats:
        return Bundle(ExtractFormat.FLAT, (flats[0],), archive)
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise ExtractRefused(
            [error(Code.MISSING_TABLE, f"The upload must include {t.value}.csv") for t in missing]
        )
    return Bundle(ExtractFormat.SSD, tuple(tables[t] for t in TABLE_ORDER if t in tables), archive)
