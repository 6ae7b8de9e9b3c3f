"""The engine's two statements: every event of the chosen women's children (with its position
and whether it falls in the window, worked out by the database), and the women themselves —
shaped so that Python builds nothing it does not keep (dates and row uids come as text).

Measured on PostgreSQL 15 (ADR 10, "Performance"): aggregating each woman's events and evidence
in SQL (ordered `string_agg` of JSON and of the digest's text, window functions for the children
removed and for review) was slower than these two plain reads — the per-group sorts and the JSON
written and parsed again cost more than the Python they saved.
"""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from eligibility.extract.codes import CodeList, Position
from eligibility.models import CareEpisode, Child, LegalStatus, RuleSet, Woman

LS, REC = str(CodeList.LEGAL_STATUS), str(CodeList.EPISODE_CEASED)
COUNTED, REVIEW, NOT_COUNTED = str(Position.COUNTED), str(Position.REVIEW), str(Position.NOT_COUNTED)

# A UUID as Python's str() writes it (SQLite stores the 32 hex digits alone).
_UUID_TEXT = {
    "postgresql": "CAST(w.row_uid AS TEXT)",
    "sqlite": ("lower(substr(w.row_uid, 1, 8) || '-' || substr(w.row_uid, 9, 4) || '-' || substr(w.row_uid, 13, 4)"
               " || '-' || substr(w.row_uid, 17, 4) || '-' || substr(w.row_uid, 21))"),
}


def _mothers(women: QuerySet[Woman] | None) -> tuple[str, list]:
    if women is None:
        return "", []
    subquery, params = women.values("pk").query.sql_with_params()
    return f" IN ({subquery})", list(params)


def _in_range(column: str, pks: tuple[int, int] | None) -> tuple[str, list]:
    """Women with `pks[0] <= pk < pks[1]`: one part of a programme split across processes."""
    if pks is None:
        return "", []
    return f" AND {column} >= %s AND {column} < %s", list(pks)


def events_sql(rule_set: RuleSet, start: date, ref: date, programme_id: int,
               women: QuerySet[Woman] | None, pks: tuple[int, int] | None = None) -> tuple[str, list]:
    """Rows of (woman, *engine.EVENT_FIELDS), in no particular order: the engine groups them by
    woman and sorts each woman's handful in Python (measured: a database sort of every event, which
    spills to disk at the default work_mem, cost more than the 26k small sorts). `pks`: only the
    women whose pk is in [pks[0], pks[1])."""
    child, ls, ce = Child._meta.db_table, LegalStatus._meta.db_table, CareEpisode._meta.db_table
    mothers, mothers_params = _mothers(women)
    in_range, range_params = _in_range("c.mother_id", pks)
    params: list = []

    def part(code_list: str, code: str, day: str, end: str, table: str, extra: str) -> str:
        cases = []
        for position in (COUNTED, NOT_COUNTED):
            listed = [c for c, p in rule_set.positions.get(code_list, {}).items() if p == position]
            if listed:
                cases.append(f"WHEN {code} IN ({', '.join(['%s'] * len(listed))}) THEN '{position}'")
                params.extend(listed)
        params.extend([start, ref, programme_id, *mothers_params, *range_params])
        return (
            f"SELECT c.mother_id AS m, '{code_list}' AS l, {code} AS code, CAST({day} AS TEXT) AS d, "  # noqa: S608
            f"{end} AS e, c.id AS ch, CASE {' '.join(cases)} ELSE '{REVIEW}' END AS p, "
            f"CASE WHEN {day} >= %s AND {day} <= %s THEN 1 ELSE 0 END AS w, x.extract_id AS xt "
            f"FROM {table} x JOIN {child} c ON c.id = x.child_id WHERE c.programme_id = %s"
            + (f" AND c.mother_id{mothers}" if mothers else "") + in_range + extra
        )

    sql = (
        part(LS, "x.code", "x.start_date", "CAST(x.end_date AS TEXT)", ls, "")
        + " UNION ALL "
        + part(REC, "x.ceased_reason", "x.ceased_date", "NULL", ce, " AND x.ceased_reason <> ''")
    )
    return sql, params


def women_sql(vendor: str, programme_id: int, women: QuerySet[Woman] | None,
              pks: tuple[int, int] | None = None) -> tuple[str, list]:
    """Rows of (pk, row uid as str() writes it, encrypted date of birth, due date, date of
    death), dates as ISO text, in pk order. `pks`: as `events_sql`'s."""
    mothers, mothers_params = _mothers(women)
    in_range, range_params = _in_range("w.id", pks)
    return (
        f"SELECT w.id, {_UUID_TEXT[vendor]}, w.date_of_birth, CAST(w.expected_child_due AS TEXT), "  # noqa: S608
        f"CAST(w.died_on AS TEXT) FROM {Woman._meta.db_table} w WHERE w.programme_id = %s"
        + (f" AND w.id{mothers}" if mothers else "") + in_range + " ORDER BY w.id",
        [programme_id, *mothers_params, *range_params],
    )
