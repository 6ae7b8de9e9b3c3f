"""The audit chain's checkpoints in a database of their own (PORTAL_AUDIT_CHECKPOINT_DATABASE_URL)
instead of the write-once folder: written and read back on a SQLite file and on a separate
PostgreSQL database, insert-only, and verification still finds entries cut after a checkpoint.
Exactly one store: both set is refused, and production refuses to start with neither."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from audit.core import sealing
from audit.core.checkpoint_stores import DatabaseStore, FolderStore, checkpoint_store
from audit.core.models import AuditSeal
from tests.audit.core.test_sealing import assert_cut_tail_is_found, entries, problems, raw
from tests.root.test_modes import production_env, start

PG_NAME = "test_audit_checkpoint_store"


def _pg_url(dbname: str) -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{dbname}"


def _fresh_pg_database() -> str:
    """A PostgreSQL database of its own beside the test database, without the table."""
    with closing(psycopg.connect(_pg_url(connection.settings_dict["NAME"]), autocommit=True)) as admin:
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_NAME,)).fetchone() is None:
            admin.execute(f"CREATE DATABASE {PG_NAME}")
    url = _pg_url(PG_NAME)
    with closing(psycopg.connect(url, autocommit=True)) as conn:
        conn.execute("DROP TABLE IF EXISTS audit_checkpoint")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, settings, tmp_path, monkeypatch):
    """The database store configured, the folder store not."""
    monkeypatch.delenv("PORTAL_AUDIT_CHECKPOINT_DIR", raising=False)
    monkeypatch.delenv("PORTAL_AUDIT_CHECKPOINT_DATABASE_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'checkpoints.db'}" if request.param == "sqlite" else _fresh_pg_database()
    settings.PORTAL_AUDIT_CHECKPOINT_DIR = ""
    settings.PORTAL_AUDIT_CHECKPOINT_DATABASE_URL = url
    yield url
    if request.param == "postgres":
        with closing(psycopg.connect(url, autocommit=True)) as conn:
            conn.execute("DROP TABLE IF EXISTS audit_checkpoint")


def rows(url: str) -> list[tuple]:
    if url.startswith("sqlite"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            return conn.execute("SELECT seq, chain, written_at FROM audit_checkpoint ORDER BY seq").fetchall()
    with closing(psycopg.connect(url)) as conn:
        return conn.execute("SELECT seq, chain, written_at FROM audit_checkpoint ORDER BY seq").fetchall()


@pytest.mark.django_db
def test_checkpoints_are_written_to_and_read_from_the_database_store(programme, store_url, tmp_path):
    assert isinstance(checkpoint_store(), DatabaseStore)
    entries(3, programme)
    sealing.seal_pending()
    first = sealing.write_checkpoint()
    entries(2, programme)
    sealing.seal_pending()
    second = sealing.write_checkpoint()
    assert first["seq"] < second["seq"] == AuditSeal.objects.count()
    assert sealing.read_checkpoints() == [first, second]
    assert rows(store_url) == [(c["seq"], c["chain"], c["written_at"]) for c in (first, second)]
    assert second["chain"] == AuditSeal.objects.get(seq=second["seq"]).chain
    assert not any(tmp_path.glob("**/*.json"))  # nothing went to a folder
    result = sealing.verify()
    assert result.ok and result.checkpoints == 2


@pytest.mark.django_db
def test_the_same_head_is_not_written_twice(programme, store_url):
    entries(2, programme)
    sealing.seal_pending()
    first = sealing.write_checkpoint()
    again = sealing.write_checkpoint()
    assert again == first  # the row already there, its time unchanged
    assert len(rows(store_url)) == 1


@pytest.mark.django_db
def test_verification_finds_entries_cut_after_a_checkpoint_in_the_database_store(programme, store_url):
    assert_cut_tail_is_found(programme)


@pytest.mark.django_db
def test_a_rewritten_chain_is_found_against_the_database_store(programme, store_url):
    entries(3, programme)
    sealing.seal_pending()
    sealing.write_checkpoint()
    raw("UPDATE audit_auditseal SET chain = %s WHERE seq = 3", ["f" * 64])
    assert problems()  # the last link no longer verifies, whatever the checkpoint says


def test_updates_and_deletes_are_refused_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    DatabaseStore(url).write({"seq": 1, "chain": "a" * 64, "written_at": "2025-01-01T00:00:00+00:00"})
    with closing(sqlite3.connect(tmp_path / "c.db")) as conn:
        for sql in ("UPDATE audit_checkpoint SET chain = 'b'", "DELETE FROM audit_checkpoint"):
            with pytest.raises(sqlite3.IntegrityError, match="insert-only"):
                conn.execute(sql)
    assert rows(url) == [(1, "a" * 64, "2025-01-01T00:00:00+00:00")]


@pytest.mark.postgres
@pytest.mark.django_db
def test_update_delete_and_truncate_are_refused_on_postgresql():
    url = _fresh_pg_database()
    store = DatabaseStore(url)
    store.write({"seq": 1, "chain": "a" * 64, "written_at": "2025-01-01T00:00:00+00:00"})
    for sql in ("UPDATE audit_checkpoint SET chain = 'b'", "DELETE FROM audit_checkpoint",
                "TRUNCATE audit_checkpoint"):
        with closing(psycopg.connect(url)) as conn, pytest.raises(psycopg.errors.RaiseException, match="insert-only"):
            conn.execute(sql)
    assert store.read() == [{"seq": 1, "chain": "a" * 64, "written_at": "2025-01-01T00:00:00+00:00"}]
    with closing(psycopg.connect(url)) as conn:
        conn.execute("DROP TABLE audit_checkpoint")
        conn.commit()


def test_exactly_one_store_is_used(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_AUDIT_CHECKPOINT_DIR", raising=False)
    monkeypatch.delenv("PORTAL_AUDIT_CHECKPOINT_DATABASE_URL", raising=False)
    settings.PORTAL_AUDIT_CHECKPOINT_DIR = str(tmp_path / "folder")
    settings.PORTAL_AUDIT_CHECKPOINT_DATABASE_URL = ""
    assert isinstance(checkpoint_store(), FolderStore)
    settings.PORTAL_AUDIT_CHECKPOINT_DATABASE_URL = f"sqlite:///{tmp_path / 'c.db'}"
    with pytest.raises(ImproperlyConfigured, match="exactly one store"):
        checkpoint_store()
    with pytest.raises(ImproperlyConfigured, match="exactly one store"):
        sealing.read_checkpoints()
    settings.PORTAL_AUDIT_CHECKPOINT_DIR = ""
    assert isinstance(checkpoint_store(), DatabaseStore)
    settings.PORTAL_AUDIT_CHECKPOINT_DATABASE_URL = "mysql://user:secret@db/checkpoints"
    with pytest.raises(ImproperlyConfigured, match="postgres:// or sqlite") as refused:
        checkpoint_store()
    assert "secret" not in str(refused.value)


# --- startup (what manage.py check --deploy loads) -------------------------------------------
CHECKPOINT_DB = "postgres://checkpoints:pw@checkpoints.internal:5432/portal_checkpoints"


def last_line(result) -> str:
    return result.stderr.splitlines()[-1] if result.stderr else ""


def test_production_starts_with_the_database_store_alone(tmp_path):
    result = start(production_env(PORTAL_AUDIT_CHECKPOINT_DIR=None, PORTAL_AUDIT_CHECKPOINT_DATABASE_URL=CHECKPOINT_DB),
                   tmp_path)
    assert result.returncode == 0, result.stderr


def test_production_refuses_to_start_with_neither_store_and_names_both(tmp_path):
    result = start(production_env(PORTAL_AUDIT_CHECKPOINT_DIR=None), tmp_path)
    assert result.returncode != 0
    assert "PORTAL_AUDIT_CHECKPOINT_DIR" in last_line(result)
    assert "PORTAL_AUDIT_CHECKPOINT_DATABASE_URL" in last_line(result)


@pytest.mark.parametrize("env", ["production", "demo"])
def test_both_stores_set_is_refused_at_startup(env, tmp_path):
    overrides = {"PORTAL_AUDIT_CHECKPOINT_DATABASE_URL": CHECKPOINT_DB}
    if env == "demo":
        overrides = {"PORTAL_ENV": "demo", "PORTAL_AUDIT_CHECKPOINT_DIR": str(tmp_path / "cp"), **overrides}
    result = start(production_env(**overrides) if env == "production" else overrides, tmp_path)
    assert result.returncode != 0 and "exactly one store" in last_line(result)


def test_production_refuses_a_sqlite_checkpoint_database(tmp_path):
    result = start(production_env(PORTAL_AUDIT_CHECKPOINT_DIR=None,
                                  PORTAL_AUDIT_CHECKPOINT_DATABASE_URL=f"sqlite:///{tmp_path}/c.db"), tmp_path)
    assert result.returncode != 0 and "postgres://" in last_line(result)


def test_production_refuses_the_main_database_as_the_checkpoint_store(tmp_path):
    env = production_env(PORTAL_AUDIT_CHECKPOINT_DIR=None)
    result = start({**env, "PORTAL_AUDIT_CHECKPOINT_DATABASE_URL": env["DATABASE_URL"]}, tmp_path)
    assert result.returncode != 0 and "main database" in last_line(result)
