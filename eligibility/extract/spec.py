"""The accepted columns and codes, as the reader itself defines them: what the columns page and
the template CSVs show (issue 24). Nothing here is written twice: every name, required column,
kind and code comes from the definitions the validator reads with (``ssd``, ``flat``,
``quoting``, ``codes``), and ``tests/eligibility/test_columns_page.py`` proves the page lists
exactly them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from eligibility.extract import ssd
from eligibility.extract.cells import DATE_EXAMPLE
from eligibility.extract.codes import (
    CODE_LISTS,
    DEFAULT_POSITION,
    YOUTH_JUSTICE_CEASED,
    YOUTH_JUSTICE_LEGAL_STATUS,
    CodeList,
    Position,
)
from eligibility.extract.files import REQUIRED_TABLES, Table
from eligibility.extract.flat import FLAT_COLUMNS
from eligibility.extract.quoting import COLUMN_CODE_LISTS, COLUMN_KINDS, ColumnKind
from eligibility.extract.values import MAX_ID_LENGTH

FLAT = "flat_template"

# Each file the portal reads: its columns and the required ones (the readers' own constants).
FILES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    Table.PERSON: (ssd.PERSON_COLUMNS, ssd.PERSON_REQUIRED),
    Table.MOTHER: (ssd.MOTHER_COLUMNS, ssd.MOTHER_REQUIRED),
    Table.LEGAL_STATUS: (ssd.LEGAL_STATUS_COLUMNS, ssd.LEGAL_STATUS_REQUIRED),
    Table.EPISODE: (ssd.EPISODE_COLUMNS, ssd.EPISODE_REQUIRED),
    Table.ADDRESS: (ssd.ADDRESS_COLUMNS, ssd.ADDRESS_REQUIRED),
    FLAT: (FLAT_COLUMNS, frozenset(FLAT_COLUMNS)),  # the flat template's header is ours: all of it
}
FILE_TITLES = {
    Table.PERSON: "People (ssd_person.csv)",
    Table.MOTHER: "Mothers and their children (ssd_mother.csv)",
    Table.LEGAL_STATUS: "Legal statuses (ssd_legal_status.csv)",
    Table.EPISODE: "Care episodes (ssd_cla_episodes.csv)",
    Table.ADDRESS: "Addresses (ssd_address.csv)",
    FLAT: "Flat template (one CSV or XLSX file)",
}
KIND_WORDS = {
    ColumnKind.IDENTIFIER: f"An identifier, {MAX_ID_LENGTH} characters at most",
    ColumnKind.NAME: "A name",
    ColumnKind.DATE: f"A date, {DATE_EXAMPLE}",
    ColumnKind.NHS_NUMBER: "An NHS number of 10 digits (spaces allowed)",
    ColumnKind.POSTCODE: "A postcode",
    ColumnKind.CODE: "A code",
    ColumnKind.FLAG: "Y or N",
    ColumnKind.EVENT_TYPE: "legal_status or episode",
}
CODE_LIST_TITLES = {
    CodeList.LEGAL_STATUS: "Legal status codes",
    CodeList.EPISODE_CEASED: "Reasons a care episode ceased",
    CodeList.ETHNICITY: "Ethnicity codes",
    CodeList.SEX: "Sex codes",
    CodeList.GENDER: "Gender codes",
}
POSITION_WORDS = {
    Position.COUNTED: "Counted as a removal",
    Position.REVIEW: "For review",
    Position.NOT_COUNTED: "Not counted",
}
LEFT_OUT = YOUTH_JUSTICE_LEGAL_STATUS | YOUTH_JUSTICE_CEASED


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    required: bool
    kind: str  # in words
    code_lists: tuple[tuple[CodeList, str], ...]  # each code list it takes, with its title


@dataclass(frozen=True)
class FileSpec:
    key: str
    title: str
    required_file: bool
    columns: tuple[ColumnSpec, ...]

    @property
    def template_name(self) -> str:
        return f"{self.key}.csv"


@dataclass(frozen=True)
class CodeSpec:
    code: str
    meaning: str
    position: str  # the default position in words; "" for a list no rule reads
    left_out: bool  # youth-justice: the row is dropped as soon as its code is read


@dataclass(frozen=True)
class CodeListSpec:
    key: CodeList
    title: str
    codes: tuple[CodeSpec, ...]


def files() -> list[FileSpec]:
    return [
        FileSpec(key=str(key), title=FILE_TITLES[key], required_file=key in REQUIRED_TABLES or key == FLAT,
                 columns=tuple(ColumnSpec(name, name in required, KIND_WORDS[COLUMN_KINDS[name]],
                                          tuple((c, CODE_LIST_TITLES[c]) for c in COLUMN_CODE_LISTS.get(name, ())))
                               for name in columns))
        for key, (columns, required) in FILES.items()
    ]


def code_lists() -> list[CodeListSpec]:
    out = []
    for key, codes in CODE_LISTS.items():
        positions = DEFAULT_POSITION.get(key, {})
        out.append(CodeListSpec(key=key, title=CODE_LIST_TITLES[key], codes=tuple(
            CodeSpec(code, meaning, POSITION_WORDS[positions[code]] if code in positions else "",
                     key in (CodeList.LEGAL_STATUS, CodeList.EPISODE_CEASED) and code in LEFT_OUT)
            for code, meaning in codes.items())))
    return out


def template_csv(key: str) -> bytes:
    """The header row of a file, as a CSV to fill in. KeyError for a file the portal does not read."""
    columns, _ = FILES[key]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(columns)
    return out.getvalue().encode("utf-8")
