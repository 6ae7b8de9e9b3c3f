"""Generalisation functions: dates of birth, postcodes, dates and ethnicity codes."""

from datetime import date, datetime

import pytest

from pseudonymisation.generalise import (
    BROAD_GROUPS,
    age_at,
    age_band,
    band,
    birth_year,
    ethnic_group,
    month_of,
    postcode_district,
    year_band,
    year_of,
)

# --- ages and dates of birth ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("dob", "on", "age"),
    [
        (date(1990, 6, 15), date(2025, 6, 14), 34),  # birthday not yet reached
        (date(1990, 6, 15), date(2025, 6, 15), 35),  # on the birthday
        (date(1990, 6, 15), date(2025, 6, 16), 35),
        (date(1990, 12, 31), date(2025, 1, 1), 34),
        (date(1990, 1, 1), date(2024, 12, 31), 34),
        (date(2000, 2, 29), date(2025, 2, 28), 24),  # leap-day DOB, non-leap year: not yet
        (date(2000, 2, 29), date(2025, 3, 1), 25),  # ... reached on 1 March
        (date(2000, 2, 29), date(2024, 2, 29), 24),  # leap year: on the day itself
        (date(2000, 2, 29), date(2024, 2, 28), 23),
        (date(2006, 3, 31), date(2006, 3, 31), 0),
    ],
)
def test_age_counts_completed_years(dob, on, age):
    assert age_at(dob, on) == age


def test_age_refuses_a_reference_date_before_birth():
    with pytest.raises(ValueError, match="before the date of birth"):
        age_at(date(2000, 1, 2), date(2000, 1, 1))


def test_birth_year():
    assert birth_year(date(1991, 7, 4)) == "1991"


@pytest.mark.parametrize(
    ("dob", "width", "label"),
    [
        (date(1990, 6, 15), 10, "30-39"),  # 34 on 2025-03-31
        (date(1990, 6, 15), 5, "30-34"),
        (date(1990, 3, 31), 5, "35-39"),  # turns 35 on the reference date
        (date(1990, 4, 1), 5, "30-34"),  # 34 until tomorrow
        (date(1995, 3, 31), 10, "30-39"),  # exactly 30: lower boundary
        (date(1995, 4, 1), 10, "20-29"),  # 29: upper boundary
        (date(1985, 4, 1), 10, "30-39"),  # 39
        (date(1985, 3, 31), 10, "40-49"),  # 40
        (date(2006, 1, 1), 5, "15-19"),  # 19
        (date(2000, 2, 29), 5, "25-29"),  # leap-day DOB, 25 on 2025-03-31
    ],
)
def test_age_band_at_reference_date(dob, width, label):
    assert age_band(dob, date(2025, 3, 31), width) == label


def test_age_band_defaults_to_ten_years_and_allows_only_five_or_ten():
    assert age_band(date(1990, 6, 15), date(2025, 3, 31)) == "30-39"
    for width in (0, 1, 3, 20):
        with pytest.raises(ValueError, match="5 or 10"):
            age_band(date(1990, 6, 15), date(2025, 3, 31), width)


def test_band_is_aligned_to_multiples_of_its_width():
    assert band(0, 5) == "0-4"
    assert band(4, 5) == "0-4"
    assert band(5, 5) == "5-9"
    assert band(2019, 5) == "2015-2019"
    assert band(2020, 5) == "2020-2024"
    with pytest.raises(ValueError):
        band(3, 0)
    with pytest.raises(TypeError):
        band(True, 5)


# --- postcodes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("postcode", "district"),
    [
        ("B69 3DL", "B69"),
        ("b693dl", "B69"),
        ("  b69   3dl ", "B69"),
        ("B69\t3DL", "B69"),
        ("M1 1AE", "M1"),  # A9
        ("m11ae", "M1"),
        ("CR2 6XH", "CR2"),  # AA9
        ("DN55 1PT", "DN55"),  # AA99
        ("W1A 0AX", "W1A"),  # A9A
        ("EC1A 1BB", "EC1A"),  # AA9A
        ("sw1a1aa", "SW1A"),
        ("WS10 9RB", "WS10"),
        ("GIR 0AA", "GIR"),
    ],
)
def test_postcode_district_is_the_outward_code(postcode, district):
    assert postcode_district(postcode) == district


@pytest.mark.parametrize(
    "postcode",
    [
        "",
        "   ",
        "B69",  # outward code only
        "3DL",
        "B69 3D",  # inward code too short
        "B69 3DLX",  # too long
        "B693 3DL",  # outward code too long
        "12345",
        "B69 DL3",
        "B69 3CL",  # C never appears in an inward code
        "QA1 1AA",  # Q never starts a postcode
        "B69-3DL",
        "GIR 1AA",
    ],
)
def test_invalid_postcodes_raise_a_clear_error_that_does_not_echo_the_value(postcode):
    with pytest.raises(ValueError, match="not a valid full UK postcode") as excinfo:
        postcode_district(postcode)
    with pytest.raises(ValueError) as other:
        postcode_district("ZZZ")
    assert str(excinfo.value) == str(other.value)  # the same words whatever the input


def test_postcode_must_be_a_string():
    with pytest.raises(TypeError):
        postcode_district(None)


# --- other dates --------------------------------------------------------------------------


def test_month_and_year_of_a_date():
    assert month_of(date(2019, 3, 7)) == "2019-03"
    assert month_of(date(2019, 12, 31)) == "2019-12"
    assert month_of(datetime(2019, 3, 7, 23, 59)) == "2019-03"
    assert year_of(date(2019, 3, 7)) == "2019"


@pytest.mark.parametrize(
    ("when", "width", "label"),
    [
        (date(2015, 1, 1), 5, "2015-2019"),  # lower boundary
        (date(2019, 12, 31), 5, "2015-2019"),  # upper boundary
        (date(2020, 1, 1), 5, "2020-2024"),
        (date(2008, 6, 1), 5, "2005-2009"),
        (date(2019, 6, 1), 10, "2010-2019"),
        (date(2020, 6, 1), 10, "2020-2029"),
        (date(2019, 6, 1), 2, "2018-2019"),
        (date(2019, 6, 1), 1, "2019-2019"),
        (2017, 5, "2015-2019"),  # a bare year works too
    ],
)
def test_year_band(when, width, label):
    assert year_band(when, width) == label


def test_year_band_rejects_other_types():
    with pytest.raises(TypeError):
        year_band("2019", 5)
    with pytest.raises(ValueError):
        year_band(2019, 0)


# --- ethnicity ----------------------------------------------------------------------------

EXPECTED_GROUPS = {
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
    "CHNE": "Asian",  # ONS 2021
    "BCRB": "Black",
    "BAFR": "Black",
    "BOTH": "Black",
    "OOTH": "Other",
    "REFU": "Not known",
    "NOBT": "Not known",
}


@pytest.mark.parametrize(("code", "group"), sorted(EXPECTED_GROUPS.items()))
def test_every_listed_code_maps_to_its_broad_group(code, group):
    assert ethnic_group(code) == group
    assert group in BROAD_GROUPS


@pytest.mark.parametrize(
    ("code", "group"),
    [(" wbri", "White"), ("WBRI ", "White"), ("\tchne\n", "Asian"), ("bCrB", "Black"),
     (" refu ", "Not known")],
)
def test_codes_are_normalised_for_spaces_and_case(code, group):
    assert ethnic_group(code) == group


@pytest.mark.parametrize("code", [None, "", "   ", "XXXX", "WBR", "WBRIX", "W BRI", "White", 42])
def test_missing_and_unrecognised_codes_are_not_known(code):
    assert ethnic_group(code) == "Not known"


def test_bands_can_be_aligned_at_an_offset():
    from pseudonymisation.generalise import band

    assert band(34, 10, 5) == "25-34" and band(35, 10, 5) == "35-44" and band(34, 10, 0) == "30-39"
    assert band(2019, 5, 1) == "2016-2020" and band(2015, 5, 1) == "2011-2015"
    assert year_band(2019, 5, 1) == "2016-2020"
    assert age_band(date(1990, 6, 1), date(2025, 3, 31), 10, 5) == "25-34"
