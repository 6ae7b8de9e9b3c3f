"""The typed rows the reader hands to the database side, one class per SSD table.

Both formats produce these same records (the flat template's repeated mother and child columns
become a mother, a child, a link and an event), so the database side has one path to write.

Small and immutable on purpose: frozen dataclasses with slots, no dict per row, and only the
columns some rule, match or report needs (the minimum necessary; extra columns of an export are
never read). Each carries its source: the file name and the row as a spreadsheet shows it,
header = row 1. Values are cleaned (trimmed, ``NULL`` -> None, codes upper-cased, dates parsed);
ids are trimmed but keep their case, and are compared in ``values.canonical_id`` form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class PersonRow:
    """Anyone in ``ssd_person``: mothers, children and others. From the flat template, a mother
    (names, NHS number, ethnicity, expected date of birth) or a child (date of birth and sex
    only: the template carries no child's name or NHS number)."""

    person_id: str
    forename: str | None
    surname: str | None
    sex: str | None  # F, M, U, or an unrecognised code kept as given
    gender: str | None  # 00, 01, 02, 09, 10-99
    ethnicity: str | None  # DfE code
    dob: date | None
    expected_dob: date | None  # due date of an unborn child: never a future-date warning
    death_date: date | None
    nhs_number: str | None  # digits only when it has 10 digits; otherwise as given
    nhs_number_valid: bool  # False: kept, but never used for matching
    is_mother: bool | None  # pers_is_mother Y/N; True for a flat-template mother
    file: str
    row: int


@dataclass(frozen=True, slots=True)
class MotherRow:
    """A mother-child link. ``link_id`` is ``moth_table_id``; for the flat template it is made
    from the two person ids (``<mother id>/<child id>``), the same whatever the row order."""

    link_id: str
    mother_id: str
    child_id: str
    child_dob: date | None
    file: str
    row: int


@dataclass(frozen=True, slots=True)
class LegalStatusRow:
    """A legal status of a child. ``legal_status_id`` is ``lega_legal_status_id``; for the flat
    template, ``<child id>/legal_status/<code>/<start date>``, stable under reordering."""

    legal_status_id: str
    person_id: str
    code: str | None  # LS code, upper-cased; unrecognised codes kept as given (for review)
    start_date: date  # always present: the rules date a legal status by it
    end_date: date | None  # None = open (an open C1 or L2 means proceedings are open)
    file: str
    row: int


@dataclass(frozen=True, slots=True)
class EpisodeRow:
    """A care episode. ``episode_id`` is ``clae_cla_episode_id``; for the flat template,
    ``<child id>/episode/<code>/<start date>``. Youth-justice episodes never get here."""

    episode_id: str
    person_id: str
    start_date: date | None
    ceased_date: date | None  # the rules date an episode by its ceased date
    ceased_reason: str | None  # REC code; None while the episode is open
    file: str
    row: int


@dataclass(frozen=True, slots=True)
class AddressRow:
    """A postcode of a person (``ssd_address``; for the flat template, the mother's postcode,
    undated)."""

    person_id: str
    postcode: str | None  # spaces removed, upper case
    start_date: date | None
    end_date: date | None
    file: str
    row: int


Record = PersonRow | MotherRow | LegalStatusRow | EpisodeRow | AddressRow
