"""Where the audit chain's head is checkpointed, outside the main database (ADR 14): exactly one
of two stores.

- The folder store (PORTAL_AUDIT_CHECKPOINT_DIR): one read-only file per checkpoint, never
  overwritten, on a write-once mount in production.
- The database store (PORTAL_AUDIT_CHECKPOINT_DATABASE_URL, `postgres://...` or
  `sqlite:///relative.db` / `sqlite:////absolute.db`): one row per checkpoint in the table
  `audit_checkpoint`, written through a plain connection of its own (psycopg or sqlite3), never
  a Django database alias, so no router or migration of the main database is involved. The
  table is insert-only: a second write at the same head keeps the first row, and triggers refuse
  UPDATE, DELETE and (on PostgreSQL) TRUNCATE. In production the store's role should hold
  INSERT and SELECT on the table only (the table's owner creates it, once).

Setting both is refused (settings at startup, and here): no precedence, so an operator never
believes checkpoints go where they do not.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

TABLE = "audit_checkpoint"
DIR_SETTING = "PORTAL_AUDIT_CHECKPOINT_DIR"
URL_SETTING = "PORTAL_AUDIT_CHECKPOINT_DATABASE_URL"
BOTH_SET = (f"Both {DIR_SETTING} and {URL_SETTING} are set: the audit trail's checkpoints go to exactly one "
            "store. Unset one of them.")

_CREATE_TABLE = f"CREATE TABLE {TABLE} (seq bigint PRIMARY KEY, chain text NOT NULL, written_at text NOT NULL)"
_INSERT = "INSERT INTO audit_checkpoint (seq, chain, written_at) VALUES ({p}, {p}, {p}) ON CONFLICT (seq) DO NOTHING"
_SELECT_ONE = "SELECT seq, chain, written_at FROM audit_checkpoint WHERE seq = {p}"
_SELECT_ALL = "SELECT seq, chain, written_at FROM audit_checkpoint ORDER BY seq"
_PG_REFUSE = [
    # No '%' anywhere: these go through psycopg, which reads '%' as a placeholder.
    "CREATE OR REPLACE FUNCTION audit_checkpoint_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_checkpoint is insert-only: checkpoints are never changed or removed'; END $$",
    f"CREATE OR REPLACE TRIGGER audit_checkpoint_no_change BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_refuse()",
    f"CREATE OR REPLACE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON {TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoint_refuse()",
]
_SQLITE_REFUSE = [
    f"CREATE TRIGGER IF NOT EXISTS audit_checkpoint_no_{op.lower()} BEFORE {op} ON {TABLE} "
    "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is insert-only'); END"
    for op in ("UPDATE", "DELETE")
]


def _record(row) -> dict:
    return {"seq": int(row[0]), "chain": row[1], "written_at": row[2]}


class FolderStore:
    """One read-only JSON file per checkpoint, named by its seq, never overwritten."""

    def __init__(self, folder: Path):
        self.folder = folder

    def write(self, record: dict) -> dict:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{record['seq']:015d}.json"
        if path.exists():
            return json.loads(path.read_text())  # already checkpointed at this head
        with open(path, "x", encoding="utf-8") as handle:  # never overwrite
            json.dump(record, handle)
        os.chmod(path, 0o444)
        return record

    def read(self) -> list[dict]:
        if not self.folder.exists():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.folder.glob("*.json"))]


class DatabaseStore:
    """One row per checkpoint in `audit_checkpoint`, on a database of its own."""

    def __init__(self, url: str):
        parsed = urlparse(url)
        if parsed.scheme in ("postgres", "postgresql"):
            self.vendor = "postgresql"
        elif parsed.scheme == "sqlite" and parsed.path[1:]:
            self.vendor, self.path = "sqlite", parsed.path[1:]  # sqlite:////abs/path -> /abs/path
        else:
            raise ImproperlyConfigured(f"{URL_SETTING} must be a postgres:// or sqlite:///path URL "
                                       f"(got a {parsed.scheme or 'schemeless'} URL).")
        self.url = url

    def _connect(self):
        if self.vendor == "postgresql":
            import psycopg

            return psycopg.connect(self.url, connect_timeout=10, application_name="portal-audit-checkpoints")
        return sqlite3.connect(self.path)

    def _sql(self, template: str) -> str:
        return template.format(p="%s" if self.vendor == "postgresql" else "?")

    def _ensure_table(self, conn) -> None:
        """Create the table (and its refusing triggers) when missing. A role with INSERT and
        SELECT only finds it there and creates nothing."""
        if self.vendor == "sqlite":
            with conn:
                conn.execute(_CREATE_TABLE.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS"))
                for statement in _SQLITE_REFUSE:
                    conn.execute(statement)
            return
        import psycopg

        if conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()[0] is not None:
            conn.commit()
            return
        try:
            with conn.transaction():  # the table and its triggers together, or neither
                conn.execute(_CREATE_TABLE)
                for statement in _PG_REFUSE:
                    conn.execute(statement)
        except psycopg.errors.DuplicateTable:
            pass  # another writer created it first (with its triggers, in the same transaction)
        conn.commit()

    def write(self, record: dict) -> dict:
        with closing(self._connect()) as conn:
            self._ensure_table(conn)
            values = (record["seq"], record["chain"], record["written_at"])
            conn.execute(self._sql(_INSERT), values)
            row = conn.execute(self._sql(_SELECT_ONE), (record["seq"],)).fetchone()
            conn.commit()
        return _record(row)

    def read(self) -> list[dict]:
        with closing(self._connect()) as conn:
            self._ensure_table(conn)
            rows = conn.execute(_SELECT_ALL).fetchall()
        return [_record(row) for row in rows]


def _configured(name: str) -> str:
    return getattr(settings, name, None) or os.environ.get(name) or ""


def checkpoint_dir() -> Path:
    """settings.PORTAL_AUDIT_CHECKPOINT_DIR, else the environment variable of that name: a folder
    on storage the database's administrators cannot rewrite (a write-once mount in production)."""
    folder = _configured(DIR_SETTING)
    if not folder:
        raise ImproperlyConfigured("PORTAL_AUDIT_CHECKPOINT_DIR is not set: the chain head has nowhere to go.")
    return Path(folder)


def checkpoint_store() -> FolderStore | DatabaseStore:
    """The one configured store: the database when PORTAL_AUDIT_CHECKPOINT_DATABASE_URL is set,
    else the folder; both set is refused."""
    url = _configured(URL_SETTING)
    if url:
        if _configured(DIR_SETTING):
            raise ImproperlyConfigured(BOTH_SET)
        return DatabaseStore(url)
    return FolderStore(checkpoint_dir())
