"""The flat template: one row per legal status or care episode of a child, mother and child
columns repeated on each row (CSV or XLSX).

``read_flat`` streams ``FlatRow`` records (the template's own shape, values cleaned and checked
cell by cell). ``FlatSplitter`` turns them into the same records as the SSD tables (a mother, a
child, the link between them, her postcode and the event) so the database side has one path.

Choices where the spec is silent:
- All fifteen columns are required in the header (it is our template; a Trust whose columns are
  named differently maps them). Values may be empty except the ids, ``event_type`` and, for a
  legal status, ``start_date``.
- Repeated columns must repeat exactly: a mother's names, date of birth, NHS number, postcode,
  ethnicity and expected date of birth must be the same (after cleaning) on every row of hers,
  and a child's date of birth, sex and mother the same on every row of the child's. A
  difference, an empty cell included, is an error naming the column and the row where the
  person first appeared: which of two values is right is for the Trust to say, not a guess.
- A person is made from the row where the id first appears. An id that appears both as a
  mother and as a child (a young mother who is herself looked after) is one person: her date of
  birth must agree in both roles.
- An event's id is made from its content (``<child id>/<event type>/<code>/<start date>``) so
  that the same rows in another order import the same; two rows with the same id are a
  repeated row id, an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from eligibility.extract import codes
from eligibility.extract.cells import ReadContext, open_table
from eligibility.extract.codes import CodeList
from eligibility.extract.files import TableFile
from eligibility.extract.problems import Code
from eligibility.extract.records import (
    AddressRow,
    EpisodeRow,
    LegalStatusRow,
    MotherRow,
    PersonRow,
    Record,
)
from eligibility.extract.values import age_in_years, canonical_id, normalise_postcode

FLAT_COLUMNS = (
    "mother_id",
    "mother_forename",
    "mother_surname",
    "mother_dob",
    "mother_nhs_number",
    "mother_postcode",
    "mother_ethnicity",
    "mother_expected_child_dob",
    "child_id",
    "child_dob",
    "child_sex",
    "event_type",
    "code",
    "start_date",
    "end_date",
)
LEGAL_STATUS = "legal_status"
EPISODE = "episode"
MOTHER_REPEATED = FLAT_COLUMNS[1:8]


@dataclass(frozen=True, slots=True)
class FlatRow:
    mother_id: str
    mother_forename: str | None
    mother_surname: str | None
    mother_dob: date | None
    mother_nhs_number: str | None
    mother_postcode: str | None  # spaces removed, upper case
    mother_ethnicity: str | None
    mother_expected_child_dob: date | None
    child_id: str
    child_dob: date | None
    child_sex: str | None
    event_type: str  # legal_status or episode
    code: str | None  # LS for a legal status, REC for an episode
    start_date: date | None  # always set for a legal status
    end_date: date | None  # an episode's ceased date
    mother_nhs_number_valid: bool
    file: str
    row: int


def _event_type(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().lower().replace("-", "_").replace(" ", "_")
    return text if text in (LEGAL_STATUS, EPISODE) else None


def read_flat(tf: TableFile, ctx: ReadContext) -> Iterator[FlatRow]:
    table = open_table(tf, ctx, FLAT_COLUMNS, frozenset(FLAT_COLUMNS))
    if table is None:
        return
    r, p, rows = table
    (mid, fore, sur, mdob, nhs, post, eth, due, cid, cdob, sex, kind_at, code_at, start, end) = (
        p[c] for c in FLAT_COLUMNS
    )
    for _ in rows:
        kind = _event_type(r.text(kind_at))
        raw = r.text(code_at)
        code = raw.strip().upper() if raw is not None else None
        if kind == LEGAL_STATUS and code in codes.YOUTH_JUSTICE_LEGAL_STATUS:
            ctx.left_out["youth_justice_legal_status"] += 1
            continue
        if kind == EPISODE and code in codes.YOUTH_JUSTICE_CEASED:
            ctx.left_out["youth_justice_episode"] += 1
            continue
        if kind is None:
            r.error(
                Code.BAD_EVENT_TYPE,
                "event_type",
                f"{r.name('event_type')} must be legal_status or episode",
            )
        mother_id = r.ident(mid, "mother_id")
        child_id = r.ident(cid, "child_id")
        r.not_own_child(mother_id, child_id, "child_id", "mother_id")
        number, valid = r.nhs(((nhs, "mother_nhs_number"),))
        postcode = r.text(post)
        if kind == LEGAL_STATUS:
            code = r.code(code_at, "code", CodeList.LEGAL_STATUS, expected=True)
            began = r.date(start, "start_date", rule=True, required=True)
            ended = r.date(end, "end_date", rule=True)
        else:
            code = r.code(code_at, "code", CodeList.EPISODE_CEASED) if kind else None
            began = r.date(start, "start_date", rule=False)
            ended = r.date(end, "end_date", rule=True, required=code is not None)
            if ended is not None and code is None and kind:
                r.unrecognised("code", CodeList.EPISODE_CEASED, "")
        row = FlatRow(
            mother_id or "",
            r.text(fore),
            r.text(sur),
            r.date(mdob, "mother_dob", rule=True),
            number,
            normalise_postcode(postcode) if postcode else None,
            r.code(eth, "mother_ethnicity", CodeList.ETHNICITY),
            r.date(due, "mother_expected_child_dob", rule=True, expected=True),
            child_id or "",
            r.date(cdob, "child_dob", rule=True),
            r.code(sex, "child_sex", CodeList.SEX),
            kind or "",
            code,
            began,
            ended,
            valid,
            r.file,
            r.row,
        )
        if not r.bad:
            yield row


class FlatSplitter:
    """Turns flat rows into SSD-shaped records, checking that repeated columns repeat.

    Keeps, per person, the values they were first seen with and that row number: exact values,
    because flat templates come from Trusts without the SSD, whose extracts are small (an entry
    is a few hundred bytes). Event ids go to the caller, which checks them for repeats with the
    compact index used for the SSD tables.
    """

    def __init__(self, ctx: ReadContext, *, check: bool = True):
        self.ctx, self.check = ctx, check
        self.mothers: dict[str, tuple[tuple, int]] = {}
        self.children: dict[str, tuple[tuple, int]] = {}
        self.people: set[str] = set()

    def split(self, row: FlatRow) -> list[Record]:
        """The records this row adds: people and links the first time they are seen, then the
        event. An empty list when the row contradicts an earlier one (errors are recorded)."""
        mother_key, child_key = canonical_id(row.mother_id), canonical_id(row.child_id)
        mother_now = (
            row.mother_forename,
            row.mother_surname,
            row.mother_dob,
            row.mother_nhs_number,
            row.mother_postcode,
            row.mother_ethnicity,
            row.mother_expected_child_dob,
        )
        child_now = (mother_key, row.child_dob, row.child_sex)
        if self.check and self._contradicts(row, mother_key, child_key, mother_now, child_now):
            return []
        out: list[Record] = []
        if mother_key not in self.mothers:
            self.mothers[mother_key] = (mother_now, row.row)
        if mother_key not in self.people:
            self.people.add(mother_key)
            out.append(self._mother(row))
            if row.mother_postcode:
                out.append(
                    AddressRow(row.mother_id, row.mother_postcode, None, None, row.file, row.row)
                )
        if child_key not in self.children:
            self.children[child_key] = (child_now, row.row)
            if self.check:
                self._mother_under_12(row)
            if child_key not in self.people:
                self.people.add(child_key)
                out.append(
                    PersonRow(
                        row.child_id, None, None, row.child_sex, None, None, row.child_dob,
                        None, None, None, False, None, row.file, row.row,
                    )
                )  # fmt: skip
            link = f"{row.mother_id}/{row.child_id}"
            out.append(
                MotherRow(link, row.mother_id, row.child_id, row.child_dob, row.file, row.row)
            )
        out.append(self._event(row))
        return out

    def _mother_under_12(self, row: FlatRow) -> None:
        if row.mother_dob and row.child_dob and age_in_years(row.mother_dob, row.child_dob) < 12:
            column = self.ctx.mapping.get("child_dob", "child_dob")
            self.ctx.log.add(
                Code.MOTHER_UNDER_12,
                "The mother was younger than 12 when this child was born. Check both dates of "
                "birth",
                row.file,
                row.row,
                column,
            )

    def _contradicts(self, row: FlatRow, mother_key, child_key, mother_now, child_now) -> bool:
        checks = []
        if (seen := self.mothers.get(mother_key)) is not None:
            checks.append((MOTHER_REPEATED, seen[0], mother_now, seen[1]))
        if (seen := self.children.get(child_key)) is not None:
            checks.append((("mother_id", "child_dob", "child_sex"), seen[0], child_now, seen[1]))
        if (seen := self.children.get(mother_key)) is not None:  # she is also someone's child
            checks.append((("mother_dob",), (seen[0][1],), (row.mother_dob,), seen[1]))
        if (seen := self.mothers.get(child_key)) is not None:  # the child is also a mother
            checks.append((("child_dob",), (seen[0][2],), (row.child_dob,), seen[1]))
        bad = False
        for columns, first, now, first_row in checks:
            for column, a, b in zip(columns, first, now, strict=True):
                if a != b:
                    bad = True
                    name = self.ctx.mapping.get(column, column)
                    self.ctx.log.add(
                        Code.INCONSISTENT_REPEAT,
                        f"{name} is different from row {first_row}, where this person first "
                        "appears. Their details must be the same on each of their rows",
                        row.file,
                        row.row,
                        name,
                    )
        return bad

    def _mother(self, row: FlatRow) -> PersonRow:
        return PersonRow(
            row.mother_id, row.mother_forename, row.mother_surname, None, None,
            row.mother_ethnicity, row.mother_dob, row.mother_expected_child_dob, None,
            row.mother_nhs_number, row.mother_nhs_number_valid, True, row.file, row.row,
        )  # fmt: skip

    @staticmethod
    def event_id(row: FlatRow) -> str:
        start = row.start_date.isoformat() if row.start_date else ""
        return f"{row.child_id}/{row.event_type}/{row.code or ''}/{start}"

    def _event(self, row: FlatRow) -> Record:
        if row.event_type == LEGAL_STATUS:
            return LegalStatusRow(
                self.event_id(row), row.child_id, row.code, row.start_date, row.end_date,  # type: ignore[arg-type]
                row.file, row.row,
            )  # fmt: skip
        return EpisodeRow(
            self.event_id(row), row.child_id, row.start_date, row.end_date, row.code,
            row.file, row.row,
        )  # fmt: skip
