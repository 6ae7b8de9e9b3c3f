"""Every error and every warning the specification lists, one test each (with the formats and
columns each applies to as parameters). An error refuses the whole import: the reading is not
ok, and no record comes out. A warning keeps the row and says why."""

from __future__ import annotations

import pytest

from eligibility.extract import Code, ExtractRefused, Level, read_extract
from tests.eligibility.extracts import (
    TODAY,
    VALID_NHS,
    Ssd,
    codes_of,
    flat_csv,
    flat_row,
    flat_rows,
    upload,
)


def refused(reading, code, *, file=None, row=None, column=None):
    assert not reading.ok
    found = codes_of(reading, code)
    assert found, reading.problems
    problem = found[0]
    assert problem.level is Level.ERROR
    if file is not None:
        assert problem.file == file
    if row is not None:
        assert problem.row == row
    if column is not None:
        assert problem.column == column
    with pytest.raises(ExtractRefused):
        next(reading.iter_records())
    return problem


def warned(reading, code, *, row=None, column=None):
    assert reading.ok, reading.errors
    found = codes_of(reading, code)
    assert found, reading.problems
    assert found[0].level is Level.WARNING
    if row is not None:
        assert found[0].row == row
    if column is not None:
        assert found[0].column == column
    return found[0]


# --- errors: the file cannot be read ---------------------------------------------------------


def test_error_wrong_type():
    reading = read_extract(upload(("cases.pdf", b"%PDF-1.4")), today=TODAY)
    problem = refused(reading, Code.WRONG_TYPE)
    assert problem.message == "The selected file must be a CSV, XLSX or ZIP"


def test_error_empty_file():
    files = Ssd().named()
    files[1] = ("ssd_mother.csv", b"")
    problem = refused(read_extract(upload(*files), today=TODAY), Code.FILE_EMPTY)
    assert problem.message == "ssd_mother.csv is empty"


def test_error_nul_bytes():
    data = Ssd().table_bytes("ssd_person").replace(b"Bea", b"B\x00a")
    files = [(n, data if n == "ssd_person.csv" else d) for n, d in Ssd().named()]
    problem = refused(
        read_extract(upload(*files), today=TODAY), Code.NUL_BYTES, file="ssd_person.csv"
    )
    assert "NUL characters" in problem.message


def test_error_broken_zip():
    data = Ssd().zip()[0][1].getvalue()
    broken = data[: len(data) // 2]  # cut short: no central directory
    problem = refused(read_extract(upload(("extract.zip", broken)), today=TODAY), Code.BROKEN_ZIP)
    assert "cannot be opened" in problem.message


# --- errors: headers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table,column",
    [
        ("ssd_person", "pers_dob"),
        ("ssd_mother", "moth_childs_person_id"),
        ("ssd_legal_status", "lega_legal_status_start_date"),
        ("ssd_cla_episodes", "clae_cla_episode_ceased_reason"),
    ],
)
def test_error_required_column_missing(table, column):
    extract = Ssd()
    extract.headers[table].remove(column)
    problem = refused(extract.read(), Code.MISSING_COLUMN, file=f"{table}.csv", row=1)
    assert problem.message == f"{table}.csv must have a column called {column}"


def test_error_required_column_missing_in_flat_template():
    header = [c for c in flat_csv([flat_row()]).decode().splitlines()[0].split(",")]
    data = flat_csv([flat_row()]).decode().replace("child_dob", "child_birthday").encode()
    assert "child_dob" in header
    refused(read_extract(upload(("cases.csv", data)), today=TODAY), Code.MISSING_COLUMN)


def test_error_header_duplicated():
    extract = Ssd()
    extract.headers["ssd_legal_status"].append(" LEGA_PERSON_ID ")  # same once trimmed, any case
    problem = refused(extract.read(), Code.DUPLICATE_COLUMN, file="ssd_legal_status.csv", row=1)
    assert "more than one column called LEGA_PERSON_ID" in problem.message


# --- errors: a row id repeats ---------------------------------------------------------------


@pytest.mark.parametrize(
    "table,row,column",
    [
        ("ssd_person", Ssd.person("c1", "Dup", "Licate"), "pers_person_id"),  # case-insensitive
        ("ssd_mother", {"moth_table_id": "T1", "moth_person_id": "M1",
                        "moth_childs_person_id": "C2"}, "moth_table_id"),
        ("ssd_legal_status", Ssd.legal("L1", "C2", "C1", "2017-01-01"), "lega_legal_status_id"),
        ("ssd_cla_episodes", Ssd.episode("E1", "C2", "", "", ""), "clae_cla_episode_id"),
    ],
)  # fmt: skip
def test_error_row_id_repeats(table, row, column):
    extract = Ssd().add(table, row)
    last_row = len(extract.rows[table]) + 1  # header is row 1
    problem = refused(extract.read(), Code.DUPLICATE_ID, file=f"{table}.csv", row=last_row)
    assert problem.column == column
    assert len(codes_of(extract.read(), Code.DUPLICATE_ID)) == 1  # the first use is not an error


def test_error_row_repeats_in_flat_template():
    rows = flat_rows() + [flat_row()]  # the same child, event type, code and start date
    reading = read_extract(upload(("cases.csv", flat_csv(rows))), today=TODAY)
    refused(reading, Code.DUPLICATE_ID, row=5)


# --- errors: a link points to a person not in the extract ------------------------------------


@pytest.mark.parametrize(
    "table,index,column",
    [
        ("ssd_mother", 0, "moth_person_id"),
        ("ssd_mother", 1, "moth_childs_person_id"),
        ("ssd_legal_status", 1, "lega_person_id"),
        ("ssd_cla_episodes", 0, "clae_person_id"),
    ],
)
def test_error_link_to_person_not_in_extract(table, index, column):
    extract = Ssd().set(table, index, **{column: "NOBODY"})
    problem = refused(extract.read(), Code.UNKNOWN_PERSON, file=f"{table}.csv", row=index + 2)
    assert problem.column == column
    assert "does not match any person in ssd_person.csv" in problem.message


def test_error_mother_linked_to_herself():
    reading = Ssd().set("ssd_mother", 0, moth_childs_person_id="m1").read()
    problem = refused(reading, Code.SELF_LINK, row=2, column="moth_childs_person_id")
    assert problem.message == (
        "moth_childs_person_id is the same person as moth_person_id. A mother cannot be her own child"
    )
    flat = read_extract(upload(("cases.csv", flat_csv([flat_row(child_id="M1")]))), today=TODAY)
    refused(flat, Code.SELF_LINK, row=2, column="child_id")


def test_error_flat_template_person_details_not_repeated_consistently():
    rows = flat_rows()
    rows[2]["mother_surname"] = "Smith"  # her other rows say O'Brien
    reading = read_extract(upload(("cases.csv", flat_csv(rows))), today=TODAY)
    problem = refused(reading, Code.INCONSISTENT_REPEAT, row=4, column="mother_surname")
    assert "different from row 2" in problem.message


# --- errors: a date a rule depends on cannot be read ------------------------------------------


@pytest.mark.parametrize(
    "table,index,column",
    [
        ("ssd_legal_status", 0, "lega_legal_status_start_date"),
        ("ssd_legal_status", 0, "lega_legal_status_end_date"),
        ("ssd_cla_episodes", 0, "clae_cla_episode_ceased_date"),
        ("ssd_person", 0, "pers_dob"),  # the mother's date of birth
        ("ssd_person", 1, "pers_dob"),  # a child's
        ("ssd_person", 0, "pers_expected_dob"),
        ("ssd_mother", 0, "moth_childs_dob"),
    ],
)
def test_error_rule_date_cannot_be_read(table, index, column):
    extract = Ssd().set(table, index, **{column: "31/02/2019"})
    problem = refused(extract.read(), Code.BAD_DATE, file=f"{table}.csv", row=index + 2)
    assert problem.column == column
    assert problem.message == f"{column} must be a real date, like 2019-03-04 or 04/03/2019"


def test_error_legal_status_without_start_date():
    extract = Ssd().set("ssd_legal_status", 0, lega_legal_status_start_date="NULL")
    refused(extract.read(), Code.MISSING_DATE, row=2, column="lega_legal_status_start_date")


def test_unreadable_date_no_rule_uses_is_neither_error_nor_warning():
    extract = Ssd().set("ssd_cla_episodes", 0, clae_cla_episode_start_date="soon")
    reading = extract.read()
    assert reading.ok and not reading.problems
    assert reading.values_not_read == {"clae_cla_episode_start_date": 1}
    assert next(reading.episodes()).start_date is None


# --- warnings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table,index,column,value",
    [
        ("ssd_legal_status", 0, "lega_legal_status", "??"),
        ("ssd_legal_status", 0, "lega_legal_status", "C9"),
        ("ssd_cla_episodes", 0, "clae_cla_episode_ceased_reason", "E99"),
        ("ssd_person", 0, "pers_sex", "Q"),  # an ethnicity is never quoted: test_problem_quoting.py
    ],
)
def test_warning_unrecognised_code_kept_for_review(table, index, column, value):
    reading = Ssd().set(table, index, **{column: value}).read()
    problem = warned(reading, Code.UNRECOGNISED_CODE, row=index + 2, column=column)
    assert f"not recognised ({value})" in problem.message and "review" in problem.message
    kept = [r for r in reading.iter_records() if r.file == f"{table}.csv" and r.row == index + 2]
    assert len(kept) == 1


def test_warning_nhs_number_fails_check_digit():
    reading = Ssd().set("ssd_person", 0, pers_common_child_id="943 476 5910").read()
    warned(reading, Code.INVALID_NHS_NUMBER, row=2, column="pers_common_child_id")
    mother = next(reading.persons())
    assert mother.nhs_number == "9434765910" and mother.nhs_number_valid is False


def test_warning_mother_younger_than_12_at_birth():
    reading = Ssd().set("ssd_person", 0, pers_dob="2003-01-01").read()  # 9 when C1 was born
    problem = warned(reading, Code.MOTHER_UNDER_12, row=2)
    assert problem.file == "ssd_mother.csv"
    assert len(codes_of(reading, Code.MOTHER_UNDER_12)) == 1  # C2: she was 12


def test_warning_mother_younger_than_12_in_flat_template():
    rows = [flat_row(mother_dob="2005-01-01")]
    reading = read_extract(upload(("cases.csv", flat_csv(rows))), today=TODAY)
    warned(reading, Code.MOTHER_UNDER_12, row=2, column="child_dob")


def test_warning_date_in_future_but_not_an_expected_date_of_birth():
    extract = Ssd().set("ssd_legal_status", 1, lega_legal_status_start_date="2030-01-01")
    extract.set("ssd_person", 0, pers_expected_dob="2024-09-01", pers_common_child_id=VALID_NHS)
    reading = extract.read()
    problem = warned(reading, Code.FUTURE_DATE, row=3, column="lega_legal_status_start_date")
    assert problem.message == "lega_legal_status_start_date is in the future"
    assert len(codes_of(reading, Code.FUTURE_DATE)) == 1  # the due date is not flagged
