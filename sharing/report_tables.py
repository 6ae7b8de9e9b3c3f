"""The aggregate tables a final scoping report may carry, made from portal tables only: the
scoping snapshot's served rows (never a withheld row, never the Trust's records), cross-tabulated
and passed through small-number suppression (`pseudonymisation.suppression.suppress`, threshold
5, totals published, secondary suppression so no hidden cell can be worked out).

A table is stored in the report as JSON: title, row and column labels, the published cells
("<5" / "*" where hidden), totals and how many cells were hidden. Only counts leave here.
"""

from __future__ import annotations

from pause_portal.tenancy.models import Programme
from pseudonymisation.generalise import NOT_KNOWN
from sharing.models_scoping import ScopingWomanRow
from sharing.scoping_tables import cross_table, hold_back_changed_versions, keep_versions

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


def make_table(programme: Programme, name: str) -> dict:
    """One named table over the programme's served snapshot rows, suppressed
    (`sharing.scoping_tables.cross_table`). Raises KeyError for an unknown name and ValueError when
    the table cannot be protected (one row or column with small counts)."""
    title, row_dim, col_dim = TABLES[name]
    pairs = [
        (r or NOT_KNOWN, c or NOT_KNOWN)
        for r, c in ScopingWomanRow.objects.filter(programme=programme, withheld=False).values_list(row_dim, col_dim)
    ]
    table = hold_back_changed_versions(
        programme, cross_table(name, title, DIMENSION_LABELS[row_dim], DIMENSION_LABELS[col_dim], pairs))
    if pairs and not table.shown:
        raise ValueError(" ".join(table.notes))
    return {
        "name": name, "title": title, "row_label": table.row_label, "column_label": table.column_label,
        "rows": table.row_names, "columns": table.column_names, "cells": table.display,
        "row_totals": table.row_totals, "column_totals": table.column_totals, "total": table.grand_total,
        "hidden": table.suppressed_cells, "notes": table.notes if pairs else ["No rows released."],
    }


def make_tables(programme: Programme, names: list[str]) -> tuple[list[dict], list[str]]:
    """The chosen tables, and for each that cannot be published safely, why (in words)."""
    tables, problems = [], []
    for name in names:
        try:
            tables.append(make_table(programme, name))
        except ValueError as exc:
            problems.append(f"{TABLES[name][0]}: cannot be published safely ({exc})")
    if not problems:
        keep_versions(programme, [t for t in tables if t["rows"]], via="final report")
    return tables, problems
