"""Problems found while reading an extract: what they are, how they are worded, how many are kept.

Every problem has a level (an *error* refuses the whole import; a *warning* lets it go ahead and
is shown in the report), the file, the spreadsheet row (header = row 1) and the column it is
about, a message in GOV.UK wording, and a short machine code that tests, the report and the
database side can rely on. Messages never quote personal values (names, ids, dates of birth):
the report outlives the upload, and the file, row and column are enough to find the cell.
Codes are quoted in "unrecognised code" warnings because a code is not personal data and the
caseworker needs to see it to review it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from pause_portal.refused import Refused


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Code(StrEnum):
    """Machine codes. Errors first (each refuses the import), then warnings."""

    # The upload and its files cannot be read.
    NO_FILE = "no_file"
    WRONG_TYPE = "wrong_type"
    FILE_EMPTY = "file_empty"
    TOO_LARGE = "too_large"
    NUL_BYTES = "nul_bytes"
    NOT_TEXT = "not_text"
    MALFORMED = "malformed"
    BROKEN_ZIP = "broken_zip"
    BROKEN_XLSX = "broken_xlsx"
    ZIP_ENCRYPTED = "zip_encrypted"
    ZIP_TOO_MANY_FILES = "zip_too_many_files"
    ZIP_TOO_LARGE = "zip_too_large"
    DUPLICATE_FILE = "duplicate_file"
    NESTED_ARCHIVE = "nested_archive"
    UNSAFE_NAME = "unsafe_name"
    MIXED_FORMATS = "mixed_formats"
    BAD_MAPPING = "bad_mapping"  # the chosen column mapping names a column the portal does not read
    ALREADY_IMPORTED = "already_imported"  # the same files were imported while this upload waited
    UNKNOWN_TABLE = "unknown_table"
    MISSING_TABLE = "missing_table"
    # Headers.
    MISSING_COLUMN = "missing_column"
    DUPLICATE_COLUMN = "duplicate_column"
    # Ids and links.
    MISSING_ID = "missing_id"
    ID_TOO_LONG = "id_too_long"
    DUPLICATE_ID = "duplicate_id"
    UNKNOWN_PERSON = "unknown_person"
    SELF_LINK = "self_link"
    INCONSISTENT_REPEAT = "inconsistent_repeat"
    BAD_EVENT_TYPE = "bad_event_type"
    # Dates a rule depends on.
    BAD_DATE = "bad_date"
    MISSING_DATE = "missing_date"
    # Warnings.
    UNRECOGNISED_CODE = "unrecognised_code"
    INVALID_NHS_NUMBER = "invalid_nhs_number"
    MOTHER_UNDER_12 = "mother_under_12"
    FUTURE_DATE = "future_date"
    CORRECTION_KEPT = "correction_kept"  # found when writing: a rectified value stands


WARNING_CODES = frozenset(
    {
        Code.UNRECOGNISED_CODE,
        Code.INVALID_NHS_NUMBER,
        Code.MOTHER_UNDER_12,
        Code.FUTURE_DATE,
        Code.CORRECTION_KEPT,
    }
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem, about one cell, row, column or file. ``row`` is None for a whole file."""

    level: Level
    code: Code
    message: str
    file: str = ""
    row: int | None = None
    column: str = ""


class ExtractRefused(Refused):
    """The upload cannot be imported. Carries the errors; raised by the low-level steps and by
    iterating the records of a refused reading. Never raised for a warning. A subclass of the one
    `Refused`, not that class itself: it is built from its `Problem`s (code, row, message), and its
    message is the first one's."""

    def __init__(self, problems: list[Problem]):
        first = problems[0].message if problems else "The extract cannot be imported"
        super().__init__(first)
        self.problems = problems


class FileUnreadable(Exception):
    """Raised from deep inside a stream (decoder, size guard, XLSX parser) and caught by the
    reader, which turns it into an error naming the file and the row it had reached."""

    def __init__(self, code: Code, message: str):
        self.code = code
        self.message = message  # may hold the placeholder {file}
        super().__init__(message)

    def for_file(self, name: str) -> str:
        return self.message.replace("{file}", name)


class ProblemLog:
    """Keeps the first ``cap`` problems of each code and counts them all.

    A file with a bad column can produce a problem on every one of a million rows; the page and
    the report need the first few hundred and the totals, not all of them in memory.
    """

    def __init__(self, cap: int = 1000, *, quiet: bool = False):
        self.cap = cap
        self.quiet = quiet  # a re-read after validation records nothing
        self.counts: Counter[Code] = Counter()
        self.kept: list[Problem] = []

    def add(
        self, code: Code, message: str, file: str = "", row: int | None = None, column: str = ""
    ) -> None:
        if self.quiet:
            return
        self.counts[code] += 1
        if self.counts[code] <= self.cap:
            level = Level.WARNING if code in WARNING_CODES else Level.ERROR
            self.kept.append(Problem(level, code, message, file, row, column))

    def extend(self, problems: list[Problem]) -> None:
        for p in problems:
            self.add(p.code, p.message, p.file, p.row, p.column)


def size_text(n: int) -> str:
    """GOV.UK writes file sizes as "200MB", "1GB" (no space)."""
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f}{unit}" if value == int(value) else f"{value:.1f}{unit}"
    return f"{n} bytes"


class StrictLog(ProblemLog):
    """The log of the second read of an extract that validated: warnings were reported the
    first time; an error now means a file changed between the reads, and the import must stop
    rather than write part of it."""

    def add(
        self, code: Code, message: str, file: str = "", row: int | None = None, column: str = ""
    ) -> None:
        if code not in WARNING_CODES:
            raise ExtractRefused([Problem(Level.ERROR, code, message, file, row, column)])
