"""CSV that a spreadsheet cannot turn into a formula.

A cell beginning with = + - @, a tab or a carriage return may be run as a formula (or
split into one) by Excel, LibreOffice or Google Sheets when the file is opened: such a cell gets a
leading apostrophe, which the spreadsheet shows as text. The OWASP "CSV injection" advice.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(DANGEROUS_FIRST) else text


def as_csv(header: list[str], rows: Iterable[Iterable]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()
