"""Small-number suppression for published two-way tables of counts.

A count of 1-4 in a table about fifty women can identify someone ("the one woman in B69 with
five removals"), so such cells are hidden: primary suppression. Hiding them is not enough when
row and column totals are published, because a lone hidden cell in a row is its row total minus
the other cells. Secondary suppression hides further cells so that no hidden cell can be worked
out exactly.

The criterion. Treat rows and columns as the two sides of a bipartite graph and each hidden cell
as an edge between its row and its column. The published totals fix the sum of the hidden
cells at every row and column vertex; a hidden cell's value is then determined exactly iff its
edge is a bridge (lies on no cycle), because adding +t/-t alternately round a cycle changes no
total, and the cycle space is the whole null space of those vertex sums. So every hidden cell
must lie on a cycle of hidden cells, i.e. the hidden graph must have no bridges.

`derivable_cells` checks the same property independently by exact linear algebra, for tests.

Limitations: this protects against exact derivation, not against narrowing a value to an
interval using non-negativity (no "protection interval" audit). That is why non-zero cells are
preferred as secondary cells: a hidden zero adds little, since counts cannot go below zero.

Pure Python, no Django: this module is part of a leaf app.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

Cell = tuple[int, int]  # (row, column), zero-based

EXACT_MAX_SIDE = 8  # exact search for tables up to 8 x 8 ...
EXACT_NODE_BUDGET = 50_000  # ... and while it visits fewer search states than this


@dataclass(frozen=True)
class SuppressionResult:
    """A table ready to publish: cell labels, the (always published) totals, and what was hidden."""

    display: list[list[str]]
    row_totals: list[int]
    column_totals: list[int]
    grand_total: int
    threshold: int
    primary: frozenset[Cell]
    secondary: frozenset[Cell]
    minimal: bool  # False when the greedy fallback chose the secondary cells
    zeros_suppressed: frozenset[Cell] = frozenset()
    notes: list[str] = field(default_factory=list)

    @property
    def hidden(self) -> frozenset[Cell]:
        return self.primary | self.secondary


def _validate(table: Sequence[Sequence[int]]) -> tuple[int, int]:
    if not table or not table[0]:
        raise ValueError("the table needs at least one row and one column")
    width = len(table[0])
    for row in table:
        if len(row) != width:
            raise ValueError("every row of the table must have the same number of cells")
        for value in row:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError("cells must be non-negative whole numbers")
    return len(table), width


# --- the graph view -----------------------------------------------------------------------
_Bridge = tuple[Cell, frozenset[int], frozenset[int]]  # the edge and the vertices either side


def _bridges(cells: Iterable[Cell], rows: int) -> list[_Bridge]:
    """Bridges of the hidden-cell graph (row r is vertex r, column c is vertex rows + c).

    Iterative Tarjan: the edge to a DFS child w is a bridge iff nothing in w's subtree reaches
    above w. The subtree (a contiguous run of the preorder) is one side of the bridge, the rest
    of its connected component the other.
    """
    adjacent: dict[int, list[tuple[int, Cell]]] = defaultdict(list)
    for r, c in cells:
        adjacent[r].append((rows + c, (r, c)))
        adjacent[rows + c].append((r, (r, c)))
    order: list[int] = []
    tin: dict[int, int] = {}
    low: dict[int, int] = {}
    result: list[_Bridge] = []
    for root in sorted(adjacent):
        if root in tin:
            continue
        tin[root] = low[root] = len(order)
        order.append(root)
        found: list[tuple[Cell, int, int]] = []  # bridge, preorder span of the child's subtree
        stack: list[tuple[int, Cell | None, Iterable[tuple[int, Cell]]]] = [
            (root, None, iter(adjacent[root]))
        ]
        while stack:
            v, via, edges = stack[-1]
            for w, edge in edges:
                if edge == via:
                    continue
                if w in tin:
                    low[v] = min(low[v], tin[w])
                else:
                    tin[w] = low[w] = len(order)
                    order.append(w)
                    stack.append((w, edge, iter(adjacent[w])))
                    break
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[v])
                    if low[v] > tin[parent] and via is not None:
                        found.append((via, tin[v], len(order)))
        component = frozenset(order[tin[root] :])
        for edge, start, end in found:
            side = frozenset(order[start:end])
            result.append((edge, side, component - side))
    return result


class _BudgetSpent(Exception):
    """The exact search visited too many states; fall back to the greedy choice."""


class _ExactSearch:
    """Fewest secondary cells, by iterative deepening on their number.

    Ordering of solutions: fewest zero cells (none unless some small count cannot be protected
    without one), then fewest cells, then smallest total hidden value, then cell positions.

    Branching rule: if a hidden edge is a bridge with sides A and B, every solution contains a
    new cell touching A (a cycle through the bridge must leave A some other way), so trying
    each such cell in turn loses no solution; the side with the fewest such cells is used,
    which for a lone small count in a row is just the other cells of its row. Lower bound: a
    new cell adds an edge at one row and one column, so it cures at most one row and one
    column of degree 1 (the edge at a degree-1 vertex is always a bridge).
    """

    def __init__(self, values: dict[Cell, int], primary: frozenset[Cell], rows: int,
                 budget: int) -> None:
        self.values, self.primary, self.rows, self.budget = values, primary, rows, budget
        self.visited = 0  # states visited over the whole search, against the budget
        self.max_zeros = self.max_size = 0
        self.seen: set[frozenset[Cell]] = set()
        self.best: tuple[int, list[Cell], frozenset[Cell]] | None = None
        self.cut = False  # whether the size limit stopped any branch

    def run(self, zeros_needed: bool) -> frozenset[Cell]:
        zero_cells = [cell for cell, v in self.values.items() if v == 0]
        for max_zeros in range(1 if zeros_needed else 0, len(zero_cells) + 1):
            for max_size in itertools.count():
                self.max_zeros, self.max_size = max_zeros, max_size
                self.seen, self.best, self.cut = set(), None, False
                self._search(frozenset(), 0, 0)
                if self.best is not None:
                    return self.best[2]
                if not self.cut:
                    break  # no solution with this many zeros at any size
        raise AssertionError("unreachable: with two or more rows and columns, all cells suffice")

    def _search(self, chosen: frozenset[Cell], zeros: int, total: int) -> None:
        if chosen in self.seen or (self.best is not None and total > self.best[0]):
            return
        self.seen.add(chosen)
        self.visited += 1
        if self.visited > self.budget:
            raise _BudgetSpent
        rows, hidden = self.rows, self.primary | chosen
        bridges = _bridges(hidden, rows)
        if not bridges:
            key = (total, sorted(chosen), chosen)
            if self.best is None or key[:2] < self.best[:2]:
                self.best = key
            return
        degree: dict[int, int] = defaultdict(int)
        for r, c in hidden:
            degree[r] += 1
            degree[rows + c] += 1
        ones_r = sum(1 for v, d in degree.items() if d == 1 and v < rows)
        ones_c = sum(1 for v, d in degree.items() if d == 1 and v >= rows)
        if len(chosen) + max(ones_r, ones_c, 1) > self.max_size:
            self.cut = True
            return
        usable = [
            cell for cell, v in self.values.items()
            if cell not in hidden and (v > 0 or zeros < self.max_zeros)
        ]
        branches = min(
            ([cell for cell in usable if cell[0] in side or rows + cell[1] in side]
             for _edge, a, b in bridges for side in (a, b)),
            key=len,
        )
        for cell in sorted(branches, key=lambda x: (self.values[x], x)):
            v = self.values[cell]
            self._search(chosen | {cell}, zeros + (v == 0), total + v)


def _greedy(values: dict[Cell, int], primary: frozenset[Cell], rows: int, columns: int
            ) -> frozenset[Cell]:
    """Greedy fallback for big tables; may hide more cells than necessary.

    While some hidden cell is a bridge, close a cycle through the first such cell along the
    cheapest path between its row and column, where hidden cells are free and a new cell costs
    (1 if it is zero, 1, its value): zeros last, then few cells, then small values. Each step
    removes at least one bridge and creates none. Finally drop any secondary cell (largest
    first) whose removal leaves no bridge.
    """
    hidden = set(primary)
    while bridges := _bridges(hidden, rows):
        (r0, c0), _a, _b = min(bridges, key=lambda b: (b[0] not in primary, b[0]))
        start, goal = r0, rows + c0
        cost: dict[int, tuple[int, int, int]] = {start: (0, 0, 0)}
        previous: dict[int, int] = {}
        heap: list[tuple[tuple[int, int, int], int]] = [((0, 0, 0), start)]
        while heap:
            here_cost, here = heapq.heappop(heap)
            if here == goal:
                break
            if here_cost > cost[here]:
                continue
            if here < rows:
                steps = [((here, c), rows + c) for c in range(columns)]
            else:
                steps = [((r, here - rows), r) for r in range(rows)]
            for cell, there in steps:
                if cell == (r0, c0):
                    continue
                v = values[cell]
                step = (0, 0, 0) if cell in hidden else (int(v == 0), 1, v)
                new = (here_cost[0] + step[0], here_cost[1] + step[1], here_cost[2] + step[2])
                if there not in cost or new < cost[there]:
                    cost[there] = new
                    previous[there] = here
                    heapq.heappush(heap, (new, there))
        vertex = goal
        while vertex != start:
            before = previous[vertex]
            r, c = (before, vertex - rows) if before < rows else (vertex, before - rows)
            hidden.add((r, c))
            vertex = before
    for cell in sorted(hidden - primary, key=lambda x: (-values[x], x)):
        if not _bridges(hidden - {cell}, rows):
            hidden.discard(cell)
    return frozenset(hidden - primary)


# --- the interval audit: what a reader can narrow a hidden cell to --------------------------------
def _max_flow(capacity: dict[int, dict[int, int]], source: int, sink: int) -> int:
    """Edmonds-Karp on a small graph given as nested dicts (modified in place)."""
    flow = 0
    while True:
        parent = {source: source}
        queue = [source]
        for here in queue:
            for there, cap in capacity[here].items():
                if cap > 0 and there not in parent:
                    parent[there] = here
                    queue.append(there)
            if sink in parent:
                break
        if sink not in parent:
            return flow
        push, v = None, sink
        while v != source:
            u = parent[v]
            push = capacity[u][v] if push is None else min(push, capacity[u][v])
            v = u
        v = sink
        while v != source:
            u = parent[v]
            capacity[u][v] -= push
            capacity[v].setdefault(u, 0)
            capacity[v][u] += push
            v = u
        flow += push


def _feasible(rows: int, row_need: dict[int, int], column_need: dict[int, int],
              bounds: dict[Cell, tuple[int, int]]) -> bool:
    """Is there a whole-number filling of the hidden cells within `bounds` whose row sums are
    `row_need` and column sums `column_need`? (A transportation problem: a max flow decides it,
    and its constraint matrix is totally unimodular, so whole numbers lose nothing.)"""
    need_r, need_c = dict(row_need), dict(column_need)
    for (r, c), (low, high) in bounds.items():
        if low > high:
            return False
        need_r[r] = need_r.get(r, 0) - low
        need_c[c] = need_c.get(c, 0) - low
    if any(v < 0 for v in need_r.values()) or any(v < 0 for v in need_c.values()):
        return False
    if sum(need_r.values()) != sum(need_c.values()):
        return False
    source, sink = -1, -2
    capacity: dict[int, dict[int, int]] = defaultdict(dict)
    for r, v in need_r.items():
        capacity[source][r] = v
    for c, v in need_c.items():
        capacity[rows + c][sink] = v
    for (r, c), (low, high) in bounds.items():
        capacity[r][rows + c] = capacity[r].get(rows + c, 0) + (high - low)
    capacity[sink]  # noqa: B018 -- make the sink a vertex even with nothing to carry
    return _max_flow(capacity, source, sink) == sum(need_r.values())


def hidden_ranges(
    table: Sequence[Sequence[int]],
    primary: Iterable[Cell],
    secondary: Iterable[Cell],
    threshold: int = 5,
) -> dict[Cell, tuple[int, int]]:
    """For each hidden cell, the least and greatest whole number a reader can hold it to, from
    everything the table publishes: the shown cells, the row and column totals, and the labels
    ("<threshold" is 1 to threshold - 1; the secondary label is threshold or more, since every
    count below the threshold is a primary cell and a hidden zero is never labelled so here).
    Exact: the bounds of one cell over a transportation polytope, found by bisection on max-flow
    feasibility. Pure Python; the tests check it against an integer solver."""
    rows, columns = _validate(table)
    primary, secondary = set(primary), set(secondary)
    hidden = primary | secondary
    row_need = {r: sum(table[r][c] for c in range(columns) if (r, c) in hidden) for r in range(rows)}
    column_need = {c: sum(table[r][c] for r in range(rows) if (r, c) in hidden) for c in range(columns)}
    bounds = {}
    for r, c in hidden:
        cap = min(row_need[r], column_need[c])
        bounds[r, c] = (1, min(threshold - 1, cap)) if (r, c) in primary else (min(threshold, cap), cap)
    out: dict[Cell, tuple[int, int]] = {}
    for cell in sorted(hidden):
        low, high = bounds[cell]

        def possible(lo: int, hi: int, cell: Cell = cell) -> bool:
            return _feasible(rows, row_need, column_need, {**bounds, cell: (lo, hi)})

        top_lo, top_hi = low, high  # greatest: largest t with a filling where the cell >= t
        while top_lo < top_hi:
            mid = (top_lo + top_hi + 1) // 2
            top_lo, top_hi = (mid, top_hi) if possible(mid, high) else (top_lo, mid - 1)
        bottom_lo, bottom_hi = low, high  # least: smallest t with a filling where the cell <= t
        while bottom_lo < bottom_hi:
            mid = (bottom_lo + bottom_hi) // 2
            bottom_lo, bottom_hi = (bottom_lo, mid) if possible(low, mid) else (mid + 1, bottom_hi)
        out[cell] = (bottom_lo, top_lo)
    return out


def _widen(values: dict[Cell, int], table: Sequence[Sequence[int]], primary: frozenset[Cell],
           secondary: frozenset[Cell], threshold: int, min_range: int) -> frozenset[Cell]:
    """Hide more non-zero cells until every hidden cell keeps at least min_range + 1 possible
    values; each step adds the cell that most widens the narrowest range (ties: the smallest
    count, then the earliest cell). Raises ValueError when every non-zero cell is hidden and a
    range is still too narrow."""
    secondary = set(secondary)

    def narrowest(extra: set[Cell]) -> int:
        ranges = hidden_ranges(table, primary, extra, threshold)
        return min(hi - lo for lo, hi in ranges.values())

    current = narrowest(secondary)
    while current < min_range:
        options = [cell for cell, v in values.items() if v >= threshold and cell not in secondary]
        if not options:
            raise ValueError(
                "no choice of hidden cells keeps every hidden count open to at least "
                f"{min_range + 1} values from the published totals; merge categories")
        scored = sorted(options, key=lambda cell: (-narrowest(secondary | {cell}), values[cell], cell))
        secondary.add(scored[0])
        current = narrowest(secondary)
    return frozenset(secondary)


def suppress(
    table: Sequence[Sequence[int]],
    threshold: int = 5,
    *,
    secondary_label: str = "*",
    min_range: int | None = None,
) -> SuppressionResult:
    """Primary and secondary suppression of a table of counts whose totals are published.

    Primary: every cell with 1 <= count < threshold, shown as "<threshold". Secondary: the
    fewest further cells so that no hidden cell follows exactly from the totals and the shown
    cells; they are shown as `secondary_label` (default "*"), not "<5", because they are not
    small and the label must not mislead. Zeros are shown as numbers and are picked for
    secondary suppression only when a small count has no other way to be protected (the result
    then says so in `notes`). Exact for tables up to 8 x 8 (within a search budget); bigger ones
    use a greedy choice and `minimal` is False.

    With `min_range`, the bridge criterion (no hidden cell derivable exactly) is not enough:
    bounds count too (a row total of 4 caps every cell of its row). Every hidden cell must then
    keep at least `min_range` + 1 possible whole values under `hidden_ranges` (the labels, the
    totals and non-negativity), more non-zero cells are hidden until it does, a hidden zero is
    refused, and a table that cannot get there raises ValueError.

    Raises ValueError for a malformed table, and for a table with a single row or column that
    has small counts: there every cell equals a published total, so it cannot be protected.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise ValueError("the threshold must be a positive whole number")
    rows, columns = _validate(table)
    values = {(r, c): table[r][c] for r in range(rows) for c in range(columns)}
    primary = frozenset(cell for cell, v in values.items() if 1 <= v < threshold)
    if primary and (rows == 1 or columns == 1):
        raise ValueError(
            "a table with a single row or column cannot hide a cell while its totals are "
            "published (each cell equals a total); merge categories or publish no totals"
        )
    notes: list[str] = []
    minimal = True
    secondary: frozenset[Cell] = frozenset()
    if primary:
        support = [cell for cell, v in values.items() if v > 0]
        zeros_needed = any(edge in primary for edge, _a, _b in _bridges(support, rows))
        try:
            if max(rows, columns) > EXACT_MAX_SIDE:
                raise _BudgetSpent
            secondary = _ExactSearch(values, primary, rows, EXACT_NODE_BUDGET).run(zeros_needed)
        except _BudgetSpent:
            secondary = _greedy(values, primary, rows, columns)
            minimal = False
            notes.append(
                f"The table is bigger than {EXACT_MAX_SIDE} x {EXACT_MAX_SIDE} or too hard for the "
                "exact search, so the secondary cells were chosen greedily: every hidden cell is "
                "protected, but fewer cells might have sufficed."
            )
    zeros = frozenset(cell for cell in secondary if values[cell] == 0)
    if min_range is not None and primary:
        if zeros:
            raise ValueError(
                "the small counts can only be protected by hiding a zero, which a reader could then "
                "tell apart; merge categories")
        secondary = _widen(values, table, primary, secondary, threshold, min_range)
    if zeros:
        notes.append(
            f"{len(zeros)} zero cell(s) had to be hidden because some small counts have no "
            "non-zero cell to pair with; since counts cannot be negative, a hidden zero protects "
            "less than a hidden non-zero count. Consider merging rows or columns."
        )
    display = [
        [
            f"<{threshold}" if (r, c) in primary
            else secondary_label if (r, c) in secondary
            else str(values[r, c])
            for c in range(columns)
        ]
        for r in range(rows)
    ]
    row_totals = [sum(row) for row in table]
    return SuppressionResult(
        display=display,
        row_totals=row_totals,
        column_totals=[sum(table[r][c] for r in range(rows)) for c in range(columns)],
        grand_total=sum(row_totals),
        threshold=threshold,
        primary=primary,
        secondary=secondary,
        minimal=minimal,
        zeros_suppressed=zeros,
        notes=notes,
    )


def derivable_cells(table: Sequence[Sequence[int]], hidden: Iterable[Cell]) -> set[Cell]:
    """Hidden cells whose exact value follows from the totals and the shown cells.

    Deliberately independent of the graph argument above, so tests can check one against the
    other: the unknowns are the hidden cells; each row and each column gives one equation (its
    hidden cells sum to the total minus its shown cells). A cell is derivable iff its unit
    vector lies in the row space of that system, decided by exact Gaussian elimination over
    fractions.Fraction.
    """
    rows, columns = _validate(table)
    unknowns = sorted(set(hidden))
    for r, c in unknowns:
        if not (0 <= r < rows and 0 <= c < columns):
            raise ValueError("a hidden cell lies outside the table")
    equations = [[Fraction(int(r == i)) for r, _c in unknowns] for i in range(rows)]
    equations += [[Fraction(int(c == j)) for _r, c in unknowns] for j in range(columns)]
    basis: list[tuple[int, list[Fraction]]] = []  # (pivot column, row), reduced row echelon
    for equation in equations:
        vector = _reduce(equation, basis)
        pivot = next((j for j, x in enumerate(vector) if x != 0), None)
        if pivot is None:
            continue
        vector = [x / vector[pivot] for x in vector]
        basis = [(p, [x - row[pivot] * y for x, y in zip(row, vector, strict=True)])
                 for p, row in basis]
        basis.append((pivot, vector))
    derivable = set()
    for j, cell in enumerate(unknowns):
        unit = [Fraction(int(i == j)) for i in range(len(unknowns))]
        if not any(_reduce(unit, basis)):
            derivable.add(cell)
    return derivable


def _reduce(vector: list[Fraction], basis: list[tuple[int, list[Fraction]]]) -> list[Fraction]:
    """`vector` minus its combination of the reduced basis rows (zero iff it is in their span)."""
    out = list(vector)
    for pivot, row in basis:
        if out[pivot] != 0:
            factor = out[pivot]
            out = [x - factor * y for x, y in zip(out, row, strict=True)]
    return out
