"""Generalisation: make a quasi-identifier coarser so that it no longer singles a woman out.

With cohorts of about fifty women, an exact date of birth, a full postcode or a detailed
ethnicity code can pick out one person even after her name and identifiers are replaced by a
pseudonym. Each function here maps a value to a coarser *label* (always a string, because these
labels are what a release shows, and because mixing ints and strings in one column breaks the
equivalence classes that k-anonymity counts). They are the building blocks of the
generalisation hierarchies handed to `pseudonymisation.kanonymity`.

Pure Python, no Django: this module is part of a leaf app.
"""

from __future__ import annotations

import re
from datetime import date

# Every label a generaliser may produce for a fully suppressed value.
SUPPRESSED = "*"


# --- numbers and bands --------------------------------------------------------------------
def band(value: int, width: int, offset: int = 0) -> str:
    """The band of `width` containing `value`, aligned to multiples of `width` shifted by
    `offset`: band(34, 10) == "30-39", band(34, 10, offset=5) == "25-34".

    A fixed alignment means the same value always lands in the same band, so two releases banded
    the same way cannot be differenced to narrow a value down. A release may choose another
    offset once (small cohorts often need it: see kanonymity.k_anonymise_best), and must then
    keep it for every later version of itself.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("band() needs an int value")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError("band width must be a positive whole number")
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise TypeError("band() needs an int offset")
    start = value - (value - offset) % width
    return f"{start}-{start + width - 1}"


# --- dates of birth -----------------------------------------------------------------------
def age_at(dob: date, on: date) -> int:
    """Age in completed years on `on`: a birthday not yet reached that year does not count.

    Someone born on 29 February has her birthday on 1 March in a non-leap year (the UK rule for
    reaching an age, and what a plain (month, day) comparison gives).
    """
    if on < dob:
        raise ValueError("the reference date is before the date of birth")
    before_birthday = (on.month, on.day) < (dob.month, dob.day)
    return on.year - dob.year - int(before_birthday)


def birth_year(dob: date) -> str:
    """Date of birth -> year of birth ("1991")."""
    return str(dob.year)


def age_band(dob: date, on: date, width: int = 10, offset: int = 0) -> str:
    """Date of birth -> age band at the reference date `on` ("30-39" for width 10, "30-34" for 5).

    An age band rather than a year of birth is usually the better release: it means the same
    thing to a reader whenever the release is read, provided `on` is stated alongside it.
    """
    if width not in (5, 10):
        raise ValueError("age bands are 5 or 10 years wide")
    return band(age_at(dob, on), width, offset)


# --- postcodes ----------------------------------------------------------------------------
# The outward code (area + district, e.g. "B69", "SW1A") followed by the inward code (sector
# digit + unit letters, e.g. "3DL"). Letter restrictions follow the Royal Mail / BS 7666
# pattern, so typos such as a "C" in the inward code are rejected rather than guessed at.
_OUTWARD = r"(?:[A-PR-UWYZ][0-9][0-9A-HJKPSTUW]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9ABEHMNPRVWXY]?|GIR)"
_INWARD = r"[0-9][ABD-HJLNP-UW-Z]{2}"
_POSTCODE = re.compile(rf"(?P<outward>{_OUTWARD})(?P<inward>{_INWARD})")


def postcode_district(postcode: str) -> str:
    """Full UK postcode -> postal district, i.e. its outward code: "B69 3DL" -> "B69".

    Spaces and case are ignored ("b693dl" -> "B69"). An invalid postcode raises ValueError; the
    message deliberately does not repeat the value, because error messages end up in logs and a
    postcode is personal data.
    """
    if not isinstance(postcode, str):
        raise TypeError("a postcode must be a string")
    compact = re.sub(r"\s+", "", postcode).upper()
    match = _POSTCODE.fullmatch(compact)
    if match is None or (match["outward"] == "GIR" and match["inward"] != "0AA"):
        raise ValueError(
            "not a valid full UK postcode (expected an outward and inward code, e.g. 'B69 3DL')"
        )
    return match["outward"]


# --- other dates --------------------------------------------------------------------------
def month_of(day: date) -> str:
    """A date -> its month, "2019-03"."""
    return f"{day.year:04d}-{day.month:02d}"


def year_of(day: date) -> str:
    """A date -> its year, "2019"."""
    return f"{day.year:04d}"


def year_band(day: date | int, width: int = 5, offset: int = 0) -> str:
    """A date (or a year) -> a band of `width` years aligned to multiples of `width` (shifted by
    `offset`): "2015-2019"."""
    if isinstance(day, date):
        return band(day.year, width, offset)
    if isinstance(day, int) and not isinstance(day, bool):
        return band(day, width, offset)
    raise TypeError("year_band() needs a date or a year")


# --- ethnicity ----------------------------------------------------------------------------
NOT_KNOWN = "Not known"

# DfE (school census / children in need) main ethnicity codes -> ONS 2021 broad groups.
_BROAD_GROUP: dict[str, str] = {
    # White, including Irish Traveller and Gypsy/Roma, as in the ONS 2021 White group.
    "WBRI": "White",
    "WIRI": "White",
    "WOTH": "White",
    "WIRT": "White",
    "WROM": "White",
    "MWBC": "Mixed",
    "MWBA": "Mixed",
    "MWAS": "Mixed",
    "MOTH": "Mixed",
    "AIND": "Asian",
    "APKN": "Asian",
    "ABAN": "Asian",
    "AOTH": "Asian",
    # DfE codes Chinese as its own top-level group; the ONS 2021 classification places Chinese
    # under "Asian, Asian British or Asian Welsh", which is the grouping used here.
    "CHNE": "Asian",
    "BCRB": "Black",
    "BAFR": "Black",
    "BOTH": "Black",
    "OOTH": "Other",
    # Refused and not obtained are not ethnic groups: they fall through to NOT_KNOWN below.
}

BROAD_GROUPS: tuple[str, ...] = ("White", "Mixed", "Asian", "Black", "Other", NOT_KNOWN)


def ethnic_group(code: str | None) -> str:
    """DfE ethnicity code -> ONS 2021 broad group ("White", "Mixed", "Asian", "Black", "Other").

    Codes arrive from case systems with stray spaces and in any case (" wbri"), so they are
    normalised first. Refused (REFU), not obtained (NOBT), missing and unrecognised codes all
    become "Not known": guessing a group would be worse than admitting we do not know.
    """
    if not isinstance(code, str):
        return NOT_KNOWN
    return _BROAD_GROUP.get(code.strip().upper(), NOT_KNOWN)
