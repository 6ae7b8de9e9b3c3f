"""The flat template, as CSV and as XLSX: records, mappings, repeats, and a safe XLSX reader."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from eligibility.extract import (
    AddressRow,
    Code,
    EpisodeRow,
    ExtractFormat,
    LegalStatusRow,
    Limits,
    MotherRow,
    PersonRow,
    read_extract,
)
from eligibility.extract import sources as sources_module
from eligibility.extract.flat import FLAT_COLUMNS
from tests.eligibility.extracts import (
    TODAY,
    VALID_NHS,
    codes_of,
    flat_csv,
    flat_row,
    flat_rows,
    upload,
    xlsx_bytes,
    zip_bytes,
)


def read_flat_csv(rows, **kwargs):
    kwargs.setdefault("today", TODAY)
    return read_extract(upload(("cases.csv", flat_csv(rows))), **kwargs)


EXPECTED = [
    PersonRow("M1", "Zoë", "O'Brien", None, None, "WBRI", date(1990, 5, 1), None, None, VALID_NHS,
              True, True, "cases.csv", 2),
    AddressRow("M1", "LS14AP", None, None, "cases.csv", 2),
    PersonRow("C1", None, None, "F", None, None, date(2012, 3, 4), None, None, None, False, None,
              "cases.csv", 2),
    MotherRow("M1/C1", "M1", "C1", date(2012, 3, 4), "cases.csv", 2),
    LegalStatusRow("C1/legal_status/C2/2013-01-01", "C1", "C2", date(2013, 1, 1), None,
                   "cases.csv", 2),
    EpisodeRow("C1/episode/E11/2013-01-01", "C1", date(2013, 1, 1), date(2015, 1, 1), "E11",
               "cases.csv", 3),
    PersonRow("C2", None, None, "M", None, None, date(2015, 6, 7), None, None, None, False, None,
              "cases.csv", 4),
    MotherRow("M1/C2", "M1", "C2", date(2015, 6, 7), "cases.csv", 4),
    LegalStatusRow("C2/legal_status/E1/2016-01-01", "C2", "E1", date(2016, 1, 1), None,
                   "cases.csv", 4),
]  # fmt: skip


def test_flat_csv_becomes_the_ssd_records():
    reading = read_flat_csv(flat_rows())
    assert reading.ok and reading.format is ExtractFormat.FLAT and not reading.problems
    assert list(reading.iter_records()) == EXPECTED
    assert reading.record_counts == {"person": 3, "address": 1, "mother": 2, "legal_status": 2,
                                     "episode": 1}  # fmt: skip


def test_flat_xlsx_happy_path_with_typed_cells():
    rows = []
    for r in flat_rows():
        cells = [r[c] for c in FLAT_COLUMNS]
        cells[3] = datetime(1990, 5, 1)  # a real date cell
        cells[4] = int(VALID_NHS)  # a number cell: no ".0" must appear
        cells[9] = date.fromisoformat(r["child_dob"])
        rows.append(cells)
    data = xlsx_bytes(list(FLAT_COLUMNS), rows)
    reading = read_extract(upload(("cases.xlsx", data)), today=TODAY)
    assert reading.ok, reading.problems
    records = list(reading.iter_records())
    assert [(type(r), r.row) for r in records] == [(type(r), r.row) for r in EXPECTED]
    assert records[0].nhs_number == VALID_NHS and records[0].dob == date(1990, 5, 1)
    assert records[0].file == "cases.xlsx"


def test_openpyxl_parses_with_defusedxml():
    import defusedxml.ElementTree
    from openpyxl.xml import functions

    assert openpyxl.DEFUSEDXML is True
    assert functions.iterparse is defusedxml.ElementTree.iterparse
    assert functions.fromstring is defusedxml.ElementTree.fromstring


def test_xlsx_with_an_xml_entity_is_refused():
    data = xlsx_bytes(list(FLAT_COLUMNS), [[flat_row()[c] for c in FLAT_COLUMNS]])
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {i.filename: source.read(i) for i in source.infolist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/sheet"))
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
    parts[sheet] = bomb + parts[sheet]
    reading = read_extract(upload(("cases.xlsx", zip_bytes(parts))), today=TODAY)
    problem = codes_of(reading, Code.BROKEN_XLSX)[0]
    assert "XML features that are not allowed" in problem.message
    assert not reading.ok


def test_xlsx_zip_bomb_is_refused_before_parsing(monkeypatch):
    def not_called(*args, **kwargs):
        raise AssertionError("openpyxl was asked to parse a zip bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", not_called)
    data = xlsx_bytes(list(FLAT_COLUMNS), [[flat_row()[c] for c in FLAT_COLUMNS]])
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {i.filename: source.read(i) for i in source.infolist()}
    parts["xl/media/padding.bin"] = b"\x00" * 5_000_000  # compresses to a few KB
    bomb = zip_bytes(parts)
    assert len(bomb) < 50_000
    limits = Limits(max_unzipped_bytes=4 * 1024**2)
    reading = read_extract(upload(("cases.xlsx", bomb)), today=TODAY, limits=limits)
    problem = codes_of(reading, Code.ZIP_TOO_LARGE)[0]
    assert problem.message == "The selected file must be smaller than 4MB when unzipped"
    parts.pop("xl/media/padding.bin")
    many = parts | {f"xl/media/p{i}.bin": b"x" for i in range(100)}
    reading = read_extract(upload(("cases.xlsx", zip_bytes(many))), today=TODAY)
    assert codes_of(reading, Code.ZIP_TOO_MANY_FILES)


def test_damaged_xlsx():
    reading = read_extract(upload(("cases.xlsx", zip_bytes({"a.txt": b"x"}))), today=TODAY)
    assert codes_of(reading, Code.BROKEN_XLSX)[0].file == "cases.xlsx"


def test_column_mapping_for_the_flat_template():
    theirs = [f"Their {c.replace('_', ' ').title()}" for c in FLAT_COLUMNS]
    data = flat_csv(flat_rows(), header=theirs)
    mapping = dict(zip(FLAT_COLUMNS, theirs, strict=True))
    reading = read_extract(upload(("cases.csv", data)), today=TODAY, mapping=mapping)
    assert reading.ok, reading.problems
    assert [(type(r), r.row) for r in reading.iter_records()] == [
        (type(r), r.row) for r in EXPECTED
    ]
    unmapped = read_extract(upload(("cases.csv", data)), today=TODAY, mapping={"mother_id": "ID"})
    problem = codes_of(unmapped, Code.MISSING_COLUMN)[0]
    assert (
        problem.message == "cases.csv must have a column called ID (the column mapped to mother_id)"
    )


def test_a_child_under_two_mothers_is_an_error():
    rows = flat_rows() + [flat_row(mother_id="M2", mother_forename="Una", start_date="2019-01-01")]
    reading = read_flat_csv(rows)
    problem = [p for p in codes_of(reading, Code.INCONSISTENT_REPEAT) if p.column == "mother_id"][0]
    assert problem.row == 5 and "different from row 2" in problem.message


def test_one_person_as_mother_and_as_child():
    rows = flat_rows() + [
        flat_row(mother_id="G1", mother_forename="Gran", mother_dob="1970-01-01", child_id="M1",
                 child_dob="1990-05-01", code="C2", start_date="2000-01-01"),
    ]  # fmt: skip
    reading = read_flat_csv(rows)
    assert reading.ok, reading.problems
    assert [p.person_id for p in reading.persons()] == ["M1", "C1", "C2", "G1"]
    rows[-1]["child_dob"] = "1991-05-01"
    assert codes_of(read_flat_csv(rows), Code.INCONSISTENT_REPEAT)[0].column == "child_dob"


def test_event_type_must_be_known():
    reading = read_flat_csv([flat_row(event_type="placement")])
    assert codes_of(reading, Code.BAD_EVENT_TYPE)[0].message == (
        "event_type must be legal_status or episode"
    )
    assert read_flat_csv([flat_row(event_type=" Legal Status ")]).ok


def test_youth_justice_rows_in_the_flat_template():
    rows = flat_rows() + [flat_row(code="J2", start_date="2019-01-01"),
                          flat_row(event_type="episode", code="E14", end_date="2019-02-01")]  # fmt: skip
    reading = read_flat_csv(rows)
    assert reading.ok
    assert reading.left_out == {"youth_justice_legal_status": 1, "youth_justice_episode": 1}
    assert list(reading.iter_records()) == EXPECTED


def test_rows_in_another_order_give_the_same_ids():
    rows = flat_rows()
    again = read_flat_csv(list(reversed(rows)))
    key = lambda r: (type(r).__name__, getattr(r, "person_id", None), getattr(r, "link_id", ""),  # noqa: E731
                     getattr(r, "legal_status_id", ""), getattr(r, "episode_id", ""))  # fmt: skip
    assert sorted(map(key, again.iter_records())) == sorted(map(key, EXPECTED))


def test_rows_stop_at_a_broken_sheet(monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("no sheet")

    monkeypatch.setattr(openpyxl, "load_workbook", broken)
    data = xlsx_bytes(list(FLAT_COLUMNS), [])
    reading = read_extract(upload(("cases.xlsx", data)), today=TODAY)
    assert codes_of(reading, Code.BROKEN_XLSX)[0].message.startswith("cases.xlsx cannot be opened")
    assert sources_module.MAX_LINE > 0


def test_no_xlsx_is_parsed_without_defusedxml(monkeypatch):
    """A deployment fault (defusedxml missing, or OPENPYXL_DEFUSEDXML=False) fails loudly: it
    is the server's fault, not the caseworker's, so it is not reported as a problem with the file."""
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    data = xlsx_bytes(list(FLAT_COLUMNS), [[flat_row()[c] for c in FLAT_COLUMNS]])
    with pytest.raises(RuntimeError, match="defusedxml"):
        read_extract(upload(("cases.xlsx", data)), today=TODAY)
