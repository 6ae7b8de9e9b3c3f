"""The Pause lead's summary tables in scoping, made only from rows the disclosure policy served,
each checked by small-number suppression before anyone sees it (issue 6, point 4; issue 16, ADR 18).

Aggregates only: a table never carries a token. How no table can undo the row check:
- the women's tables count women by columns the rows page serves beside each token, all of them
  quasi-identifiers of the k-check, so every cell is a sum of whole classes: 0 or at least 5;
- the children's table counts children by outcome and removal years, generalised together (both
  coarser if need be, never finer than the women's rows) until every cell is 0 or at least 5;
- every table then still passes primary and secondary suppression with the interval audit
  (`suppress(..., min_range=MIN_RANGE)`), and a table that cannot be protected is not shown;
- every version shown or exported is kept (`ScopingTableVersion`), for the cross-version check.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from pseudonymisation.generalise import NOT_KNOWN
from pseudonymisation.kanonymity import SUPPRESSED, Level, k_anonymise
from pseudonymisation.suppression import suppress
from sharing.scoping_release import NO_OUTCOME, OUTCOME_GROUP, K, _years_10

THRESHOLD = K  # a table cell Pause sees is 0 or at least the scoping k
# The narrowest range a hidden cell may be left with: at least MIN_RANGE + 1 possible whole values
# (ADR 18). A range of 0-1 or 3-4 is nearly a disclosure.
MIN_RANGE = 2


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
        result = suppress(grid, THRESHOLD, min_range=MIN_RANGE)
    except ValueError as exc:
        table.shown = False
        table.notes.append(f"This table has small numbers that cannot be hidden safely ({exc}), so it is not "
                           "shown.")
        table.row_names, table.column_names = [], []
        return table
    table.display, table.row_totals = result.display, result.row_totals
    table.column_totals, table.grand_total = result.column_totals, result.grand_total
    table.suppressed_cells = len(result.hidden)
    table.notes.extend(result.notes)
    return table


CHILD_OUTCOME_LEVELS = [Level("outcome", lambda v: v),
                        Level("permanent home / care or placement order", lambda v: OUTCOME_GROUP.get(v, v)),
                        SUPPRESSED]
CHILD_YEAR_LEVELS = [Level("as the women's removal years", lambda v: v), Level("10-year bands", _years_10),
                     SUPPRESSED]


def generalised_children(children: list) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The children's (outcome, removal years) pairs, generalised together by the least amount
    that gives every combination at least THRESHOLD children (none withheld: the totals stay the
    children's). The year band arrives at the level the women's removal years are served at, so the
    table never says more about years than the rows do. Returns the pairs and the levels' names."""
    if not _rows_serve(children, "outcome", "year_band"):
        return [], {}
    rows = [{"outcome": c.outcome or NO_OUTCOME, "years": c.year_band} for c in children]
    if not rows:
        return [], {}
    result = k_anonymise(rows, {"outcome": CHILD_OUTCOME_LEVELS, "years": CHILD_YEAR_LEVELS}, k=THRESHOLD,
                         max_withheld=0)
    if not result.found:  # fewer than THRESHOLD children in all: one cell, shown as not protectable
        return [(SUPPRESSED, SUPPRESSED) for _ in rows], {"outcome": "suppressed", "years": "suppressed"}
    return [(r.row["outcome"], r.row["years"]) for r in result.rows], result.level_names


def summary_tables(women: list, children: list, *, allowed: frozenset[str] | None = None) -> dict[str, SummaryTable]:
    """The tables, from served (disclosed) women's and children's rows: only those whose fields
    are served (ADR 28). `allowed`: the fields served, for records not read through the disclosure
    policy (the Trust lead's preview of what Pause would see); by default the rows' own."""

    def serves(rows: list, *names: str) -> bool:
        return set(names) <= allowed if allowed is not None else _rows_serve(rows, *names)

    tables = []
    if serves(women, "children_removed", "age_band"):
        tables.append(cross_table("removals", "Women by number of children removed and age band", "Children removed",
                                  "Age band", [(w.children_removed, w.age_band) for w in women]))
    if serves(women, "age_at_first_removal", "children_removed"):
        tables.append(cross_table("first-removal-age",
                                  "Women by age band at first removal and number of children removed",
                                  "Age at first removal", "Children removed",
                                  [(w.age_at_first_removal or NOT_KNOWN, w.children_removed) for w in women]))
    if serves(children, "outcome", "year_band"):
        child_pairs, child_levels = generalised_children(children)
        outcomes = cross_table("outcomes", "Children removed by outcome and removal years", "Outcome",
                               "Removal years", child_pairs)
        if child_levels:
            outcomes.notes.insert(0, f"Children are counted by {child_levels['outcome']} and removal years "
                                     f"({child_levels['years']}), so that every count shown is 0 or at least "
                                     f"{THRESHOLD}.")
        tables.append(outcomes)
    return {t.name: t for t in tables}


def _rows_serve(rows: list, *names: str) -> bool:
    """Whether the rows serve every one of these fields (the agreement's items say: ADR 28). A
    table of fields not served is not made; with no rows, there is nothing to leave out."""
    return all(all(_serves(r, n) for n in names) for r in rows[:1])


def _serves(row, name: str) -> bool:
    """A served row (from the disclosure policy) serves the fields it holds; a record read
    directly holds every field."""
    fields = getattr(row, "fields", None)
    return True if fields is None else name in fields


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
                     f"no hidden count can be narrowed to fewer than {MIN_RANGE + 1} possible values from the "
                     "totals."])
    return out.getvalue().encode("utf-8")


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def table_content(table: SummaryTable) -> dict:
    """What a reader of the table holds: its labels, published cells and totals."""
    return {"title": table.title, "rows": list(table.row_names), "columns": list(table.column_names),
            "cells": [list(r) for r in table.display], "row_totals": list(table.row_totals),
            "column_totals": list(table.column_totals), "total": table.grand_total}


def _sha(content: dict) -> str:
    return digest(json.dumps(content, sort_keys=True).encode())


HELD_BACK = ("This table has changed since a version of it with hidden counts was shown. Showing the new "
             "version beside the old one could let those counts be worked out, so it is not shown.")


def hold_back_changed_versions(programme, table: SummaryTable) -> SummaryTable:
    """The cross-version gate (ADR 18): once a version of a table with hidden cells has been shown,
    no different version of it is shown again (nor a first version with hidden cells beside an
    earlier different one), since the two together could pin what either hides. The same version
    again is fine. Scoping tables are built with no hidden cell, so this holds back nothing today."""
    from sharing.models_scoping_checks import ScopingTableVersion

    if not table.shown:
        return table
    kept = ScopingTableVersion.objects.filter(programme=programme, table=table.name)
    if not kept.exists() or kept.filter(sha256=_sha(table_content(table))).exists():
        return table
    if table.suppressed_cells or kept.filter(hidden_cells__gt=0).exists():
        table.shown = False
        table.notes.append(HELD_BACK)
    return table


def keep_versions(programme, tables, *, via: str) -> None:
    """Keep every version of every table Pause is shown or exported (issue 16, point 3): the same
    content again only counts once more."""
    from sharing.models_scoping_checks import ScopingTableVersion

    now = timezone.now()
    for table in tables:
        if isinstance(table, SummaryTable):
            if not table.shown:
                continue
            name, content, hidden = table.name, table_content(table), table.suppressed_cells
        else:  # a final report's stored table
            name = table["name"]
            content = {k: table[k] for k in ("title", "rows", "columns", "cells", "row_totals", "column_totals",
                                             "total")}
            hidden = table.get("hidden", 0)
        sha = _sha(content)
        updated = ScopingTableVersion.objects.filter(programme=programme, table=name, sha256=sha).update(
            last_shown_at=now, times_shown=F("times_shown") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    ScopingTableVersion.objects.create(programme=programme, table=name, via=via, content=content,
                                                       sha256=sha, first_shown_at=now, last_shown_at=now,
                                                       hidden_cells=hidden)
            except IntegrityError:  # shown at the same moment by another request: count it there
                ScopingTableVersion.objects.filter(programme=programme, table=name, sha256=sha).update(
                    last_shown_at=now, times_shown=F("times_shown") + 1)
