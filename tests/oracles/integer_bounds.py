"""The one integer solver the disclosure tests share (issue 16, point 4): the least and greatest
whole number each hidden cell can take, consistent with everything a reader holds, by
`scipy.optimize.milp` (HiGHS) — an implementation independent of the portal's own auditors
(`pseudonymisation.suppression.hidden_ranges`, `sharing.progress_suppression`).

A model is variables with whole-number bounds and linear constraints, each `(terms, op, bound)`
with `terms` a dict variable -> coefficient and `op` one of "<=", ">=", "==". Used by the scoping
tables' tests and by the quarterly progress reports' differencing test.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

BIG = 10_000  # an upper bound for a variable a reader knows no upper bound of


@dataclass
class Model:
    bounds: dict[Hashable, tuple[int, int]] = field(default_factory=dict)
    constraints: list[tuple[dict[Hashable, int], str, int]] = field(default_factory=list)

    def variable(self, name: Hashable, low: int = 0, high: int = BIG) -> Hashable:
        old = self.bounds.get(name, (low, high))
        self.bounds[name] = (max(old[0], low), min(old[1], high))
        return name

    def add(self, terms: Mapping[Hashable, int], op: str, bound: int) -> None:
        terms = {v: c for v, c in terms.items() if c}
        for v in terms:
            self.variable(v)
        self.constraints.append((dict(terms), op, bound))


def _arrays(model: Model):
    names = list(model.bounds)
    index = {v: i for i, v in enumerate(names)}
    lower = np.array([model.bounds[v][0] for v in names], dtype=float)
    upper = np.array([model.bounds[v][1] for v in names], dtype=float)
    constraints = []
    if model.constraints:
        a = np.zeros((len(model.constraints), len(names)))
        lo = np.full(len(model.constraints), -np.inf)
        hi = np.full(len(model.constraints), np.inf)
        for row, (terms, op, bound) in enumerate(model.constraints):
            for v, c in terms.items():
                a[row, index[v]] = c
            if op in ("<=", "=="):
                hi[row] = bound
            if op in (">=", "=="):
                lo[row] = bound
            if op not in ("<=", ">=", "=="):
                raise ValueError(f"unknown operator {op!r}")
        constraints = [LinearConstraint(a, lo, hi)]
    return names, index, Bounds(lower, upper), constraints


def _optimum(model: Model, arrays, variable: Hashable, sense: int) -> int | None:
    names, index, bounds, constraints = arrays
    c = np.zeros(len(names))
    c[index[variable]] = sense
    result = milp(c, integrality=np.ones(len(names)), bounds=bounds, constraints=constraints)
    if result.status == 2:  # infeasible
        return None
    assert result.success, result.message
    return round(result.x[index[variable]])


def feasible(model: Model) -> bool:
    if not model.bounds:
        return True
    arrays = _arrays(model)
    return _optimum(model, arrays, next(iter(model.bounds)), 1) is not None


def ranges(model: Model, cells: Iterable[Hashable]) -> dict[Hashable, tuple[int, int]]:
    """For each cell, (least, greatest) whole value over every solution of the model. Raises
    AssertionError when the model has no solution (what a reader holds must be consistent)."""
    arrays = _arrays(model)
    out = {}
    for cell in cells:
        low = _optimum(model, arrays, cell, 1)
        assert low is not None, "what the reader holds has no solution"
        out[cell] = (low, _optimum(model, arrays, cell, -1))
    return out


# --- a published two-way table, as a reader holds it -----------------------------------------------
def add_table(model: Model, prefix: Hashable, cells: Sequence[Sequence[str]], row_totals: Sequence,
              column_totals: Sequence, *, threshold: int = 5, small: str | None = None,
              secondary: str = "*") -> dict[tuple[int, int], Hashable]:
    """Add one published table: every cell a variable (a shown number fixes it; "<5" is 1 to
    threshold - 1; the secondary label is threshold or more), and every published total an equation.
    Returns the hidden cells' variables by (row, column)."""
    small = small or f"<{threshold}"
    hidden = {}
    names = {}
    for r, row in enumerate(cells):
        for c, shown in enumerate(row):
            name = (prefix, r, c)
            names[r, c] = name
            if shown == small:
                model.variable(name, 1, threshold - 1)
                hidden[r, c] = name
            elif shown == secondary:
                model.variable(name, threshold)
                hidden[r, c] = name
            else:
                model.variable(name, int(shown), int(shown))
    for r, total in enumerate(row_totals):
        model.add({names[r, c]: 1 for c in range(len(cells[r]))}, "==", int(total))
    for c, total in enumerate(column_totals):
        model.add({names[r, c]: 1 for r in range(len(cells))}, "==", int(total))
    return hidden
