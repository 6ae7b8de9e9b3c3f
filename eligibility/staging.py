"""Temporary tables for one import, on this database connection only.

Rows prepared (and, for people, encrypted) in Python are bulk-loaded into them — ``COPY`` on
PostgreSQL, ``executemany`` on SQLite — a few thousand at a time, so memory stays bounded; then
set-based SQL moves them into the real tables (``eligibility.import_writer``). Temporary tables
are private to the session, never logged, and dropped when the import ends, whatever happens;
they hold ciphertexts, blind indexes, codes, dates and 64-bit hashes of ids, never a plaintext
identifier.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import connection

_TYPES = {
    "postgresql": {"int": "bigint", "bytes": "bytea", "text": "text", "date": "date", "bool": "boolean", "uuid": "uuid"},
    "sqlite": {"int": "integer", "bytes": "blob", "text": "text", "date": "date", "bool": "bool", "uuid": "char(32)"},
}


class StagingTable:
    """One temporary table: its name, (column, type) pairs, and a buffer of rows to load."""

    FLUSH_EVERY = 5000

    def __init__(self, name: str, columns: Iterable[tuple[str, str]], index: tuple[str, ...] = ()):
        self.name = name
        self.columns = tuple(columns)
        self.index = index
        self.rows: list[tuple] = []
        self.loaded = 0

    @property
    def names(self) -> list[str]:
        return [c for c, _ in self.columns]

    def add(self, row: tuple) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        columns = ", ".join(self.names)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {self.name} ({columns}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(
                    f"INSERT INTO {self.name} ({columns}) VALUES ({marks})",  # noqa: S608 - our own names
                    [tuple(v.isoformat() if isinstance(v, date) else v for v in row) for row in self.rows],
                )
        self.loaded += len(self.rows)
        self.rows = []


class Staging:
    """The temporary tables of one import. Use as a context manager: created on entry (any left
    over from an interrupted import on this connection are dropped first), dropped on exit."""

    def __init__(self, *tables: StagingTable):
        self.tables = {t.name: t for t in tables}

    def __getitem__(self, name: str) -> StagingTable:
        return self.tables[name]

    def __enter__(self) -> Staging:
        types = _TYPES["postgresql" if connection.vendor == "postgresql" else "sqlite"]
        self._drop()
        with connection.cursor() as cursor:
            for t in self.tables.values():
                columns = ", ".join(f"{name} {types[kind]}" for name, kind in t.columns)
                cursor.execute(f"CREATE TEMPORARY TABLE {t.name} ({columns})")
        return self

    def __exit__(self, *exc) -> None:
        self._drop()

    def flush(self) -> None:
        for t in self.tables.values():
            t.flush()

    def index(self) -> None:
        """Index the join columns and refresh the planner's statistics once the rows are in."""
        with connection.cursor() as cursor:
            for t in self.tables.values():
                for column in t.index:
                    cursor.execute(f"CREATE INDEX {t.name}_{column} ON {t.name} ({column})")
                cursor.execute(f"ANALYZE {t.name}")

    def analyze(self, *names: str) -> None:
        """Refresh the statistics of tables filled after ``index``."""
        with connection.cursor() as cursor:
            for name in names:
                cursor.execute(f"ANALYZE {name}")

    def _drop(self) -> None:
        with connection.cursor() as cursor:
            for name in self.tables:
                cursor.execute(f"DROP TABLE IF EXISTS {name}")
