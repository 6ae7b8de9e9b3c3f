"""Headers and cells of one file: find the columns, then clean and check each row's values.

``resolve_header`` turns a header row into column positions (names matched case-insensitively
after trimming, through an optional column mapping) and reports missing and duplicated
columns. ``RowReader`` reads the cells of the current row and records the row-level problems
of the spec: unreadable dates a rule depends on, ids, unrecognised codes, NHS check digits and
future dates. Cross-row and cross-file checks (repeated ids, links) live in ``validate``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from eligibility.extract.codes import CODE_LISTS, CodeList
from eligibility.extract.files import TableFile
from eligibility.extract.problems import Code, FileUnreadable, ProblemLog
from eligibility.extract.quoting import kept_as, unrecognised_message
from eligibility.extract.sources import iter_rows
from eligibility.extract.values import (
    MAX_ID_LENGTH,
    canonical_id,
    nhs_number_is_valid,
    normalise_nhs_number,
    parse_date,
)

DATE_EXAMPLE = "like 2019-03-04 or 04/03/2019"


def _key(header: str) -> str:
    return header.strip().casefold()


def column_letter(index: int) -> str:
    """A spreadsheet's name for the column at ``index`` (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def resolve_header(
    header: Sequence[str],
    columns: Sequence[str],
    required: frozenset[str],
    mapping: Mapping[str, str],
    file: str,
    log: ProblemLog,
) -> dict[str, int] | None:
    """Positions of ``columns`` in ``header`` (-1 for an optional column that is absent), or
    None when a required column is missing or a header is duplicated (both errors).

    A header is duplicated when two non-blank headers are the same once trimmed and case is
    ignored, whether or not the portal reads that column: the spec makes it an error, and which
    of the two a reader picks would be an accident. Blank headers (the empty trailing columns a
    spreadsheet leaves) are ignored."""
    seen: dict[str, int] = {}
    first: dict[str, int] = {}
    readable = {_key(c) for c in columns} | {_key(h) for h in mapping.values()}
    ok = True
    for i, h in enumerate(header):
        k = _key(h)
        if not k:
            continue
        if k in seen:
            if seen[k] >= 0:  # report each duplicated header once
                # A header the portal does not read is not quoted: a file with no header row has
                # a row of someone's details where its header should be.
                if k in readable:
                    message, column = f"{file} has more than one column called {h.strip()}", h.strip()
                else:
                    column = column_letter(i)
                    message = (f"{file} has more than one column with the same name (columns "
                               f"{column_letter(first[k])} and {column})")
                log.add(Code.DUPLICATE_COLUMN, message, file, 1, column)
                seen[k] = -1
            ok = False
        else:
            seen[k] = first[k] = i
    positions: dict[str, int] = {}
    for column in columns:
        theirs = mapping.get(column, column)
        pos = seen.get(_key(theirs))
        if pos is None:
            if column in required:
                mapped = f" (the column mapped to {column})" if theirs != column else ""
                log.add(
                    Code.MISSING_COLUMN,
                    f"{file} must have a column called {theirs}{mapped}",
                    file,
                    1,
                    theirs,
                )
                ok = False
            pos = -1
        positions[column] = pos
    return positions if ok else None


class RowReader:
    """Reads the cells of one row after another of one file.

    Set ``row`` and ``cells`` (padded to the header's width by ``start``), then call the typed
    getters; each records its problems against the current row and column and sets ``bad`` when
    the problem is an error (the caller then yields no record for the row). ``header`` maps our
    column names to the headers the file actually uses, so messages name the Trust's column.
    """

    def __init__(
        self,
        file: str,
        log: ProblemLog,
        today: date,
        header: Mapping[str, str],
        width: int,
        unread: Counter[str],
    ):
        self.file, self.log, self.today, self.header, self.width = file, log, today, header, width
        self.unread = unread  # optional dates that could not be read, by column
        self.row = 1
        self.cells: list[str] = []
        self.bad = False

    def start(self, row: int, cells: list[str]) -> bool:
        """Begin a row; False for a blank row (every cell empty), which is skipped."""
        if len(cells) < self.width:
            cells = cells + [""] * (self.width - len(cells))
        self.row, self.cells, self.bad = row, cells, False
        joined = "".join(cells)
        return bool(joined) and not joined.isspace()

    def name(self, column: str) -> str:
        return self.header.get(column, column)

    def problem(self, code: Code, column: str, message: str) -> None:
        self.log.add(code, message, self.file, self.row, self.name(column))

    def error(self, code: Code, column: str, message: str) -> None:
        self.bad = True
        self.problem(code, column, message)

    def text(self, pos: int) -> str | None:
        """The cell at ``pos``, trimmed; None if missing (``values.clean``, inlined: this runs
        for every cell of every row)."""
        if pos < 0:
            return None
        value = self.cells[pos].strip()
        if not value or (len(value) == 4 and value.upper() == "NULL"):
            return None
        return value

    def ident(self, pos: int, column: str) -> str | None:
        """A required id (person id, row id or link): trimmed, at most 48 characters."""
        value = self.text(pos)
        if value is None:
            self.error(Code.MISSING_ID, column, f"{self.name(column)} is empty")
        elif len(value) > MAX_ID_LENGTH:
            self.error(
                Code.ID_TOO_LONG,
                column,
                f"{self.name(column)} must be {MAX_ID_LENGTH} characters or fewer",
            )
            return None
        return value

    def not_own_child(self, mother: str | None, child: str | None, column: str, other: str) -> None:
        """A mother-child link from a person to herself is an error (a link with nobody at its
        other end), whichever format it comes in."""
        if mother and child and canonical_id(mother) == canonical_id(child):
            self.error(
                Code.SELF_LINK,
                column,
                f"{self.name(column)} is the same person as {self.name(other)}. A mother cannot "
                "be her own child",
            )

    def date(
        self, pos: int, column: str, *, rule: bool, required: bool = False, expected: bool = False
    ) -> date | None:
        """A date. ``rule``: a rule depends on it, so a value that cannot be read is an error;
        any other unreadable date is left out and counted (``unread``), as the spec makes it
        neither an error nor a warning. ``required``: a missing value is an error too.
        ``expected``: an expected date of birth, which is in the future by nature."""
        value = self.text(pos)
        if value is None:
            if required:
                self.error(
                    Code.MISSING_DATE,
                    column,
                    f"{self.name(column)} is empty. Enter a date, {DATE_EXAMPLE}",
                )
            return None
        try:
            parsed = parse_date(value)
        except ValueError:
            name = self.name(column)
            if rule:
                self.error(Code.BAD_DATE, column, f"{name} must be a real date, {DATE_EXAMPLE}")
            else:
                self.unread[name] += 1
            return None
        if not expected and parsed > self.today:
            self.problem(Code.FUTURE_DATE, column, f"{self.name(column)} is in the future")
        return parsed

    def code(
        self,
        pos: int,
        column: str,
        code_list: CodeList,
        *,
        expected: bool = False,
    ) -> str | None:
        """A code, trimmed and upper-cased. An unrecognised one (``??`` included) is kept, with a
        warning, and will be treated as "for review": as given if it has the shape of the list's
        codes, else as ``quoting.NOT_SHOWN`` (what may not be quoted is not stored either).
        ``expected``: the row means nothing without a code (a legal status), so an empty one is
        flagged the same way."""
        value = self.text(pos)
        if value is None:
            if expected:
                self.unrecognised(column, code_list, "")
            return None
        code = value.upper()  # already trimmed: values.normalise_code, inlined
        if code_list is CodeList.GENDER and len(code) == 1 and code.isdigit():
            code = "0" + code  # a spreadsheet drops the leading zero of 02
        if code not in CODE_LISTS[code_list]:
            self.unrecognised(column, code_list, code)
            return kept_as(code_list, code)
        return code

    def unrecognised(self, column: str, code_list: CodeList | str, value: str) -> None:
        """Warn about an unrecognised value (quoted only if ``quoting`` allows); an empty
        ``value`` means the code is missing."""
        self.problem(Code.UNRECOGNISED_CODE, column, unrecognised_message(self.name(column), code_list, value))

    def nhs(self, positions: Sequence[tuple[int, str]]) -> tuple[str | None, bool]:
        """The NHS number from the first of ``positions`` that has a value, normalised, and
        whether it passes the check digit (a failure is a warning: kept, never matched on)."""
        for pos, column in positions:
            value = self.text(pos)
            if value is None:
                continue
            number = normalise_nhs_number(value)
            valid = nhs_number_is_valid(number)
            if not valid:
                self.problem(
                    Code.INVALID_NHS_NUMBER,
                    column,
                    f"{self.name(column)} is not a valid NHS number. It is kept but will not "
                    "be used to match people",
                )
            return number, valid
        return None, False


@dataclass
class ReadContext:
    """What the readers of one pass share: the problem log, the reference date for future-date
    warnings, the column mapping, and the counts the import summary shows."""

    log: ProblemLog
    today: date
    mapping: Mapping[str, str] = field(default_factory=dict)
    rows: Counter[str] = field(default_factory=Counter)  # data rows read, by file
    left_out: Counter[str] = field(default_factory=Counter)  # rows not imported, by reason
    unread: Counter[str] = field(default_factory=Counter)  # optional dates not read, by column
    failed: set[str] = field(default_factory=set)  # files that could not be read to the end
    # Person ids of rows that had an error: no record is made of them, but they are in the file,
    # so links to them are not reported as well (one bad date is one error, not one per link).
    present_with_errors: list[str] = field(default_factory=list)

    def quiet(self) -> ReadContext:
        """A context for re-reading a file whose problems were already recorded."""
        return ReadContext(ProblemLog(quiet=True), self.today, self.mapping)

    def fail(self, file: str, exc: FileUnreadable, row: int | None) -> None:
        self.failed.add(file)
        self.log.add(exc.code, exc.for_file(file), file, row)


def open_table(
    tf: TableFile, ctx: ReadContext, columns: Sequence[str], required: frozenset[str]
) -> tuple[RowReader, dict[str, int], Iterator[RowReader]] | None:
    """Read the header of ``tf`` and return a RowReader, the column positions and an iterator
    that advances the reader row by row (blank rows skipped). None when the file cannot be read
    or its header is wrong; the problems are recorded, and the file is marked failed."""
    rows = iter_rows(tf)
    try:
        header = next(rows, None)
    except FileUnreadable as exc:
        ctx.fail(tf.name, exc, 1)
        return None
    if header is None:
        ctx.failed.add(tf.name)
        ctx.log.add(Code.FILE_EMPTY, f"{tf.name} is empty", tf.name)
        return None
    if not any(h.strip() for h in header):
        ctx.failed.add(tf.name)
        ctx.log.add(
            Code.MISSING_COLUMN,
            f"{tf.name} must have its column names in the first row",
            tf.name,
            1,
        )
        return None
    pos = resolve_header(header, columns, required, ctx.mapping, tf.name, ctx.log)
    if pos is None:
        ctx.failed.add(tf.name)
        return None
    names = {c: header[p].strip() for c, p in pos.items() if p >= 0}
    reader = RowReader(tf.name, ctx.log, ctx.today, names, len(header), ctx.unread)

    def walk() -> Iterator[RowReader]:
        n = 1
        try:
            for cells in rows:
                n += 1
                if reader.start(n, cells):
                    ctx.rows[tf.name] += 1
                    yield reader
        except FileUnreadable as exc:
            ctx.fail(tf.name, exc, n + 1)

    return reader, pos, walk()
