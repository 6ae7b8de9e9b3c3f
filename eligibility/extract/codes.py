"""Code lists of the extract formats, with each code's meaning and default position.

Facts from `docs/extract-formats.md` (itself from the DfE SSDA903 "children looked after"
specification and the Standard Safeguarding Dataset). The default positions are the spec's
"What counts as a removal": the rule-set side copies them into its first, versioned rule set
and lets a Trust lead change them; this module is only the starting point and the code lists
the reader checks values against.

Youth-justice codes (LS J1-J3, REC E9 and E14) are criminal-offence data that no rule uses: the
reader drops their rows before anything else happens. They still have a position ("not counted",
the spec's "every other code") so that every code has exactly one.
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType


class CodeList(StrEnum):
    LEGAL_STATUS = "legal_status"  # LS
    EPISODE_CEASED = "episode_ceased"  # REC
    ETHNICITY = "ethnicity"
    SEX = "sex"
    GENDER = "gender"


class Position(StrEnum):
    COUNTED = "counted"
    REVIEW = "review"
    NOT_COUNTED = "not_counted"


LEGAL_STATUS = MappingProxyType(
    {
        "C1": "Interim care order",
        "C2": "Full care order",
        "D1": "Freeing order (legacy)",
        "E1": "Placement order",
        "V2": "Single period of accommodation under section 20",
        "V3": "Short breaks (agreed series, episodes recorded)",
        "V4": "Short breaks (agreed series, agreements recorded)",
        "L1": "Police protection",
        "L2": "Emergency protection order",
        "L3": "Child assessment order",
        "J1": "Youth justice: remanded",
        "J2": "Youth justice: accommodated under PACE",
        "J3": "Youth justice: youth rehabilitation order",
    }
)

EPISODE_CEASED = MappingProxyType(
    {
        "X1": "Episode ceased and a new episode began the same day",
        "E11": "Adopted (application unopposed)",
        "E12": "Adopted (consent dispensed with by the court)",
        "E2": "Died",
        "E3": "Care taken over by another local authority",
        "E4A": "Returned home as part of the care plan",
        "E4B": "Returned home, not part of the care plan",
        "E13": "Left to live with someone without parental responsibility",
        "E41": "Residence order or child arrangements order",
        "E43": "Special guardianship order to former foster carers (until 2017-18)",
        "E44": "Special guardianship order to other carers (until 2017-18)",
        "E45": "Special guardianship order to former foster carers who are relatives or friends",
        "E46": "Special guardianship order to former foster carers, not relatives or friends",
        "E47": "Special guardianship order to other carers who are relatives or friends",
        "E48": "Special guardianship order to other carers, not relatives or friends",
        "E5": "Independent living with formal support",
        "E6": "Independent living without formal support",
        "E7": "Transferred to adult residential care",
        "E8": "Ceased for any other reason",
        "E9": "Youth justice: sentenced to custody",
        "E14": "Youth justice: accommodation on remand ended",
        "E15": "Age assessed as 18 or over",
        "E16": "Moved abroad",
        "E17": "Aged 18 or over and stayed with current carers (staying put)",
    }
)

ETHNICITY = MappingProxyType(
    {
        "WBRI": "White British",
        "WIRI": "White Irish",
        "WOTH": "Any other White background",
        "WIRT": "Traveller of Irish heritage",
        "WROM": "Gypsy or Roma",
        "MWBC": "White and Black Caribbean",
        "MWBA": "White and Black African",
        "MWAS": "White and Asian",
        "MOTH": "Any other mixed background",
        "AIND": "Indian",
        "APKN": "Pakistani",
        "ABAN": "Bangladeshi",
        "AOTH": "Any other Asian background",
        "BCRB": "Black Caribbean",
        "BAFR": "Black African",
        "BOTH": "Any other Black background",
        "CHNE": "Chinese",
        "OOTH": "Any other ethnic group",
        "REFU": "Refused",
        "NOBT": "Information not yet obtained",
    }
)

SEX = MappingProxyType({"F": "Female", "M": "Male", "U": "Unknown"})

# 00, 01, 02 and 09 are national; 10-99 are local codes, all valid.
GENDER = MappingProxyType(
    {"00": "Not known", "01": "Man or boy", "02": "Woman or girl", "09": "Self-described"}
    | {f"{n:02d}": "Local code" for n in range(10, 100)}
)

YOUTH_JUSTICE_LEGAL_STATUS = frozenset({"J1", "J2", "J3"})
YOUTH_JUSTICE_CEASED = frozenset({"E9", "E14"})

_COUNTED_LS = frozenset({"C1", "C2", "E1", "D1"})
_COUNTED_REC = frozenset({"E11", "E12", "E41", "E43", "E44", "E45", "E46", "E47", "E48"})
_REVIEW_LS = frozenset({"V2"})
_REVIEW_REC = frozenset({"E13"})


def _positions(codes, counted, review) -> MappingProxyType:
    return MappingProxyType(
        {
            code: Position.COUNTED
            if code in counted
            else Position.REVIEW
            if code in review
            else Position.NOT_COUNTED
            for code in codes
        }
    )


# Every LS and REC code, exactly one position each (a dict key cannot repeat).
DEFAULT_POSITION: MappingProxyType = MappingProxyType(
    {
        CodeList.LEGAL_STATUS: _positions(LEGAL_STATUS, _COUNTED_LS, _REVIEW_LS),
        CodeList.EPISODE_CEASED: _positions(EPISODE_CEASED, _COUNTED_REC, _REVIEW_REC),
    }
)

CODE_LISTS = MappingProxyType(
    {
        CodeList.LEGAL_STATUS: LEGAL_STATUS,
        CodeList.EPISODE_CEASED: EPISODE_CEASED,
        CodeList.ETHNICITY: ETHNICITY,
        CodeList.SEX: SEX,
        CodeList.GENDER: GENDER,
    }
)


def is_known(code_list: CodeList, code: str) -> bool:
    return code in CODE_LISTS[code_list]


def default_position(code_list: CodeList, code: str) -> Position:
    """The default position of an LS or REC code; an unrecognised code is for review (the spec:
    kept as given and treated as "for review", never silently dropped)."""
    return DEFAULT_POSITION[code_list].get(code, Position.REVIEW)


def meaning(code_list: CodeList, code: str) -> str | None:
    return CODE_LISTS[code_list].get(code)
