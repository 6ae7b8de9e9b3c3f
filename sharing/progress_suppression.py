"""Small-number suppression for the quarterly progress reports that stays consistent across every
report sent (issue 7, point 6; ADR 15). Pure Python, no database: `sharing.progress_reports`
feeds it the counts and the cells already sent.

The table: four measures (rows) by calendar quarter (columns), with the number of women released
to Pause by each quarter's end (the Trust knows it anyway). No totals and no cumulative column.

How a cell is shown:
- a count of 0 or of `THRESHOLD` or more: the number;
- a count from 1 to `THRESHOLD - 1`: "<5" (primary suppression);
- a count of `THRESHOLD` or more hidden so that another hidden cell cannot be worked out: "*"
  (secondary suppression; never a zero);
- a whole quarter in which fewer than `THRESHOLD` women (but some) had been released: "withheld".

Consistency across reports: a quarter's cells are frozen by the first report sent that shows
them; every later report restates them exactly as first shown, and only the new quarters are
computed. So the union of what any two sent reports say is what the later one says.

What a reader is assumed to know and use (the model the auditor below checks):
- every shown number; "<5" is 1 to 4; "*" is 5 or more; "withheld" is 0 or more;
- no count exceeds the number of women released by the quarter's end;
- in a quarter, engaged, declined and withdrawn are each at most contacted (each counts women
  with a contact attempt in the quarter);
- a woman withdraws only after agreeing, so the withdrawn of a quarter are at most the engaged of
  that quarter and all earlier ones (summed).
Each hidden cell must keep at least two possible values under all of these together; a model
with fewer relations then leaves it at least as open.

The auditor is exact for these relations because they are monotone: "contacted" only ever
bounds others from above (so the most permissive choice is its largest value), "declined" and
"withdrawn" only ever need room (their smallest value), and "engaged" is bounded above only by
its own quarter's "contacted" and otherwise gives room (its largest value under that bound). A
value t is possible for one hidden cell iff it holds with every other cell at that choice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

THRESHOLD = 5
SMALL = f"<{THRESHOLD}"
SECONDARY = "*"
WITHHELD = "withheld"
HIDDEN_MARKS = (SMALL, SECONDARY, WITHHELD)

CONTACTED, ENGAGED, DECLINED, WITHDRAWN = "contacted", "engaged", "declined", "withdrawn"
MEASURES = (CONTACTED, ENGAGED, DECLINED, WITHDRAWN)
WITHIN_CONTACTED = (ENGAGED, DECLINED, WITHDRAWN)

Cell = tuple[str, str]  # (measure, quarter key)


@dataclass(frozen=True)
class Quarter:
    """A quarter's column as the reader sees it: its key ("2026Q1"), how many women had been
    released by its end, and each measure's shown value."""

    key: str
    released: int
    shown: Mapping[str, str]


@dataclass
class Protected:
    """The new quarters' shown values, and which cells are hidden and how."""

    columns: list[Quarter]
    hidden: dict[Cell, str] = field(default_factory=dict)  # cell -> its mark
    notes: list[str] = field(default_factory=list)


class CannotProtect(Exception):
    """The cells already sent do not pass the audit: a report must not be made on top of them."""


# --- the reader's model ----------------------------------------------------------------------------
def _bounds(shown: str, released: int) -> tuple[int, int]:
    if shown == SMALL:
        return 1, min(THRESHOLD - 1, released)
    if shown == SECONDARY:
        return THRESHOLD, released
    if shown == WITHHELD:
        return 0, released
    value = int(shown)
    return value, value


def _feasible(columns: Sequence[Quarter], bounds: dict[Cell, tuple[int, int]], fixed: Cell | None, t: int,
              active: set | None = None) -> bool | set:
    """Whether the relations in `active` hold with `fixed` = t and every other cell at its most
    permissive value (see the module's docstring). With `active` None: the set of relations that
    hold with nothing fixed, i.e. those the shown values do not already contradict."""
    def value(cell: Cell, high: bool) -> int:
        if cell == fixed:
            return t
        return bounds[cell][1] if high else bounds[cell][0]

    holding, engaged_so_far = set(), 0
    for q in columns:
        contacted = value((CONTACTED, q.key), True)
        if fixed == (ENGAGED, q.key):
            engaged = t
        else:
            # As many as the quarter's contacted allows, if that relation stands; else all it may be.
            low, high = bounds[(ENGAGED, q.key)]
            bounded = low <= contacted if active is None else ("within", ENGAGED, q.key) in active
            engaged = min(high, contacted) if bounded else high
        shown = {ENGAGED: engaged, DECLINED: value((DECLINED, q.key), False),
                 WITHDRAWN: value((WITHDRAWN, q.key), False)}
        engaged_so_far += engaged
        relations = [(("within", m, q.key), shown[m] <= contacted) for m in WITHIN_CONTACTED]
        relations.append((("withdrawn after engaged", q.key), shown[WITHDRAWN] <= engaged_so_far))
        for relation, holds in relations:
            if active is None:
                if holds:
                    holding.add(relation)
            elif relation in active and not holds:
                return False
    return holding if active is None else True


def exposed_cells(columns: Sequence[Quarter]) -> list[Cell]:
    """The hidden cells a reader could work out exactly. Empty means the table is safe to send.

    A relation the shown values already contradict (say a late-recorded agreement put a
    withdrawal in an earlier quarter than the agreement) tells a reader only that it does not
    hold here; it is left out, and every other relation holds at once at the most permissive
    values, so the rest always has a solution."""
    bounds = {(m, q.key): _bounds(q.shown[m], q.released) for q in columns for m in MEASURES}
    active = _feasible(columns, bounds, None, 0)
    exposed = []
    for q in columns:
        for m in MEASURES:
            if q.shown[m] not in HIDDEN_MARKS:
                continue
            low, high = bounds[(m, q.key)]
            cell = (m, q.key)
            # The possible values form an interval (the relations are monotone): find its first
            # value, then ask whether the next one is possible too.
            first = next((t for t in range(low, high + 1) if _feasible(columns, bounds, cell, t, active)), None)
            if first is None or first == high or not _feasible(columns, bounds, cell, first + 1, active):
                exposed.append(cell)
    return exposed


# --- making the new quarters' cells ---------------------------------------------------------------
def primary(value: int) -> str:
    return SMALL if 1 <= value < THRESHOLD else str(value)


def protect(frozen: Sequence[Quarter], new: Sequence[tuple[str, int, Mapping[str, int]]]) -> Protected:
    """The new quarters' cells, with primary suppression, and secondary suppression of new cells
    (or, failing that, withholding new quarters, latest first) until no hidden cell of any
    quarter — sent or new — can be worked out. `new` is (key, released, counts) in order, after
    the frozen quarters."""
    if exposed_cells(frozen):
        raise CannotProtect("The figures already sent do not pass the disclosure check.")
    values = {(m, key): counts[m] for key, _released, counts in new for m in MEASURES}
    shown: dict[Cell, str] = {}
    for key, released, _counts in new:
        for m in MEASURES:
            shown[(m, key)] = WITHHELD if 0 < released < THRESHOLD else primary(values[(m, key)])
    notes = []
    if any(0 < released < THRESHOLD for _k, released, _c in new):
        notes.append(f"A quarter in which fewer than {THRESHOLD} women had been released to Pause is withheld.")

    def columns() -> list[Quarter]:
        return [*frozen, *(Quarter(key, released, {m: shown[(m, key)] for m in MEASURES})
                           for key, released, _c in new)]

    withheld_for_safety = 0
    while exposed_cells(columns()):
        candidates = sorted((cell for cell, label in shown.items() if label not in HIDDEN_MARKS and values[cell] > 0),
                            key=lambda cell: (values[cell], MEASURES.index(cell[0]), cell[1]))
        if candidates:
            best = None
            for cell in candidates:
                shown[cell] = SECONDARY
                left = len(exposed_cells(columns()))
                shown[cell] = str(values[cell])
                if best is None or left < best[0]:
                    best = (left, cell)
                if left == 0:
                    break
            shown[best[1]] = SECONDARY
            continue
        open_quarters = [key for key, _r, _c in new if any(shown[(m, key)] != WITHHELD for m in MEASURES)]
        if not open_quarters:
            raise CannotProtect("The new quarters cannot be protected even when withheld.")
        for m in MEASURES:
            shown[(m, open_quarters[-1])] = WITHHELD
        withheld_for_safety += 1
    if withheld_for_safety:
        notes.append("A quarter is withheld because its figures could not be shown without revealing a small number.")
    if any(label == SECONDARY for label in shown.values()):
        notes.append(f"{SECONDARY} marks a figure of {THRESHOLD} or more hidden so that a small number elsewhere "
                     "cannot be worked out from it.")
    made = columns()[len(frozen):]
    hidden = {cell: label for cell, label in shown.items() if label in HIDDEN_MARKS}
    return Protected(columns=made, hidden=hidden, notes=notes)
