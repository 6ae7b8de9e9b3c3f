"""Where the audit chain's head is checkpointed, outside the main database (ADR 14): exactly one
of two stores. The sealer writes one checkpoint per sealing run that sealed something (the first
seal included), so at a minute's beat a store gains up to 1,440 a day.

- The folder store (PORTAL_AUDIT_CHECKPOINT_DIR): one read-only file per checkpoint, never
  overwritten, under a folder per UTC day (`2026-11-27/000000000012345.json`, named by its seq), on
  a write-once mount in production. Write-once storage (an object-locked bucket, a WORM share)
  cannot append to a file, so each run gets a file of its own; the day folders keep any one
  listing short. Files directly in the folder (the layout before checkpoints per run) are read too.
- The database store (PORTAL_AUDIT_CHECKPOINT_DATABASE_URL, `postgres://...` or
  `sqlite:///relative.db` / `sqlite:////absolute.db`): one row per checkpoint in the table
  `audit_checkpoint`, written through a plain connection of its own (psycopg or sqlite3), never
  a Django database alias, so no router or migration of the main database is involved. The
  table is insert-only: a second write at the same head keeps the first row, and triggers refuse
  UPDATE, DELETE and (on PostgreSQL) TRUNCATE. In production the store's role should hold
  INSERT and SELECT on the table only (the table's owner creates it, once).

Both stores answer the same three questions: `write` (once per seq), `latest` (the newest
checkpoint: what the sealer checks before it writes) and `summary` (how many there are, and each
UTC day's newest: what verification compares — a checkpoint vouches for every link before it, so
a day's newest covers that day's others; see `audit.core.sealing_verify`). `read` returns them all.

Setting both is refused (settings at startup, and here): no precedence, so an operator never
believes checkpoints go where they do not.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import NamedTuple
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
_SELECT_LATEST = "SELECT seq, chain, written_at FROM audit_checkpoint ORDER BY seq DESC LIMIT 1"
_COUNT = "SELECT count(*) FROM audit_checkpoint"
# Each UTC day's newest: written_at is an ISO time in UTC, so its first ten characters are the day.
_SELECT_DAILY = ("SELECT seq, chain, written_at FROM audit_checkpoint WHERE seq IN "
                 "(SELECT max(seq) FROM audit_checkpoint GROUP BY substr(written_at, 1, 10)) ORDER BY seq")
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


def _day(record: dict) -> str:
    """The UTC day a checkpoint was written (its written_at is an ISO time in UTC)."""
    return str(record["written_at"])[:10]


class Summary(NamedTuple):
    count: int  # every checkpoint in the store
    daily: list[dict]  # each UTC day's newest, in seq order


class FolderStore:
    """One read-only JSON file per checkpoint under a folder per UTC day, named by its seq, never
    overwritten."""

    def __init__(self, folder: Path):
        self.folder = folder

    def write(self, record: dict) -> dict:
        day = self.folder / _day(record)
        day.mkdir(parents=True, exist_ok=True)
        path = day / f"{record['seq']:015d}.json"
        if path.exists():
            return json.loads(path.read_text())  # already checkpointed at this head today
        with open(path, "x", encoding="utf-8") as handle:  # never overwrite
            json.dump(record, handle)
        os.chmod(path, 0o444)
        return record

    def _layout(self) -> tuple[list[Path], list[Path]]:
        """The files directly in the folder (the layout before day folders) and the day folders,
        each sorted (by seq, by day)."""
        if not self.folder.exists():
            return [], []
        flat, days = [], []
        for entry in os.scandir(self.folder):
            if entry.is_dir(follow_symlinks=False):
                days.append(Path(entry.path))
            elif entry.name.endswith(".json"):
                flat.append(Path(entry.path))
        return sorted(flat), sorted(days)

    @staticmethod
    def _files(day: Path) -> list[str]:
        return sorted(name for name in os.listdir(day) if name.endswith(".json"))

    @staticmethod
    def _load(path: Path) -> dict:
        return json.loads(path.read_text())

    def read(self) -> list[dict]:
        flat, days = self._layout()
        paths = flat + [day / name for day in days for name in self._files(day)]
        return sorted((self._load(p) for p in paths), key=lambda r: r["seq"])

    def latest(self) -> dict | None:
        """The newest checkpoint: in the newest day folder that has one (a listing of that folder,
        not of every day), or among the flat files from before day folders."""
        flat, days = self._layout()
        candidates = flat[-1:]
        for day in reversed(days):
            files = self._files(day)
            if files:
                candidates.append(day / files[-1])
                break
        if not candidates:
            return None
        return self._load(max(candidates, key=lambda p: p.name))  # names are zero-padded seqs

    def summary(self) -> Summary:
        flat, days = self._layout()
        count, newest = len(flat), [self._load(p) for p in flat]
        for day in days:
            files = self._files(day)
            count += len(files)
            if files:
                newest.append(self._load(day / files[-1]))
        daily: dict[str, dict] = {}
        for record in newest:
            day = _day(record)
            if day not in daily or daily[day]["seq"] < record["seq"]:
                daily[day] = record
        return Summary(count, sorted(daily.values(), key=lambda r: r["seq"]))


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

    def _rows(self, *queries: str) -> list[list]:
        with closing(self._connect()) as conn:
            self._ensure_table(conn)
            return [conn.execute(q).fetchall() for q in queries]

    def read(self) -> list[dict]:
        [rows] = self._rows(_SELECT_ALL)
        return [_record(row) for row in rows]

    def latest(self) -> dict | None:
        [rows] = self._rows(_SELECT_LATEST)
        return _record(rows[0]) if rows else None

    def summary(self) -> Summary:
        count, daily = self._rows(_COUNT, _SELECT_DAILY)
        return Summary(int(count[0][0]), [_record(row) for row in daily])


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
