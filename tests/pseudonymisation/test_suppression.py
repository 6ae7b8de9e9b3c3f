"""Small-number suppression: no hidden cell derivable, secondary suppression minimal."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pseudonymisation.suppression import derivable_cells, suppress

# --- derivable_cells itself (the independent check the other tests rely on) ---------------


def test_a_lone_hidden_cell_in_a_row_is_derivable():
    table = [[2, 10], [8, 9]]
    assert derivable_cells(table, {(0, 0)}) == {(0, 0)}


def test_two_hidden_cells_in_one_row_only_are_both_derivable_from_the_column_totals():
    table = [[2, 3, 7], [8, 9, 12]]
    assert derivable_cells(table, {(0, 0), (0, 1)}) == {(0, 0), (0, 1)}


def test_a_hidden_rectangle_is_not_derivable_but_a_hanging_cell_is():
    table = [[2, 10, 7], [8, 9, 12], [6, 11, 15]]
    rectangle = {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert derivable_cells(table, rectangle) == set()
    assert derivable_cells(table, rectangle | {(2, 2)}) == {(2, 2)}
    assert derivable_cells(table, rectangle | {(1, 2)}) == {(1, 2)}
    assert derivable_cells(table, set()) == set()


def test_derivable_cells_refuses_cells_outside_the_table():
    with pytest.raises(ValueError):
        derivable_cells([[1, 2], [3, 4]], {(2, 0)})


# --- fixed examples -----------------------------------------------------------------------


def test_a_single_small_cell_gets_partners_in_its_row_and_column():
    table = [[2, 10, 7], [8, 9, 12], [6, 11, 15]]
    result = suppress(table)
    assert result.primary == {(0, 0)}
    # Three cells close the cheapest rectangle; 10 + 8 + 9 ties with two others at 27, and the
    # earliest cells win the tie.
    assert result.secondary == {(0, 1), (1, 0), (1, 1)}
    assert result.minimal and not result.notes
    assert derivable_cells(table, result.hidden) == set()
    assert result.display == [["<5", "*", "7"], ["*", "*", "12"], ["6", "11", "15"]]
    assert result.row_totals == [19, 29, 32]
    assert result.column_totals == [16, 30, 34]
    assert result.grand_total == 80


def test_a_row_whose_nonzero_cells_are_all_small_is_protected_through_another_row():
    # Row 0 shows only hidden cells and a zero, so its total is the sum of its two small counts.
    table = [[2, 3, 0], [8, 9, 12], [6, 11, 15]]
    result = suppress(table)
    assert result.primary == {(0, 0), (0, 1)}
    assert result.secondary == {(1, 0), (1, 1)}
    assert not result.zeros_suppressed
    assert derivable_cells(table, result.hidden) == set()
    assert result.display[0] == ["<5", "<5", "0"]


def test_a_zero_is_hidden_only_when_nothing_else_can_protect_a_small_count():
    table = [[3, 0, 0], [8, 9, 12], [6, 11, 15]]
    result = suppress(table)
    assert result.zeros_suppressed == {(0, 1)}
    assert result.secondary == {(0, 1), (1, 0), (1, 1)}
    assert any("zero cell" in note for note in result.notes)
    assert derivable_cells(table, result.hidden) == set()
    assert result.display[0] == ["<5", "*", "0"]


def test_two_diagonal_small_cells_hide_the_whole_two_by_two():
    result = suppress([[1, 20], [30, 2]])
    assert result.primary == {(0, 0), (1, 1)}
    assert result.secondary == {(0, 1), (1, 0)}
    assert result.display == [["<5", "*"], ["*", "<5"]]


def test_small_cells_already_protecting_each_other_need_no_secondary():
    table = [[1, 2, 30], [3, 4, 40]]
    result = suppress(table)
    assert result.primary == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert result.secondary == frozenset()
    assert derivable_cells(table, result.hidden) == set()


def test_nothing_small_nothing_hidden():
    result = suppress([[0, 5], [12, 0]])
    assert result.hidden == frozenset()
    assert result.display == [["0", "5"], ["12", "0"]]


def test_the_threshold_sets_primary_cells_and_the_label():
    table = [[9, 10, 25], [30, 12, 1], [40, 50, 60]]
    result = suppress(table, threshold=10)
    assert result.primary == {(0, 0), (1, 2)}
    assert result.display[0][0] == "<10"
    assert derivable_cells(table, result.hidden) == set()
    assert suppress(table, threshold=1).hidden == frozenset()


def test_the_secondary_label_can_be_chosen():
    result = suppress([[1, 20], [30, 2]], secondary_label="[c]")
    assert result.display == [["<5", "[c]"], ["[c]", "<5"]]


def test_a_single_row_or_column_with_small_counts_cannot_be_protected():
    with pytest.raises(ValueError, match="single row or column"):
        suppress([[1, 20, 30]])
    with pytest.raises(ValueError, match="single row or column"):
        suppress([[1], [20]])
    assert suppress([[10, 20, 30]]).hidden == frozenset()


@pytest.mark.parametrize(
    "table", [[], [[]], [[1, 2], [3]], [[1, -2], [3, 4]], [[1, 2.0], [3, 4]], [[True, 2], [3, 4]]]
)
def test_malformed_tables_raise(table):
    with pytest.raises(ValueError):
        suppress(table)


def test_big_tables_fall_back_to_greedy_and_say_so():
    table = [[(7 * r + 3 * c) % 40 + 5 for c in range(10)] for r in range(9)]
    for r, c in [(0, 0), (3, 4), (5, 9), (8, 2)]:
        table[r][c] = 2
    result = suppress(table)
    assert not result.minimal
    assert any("greedily" in note for note in result.notes)
    assert result.primary == {(0, 0), (3, 4), (5, 9), (8, 2)}
    assert derivable_cells(table, result.hidden) == set()
    assert not result.zeros_suppressed


def test_an_exhausted_search_budget_falls_back_to_greedy(monkeypatch):
    monkeypatch.setattr("pseudonymisation.suppression.EXACT_NODE_BUDGET", 1)
    table = [[2, 10, 7], [8, 9, 12], [6, 11, 15]]
    result = suppress(table)
    assert not result.minimal and any("greedily" in note for note in result.notes)
    assert derivable_cells(table, result.hidden) == set()


# --- properties ---------------------------------------------------------------------------
cell_values = st.one_of(st.just(0), st.integers(1, 4), st.integers(5, 30))


def tables(low: int, high: int):
    return st.integers(low, high).flatmap(
        lambda m: st.integers(low, high).flatmap(
            lambda n: st.lists(
                st.lists(cell_values, min_size=n, max_size=n), min_size=m, max_size=m
            )
        )
    )


@settings(max_examples=150, deadline=None)
@given(table=tables(2, 5))
def test_property_no_hidden_cell_is_derivable_and_the_display_is_right(table):
    result = suppress(table)
    assert derivable_cells(table, result.hidden) == set()
    assert result.primary == {
        (r, c) for r, row in enumerate(table) for c, v in enumerate(row) if 1 <= v < 5
    }
    assert not result.primary & result.secondary
    assert result.minimal
    for r, row in enumerate(table):
        for c, v in enumerate(row):
            shown = result.display[r][c]
            if (r, c) in result.primary:
                assert shown == "<5"
            elif (r, c) in result.secondary:
                assert shown == "*"
            else:
                assert shown == str(v) and (v == 0 or v >= 5)
    assert result.row_totals == [sum(row) for row in table]
    assert result.column_totals == [sum(col) for col in zip(*table, strict=True)]
    # Zeros are hidden only when the non-zero cells cannot protect the small ones.
    if result.zeros_suppressed:
        nonzero = {(r, c) for r, row in enumerate(table) for c, v in enumerate(row) if v}
        assert derivable_cells(table, nonzero) & result.primary


def brute_force(table):
    """The best secondary set, by exhaustive search judged only by derivable_cells.

    Order: fewest zeros, then fewest cells, then smallest total value, then earliest cells.
    A set of zeros Z admits a solution iff the small cells are underivable when Z and every
    non-zero cell are hidden (the supports of the null vectors protecting them are a solution),
    which finds the fewest zeros without enumerating every non-zero subset.
    """
    cells = {(r, c): v for r, row in enumerate(table) for c, v in enumerate(row)}
    primary = {cell for cell, v in cells.items() if 1 <= v < 5}
    nonzero = sorted(cell for cell, v in cells.items() if v >= 5)
    zeros = sorted(cell for cell, v in cells.items() if v == 0)
    if not primary:
        return frozenset()
    for z in range(len(zeros) + 1):
        zero_sets = [
            set(zs) for zs in itertools.combinations(zeros, z)
            if not derivable_cells(table, primary | set(zs) | set(nonzero)) & primary
        ]
        if not zero_sets:
            continue
        for extra in range(len(nonzero) + 1):
            found = [
                zs | set(ns)
                for zs in zero_sets
                for ns in itertools.combinations(nonzero, extra)
                if not derivable_cells(table, primary | zs | set(ns))
            ]
            if found:
                return frozenset(min(found, key=lambda s: (sum(cells[x] for x in s), sorted(s))))
    raise AssertionError("a table with two rows and two columns can always be protected")


@settings(max_examples=100, deadline=None)
@given(table=tables(2, 4))
def test_property_secondary_suppression_is_minimal_against_brute_force(table):
    assert suppress(table).secondary == brute_force(table)
