"""k-anonymity by full-domain generalisation with limited row withholding.

With about fifty women in a cohort, a pseudonymised row can still single someone out: "the only
woman aged 40-44 of Mixed ethnicity with five children removed". A release is k-anonymous when
every combination of quasi-identifier values it shows is shared by at least k rows, so any row
matches at least k women.

Each quasi-identifier has a generalisation hierarchy: an ordered list of levels from finest to
coarsest, where the last level may be full suppression ("*"). A lattice node picks one level
per column. As in Samarati's and Incognito's full-domain generalisation, the whole lattice is
searched (it is small: a handful of columns with two to four levels each), which makes the
answer exactly optimal instead of a greedy guess. Rows left in classes smaller than k may be
withheld, up to a maximum fraction of the rows.

Information loss is the sum over columns of level / (number of levels - 1), so each column's
coarsest level costs 1 whatever its hierarchy's length; ties go to fewer withheld rows, then to
the lexicographically smallest levels (so results are deterministic).

Pure Python, no Django: this module is part of a leaf app.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

SUPPRESSED = "*"
MAX_LATTICE_NODES = 100_000  # a guard against a mistaken hierarchy, not a tuning knob


@dataclass(frozen=True)
class Level:
    """One level of a hierarchy: a name for people ("10-year band") and the function it applies."""

    name: str
    apply: Callable[[Any], Hashable]


def _suppress(_value: Any) -> str:
    return SUPPRESSED


SUPPRESS = Level("suppressed", _suppress)

# A hierarchy level may be given as a Level, a bare function, or the string "*".
LevelSpec = Level | Callable[[Any], Hashable] | str


def _as_level(spec: LevelSpec, position: int) -> Level:
    if isinstance(spec, Level):
        return spec
    if spec == SUPPRESSED:
        return SUPPRESS
    if callable(spec):
        name = getattr(spec, "__name__", "")
        return Level(name if name and name != "<lambda>" else f"level {position}", spec)
    raise TypeError(f"hierarchy level {position} is neither a function, a Level nor '*'")


@dataclass(frozen=True)
class KeptRow:
    """A released row: its position in the input, and the row with quasi-identifiers generalised."""

    index: int
    row: dict[str, Any]


@dataclass(frozen=True)
class KAnonymityResult:
    """The outcome of `k_anonymise`.

    When `found` is False nothing may be released: `rows` is empty, `levels` are the coarsest
    levels allowed, and `withheld` lists the rows that would still have to be withheld there.
    """

    found: bool
    k: int
    max_withheld_fraction: Fraction
    total_rows: int
    levels: dict[str, int]
    level_names: dict[str, str]
    rows: list[KeptRow]
    withheld: list[int]
    class_sizes: dict[tuple[Hashable, ...], int]
    summary: str

    @property
    def withheld_fraction(self) -> float:
        return len(self.withheld) / self.total_rows if self.total_rows else 0.0


def equivalence_classes(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> dict[tuple[Hashable, ...], list[int]]:
    """Group row indices by their combination of values in `columns`, in first-seen order."""
    classes: dict[tuple[Hashable, ...], list[int]] = {}
    for index, row in enumerate(rows):
        classes.setdefault(tuple(row[c] for c in columns), []).append(index)
    return classes


def is_k_anonymous(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], k: int) -> bool:
    """True if every combination of values in `columns` is shared by at least k rows."""
    return all(len(ix) >= k for ix in equivalence_classes(rows, columns).values())


def _cap(column: str, cap: int | str | None, levels: Sequence[Level]) -> int:
    """Resolve a per-column cap given as a level index or a level name to an index."""
    if cap is None:
        return len(levels) - 1
    if isinstance(cap, str):
        names = [lv.name for lv in levels]
        if cap not in names:
            raise ValueError(f"column {column!r} has no level named {cap!r} (levels: {names})")
        return names.index(cap)
    if not 0 <= cap < len(levels):
        raise ValueError(f"cap for column {column!r} must be between 0 and {len(levels) - 1}")
    return cap


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


def k_anonymise(
    rows: Sequence[Mapping[str, Any]],
    hierarchies: Mapping[str, Sequence[LevelSpec]],
    *,
    k: int = 5,
    max_withheld: float | Fraction = 0.10,
    max_levels: Mapping[str, int | str] | None = None,
) -> KAnonymityResult:
    """Find the least generalisation that makes `rows` k-anonymous on the hierarchies' columns.

    `hierarchies` maps each quasi-identifier column to its levels, finest first. `max_levels`
    caps a column's coarsest permitted level, by index or by level name (for example "no coarser
    than 10-year age bands"). At most floor(`max_withheld` x number of rows) rows in classes
    smaller than k may be withheld. Columns not named in `hierarchies` pass through unchanged,
    so drop direct identifiers before calling.

    Never raises for an unsatisfiable request: the result says so instead (see
    `KAnonymityResult`). Raises ValueError for malformed arguments.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError("k must be a positive whole number")
    fraction = Fraction(str(max_withheld))
    if not 0 <= fraction <= 1:
        raise ValueError("max_withheld must be a fraction between 0 and 1")
    if not hierarchies:
        raise ValueError("at least one quasi-identifier column is needed")
    caps = dict(max_levels or {})
    unknown = set(caps) - set(hierarchies)
    if unknown:
        raise ValueError(f"caps given for columns without a hierarchy: {sorted(unknown)}")

    columns = list(hierarchies)
    levels = {c: [_as_level(s, i) for i, s in enumerate(hierarchies[c])] for c in columns}
    if any(not lv for lv in levels.values()):
        raise ValueError("every hierarchy needs at least one level")
    top = {c: _cap(c, caps.get(c), levels[c]) for c in columns}
    if math.prod(top[c] + 1 for c in columns) > MAX_LATTICE_NODES:
        raise ValueError("the generalisation lattice is too large to search exhaustively")
    for index, row in enumerate(rows):
        missing = [c for c in columns if c not in row]
        if missing:
            raise ValueError(f"row {index} has no value for {missing}")

    n = len(rows)
    allowed = math.floor(fraction * n)
    # Each column's values at each permitted level, computed once rather than per lattice node.
    values = {
        c: [[lv.apply(row[c]) for row in rows] for lv in levels[c][: top[c] + 1]] for c in columns
    }

    def evaluate(node: tuple[int, ...]) -> tuple[list[tuple[Hashable, ...]], Counter]:
        keys = list(zip(*(values[c][lv] for c, lv in zip(columns, node, strict=True)), strict=True))
        return keys, Counter(keys)

    def loss(node: tuple[int, ...]) -> Fraction:
        # Exact fractions, so that equal losses tie exactly and the tie-breaks decide.
        return sum(
            (Fraction(lv, len(levels[c]) - 1) for c, lv in zip(columns, node, strict=True)
             if len(levels[c]) > 1),
            Fraction(0),
        )

    best: tuple[Fraction, int, tuple[int, ...]] | None = None
    for node in itertools.product(*(range(top[c] + 1) for c in columns)):
        _keys, counts = evaluate(node)
        withheld = sum(size for size in counts.values() if size < k)
        if withheld <= allowed:
            candidate = (loss(node), withheld, node)
            if best is None or candidate < best:
                best = candidate

    found = best is not None
    node = best[2] if best is not None else tuple(top[c] for c in columns)
    keys, counts = evaluate(node)
    withheld_ix = [i for i, key in enumerate(keys) if counts[key] < k]
    kept: list[KeptRow] = []
    if found:
        for i, (row, key) in enumerate(zip(rows, keys, strict=True)):
            if counts[key] >= k:
                kept.append(KeptRow(i, {**row, **dict(zip(columns, key, strict=True))}))
    chosen = dict(zip(columns, node, strict=True))
    names = {c: levels[c][chosen[c]].name for c in columns}
    described = ", ".join(f"{c} = {names[c]} (level {chosen[c]}, at most {top[c]})" for c in columns)
    limit = f"the {_percent(fraction.numerator, fraction.denominator)} limit ({allowed} rows)"
    if found:
        summary = (
            f"Every combination of {', '.join(columns)} is shared by at least {k} rows. "
            f"{len(kept)} of {n} rows released; {len(withheld_ix)} withheld "
            f"({_percent(len(withheld_ix), n)}), within {limit}. Levels: {described}."
        )
    else:
        summary = (
            f"No generalisation within the caps makes the rows {k}-anonymous within {limit}: "
            f"even at the coarsest allowed levels ({described}) {len(withheld_ix)} of {n} rows "
            f"({_percent(len(withheld_ix), n)}) would have to be withheld. Nothing is released."
        )
    return KAnonymityResult(
        found=found,
        k=k,
        max_withheld_fraction=fraction,
        total_rows=n,
        levels=chosen,
        level_names=names,
        rows=kept,
        withheld=withheld_ix,
        class_sizes={key: size for key, size in counts.items() if size >= k},
        summary=summary,
    )


def hierarchy_loss(hierarchies: Mapping[str, Sequence[LevelSpec]], levels: Mapping[str, int]) -> Fraction:
    """Total generalisation height, each column normalised by its number of levels."""
    return sum(
        (Fraction(levels[c], len(h) - 1) for c, h in hierarchies.items() if len(h) > 1), Fraction(0)
    )


def k_anonymise_best(
    rows: Sequence[Mapping[str, Any]],
    options: Mapping[str, Mapping[str, Sequence[LevelSpec]]],
    **kwargs: Any,
) -> tuple[str, KAnonymityResult]:
    """Run k_anonymise with each of several hierarchy options (for example the same band widths
    at different alignments) and return the best: a release found, then the least generalisation,
    then the fewest rows withheld, then the first option given. Returns (option name, result).

    Small cohorts often need this: 10-year age bands aligned at 20-29 may split a cluster of
    women aged 27-33 that bands aligned at 25-34 keep together. The chosen option must be stored
    with the release and reused when it is re-checked, or two versions could be differenced.
    """
    if not options:
        raise ValueError("at least one hierarchy option is needed")
    best: tuple[tuple, str, KAnonymityResult] | None = None
    for position, (name, hierarchies) in enumerate(options.items()):
        result = k_anonymise(rows, hierarchies, **kwargs)
        rank = (not result.found, hierarchy_loss(hierarchies, result.levels), len(result.withheld), position)
        if best is None or rank < best[0]:
            best = (rank, name, result)
    return best[1], best[2]
