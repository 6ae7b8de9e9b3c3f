"""Single values: dates, codes, NHS numbers, ids; and the compact id index."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from eligibility.extract.idindex import IdIndex
from eligibility.extract.values import (
    age_in_years,
    canonical_id,
    clean,
    nhs_number_is_valid,
    normalise_code,
    normalise_gender,
    normalise_nhs_number,
    normalise_postcode,
    parse_date,
)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2019-03-04", date(2019, 3, 4)),
        ("2019-03-04 00:00:00.000", date(2019, 3, 4)),
        ("2019-03-04T10:00:00", date(2019, 3, 4)),
        ("2019-03-04T23:59:59.1234567Z", date(2019, 3, 4)),
        ("2019-03-04 10:00", date(2019, 3, 4)),
        ("04/03/2019", date(2019, 3, 4)),
        ("4/3/2019", date(2019, 3, 4)),
        ("04/03/2019 00:00:00", date(2019, 3, 4)),
        ("29/02/2020", date(2020, 2, 29)),
        (datetime(2019, 3, 4, 10, 0), date(2019, 3, 4)),
        (date(2019, 3, 4), date(2019, 3, 4)),
    ],
)
def test_dates_that_read(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2019-02-30", "29/02/2019", "04/03/19", "2019/03/04", "20190304", "2019-03-04 25:00",
     "2019-03-04X", "03-04-2019", "tomorrow", "", "٠٤/٠٣/٢٠١٩", "4/13/2019", "2019-3-4",
     "04/03/2019 noon"],
)  # fmt: skip
def test_dates_that_do_not(text):
    with pytest.raises(ValueError):
        parse_date(text)


def test_missing_values():
    assert [clean(v) for v in ["", "  ", "NULL", " null ", "Null", None]] == [None] * 6
    assert clean(" NULLS ") == "NULLS" and clean(" Siân ") == "Siân"


def test_codes():
    assert [normalise_code(c) for c in [" C2", "MWBa", "e4a ", "??"]] == ["C2", "MWBA", "E4A", "??"]
    assert [normalise_gender(g) for g in ["2", "02", " 1 ", "99"]] == ["02", "02", "01", "99"]


@pytest.mark.parametrize("number", ["9434765919", "4010232137", "9990000026"])
def test_nhs_numbers_that_pass_the_check_digit(number):
    assert nhs_number_is_valid(number)


@pytest.mark.parametrize(
    "number",
    ["9434765910", "943476591", "94347659190", "943476591X", "１２３４５６７８９０",
     "1000000010"],  # the last: its check digit would be 10, which no valid number has
)  # fmt: skip
def test_nhs_numbers_that_fail(number):
    assert not nhs_number_is_valid(number)


def test_nhs_number_normalised_but_kept_as_given_otherwise():
    assert normalise_nhs_number(" 943 476-5919 ") == "9434765919"
    assert normalise_nhs_number("unknown") == "unknown"


def test_canonical_id_matches_the_pseudonymisation_tokens():
    from pseudonymisation.tokens import canonical_person_id

    for value in ["p001", " P001 ", "ｐ００１", "Ǆ12", "abc-Ä"]:
        assert canonical_id(value) == canonical_person_id(value)


def test_postcode_and_age():
    assert normalise_postcode(" ls1  4ap ") == "LS14AP"
    assert age_in_years(date(2000, 2, 29), date(2012, 2, 28)) == 11
    assert age_in_years(date(2000, 2, 29), date(2012, 2, 29)) == 12
    assert age_in_years(date(2012, 1, 1), date(2000, 1, 1)) == -12


def test_id_index():
    index = IdIndex(with_dates=True)
    for key, born in [("A", date(1990, 1, 1)), ("B", None), ("C", date(2000, 5, 6)), ("A", None)]:
        index.add(key, born)
    with pytest.raises(RuntimeError):
        _ = "A" in index
    assert index.seal() == {hash("A")}
    assert "B" in index and "C" in index and "D" not in index
    assert index.date_of("C") == date(2000, 5, 6) and index.date_of("B") is None
    assert index.date_of("D") is None and len(index) == 4
    plain = IdIndex()
    plain.add("x")
    assert plain.seal() == set() and "x" in plain and plain.date_of("x") is None


def test_a_hash_collision_is_never_reported_as_a_duplicate(monkeypatch):
    """Candidates from the index are confirmed by comparing the real ids."""
    from eligibility.extract import validate
    from tests.eligibility.extracts import Ssd

    real_seal = IdIndex.seal

    def colliding_seal(self):
        found = real_seal(self)
        return found | {hash("C2"), hash("L2")}  # pretend these collided with another id

    monkeypatch.setattr(IdIndex, "seal", colliding_seal)
    reading = Ssd().read()
    assert reading.ok and not reading.problems
    assert validate.IdIndex is IdIndex
