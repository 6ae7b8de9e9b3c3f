"""Rows of one file as lists of strings, header first, whether the file is a CSV or an XLSX.

CSV: through ``decoding.open_text`` and the csv module (excel dialect: commas, double quotes,
quoted line breaks). A physical line longer than ``MAX_LINE`` characters is refused rather than
held in memory: no real case row comes near it, and a binary file without line breaks would
otherwise be read into one enormous string.

XLSX: openpyxl in read-only mode, which streams the sheet's XML; openpyxl parses with defusedxml
whenever defusedxml is installed (``openpyxl.DEFUSEDXML``), so entity expansion and external
entities are refused. That is checked before every read: without it, nothing is parsed. The
container's size and part count were already checked by ``bundle``. Cells become strings the
way the same sheet would be saved as CSV (dates as ISO dates, whole numbers without ``.0``) so
both file types go through one cleaning path.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Iterator
from datetime import date, datetime, time

from eligibility.extract.decoding import SAVE_AS, open_text
from eligibility.extract.files import FileKind, TableFile
from eligibility.extract.problems import Code, FileUnreadable

MAX_LINE = 1024 * 1024


def iter_rows(tf: TableFile) -> Iterator[list[str]]:
    """The rows of ``tf``, header first. Raises ``FileUnreadable`` where the file stops being
    readable (possibly after some rows: the caller reports the row it reached)."""
    if tf.kind is FileKind.XLSX:
        return _xlsx_rows(tf)
    return _csv_rows(tf)


def _lines(text) -> Iterator[str]:
    readline = text.readline
    while line := readline(MAX_LINE):
        if len(line) == MAX_LINE and not line.endswith(("\n", "\r")):
            raise FileUnreadable(
                Code.MALFORMED,
                "{file} has a line that is too long to be a row of an extract. Check it is the "
                "right file",
            )
        yield line


def _csv_rows(tf: TableFile) -> Iterator[list[str]]:
    with tf.open() as raw:
        text = open_text(raw)
        try:
            yield from csv.reader(_lines(text))
        except csv.Error as exc:
            raise FileUnreadable(
                Code.MALFORMED,
                f"{{file}} cannot be read as a CSV file ({_why(exc)}). {SAVE_AS}",
            ) from exc


def _why(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"a value is longer than {csv.field_size_limit():,} characters"
    return "its quotes or line breaks are not as a CSV file has them"


def _require_defusedxml():
    import openpyxl

    if openpyxl.DEFUSEDXML is not True:  # a deployment fault, not the caseworker's: fail loudly
        raise RuntimeError(
            "openpyxl is not using defusedxml (is defusedxml installed, and OPENPYXL_DEFUSEDXML "
            "unset?): XLSX files are not read without it"
        )
    return openpyxl


def _broken(exc: Exception) -> FileUnreadable:
    from defusedxml import DefusedXmlException

    chain: BaseException | None = exc
    while chain is not None and not isinstance(chain, DefusedXmlException):
        chain = chain.__cause__ or chain.__context__  # openpyxl re-raises as ValueError
    if chain is not None:
        reason = "it contains XML features that are not allowed"
    else:
        reason = "it may be damaged, or protected with a password"
    return FileUnreadable(
        Code.BROKEN_XLSX, f"{{file}} cannot be opened as an XLSX spreadsheet: {reason}"
    )


def _xlsx_rows(tf: TableFile) -> Iterator[list[str]]:
    openpyxl = _require_defusedxml()
    with tf.open() as raw:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # openpyxl warns about styles it does not read
                book = openpyxl.load_workbook(raw, read_only=True, data_only=True, keep_links=False)
        except Exception as exc:  # openpyxl raises many types on a damaged file
            raise _broken(exc) from exc
        try:
            if not book.worksheets:
                return
            sheet = book.worksheets[0]
            sheet.reset_dimensions()  # a wrong <dimension> tag must not cut rows off
            rows = sheet.iter_rows(values_only=True)
            while True:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        values = next(rows)
                except StopIteration:
                    return
                except Exception as exc:  # a damaged sheet part, found while streaming it
                    raise _broken(exc) from exc
                yield [_cell(v) for v in values]
        finally:
            book.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    return str(value)
