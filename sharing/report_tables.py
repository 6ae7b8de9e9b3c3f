"""The aggregate tables a final scoping report may carry, made from portal tables only: the
scoping snapshot's served rows (never a withheld row, never the Trust's records), cross-tabulated
and passed through small-number suppression (`pseudonymisation.suppression.suppress`, threshold
5, totals published, secondary suppression so no hidden cell can be worked out).

A table is stored in the report as JSON: title, row and column labels, the published cells
("<5" / "*" where hidden), totals and how many cells were hidden. Only counts leave here.
"""

from __future__ import annotations

from collections import Counter

from pseudonymisation.suppression import suppress
from sharing.models import Programme
from sharing.models_scoping import ScopingWomanRow

THRESHOLD = 5
NOT_KNOWN = "Not known"

# name -> (title, row dimension, column dimension); a dimension is a served column of the snapshot
TABLES = {
    "removals_by_age": ("Women by number of children removed and age band",
                        "children_removed", "age_band"),
    "removals_by_period": ("Women by number of children removed and years of removal",
                           "children_removed", "removal_years"),
    "age_by_ethnic_group": ("Women by age band and broad ethnic group", "age_band", "ethnic_group"),
    "outcomes_by_removals": ("Women by outcome types and number of children removed",
                             "outcome_types", "children_removed"),
}
DIMENSION_LABELS = {
    "children_removed": "Children removed",
    "age_band": "Age band",
    "removal_years": "Years of removal",
    "ethnic_group": "Broad ethnic group",
    "outcome_types": "Outcome types",
}


def _order(values: set[str]) -> list[str]:
    """Numbers in numeric order, then text; suppressed ("*") and not known last."""
    def key(v: str):
        head = v.split("-")[0].split("+")[0].strip()
        return (v in ("*", NOT_KNOWN, ""), 0 if head.isdigit() else 1, int(head) if head.isdigit() else 0, v)
    return sorted(values, key=key)


def make_table(programme: Programme, name: str) -> dict:
    """One named table over the programme's served snapshot rows, suppressed. Raises KeyError for
    an unknown name and ValueError when the table cannot be protected (one row or column)."""
    title, row_dim, col_dim = TABLES[name]
    pairs = Counter(
        (r or NOT_KNOWN, c or NOT_KNOWN)
        for r, c in ScopingWomanRow.objects.filter(programme=programme, withheld=False).values_list(row_dim, col_dim)
    )
    rows, columns = _order({r for r, _ in pairs}), _order({c for _, c in pairs})
    if not pairs:
        return {"name": name, "title": title, "row_label": DIMENSION_LABELS[row_dim],
                "column_label": DIMENSION_LABELS[col_dim], "rows": [], "columns": [], "cells": [],
                "row_totals": [], "column_totals": [], "total": 0, "hidden": 0, "notes": ["No rows released."]}
    counts = [[pairs.get((r, c), 0) for c in columns] for r in rows]
    result = suppress(counts, THRESHOLD)
    return {
        "name": name, "title": title, "row_label": DIMENSION_LABELS[row_dim], "column_label": DIMENSION_LABELS[col_dim],
        "rows": rows, "columns": columns, "cells": result.display, "row_totals": result.row_totals,
        "column_totals": result.column_totals, "total": result.grand_total, "hidden": len(result.hidden),
        "notes": list(result.notes),
    }


def make_tables(programme: Programme, names: list[str]) -> tuple[list[dict], list[str]]:
    """The chosen tables, and for each that cannot be published safely, why (in words)."""
    tables, problems = [], []
    for name in names:
        try:
            tables.append(make_table(programme, name))
        except ValueError as exc:
            problems.append(f"{TABLES[name][0]}: cannot be published safely ({exc})")
    return tables, problems
