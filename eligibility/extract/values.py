"""Single values as real exports spell them: dates, codes, NHS numbers, ids, postcodes.

Everything here is called once per cell of a file that can have millions of rows, so the common
shapes take the fast path: an ISO date is handed to the C ``date.fromisoformat`` (about 0.15 us,
against 4 us for ``strptime``), a UK date is split and sliced, and a regular expression only
looks at what follows a date (a time part) when there is one.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache

MAX_ID_LENGTH = 48  # the SSD says <= 20 characters; real SSD scripts use up to 48

# A time part after an ISO or UK date: " 00:00:00.000", "T10:00:00", " 10:00", "T10:00:00Z".
# The time itself is ignored (every rule works on days), but it must look like a time.
_TIME = re.compile(
    r"[ T](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)
_UK_TIME = re.compile(r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d{1,9})?)?", re.ASCII)


def clean(value: str | None) -> str | None:
    """Trimmed text, or None for a missing value: empty, only spaces, or the literal ``NULL``
    (any case) that SQL Server exports write for a missing value."""
    if not value:
        return None
    value = value.strip()
    if not value or (len(value) == 4 and value.upper() == "NULL"):
        return None
    return value


def parse_date(value: str | date) -> date:
    if isinstance(value, str):
        return _parse_date_text(value)
    return _parse_date(value)


@lru_cache(maxsize=1 << 16)
def _parse_date_text(value: str) -> date:
    """Extracts repeat the same dates on many rows: each spelling is parsed once (exceptions are
    never cached, so a bad date is reported every time)."""
    return _parse_date(value)


def _parse_date(value: str | date) -> date:
    """A date from ``2019-03-04``, ``2019-03-04 00:00:00.000``, ``2019-03-04T10:00:00``,
    ``04/03/2019`` or ``4/3/2019`` (day first: these are UK exports), or a date/datetime
    already typed by a spreadsheet. Raises ValueError for anything else, including a two-digit
    year (its century is a guess) and a day that does not exist (``2019-02-30``)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = value.strip()
    n = len(text)
    if n >= 10 and text[4] == "-" and text[7] == "-":
        if n > 10 and not _TIME.fullmatch(text, 10):
            raise ValueError("not a date")
        return date.fromisoformat(text[:10])  # strict YYYY-MM-DD, ASCII digits only
    head, _, time_part = text.partition(" ")
    parts = head.split("/")
    if len(parts) != 3 or (time_part and not _UK_TIME.fullmatch(time_part.strip())):
        raise ValueError("not a date")
    day, month, year = parts
    if not (
        len(year) == 4
        and 1 <= len(month) <= 2
        and 1 <= len(day) <= 2
        and head.isascii()
        and (day + month + year).isdigit()
    ):
        raise ValueError("not a date")
    return date(int(year), int(month), int(day))


def normalise_code(value: str) -> str:
    """Codes arrive with stray spaces or in the wrong case (`` C2``, ``MWBa``). A placeholder
    such as ``??`` is kept as given: the caller flags it as an unrecognised code."""
    return value.strip().upper()


def normalise_gender(value: str) -> str:
    """SSD gender codes are two digits; a spreadsheet often drops the leading zero (2 -> 02)."""
    code = value.strip()
    return code.zfill(2) if len(code) == 1 and code.isdigit() else code.upper()


def normalise_nhs_number(value: str) -> str:
    """Spaces and hyphens removed (``943 476 5919``, ``943-476-5919``); otherwise as given, so an
    invalid number is kept exactly as the Trust holds it."""
    return value.replace(" ", "").replace("-", "").strip()


def nhs_number_is_valid(number: str) -> bool:
    """Ten ASCII digits whose last is the modulus 11 check digit of the first nine (weights 10
    down to 2; a remainder giving 11 means 0, one giving 10 means no valid number)."""
    if len(number) != 10 or not number.isascii() or not number.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(number[9])


def canonical_id(value: str) -> str:
    """The spelling two ids are compared in: Unicode-normalised, trimmed, upper case. Mirrors
    ``pseudonymisation.tokens.canonical_person_id`` (not imported: this package is pure Python
    with no Django), so the links checked here are the links the database side will make."""
    text = value if value.isascii() else unicodedata.normalize("NFKC", value)
    return text.strip().upper()


def normalise_postcode(value: str) -> str:
    """Spaces removed and upper case, as the SSD address table keeps postcodes."""
    return "".join(value.split()).upper()


def age_in_years(born: date, on: date) -> int:
    """Whole years; negative when ``on`` is before ``born``."""
    years = on.year - born.year
    if (on.month, on.day) < (born.month, born.day):
        years -= 1
    return years
