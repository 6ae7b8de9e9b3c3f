"""A row with a bad value still counts as present for linking (issue 24): two bad dates of birth on
child rows are two errors, not two plus one "does not match any person" for every link to them."""

from __future__ import annotations

from eligibility.extract import Code
from tests.eligibility.extracts import Ssd, codes_of


def test_two_bad_child_dates_of_birth_are_two_errors_and_no_more():
    bad = Ssd().set("ssd_person", 1, pers_dob="2012-13-45").set("ssd_person", 2, pers_dob="not a date")
    reading = bad.read()
    assert not reading.ok
    assert [(p.code, p.file, p.row, p.column) for p in reading.errors] == [
        (Code.BAD_DATE, "ssd_person.csv", 3, "pers_dob"),
        (Code.BAD_DATE, "ssd_person.csv", 4, "pers_dob"),
    ]
    assert codes_of(reading, Code.UNKNOWN_PERSON) == []


def test_a_link_to_someone_truly_missing_is_still_an_error():
    bad = Ssd().set("ssd_person", 1, pers_dob="2012-13-45").set("ssd_legal_status", 1, lega_person_id="NOBODY")
    reading = bad.read()
    unknown = codes_of(reading, Code.UNKNOWN_PERSON)
    assert [(p.file, p.row, p.column) for p in unknown] == [("ssd_legal_status.csv", 3, "lega_person_id")]
    assert len(codes_of(reading, Code.BAD_DATE)) == 1
