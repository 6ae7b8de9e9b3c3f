"""The Pause lead's summary tables in scoping, made only from rows the disclosure policy served,
each checked by the small-number suppression helper before anyone sees it (issue 6, point 4).

Aggregates only: a table never carries a token. A table whose categories collapse to a single row
or column while it has small counts cannot be protected (each cell would equal a published total)
and is not shown at all.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from dataclasses import dataclass, field

from pseudonymisation.generalise import NOT_KNOWN, band
from pseudonymisation.kanonymity import SUPPRESSED
from pseudonymisation.suppression import suppress
from sharing.scoping_release import age_at_first_removal

THRESHOLD = 5


@dataclass
class SummaryTable:
    name: str
    title: str
    row_label: str
    column_label: str
    row_names: list[str] = field(default_factory=list)
    column_names: list[str] = field(default_factory=list)
    display: list[list[str]] = field(default_factory=list)
    row_totals: list[int] = field(default_factory=list)
    column_totals: list[int] = field(default_factory=list)
    grand_total: int = 0
    suppressed_cells: int = 0
    notes: list[str] = field(default_factory=list)
    shown: bool = True

    @property
    def rows(self):
        return list(zip(self.row_names, self.display, self.row_totals, strict=True))


def _order(values) -> list[str]:
    """Categories in a reader's order: numbers and bands by their first number, then words,
    "Not known" and "*" last."""
    def key(v: str):
        head = v.split("-")[0].split(" ")[0]
        return (v in (NOT_KNOWN, SUPPRESSED), not head.isdigit(), int(head) if head.isdigit() else 0, v)

    return sorted(set(values), key=key)


def cross_table(name, title, row_label, column_label, pairs: list[tuple[str, str]]) -> SummaryTable:
    """Counts of (row, column) pairs, suppressed; not shown when it cannot be protected."""
    table = SummaryTable(name, title, row_label, column_label)
    if not pairs:
        table.shown = False
        table.notes.append("There are no released rows to count.")
        return table
    counts = Counter(pairs)
    table.row_names = _order(r for r, _ in pairs)
    table.column_names = _order(c for _, c in pairs)
    grid = [[counts[(r, c)] for c in table.column_names] for r in table.row_names]
    try:
        result = suppress(grid, THRESHOLD)
    except ValueError:
        table.shown = False
        table.notes.append("This table has small numbers but only one row or column, so it cannot be shown "
                           "without revealing them.")
        table.row_names, table.column_names = [], []
        return table
    table.display, table.row_totals = result.display, result.row_totals
    table.column_totals, table.grand_total = result.column_totals, result.grand_total
    table.suppressed_cells = len(result.hidden)
    table.notes.extend(result.notes)
    return table


def _ten_year(fine5: str) -> str:
    return fine5 if fine5 == NOT_KNOWN else band(int(fine5.split("-")[0]), 10)


def summary_tables(women: list, children: list) -> dict[str, SummaryTable]:
    """The three tables, from served (disclosed) women's and children's rows."""
    tables = [
        cross_table("removals", "Women by number of children removed and age band", "Children removed", "Age band",
               [(w.children_removed, w.age_band) for w in women]),
        cross_table("first-removal-age", "Women by age band at first removal and number of children removed",
               "Age at first removal", "Children removed",
               [(_ten_year(age_at_first_removal(w)), w.children_removed) for w in women]),
        cross_table("outcomes", "Children removed by outcome and removal years", "Outcome", "Removal years",
               [(c.outcome, c.year_band) for c in children]),
    ]
    return {t.name: t for t in tables}


TABLE_NAMES = ("removals", "first-removal-age", "outcomes")


def as_csv(table: SummaryTable) -> bytes:
    """The table as CSV, with its suppressed labels and totals; never a row of a person."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([table.title])
    writer.writerow([f"{table.row_label} / {table.column_label}", *table.column_names, "Total"])
    for name, cells, total in table.rows:
        writer.writerow([name, *cells, total])
    writer.writerow(["Total", *table.column_totals, table.grand_total])
    writer.writerow([f"Counts from 1 to {THRESHOLD - 1} are shown as <{THRESHOLD}; * marks cells hidden so that "
                     "they cannot be worked out from the totals."])
    return out.getvalue().encode("utf-8")


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
