"""k-anonymity: a synthetic 50-woman cohort, minimality against the lattice, and properties."""

import itertools
import math
import random
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pseudonymisation.generalise import age_band, band, ethnic_group, year_band
from pseudonymisation.kanonymity import (
    Level,
    equivalence_classes,
    hierarchy_loss,
    is_k_anonymous,
    k_anonymise,
    k_anonymise_best,
)

REFERENCE = date(2025, 3, 31)
WINDOW_START_YEAR = 2015  # the default 10-year look-back from the reference date
OTHER_CODES = [
    "WIRI", "WOTH", "WIRT", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN",
    "AOTH", "CHNE", "BCRB", "BAFR", "BOTH", "OOTH", "REFU", "NOBT",
]


def cohort(seed: int, size: int = 50) -> list[dict]:
    """Synthetic women as the default rules propose them: ~70% White British; ages 19-45, mostly
    25-35; 2-6 children removed, mostly 2-3; the last removal within the 10-year look-back window
    (a woman is eligible for her removals within it), more often recent, and never before she was
    about 16 at her first removal."""
    rng = random.Random(seed)
    ages = list(range(19, 46))
    women = []
    for _ in range(size):
        age = rng.choices(ages, weights=[4 if 25 <= a <= 35 else 1 for a in ages])[0]
        dob = REFERENCE - timedelta(days=round(365.25 * age) + rng.randint(1, 364))
        children = rng.choices([2, 3, 4, 5, 6], weights=[40, 30, 15, 10, 5])[0]
        earliest = min(max(WINDOW_START_YEAR, dob.year + 16 + children), 2024)
        years = list(range(earliest, 2025))
        women.append(
            {
                "dob": dob,
                "ethnicity": "WBRI" if rng.random() < 0.7 else rng.choice(OTHER_CODES),
                "children_removed": children,
                "last_removal": rng.choices(years, weights=[y - 2005 for y in years])[0],
                "notes": "synthetic",  # not a quasi-identifier: passes through untouched
            }
        )
    return women


def white_or_not(code) -> str:
    group = ethnic_group(code)
    return group if group in ("White", "Not known") else "Not White"


def children_2_3_4plus(n: int) -> str:
    return str(n) if n < 4 else "4+"


def children_2to3_4plus(n: int) -> str:
    return "2-3" if n < 4 else "4+"


HIERARCHIES = {
    "dob": [
        Level("5-year age band", lambda d: age_band(d, REFERENCE, 5)),
        Level("10-year age band", lambda d: age_band(d, REFERENCE, 10)),
        "*",
    ],
    "ethnicity": [Level("broad group", ethnic_group), Level("White / not White", white_or_not), "*"],
    "children_removed": [
        Level("exact", str),
        Level("2, 3, 4+", children_2_3_4plus),
        Level("2-3, 4+", children_2to3_4plus),
        "*",
    ],
    "last_removal": [Level("year", str), Level("5-year band", lambda y: year_band(y, 5))],
}
CAPS = {"dob": "10-year age band", "last_removal": "5-year band"}


def aligned(age_offset: int, year_offset: int) -> dict:
    """The same hierarchies with the bands aligned differently (widths unchanged)."""
    return {
        **HIERARCHIES,
        "dob": [
            Level("5-year age band", lambda d: age_band(d, REFERENCE, 5, age_offset % 5)),
            Level("10-year age band", lambda d: age_band(d, REFERENCE, 10, age_offset)),
            "*",
        ],
        "last_removal": [Level("year", str), Level("5-year band", lambda y: year_band(y, 5, year_offset))],
    }


ALIGNMENTS = {f"age +{a}, years +{y}": aligned(a, y) for a in range(10) for y in range(5)}
QI = list(HIERARCHIES)

# Every one of these seeded cohorts must be releasable within the caps: the test is over many
# cohorts, not one chosen seed. With bands fixed at multiples of their width, about half of them
# could not be released at k = 5 within 10% (10-year age bands x 5-year removal bands leave
# too many small classes); choosing the bands' alignment per release (k_anonymise_best) releases
# every one.
RELEASE_SEEDS = range(40)
RELEASABLE_SEED = 20
UNRELEASABLE = [  # 12 women, too spread out for k = 5 at any allowed level
    {"dob": date(1980 + 5 * (i % 4), 1, 1), "ethnicity": "WBRI", "children_removed": 2,
     "last_removal": 2009 + 5 * (i % 3), "notes": "synthetic"} for i in range(12)
]


def generalised(rows, levels):
    """The rows with each quasi-identifier at the given level, computed here independently."""
    out = []
    for row in rows:
        new = dict(row)
        for column, level in levels.items():
            spec = HIERARCHIES[column][level]
            new[column] = "*" if spec == "*" else spec.apply(row[column])
        out.append(new)
    return out


def withheld_at(rows, levels, k=5):
    classes = equivalence_classes(generalised(rows, levels), QI)
    return sorted(i for ix in classes.values() if len(ix) < k for i in ix)


def test_the_cohort_looks_like_the_brief():
    women = cohort(RELEASABLE_SEED)
    assert len(women) == 50
    white_british = sum(w["ethnicity"] == "WBRI" for w in women)
    assert 28 <= white_british <= 42
    ages = [(REFERENCE - w["dob"]).days // 365 for w in women]
    assert min(ages) >= 19 and max(ages) <= 45
    assert sum(25 <= a <= 35 for a in ages) > 25
    assert sum(w["children_removed"] <= 3 for w in women) > 25
    assert all(WINDOW_START_YEAR <= w["last_removal"] <= 2024 for w in women)


@pytest.mark.parametrize("seed", RELEASE_SEEDS)
def test_cohort_release_meets_k5_within_caps_and_withholding_limit(seed, capsys):
    women = cohort(seed)
    option, result = k_anonymise_best(women, ALIGNMENTS, k=5, max_withheld=0.10, max_levels=CAPS)

    assert result.found, result.summary
    released = [kept.row for kept in result.rows]
    assert is_k_anonymous(released, QI, 5)
    assert all(len(ix) >= 5 for ix in equivalence_classes(released, QI).values())
    assert all(size >= 5 for size in result.class_sizes.values())
    assert sum(result.class_sizes.values()) == len(released)
    assert len(result.withheld) <= 5 and result.withheld_fraction <= 0.10
    assert result.levels["dob"] <= 1, "age no coarser than 10-year bands"
    assert result.levels["last_removal"] <= 1, "years no coarser than 5-year bands"
    assert all(row["dob"] != "*" and row["last_removal"] != "*" for row in released)
    assert all(row["notes"] == "synthetic" for row in released)
    with capsys.disabled():
        print(f"\n[k-anonymity cohort, seed {seed}] withheld {len(result.withheld)} "
              f"of {result.total_rows} ({result.withheld_fraction:.0%}); bands {option}; levels "
              f"{result.level_names}; class sizes {sorted(result.class_sizes.values())}")


def test_an_unreleasable_cohort_says_so_rather_than_raising(capsys):
    result = k_anonymise(UNRELEASABLE, HIERARCHIES, max_levels=CAPS)
    assert not result.found
    assert result.rows == []
    coarsest = {"dob": 1, "ethnicity": 2, "children_removed": 3, "last_removal": 1}
    assert result.levels == coarsest
    assert result.withheld == withheld_at(UNRELEASABLE, coarsest)
    assert len(result.withheld) > 1
    assert "Nothing is released" in result.summary
    with capsys.disabled():
        print(f"\n[k-anonymity, an unreleasable cohort] {result.summary}")


def _loss(levels):
    return sum(Fraction(levels[c], len(HIERARCHIES[c]) - 1) for c in QI)


def test_no_strictly_lower_lattice_node_satisfies_the_constraints():
    women = cohort(RELEASABLE_SEED)
    result = k_anonymise(women, HIERARCHIES, max_levels=CAPS)
    chosen = result.levels
    tops = {"dob": 1, "ethnicity": 2, "children_removed": 3, "last_removal": 1}
    nodes = itertools.product(*(range(tops[c] + 1) for c in QI))
    for node in nodes:
        levels = dict(zip(QI, node, strict=True))
        if levels == chosen:
            continue
        satisfies = len(withheld_at(women, levels)) <= 5
        if all(levels[c] <= chosen[c] for c in QI):
            assert not satisfies, f"{levels} is lower than {chosen} and also satisfies"
        if satisfies:  # and the chosen node is optimal over the whole lattice, not just below
            assert (_loss(levels), len(withheld_at(women, levels))) >= (
                _loss(chosen), len(result.withheld))


def test_withheld_rows_are_exactly_those_in_small_classes_and_indices_partition():
    women = cohort(RELEASABLE_SEED)
    result = k_anonymise(women, HIERARCHIES, max_levels=CAPS)
    assert result.withheld == withheld_at(women, result.levels)
    kept = [r.index for r in result.rows]
    assert sorted(kept + result.withheld) == list(range(len(women)))
    expected = generalised(women, result.levels)
    assert all(r.row == expected[r.index] for r in result.rows)


def test_results_are_deterministic():
    first = k_anonymise(cohort(RELEASABLE_SEED), HIERARCHIES, max_levels=CAPS)
    second = k_anonymise(cohort(RELEASABLE_SEED), HIERARCHIES, max_levels=CAPS)
    assert first == second


def test_equivalence_classes_and_is_k_anonymous():
    rows = [{"a": 1, "b": "x"}, {"a": 1, "b": "x"}, {"a": 2, "b": "x"}, {"a": 1, "b": "y"}]
    assert equivalence_classes(rows, ["a", "b"]) == {(1, "x"): [0, 1], (2, "x"): [2], (1, "y"): [3]}
    assert equivalence_classes(rows, ["b"]) == {("x",): [0, 1, 2], ("y",): [3]}
    assert is_k_anonymous(rows, ["b"], 1)
    assert not is_k_anonymous(rows, ["b"], 2)
    assert is_k_anonymous(rows[:2], ["a", "b"], 2)
    assert is_k_anonymous([], ["a"], 5)


def test_levels_may_be_functions_levels_or_star_and_caps_indices_or_names():
    rows = [{"age": a} for a in (21, 22, 23, 24, 26, 27, 28, 29, 31, 33)]

    def five(a):
        return band(a, 5)

    result = k_anonymise(rows, {"age": [str, five, "*"]}, k=2, max_withheld=0)
    assert result.level_names == {"age": "five"} and result.levels == {"age": 1}
    assert not k_anonymise(rows, {"age": [str, five, "*"]}, k=5, max_withheld=0,
                           max_levels={"age": 1}).found
    assert k_anonymise(rows, {"age": [str, five, "*"]}, k=5, max_withheld=0).levels == {"age": 2}
    assert k_anonymise(rows, {"age": [str, five, "*"]}, k=4, max_withheld=0.2,
                       max_levels={"age": "five"}).withheld == [8, 9]


def test_ties_in_height_go_to_fewer_withheld_rows():
    # Suppressing a or suppressing b costs the same height and both are allowed; suppressing a
    # withholds nothing, suppressing b withholds the two singletons of a (5 and 6).
    a = [1, 1, 2, 2, 3, 3, 4, 4, 5, 6]
    b = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    rows = [{"a": x, "b": y} for x, y in zip(a, b, strict=True)]
    result = k_anonymise(rows, {"a": [str, "*"], "b": [str, "*"]}, k=2, max_withheld=0.2)
    assert result.levels == {"a": 1, "b": 0} and result.withheld == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be"),
        ({"max_withheld": 1.5}, "max_withheld"),
        ({"max_levels": {"nope": 1}}, "without a hierarchy"),
        ({"max_levels": {"a": 5}}, "between 0 and 1"),
        ({"max_levels": {"a": "no such level"}}, "no level named"),
    ],
)
def test_malformed_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        k_anonymise([{"a": 1}], {"a": [str, "*"]}, **kwargs)


def test_a_row_without_a_quasi_identifier_is_refused():
    with pytest.raises(ValueError, match="row 1 has no value"):
        k_anonymise([{"a": 1}, {"b": 2}], {"a": [str, "*"]})


# --- property test ------------------------------------------------------------------------
def _tens(x):
    return band(x, 10)


def _parity(s):
    return "vowel" if s in "ae" else "consonant"


SMALL_HIERARCHIES = {"x": [str, _tens, "*"], "s": [str, _parity, "*"]}


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries({"x": st.integers(0, 29), "s": st.sampled_from("abcde")}),
        max_size=25,
    ),
    k=st.integers(1, 4),
    fraction=st.sampled_from([0, 0.1, 0.2, 0.5]),
    cap_x=st.integers(0, 2),
)
def test_property_results_are_k_anonymous_optimal_and_within_the_limit(rows, k, fraction, cap_x):
    result = k_anonymise(rows, SMALL_HIERARCHIES, k=k, max_withheld=fraction,
                         max_levels={"x": cap_x})
    allowed = math.floor(Fraction(str(fraction)) * len(rows))

    def evaluate(lx, ls):
        def gen(h, level, value):
            spec = SMALL_HIERARCHIES[h][level]
            return "*" if spec == "*" else spec(value)

        keyed = [{"x": gen("x", lx, r["x"]), "s": gen("s", ls, r["s"])} for r in rows]
        classes = equivalence_classes(keyed, ["x", "s"])
        return sorted(i for ix in classes.values() if len(ix) < k for i in ix)

    feasible = {
        (lx, ls): len(evaluate(lx, ls))
        for lx in range(cap_x + 1) for ls in range(3)
        if len(evaluate(lx, ls)) <= allowed
    }
    assert result.found == bool(feasible)
    if result.found:
        released = [kept.row for kept in result.rows]
        assert is_k_anonymous(released, ["x", "s"], k)
        assert len(result.withheld) <= allowed
        assert result.levels["x"] <= cap_x
        best = min((Fraction(lx, 2) + Fraction(ls, 2), w) for (lx, ls), w in feasible.items())
        node = (result.levels["x"], result.levels["s"])
        assert (Fraction(node[0], 2) + Fraction(node[1], 2), feasible[node]) == best
    else:
        assert result.rows == []
        assert len(result.withheld) > allowed
        assert result.withheld == evaluate(cap_x, 2)


def test_k_anonymise_best_prefers_found_then_least_generalisation_then_the_first_option():
    women = cohort(RELEASABLE_SEED)
    option, best = k_anonymise_best(women, ALIGNMENTS, max_levels=CAPS)
    for name, hierarchies in ALIGNMENTS.items():
        other = k_anonymise(women, hierarchies, max_levels=CAPS)
        if other.found:
            assert (hierarchy_loss(ALIGNMENTS[option], best.levels), len(best.withheld)) <= (
                hierarchy_loss(hierarchies, other.levels), len(other.withheld))
    # With one option, it is exactly k_anonymise.
    only, result = k_anonymise_best(women, {"fixed": HIERARCHIES}, max_levels=CAPS)
    assert only == "fixed" and result == k_anonymise(women, HIERARCHIES, max_levels=CAPS)
    with pytest.raises(ValueError):
        k_anonymise_best(women, {})
