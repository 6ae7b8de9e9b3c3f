"""Code lists and default positions, as "What counts as a removal" sets them."""

from __future__ import annotations

from eligibility.extract import codes
from eligibility.extract.codes import CodeList, Position, default_position


def positions(code_list: CodeList, position: Position) -> set[str]:
    return {c for c, p in codes.DEFAULT_POSITION[code_list].items() if p is position}


def test_every_ls_and_rec_code_has_exactly_one_position():
    for code_list, table in [(CodeList.LEGAL_STATUS, codes.LEGAL_STATUS),
                             (CodeList.EPISODE_CEASED, codes.EPISODE_CEASED)]:  # fmt: skip
        by_position = [positions(code_list, p) for p in Position]
        assert set().union(*by_position) == set(table)
        assert sum(len(s) for s in by_position) == len(table)


def test_positions_follow_the_spec():
    ls, rec = CodeList.LEGAL_STATUS, CodeList.EPISODE_CEASED
    assert positions(ls, Position.COUNTED) == {"C1", "C2", "E1", "D1"}
    assert positions(rec, Position.COUNTED) == {"E11", "E12", "E41", "E43", "E44", "E45", "E46",
                                                "E47", "E48"}  # fmt: skip
    assert positions(ls, Position.REVIEW) == {"V2"} and positions(rec, Position.REVIEW) == {"E13"}
    assert positions(ls, Position.NOT_COUNTED) == {"V3", "V4", "L1", "L2", "L3", "J1", "J2", "J3"}
    assert positions(rec, Position.NOT_COUNTED) == {
        "X1", "E2", "E3", "E4A", "E4B", "E5", "E6", "E7", "E8", "E9", "E14", "E15", "E16", "E17",
    }  # fmt: skip


def test_unrecognised_codes_are_for_review():
    assert default_position(CodeList.LEGAL_STATUS, "??") is Position.REVIEW
    assert default_position(CodeList.EPISODE_CEASED, "E99") is Position.REVIEW


def test_youth_justice_codes_are_in_their_lists():
    assert codes.YOUTH_JUSTICE_LEGAL_STATUS == {"J1", "J2", "J3"} <= set(codes.LEGAL_STATUS)
    assert codes.YOUTH_JUSTICE_CEASED == {"E9", "E14"} <= set(codes.EPISODE_CEASED)


def test_other_code_lists():
    assert len(codes.ETHNICITY) == 20 and codes.meaning(CodeList.ETHNICITY, "MWBA") == (
        "White and Black African"
    )
    assert set(codes.SEX) == {"F", "M", "U"}
    assert {"00", "01", "02", "09", "10", "99"} <= set(codes.GENDER) and "03" not in codes.GENDER
    assert codes.is_known(CodeList.LEGAL_STATUS, "C2") and not codes.is_known(CodeList.SEX, "X")
