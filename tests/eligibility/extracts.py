"""Synthetic extracts built in memory: SSD table sets, flat templates, ZIP and XLSX files.

Everything here is made up. ``Ssd()`` starts as a small valid extract (one mother, two children
with a care order and an adoption) that each test changes in the one way it is about.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date

import openpyxl

from eligibility.extract import read_extract
from eligibility.extract.flat import FLAT_COLUMNS

TODAY = date(2024, 6, 1)
VALID_NHS = "9434765919"  # passes the modulus 11 check
OTHER_VALID_NHS = "4010232137"

HEADERS = {
    "ssd_person": [
        "pers_person_id",
        "pers_forename",
        "pers_surname",
        "pers_sex",
        "pers_gender",
        "pers_ethnicity",
        "pers_dob",
        "pers_expected_dob",
        "pers_common_child_id",
        "pers_death_date",
        "pers_is_mother",
    ],
    "ssd_mother": ["moth_table_id", "moth_person_id", "moth_childs_person_id", "moth_childs_dob"],
    "ssd_legal_status": [
        "lega_legal_status_id",
        "lega_person_id",
        "lega_legal_status",
        "lega_legal_status_start_date",
        "lega_legal_status_end_date",
    ],
    "ssd_cla_episodes": [
        "clae_cla_episode_id",
        "clae_person_id",
        "clae_cla_episode_start_date",
        "clae_cla_episode_start_reason",
        "clae_cla_episode_ceased_date",
        "clae_cla_episode_ceased_reason",
    ],
    "ssd_address": ["addr_person_id", "addr_address_postcode", "addr_address_start_date"],
}


def csv_bytes(
    header: list[str],
    rows: list[list[str]],
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    newline: str = "\r\n",
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def zip_bytes(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def xlsx_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Extract")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(*named: tuple[str, bytes]) -> list[tuple[str, io.BytesIO]]:
    return [(name, io.BytesIO(data)) for name, data in named]


class Ssd:
    """A small valid SSD extract whose tables a test can change row by row."""

    def __init__(self) -> None:
        self.headers = {k: list(v) for k, v in HEADERS.items()}
        self.rows: dict[str, list[dict[str, str]]] = {
            "ssd_person": [
                self.person("M1", "Ann", "Smith", dob="1990-05-01", nhs=VALID_NHS, is_mother="Y"),
                self.person("C1", "Bea", "Smith", dob="2012-03-04", is_mother="N"),
                self.person("C2", "Cal", "Smith", sex="M", dob="2015-06-07", is_mother="N"),
            ],
            "ssd_mother": [
                {
                    "moth_table_id": "T1",
                    "moth_person_id": "M1",
                    "moth_childs_person_id": "C1",
                    "moth_childs_dob": "2012-03-04",
                },
                {
                    "moth_table_id": "T2",
                    "moth_person_id": "M1",
                    "moth_childs_person_id": "C2",
                    "moth_childs_dob": "2015-06-07",
                },
            ],  # fmt: skip
            "ssd_legal_status": [
                self.legal("L1", "C1", "C2", "2013-01-01", "2014-01-01"),
                self.legal("L2", "C2", "E1", "2016-01-01", ""),
            ],
            "ssd_cla_episodes": [self.episode("E1", "C1", "2013-01-01", "2015-01-01", "E11")],
        }

    @staticmethod
    def person(pid, forename="Ann", surname="Smith", *, sex="F", dob="1990-01-01", nhs="",
               expected="", is_mother="N", ethnicity="WBRI", gender="02") -> dict[str, str]:  # fmt: skip
        return {
            "pers_person_id": pid,
            "pers_forename": forename,
            "pers_surname": surname,
            "pers_sex": sex,
            "pers_gender": gender,
            "pers_ethnicity": ethnicity,
            "pers_dob": dob,
            "pers_expected_dob": expected,
            "pers_common_child_id": nhs,
            "pers_death_date": "NULL",
            "pers_is_mother": is_mother,
        }

    @staticmethod
    def legal(lid, pid, code, start, end="") -> dict[str, str]:
        return {
            "lega_legal_status_id": lid,
            "lega_person_id": pid,
            "lega_legal_status": code,
            "lega_legal_status_start_date": start,
            "lega_legal_status_end_date": end,
        }

    @staticmethod
    def episode(eid, pid, start, ceased, reason) -> dict[str, str]:
        return {
            "clae_cla_episode_id": eid,
            "clae_person_id": pid,
            "clae_cla_episode_start_date": start,
            "clae_cla_episode_start_reason": "S",
            "clae_cla_episode_ceased_date": ceased,
            "clae_cla_episode_ceased_reason": reason,
        }

    def set(self, table: str, index: int, **values: str) -> Ssd:
        self.rows[table][index].update(values)
        return self

    def add(self, table: str, row: dict[str, str]) -> Ssd:
        self.rows.setdefault(table, []).append(row)
        return self

    def table_bytes(self, table: str, **options) -> bytes:
        header = self.headers[table]
        rows = [[row.get(c, "") for c in header] for row in self.rows.get(table, [])]
        return csv_bytes(header, rows, **options)

    def named(self, **options) -> list[tuple[str, bytes]]:
        return [(f"{t}.csv", self.table_bytes(t, **options)) for t in self.rows]

    def files(self, **options) -> list[tuple[str, io.BytesIO]]:
        return upload(*self.named(**options))

    def zip(self, name: str = "extract.zip", **options) -> list[tuple[str, io.BytesIO]]:
        return upload((name, zip_bytes(dict(self.named(**options)))))

    def read(self, **kwargs):
        kwargs.setdefault("today", TODAY)
        return read_extract(self.files(), **kwargs)


def flat_row(**values: str) -> dict[str, str]:
    row = {
        "mother_id": "M1",
        "mother_forename": "Zoë",
        "mother_surname": "O'Brien",
        "mother_dob": "1990-05-01",
        "mother_nhs_number": VALID_NHS,
        "mother_postcode": "ls1 4ap",
        "mother_ethnicity": "WBRI",
        "mother_expected_child_dob": "",
        "child_id": "C1",
        "child_dob": "2012-03-04",
        "child_sex": "F",
        "event_type": "legal_status",
        "code": "C2",
        "start_date": "2013-01-01",
        "end_date": "",
    }
    row.update(values)
    return row


def flat_rows() -> list[dict[str, str]]:
    return [
        flat_row(),
        flat_row(event_type="episode", code="E11", start_date="2013-01-01", end_date="2015-01-01"),
        flat_row(child_id="C2", child_dob="2015-06-07", child_sex="M", code="E1",
                 start_date="2016-01-01"),
    ]  # fmt: skip


def flat_csv(rows: list[dict[str, str]], header: list[str] | None = None, **options) -> bytes:
    header = header or list(FLAT_COLUMNS)
    return csv_bytes(header, [[r.get(c, "") for c in FLAT_COLUMNS] for r in rows], **options)


def codes_of(reading, code) -> list:
    return [p for p in reading.problems if p.code == code]
