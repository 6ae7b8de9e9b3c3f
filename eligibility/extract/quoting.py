"""What a problem may quote from a file, and what an unrecognised code is kept as.

A problem's message, file, row and column are stored in clear with the extract and put into its
report, which outlive the upload (``problems``). So no problem quotes a value from the file,
with one exception: an unrecognised value in a *code* column whose shape is the shape of that
list's codes (``C9`` for a legal status, ``E99`` for a reason an episode ceased) or a
placeholder made only of punctuation (``??``). The caseworker sees the odd code; nobody sees an
NHS number, a name or a date typed into the wrong column.

Every column the portal reads has a kind (``COLUMN_KINDS``, one line a column, a test fails for
a column without one). Only CODE and FLAG columns are ever quoted, and only as above:

- legal status ``[A-Z][0-9]``; reason episode ceased ``[A-Z][0-9]{1,2}[A-Z]?``; gender
  ``[0-9]{1,2}``; sex and the Y/N flag one letter. Each has a digit or is one character, so a
  name cannot have the shape, and each is at most four characters, so an NHS number, a date, a
  postcode or a person id cannot either.
- ethnicity: never. Its codes are four letters, which is also the shape of a forename (BETH,
  MARY, ROSE), so an unrecognised ethnicity is described, never quoted.

A value that may not be quoted is not kept as given either: it is kept as ``NOT_SHOWN`` ("?"),
still unrecognised (for review; "Not known" once generalised), because what the portal may not
show it does not store in a plain column (and a long value would not fit one).
"""

from __future__ import annotations

import re
from enum import StrEnum
from types import MappingProxyType

from eligibility.extract.codes import CodeList


class ColumnKind(StrEnum):
    IDENTIFIER = "identifier"  # a person id, a row id, a link
    NAME = "name"
    DATE = "date"
    NHS_NUMBER = "NHS number"
    POSTCODE = "postcode"
    CODE = "code"  # one of the code lists
    FLAG = "flag"  # Y or N
    EVENT_TYPE = "event type"  # legal_status or episode (the flat template)


K = ColumnKind
# Every column the portal reads, SSD and flat template (``validate.KNOWN_COLUMNS``).
COLUMN_KINDS: MappingProxyType[str, ColumnKind] = MappingProxyType({
    "pers_person_id": K.IDENTIFIER, "pers_forename": K.NAME, "pers_surname": K.NAME,
    "pers_sex": K.CODE, "pers_gender": K.CODE, "pers_ethnicity": K.CODE, "pers_dob": K.DATE,
    "pers_expected_dob": K.DATE, "pers_common_child_id": K.NHS_NUMBER,
    "pers_single_unique_id": K.NHS_NUMBER, "pers_death_date": K.DATE, "pers_is_mother": K.FLAG,
    "moth_table_id": K.IDENTIFIER, "moth_person_id": K.IDENTIFIER,
    "moth_childs_person_id": K.IDENTIFIER, "moth_childs_dob": K.DATE,
    "lega_legal_status_id": K.IDENTIFIER, "lega_person_id": K.IDENTIFIER, "lega_legal_status": K.CODE,
    "lega_legal_status_start_date": K.DATE, "lega_legal_status_end_date": K.DATE,
    "clae_cla_episode_id": K.IDENTIFIER, "clae_person_id": K.IDENTIFIER,
    "clae_cla_episode_start_date": K.DATE, "clae_cla_episode_ceased_date": K.DATE,
    "clae_cla_episode_ceased_reason": K.CODE,
    "addr_person_id": K.IDENTIFIER, "addr_address_postcode": K.POSTCODE,
    "addr_address_start_date": K.DATE, "addr_address_end_date": K.DATE,
    "mother_id": K.IDENTIFIER, "mother_forename": K.NAME, "mother_surname": K.NAME,
    "mother_dob": K.DATE, "mother_nhs_number": K.NHS_NUMBER, "mother_postcode": K.POSTCODE,
    "mother_ethnicity": K.CODE, "mother_expected_child_dob": K.DATE, "child_id": K.IDENTIFIER,
    "child_dob": K.DATE, "child_sex": K.CODE, "event_type": K.EVENT_TYPE, "code": K.CODE,
    "start_date": K.DATE, "end_date": K.DATE,
})  # fmt: skip

# The code list of each CODE column; the flat template's ``code`` is a legal status or a reason
# an episode ceased, by its row's event type (both are tried when only the column is known).
COLUMN_CODE_LISTS: MappingProxyType[str, tuple[CodeList, ...]] = MappingProxyType({
    "pers_sex": (CodeList.SEX,), "pers_gender": (CodeList.GENDER,),
    "pers_ethnicity": (CodeList.ETHNICITY,), "lega_legal_status": (CodeList.LEGAL_STATUS,),
    "clae_cla_episode_ceased_reason": (CodeList.EPISODE_CEASED,),
    "mother_ethnicity": (CodeList.ETHNICITY,), "child_sex": (CodeList.SEX,),
    "code": (CodeList.LEGAL_STATUS, CodeList.EPISODE_CEASED),
})  # fmt: skip

FLAG = "flag"  # the Y/N flag's "list", for the functions below
_SHAPES: dict[CodeList | str, re.Pattern[str] | None] = {
    CodeList.LEGAL_STATUS: re.compile(r"[A-Z][0-9]", re.ASCII),
    CodeList.EPISODE_CEASED: re.compile(r"[A-Z][0-9]{1,2}[A-Z]?", re.ASCII),
    CodeList.GENDER: re.compile(r"[0-9]{1,2}", re.ASCII),
    CodeList.SEX: re.compile(r"[A-Z]", re.ASCII),
    CodeList.ETHNICITY: None,  # four letters: the shape of a forename
    FLAG: re.compile(r"[A-Z]", re.ASCII),
}
_PLACEHOLDER = re.compile(r"[!-/:-@\[-`{-~]{1,4}", re.ASCII)  # ASCII punctuation only: ??, -, N/A is not
_WHAT: dict[CodeList | str | None, str] = {
    CodeList.LEGAL_STATUS: "a legal status code",
    CodeList.EPISODE_CEASED: "a code for why an episode ceased",
    CodeList.GENDER: "a gender code",
    CodeList.SEX: "a sex code",
    CodeList.ETHNICITY: "an ethnicity code",
    FLAG: "Y or N",
    None: "a recognised code",  # the list is not known (a stored problem's column)
}
NOT_SHOWN = "?"
_KEPT = "The row is kept and will be shown for review"


def may_quote(code_list: CodeList | str, value: str) -> bool:
    """Whether an unrecognised ``value`` (trimmed, upper-cased) of ``code_list`` may be quoted
    in a problem and kept as given (see the module docstring)."""
    if _PLACEHOLDER.fullmatch(value):
        return True
    shape = _SHAPES[code_list]
    return shape is not None and shape.fullmatch(value) is not None


def kept_as(code_list: CodeList | str, value: str) -> str:
    """What an unrecognised value is kept as: itself if it may be quoted, else ``NOT_SHOWN``."""
    return value if may_quote(code_list, value) else NOT_SHOWN


def unrecognised_message(name: str, code_list: CodeList | str | None, value: str, *, quote: bool | None = None) -> str:
    """The warning for an unrecognised ``value`` in the column the file calls ``name`` (an empty
    value: the code is missing). ``quote`` overrides ``may_quote`` (for a list not known)."""
    if not value:
        return f"{name} is empty. {_KEPT}"
    if quote if quote is not None else (code_list is not None and may_quote(code_list, value)):
        return f"{name} has a code that is not recognised ({value}). {_KEPT}"
    return f"{name} has a value that is not {_WHAT[code_list]} (not shown). {_KEPT}"
