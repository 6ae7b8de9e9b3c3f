"""Real exports as they come: encodings, line ends, NULL, dates with times, UK dates, messy
codes, long ids, either NHS column, extra columns, column mappings, and what is left out."""

from __future__ import annotations

from datetime import date

import pytest

from eligibility.extract import (
    Code,
    EpisodeRow,
    ExtractRefused,
    Limits,
    PersonRow,
    decoding,
    read_extract,
    scan_extract,
    sources,
)
from eligibility.extract.decoding import Utf8OrCp1252Decoder
from eligibility.extract.problems import FileUnreadable
from tests.eligibility.extracts import (
    OTHER_VALID_NHS,
    TODAY,
    VALID_NHS,
    Ssd,
    codes_of,
    csv_bytes,
    upload,
)


def person_file(extract: Ssd, data: bytes):
    return upload(*[(n, data if n == "ssd_person.csv" else d) for n, d in extract.named()])


def mother(reading) -> PersonRow:
    return next(reading.persons())


# --- encodings and line ends ------------------------------------------------------------------


@pytest.mark.parametrize("bom", [True, False])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_utf8_with_or_without_bom_and_any_line_end(bom, newline):
    extract = Ssd().set("ssd_person", 0, pers_forename="Siân", pers_surname="O’Brien")
    reading = read_extract(extract.files(bom=bom, newline=newline), today=TODAY)
    assert reading.ok, reading.problems
    assert (mother(reading).forename, mother(reading).surname) == ("Siân", "O’Brien")
    assert mother(reading).person_id == "M1"  # no BOM glued to the first header or value


def test_windows_1252_names():
    extract = Ssd().set("ssd_person", 0, pers_forename="Zoë", pers_surname="O’Brien")
    extract.set("ssd_person", 1, pers_forename="Siân")
    data = extract.table_bytes("ssd_person", encoding="cp1252")
    assert b"Zo\xeb" in data and b"O\x92Brien" in data
    reading = read_extract(person_file(extract, data), today=TODAY)
    assert reading.ok, reading.problems
    people = list(reading.persons())
    assert (people[0].forename, people[0].surname, people[1].forename) == ("Zoë", "O’Brien", "Siân")


def test_windows_1252_first_met_deep_in_a_large_file():
    extract = Ssd()
    for n in range(5000):  # > 3 x 64KB of ASCII before the first non-ASCII byte
        extract.add("ssd_person", Ssd.person(f"P{n:05d}", "Amy", "Jones"))
    extract.add("ssd_person", Ssd.person("P99999", "Zoë", "Brontë"))
    data = extract.table_bytes("ssd_person", encoding="cp1252")
    assert data.index(b"\xeb") > 3 * decoding.CHUNK
    reading = read_extract(person_file(extract, data), today=TODAY)
    assert reading.ok, reading.problems
    last = list(reading.persons())[-1]
    assert (last.forename, last.surname, last.row) == ("Zoë", "Brontë", 5005)


def test_mixed_utf8_and_windows_1252_is_refused_not_guessed():
    utf8 = Ssd().set("ssd_person", 0, pers_forename="Siân").table_bytes("ssd_person")
    data = utf8 + "C9,Zoë,X,F,02,WBRI,2001-01-01,,,,N\r\n".encode("cp1252")
    reading = read_extract(person_file(Ssd(), data), today=TODAY)
    problem = codes_of(reading, Code.NOT_TEXT)[0]
    assert problem.file == "ssd_person.csv" and "mixes two text encodings" in problem.message


@pytest.mark.parametrize(
    "data,words",
    [
        (b"\xef\xbb\xbfpers_person_id\r\nZo\xeb\r\n", "starts as UTF-8"),
        ("pers_person_id\r\n".encode("utf-16"), "UTF-16"),
        (b"pers_person_id\r\nA\x81B\r\n", "not a text file"),
    ],
)
def test_text_that_is_neither_utf8_nor_windows_1252(data, words):
    reading = read_extract(person_file(Ssd(), data), today=TODAY)
    problem = codes_of(reading, Code.NOT_TEXT)[0]
    assert words in problem.message and "CSV UTF-8" in problem.message


def test_decoder_keeps_a_character_split_between_chunks():
    data = "Siân Zoë".encode()
    decoder = Utf8OrCp1252Decoder()
    text = "".join(decoder.decode(data[i : i + 1]) for i in range(len(data)))
    assert text + decoder.decode(b"", final=True) == "Siân Zoë"
    decoder = Utf8OrCp1252Decoder()
    assert decoder.decode(b"\xef") == "" and decoder.decode(b"\xbb\xbfA", final=True) == "A"
    with pytest.raises(FileUnreadable):
        Utf8OrCp1252Decoder().decode(b"\xef\xbb\xbfZo\xeb", final=True)


def test_quoted_line_breaks_blank_rows_and_spreadsheet_row_numbers():
    extract = Ssd().set("ssd_person", 0, pers_forename="Ann\r\nMarie")
    data = (
        extract.table_bytes("ssd_person")
        + b",,,,,,,,,,\r\n\r\nC9,Dee,X,F,02,WBRI,2001-01-01,,,,N\r\n"
    )
    reading = read_extract(person_file(extract, data), today=TODAY)
    assert reading.ok, reading.problems
    people = list(reading.persons())
    assert people[0].forename == "Ann\r\nMarie"
    assert [p.row for p in people] == [2, 3, 4, 7]  # two blank rows skipped but counted
    assert reading.rows_read["ssd_person.csv"] == 4


def test_a_line_too_long_to_be_a_row_is_refused(monkeypatch):
    monkeypatch.setattr(sources, "MAX_LINE", 200)
    extract = Ssd().set("ssd_person", 2, pers_forename="x" * 300)
    problem = codes_of(extract.read(), Code.MALFORMED)[0]
    assert problem.file == "ssd_person.csv" and problem.row == 4


# --- values --------------------------------------------------------------------------------


def test_null_any_case_and_empty_strings_are_missing():
    extract = Ssd().set(
        "ssd_person", 0, pers_forename=" null ", pers_surname="", pers_ethnicity="NULL"
    )
    extract.set("ssd_legal_status", 0, lega_legal_status_end_date="Null")
    reading = extract.read()
    assert reading.ok and not reading.problems
    assert (mother(reading).forename, mother(reading).surname, mother(reading).ethnicity) == (
        None,
    ) * 3
    assert next(reading.legal_statuses()).end_date is None


@pytest.mark.parametrize(
    "text",
    ["2013-01-01", "2013-01-01 00:00:00.000", "2013-01-01T10:00:00", "01/01/2013", "1/1/2013",
     " 2013-01-01 ", "01/01/2013 00:00"],
)  # fmt: skip
def test_dates_iso_with_time_and_uk(text):
    reading = Ssd().set("ssd_legal_status", 0, lega_legal_status_start_date=text).read()
    assert reading.ok, reading.problems
    assert next(reading.legal_statuses()).start_date == date(2013, 1, 1)


def test_codes_with_stray_spaces_and_case():
    extract = Ssd().set("ssd_legal_status", 0, lega_legal_status=" c2 ")
    extract.set("ssd_person", 0, pers_ethnicity="MWBa", pers_sex=" f", pers_gender="2")
    extract.set("ssd_cla_episodes", 0, clae_cla_episode_ceased_reason="e11 ")
    reading = extract.read()
    assert reading.ok and not reading.problems
    assert (mother(reading).ethnicity, mother(reading).sex, mother(reading).gender) == (
        "MWBA",
        "F",
        "02",
    )
    assert next(reading.legal_statuses()).code == "C2"
    assert next(reading.episodes()).ceased_reason == "E11"


def test_placeholder_code_kept_as_given():
    reading = Ssd().set("ssd_legal_status", 1, lega_legal_status=" ?? ").read()
    assert [s.code for s in reading.legal_statuses()] == ["C2", "??"]
    assert codes_of(reading, Code.UNRECOGNISED_CODE)[0].row == 3


def test_ids_up_to_48_characters_and_49_refused():
    long_id = "P" * 48
    extract = Ssd().set("ssd_person", 0, pers_person_id=f" {long_id} ")
    extract.set("ssd_mother", 0, moth_person_id=long_id).set(
        "ssd_mother", 1, moth_person_id=long_id
    )
    reading = extract.read()
    assert reading.ok, reading.problems
    assert mother(reading).person_id == long_id
    too_long = Ssd().set("ssd_legal_status", 0, lega_legal_status_id="L" * 49).read()
    problem = codes_of(too_long, Code.ID_TOO_LONG)[0]
    assert problem.message == "lega_legal_status_id must be 48 characters or fewer"
    assert (problem.row, too_long.ok) == (2, False)


def test_missing_id_is_an_error():
    reading = Ssd().set("ssd_cla_episodes", 0, clae_cla_episode_id="NULL").read()
    assert codes_of(reading, Code.MISSING_ID)[0].message == "clae_cla_episode_id is empty"


@pytest.mark.parametrize("column", ["pers_common_child_id", "pers_single_unique_id"])
def test_nhs_number_from_either_column(column):
    extract = Ssd()
    extract.headers["ssd_person"][extract.headers["ssd_person"].index("pers_common_child_id")] = (
        column
    )
    extract.set("ssd_person", 0, **{column: "943-476-5919"})
    reading = extract.read()
    assert reading.ok and (mother(reading).nhs_number, mother(reading).nhs_number_valid) == (
        VALID_NHS,
        True,
    )


def test_both_nhs_columns_the_first_with_a_value_wins():
    extract = Ssd()
    extract.headers["ssd_person"].append("pers_single_unique_id")
    extract.set("ssd_person", 0, pers_common_child_id="NULL", pers_single_unique_id=OTHER_VALID_NHS)
    assert mother(extract.read()).nhs_number == OTHER_VALID_NHS


def test_extra_columns_are_ignored_and_header_case_does_not_matter():
    extract = Ssd()
    extract.headers["ssd_person"] = [h.upper() for h in extract.headers["ssd_person"]] + ["notes"]
    for row in extract.rows["ssd_person"]:
        for k in list(row):
            row[k.upper()] = row.pop(k)
        row["notes"] = "free text, never read"
    reading = extract.read()
    assert reading.ok, reading.problems
    assert mother(reading).forename == "Ann"


def test_column_mapping_for_ssd_headers():
    extract = Ssd()
    extract.headers["ssd_person"][0] = "Person ID"
    for row in extract.rows["ssd_person"]:
        row["Person ID"] = row.pop("pers_person_id")
    assert codes_of(extract.read(), Code.MISSING_COLUMN)
    reading = extract.read(mapping={"pers_person_id": " person id"})
    assert reading.ok and mother(reading).person_id == "M1"


def test_column_mapping_names_must_be_ours():
    with pytest.raises(ValueError, match="does not read: person"):
        Ssd().read(mapping={"person": "Person ID"})


# --- what is left out ----------------------------------------------------------------------


def test_youth_justice_rows_are_not_yielded_but_counted():
    extract = Ssd()
    for n, code in enumerate(["J1", " j2", "J3"]):
        extract.add("ssd_legal_status", Ssd.legal(f"Y{n}", "C1", code, "2018-01-01"))
    extract.add("ssd_cla_episodes", Ssd.episode("Y8", "C1", "2018-01-01", "2018-06-01", "E9"))
    extract.add("ssd_cla_episodes", Ssd.episode("Y9", "NOBODY", "bad", "bad", "e14"))
    reading = extract.read()
    assert reading.ok and not reading.problems  # not read, so not checked either
    assert reading.left_out == {"youth_justice_legal_status": 3, "youth_justice_episode": 2}
    assert [s.legal_status_id for s in reading.legal_statuses()] == ["L1", "L2"]
    assert [e.episode_id for e in reading.episodes()] == ["E1"]
    assert reading.record_counts == {"person": 3, "mother": 2, "legal_status": 2, "episode": 1}


# --- the two passes, refusals and caps -------------------------------------------------------


def test_one_pass_scan_yields_what_the_second_read_yields():
    extract = Ssd()
    extract.add("ssd_address", {"addr_person_id": "M1", "addr_address_postcode": "ls1 4ap",
                                "addr_address_start_date": "2020-01-01"})  # fmt: skip
    scan = scan_extract(extract.files(), today=TODAY)
    first = list(scan)
    assert scan.reading is not None and scan.reading.ok
    assert list(scan.reading.iter_records()) == first
    assert first[-1].postcode == "LS14AP"
    assert [type(r).__name__ for r in first][:3] == ["PersonRow"] * 3


def test_a_refused_reading_yields_nothing():
    reading = Ssd().set("ssd_legal_status", 0, lega_person_id="NOBODY").read()
    assert not reading.ok and reading.record_counts  # validated as far as it could go
    with pytest.raises(ExtractRefused) as caught:
        list(reading.iter_records())
    assert caught.value.problems == reading.errors


def test_a_file_changed_between_the_reads_stops_the_import():
    files = Ssd().files()
    reading = read_extract(files, today=TODAY)
    assert reading.ok
    files[2][1].seek(0)
    files[2][1].write(b"XXXX")  # the legal status header no longer has its first column
    with pytest.raises(ExtractRefused):
        list(reading.iter_records())


def test_problems_are_capped_per_kind_but_all_counted():
    extract = Ssd()
    for n in range(30):
        extract.add("ssd_legal_status", Ssd.legal(f"X{n}", "NOBODY", "C2", "2019-01-01"))
    reading = read_extract(extract.files(), today=TODAY, limits=Limits(max_problems_per_kind=5))
    assert len(codes_of(reading, Code.UNKNOWN_PERSON)) == 5
    assert reading.problem_counts[Code.UNKNOWN_PERSON] == 30


def test_unreadable_person_file_does_not_bury_its_error_under_link_errors():
    extract = Ssd()
    extract.headers["ssd_person"].remove("pers_surname")
    reading = extract.read()
    assert [p.code for p in reading.errors] == [Code.MISSING_COLUMN]


def test_ids_are_compared_in_canonical_form():
    extract = Ssd().set("ssd_legal_status", 0, lega_person_id=" c1 ")
    reading = extract.read()
    assert reading.ok and next(reading.legal_statuses()).person_id == "c1"


def test_episode_ceased_with_a_reason_needs_its_date():
    reading = Ssd().set("ssd_cla_episodes", 0, clae_cla_episode_ceased_date="").read()
    assert codes_of(reading, Code.MISSING_DATE)[0].column == "clae_cla_episode_ceased_date"
    open_episode = Ssd().set("ssd_cla_episodes", 0, clae_cla_episode_ceased_date="",
                             clae_cla_episode_ceased_reason="").read()  # fmt: skip
    assert open_episode.ok and not open_episode.problems
    assert next(open_episode.episodes()) == EpisodeRow(
        "E1", "C1", date(2013, 1, 1), None, None, "ssd_cla_episodes.csv", 2
    )


def test_header_row_not_first_and_empty_csv():
    data = csv_bytes([""] * 3, [["pers_person_id", "pers_dob", "x"]])
    reading = read_extract(person_file(Ssd(), data), today=TODAY)
    assert codes_of(reading, Code.MISSING_COLUMN)[0].message == (
        "ssd_person.csv must have its column names in the first row"
    )
    reading = read_extract(person_file(Ssd(), b"\xef\xbb\xbf"), today=TODAY)
    assert codes_of(reading, Code.FILE_EMPTY)[0].message == "ssd_person.csv is empty"
