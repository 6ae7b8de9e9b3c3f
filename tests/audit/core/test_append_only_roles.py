"""Issue 17, finding 7: the append-only tables hold against the application's own database role.

The six append-only tables (entries, subjects, seals, chain anchors, the DPO's review searches,
erasure records): the application role — a LOGIN role made here as docker-compose's `portal_app`
is (deploy/postgres-init/01-roles.sh) and granted by `audit.core.db_roles` as every migrate grants it,
connected to with psycopg — is refused UPDATE, DELETE and TRUNCATE on each, with and without the
trigger's bypass setting on. The trigger honours the bypass only for the table's owner: a role
granted everything by mistake is still refused, and so is a superuser who does not own the table.
The owner's own uses — the test suite's flush, the logged retention purge — still work
(tests/audit/core/test_append_only.py)."""

from __future__ import annotations

import os
from contextlib import closing

import psycopg
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection

from audit.core import sealing
from audit.core.bypass import audit_bypass
from audit.core.db_roles import apply_grants, audit_partitions
from audit.core.log import record_event
from audit.core.models import AuditEntry, AuditSeal, Event
from audit.core.models_review import ReviewKind, ReviewSearch
from tests.audit.pg_roles import refused_as

pytestmark = pytest.mark.django_db

EXPECTED = {"audit_auditentry", "audit_auditsubject", "audit_auditseal", "audit_auditchainanchor",
            "audit_reviewsearch", "audit_erasurerecord"}
# A column of each, for an UPDATE that changes nothing but still needs the privilege.
COLUMN = {"audit_auditentry": "reason", "audit_auditsubject": "subject", "audit_auditseal": "chain",
          "audit_auditchainanchor": "reason", "audit_reviewsearch": "reason", "audit_erasurerecord": "ground"}
STATEMENTS = {"UPDATE": "UPDATE {t} SET {c} = {c}", "DELETE": "DELETE FROM {t}", "TRUNCATE": "TRUNCATE {t}"}
WORKING_TABLES = ("audit_rightsrequest", "audit_breach", "audit_monitoringflag", "audit_monitoringcursor",
                  "audit_conflictdeclaration", "audit_refusaltally")


def test_the_append_only_tables_are_these_six():
    from audit.core.db_roles import APPEND_ONLY_TABLES

    assert set(APPEND_ONLY_TABLES) == EXPECTED and set(COLUMN) == EXPECTED


def test_a_review_record_cannot_be_deleted_through_the_orm_either(dpo, programme):
    search = ReviewSearch.objects.create(programme=programme, by=dpo, kind=ReviewKind.TRAIL_SEARCH, reason="r")
    with pytest.raises(PermissionDenied):
        search.delete()
    assert ReviewSearch.objects.filter(pk=search.pk).exists()


# --- the application role, logged in as itself --------------------------------------------
def _url(dbname: str, user: str) -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") and user == s["USER"] else ""
    return f"postgres://{user}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{dbname}"


@pytest.fixture(scope="module")
def app_login(django_db_setup, django_db_blocker):
    """A login role like docker-compose's portal_app, granted as `migrate` grants it, committed
    (its own psycopg connections see only what is committed); dropped afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL roles")
    role, dbname = f"portal_app_login_{os.getpid()}", connection.settings_dict["NAME"]
    with closing(psycopg.connect(_url(dbname, connection.settings_dict["USER"]), autocommit=True)) as admin:
        admin.execute(f"CREATE ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
        admin.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {dbname} TO {role}")
        apply_grants(admin.cursor(), role)
        try:
            yield _url(dbname, role)
        finally:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


def _as_app(url: str, sql: str, *, bypass: bool, params=None):
    with closing(psycopg.connect(url)) as conn:
        assert conn.execute("SELECT current_user, session_user").fetchone()[0].startswith("portal_app_login_")
        if bypass:
            conn.execute("SET portal.audit_bypass = 'on'")  # any role may set it
        cur = conn.execute(sql, params)
        rows = cur.fetchall() if cur.description else None
        conn.rollback()
        return rows


@pytest.mark.postgres
@pytest.mark.parametrize("bypass", [False, True], ids=["bypass-off", "bypass-on"])
@pytest.mark.parametrize("statement", STATEMENTS)
@pytest.mark.parametrize("table", sorted(EXPECTED))
def test_the_application_role_cannot_update_delete_or_truncate_an_append_only_table(app_login, table, statement,
                                                                                   bypass):
    sql = STATEMENTS[statement].format(t=table, c=COLUMN[table])
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
        _as_app(app_login, sql, bypass=bypass)


@pytest.mark.postgres
def test_the_application_role_still_reads_and_appends_and_keeps_its_working_tables(app_login):
    for table in sorted(EXPECTED):
        assert _as_app(app_login, f"SELECT count(*) FROM {table}", bypass=False)[0][0] >= 0  # noqa: S608
    added = _as_app(app_login, "INSERT INTO audit_auditchainanchor (from_seq, first_seq, previous_chain, purged_at, "
                               "reason, mac) VALUES (1, 2, %s, now(), 'r', %s) RETURNING id", bypass=True,
                    params=["a" * 64, "b" * 64])
    assert added[0][0]  # (rolled back)
    for table in WORKING_TABLES:
        _as_app(app_login, f"UPDATE {table} SET id = id WHERE false", bypass=False)  # noqa: S608
        _as_app(app_login, f"DELETE FROM {table} WHERE false", bypass=False)  # noqa: S608


# --- the trigger: the bypass is the owner's only -----------------------------------------------
def _rows(dpo, programme) -> None:
    """A row in each append-only table a row trigger can fire on (an erasure record needs a whole
    erasure: its row triggers are checked in the catalogue below, its TRUNCATE here)."""
    record_event(Event.DISCLOSURE, actor=dpo, subjects=[dpo], page="/x/")
    sealing.seal_pending()
    seal = AuditSeal.objects.order_by("seq").first()
    sealing.make_anchor(seal.seq, seal.seq + 1, seal.chain, "a test anchor")
    ReviewSearch.objects.create(programme=programme, by=dpo, kind=ReviewKind.TRAIL_SEARCH, reason="r")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:  # Django's deferred foreign keys checked now: TRUNCATE and
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuse pending trigger events


@pytest.mark.postgres
def test_a_role_granted_everything_by_mistake_is_still_refused_with_the_bypass_on(dpo, programme):
    _rows(dpo, programme)
    role = f"portal_misgranted_{os.getpid()}"
    with connection.cursor() as cur:  # inside the test's transaction: gone with it
        cur.execute(f"CREATE ROLE {role} NOLOGIN")
        cur.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        cur.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
    for table in sorted(EXPECTED):
        for statement, template in STATEMENTS.items():
            if table == "audit_erasurerecord" and statement != "TRUNCATE":
                continue
            sql = template.format(t=table, c=COLUMN[table]) + (" CASCADE" if statement == "TRUNCATE" else "")
            for bypass in (False, True):
                error = refused_as(sql, role, bypass=bypass)
                assert error and "append-only" in error, (table, statement, bypass)
    assert AuditEntry.objects.exists() and ReviewSearch.objects.exists()


@pytest.mark.postgres
def test_the_bypass_is_honoured_for_the_tables_owner_not_for_a_superuser_who_is_not(dpo, programme):
    _rows(dpo, programme)
    owner = f"portal_owner_{os.getpid()}"
    with connection.cursor() as cur:  # inside the test's transaction: gone with it
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cur.fetchone()[0]  # the test suite connects as a superuser ...
        cur.execute(f"CREATE ROLE {owner} NOLOGIN")
        cur.execute(f"GRANT USAGE ON SCHEMA public TO {owner}")
        cur.execute(f"ALTER TABLE audit_reviewsearch OWNER TO {owner}")  # ... who no longer owns this one
    delete = "DELETE FROM audit_reviewsearch"
    assert "append-only" in refused_as(delete, None, bypass=True)  # the superuser, not the owner
    assert "append-only" in refused_as(delete, owner, bypass=False)  # the owner, without the bypass
    assert refused_as(delete, owner, bypass=True) is None  # the owner, with it
    with connection.cursor() as cur:
        cur.execute(f"SET LOCAL ROLE {owner}")
        cur.execute("SET LOCAL portal.audit_bypass = 'on'")
        cur.execute(delete)
        cur.execute("RESET ROLE")
        cur.execute("SET LOCAL portal.audit_bypass = 'off'")
    assert not ReviewSearch.objects.exists()


# pg_trigger.tgtype bits (PostgreSQL's trigger.h)
ROW, BEFORE, DELETE, UPDATE, TRUNCATE = 1, 2, 8, 16, 32


@pytest.mark.postgres
def test_every_append_only_table_has_the_refusing_triggers():
    with connection.cursor() as cur:
        cur.execute("SELECT c.relname, t.tgtype FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE t.tgfoid = 'portal_audit_append_only'::regproc AND NOT t.tgisinternal "
                    "AND t.tgenabled = 'O'")
        found: dict[str, list[int]] = {}
        for table, kind in cur.fetchall():
            found.setdefault(table, []).append(kind)
    with connection.cursor() as cur:  # ... and each partition of a partitioned one (ADR 52)
        partitions = set(audit_partitions(cur))
    assert partitions and set(found) == EXPECTED | partitions
    for table, kinds in found.items():
        assert ROW | BEFORE | DELETE | UPDATE in kinds, table  # before each row's UPDATE or DELETE
        assert BEFORE | TRUNCATE in kinds, table  # before a TRUNCATE statement
    with connection.cursor() as cur:  # no role can put a look-alike name in its way
        cur.execute("SELECT proconfig FROM pg_proc WHERE oid = 'portal_audit_append_only'::regproc")
        assert cur.fetchone()[0] == ["search_path=pg_catalog, pg_temp"]


@pytest.mark.django_db(transaction=True)
def test_the_test_suites_flush_still_empties_every_append_only_table(dpo, programme):
    _rows(dpo, programme)
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEntry.objects.exists() and not AuditSeal.objects.exists() and not ReviewSearch.objects.exists()


@pytest.mark.postgres
def test_the_owner_still_deletes_through_the_logged_bypass(dpo, programme):
    """(As the retention purge does; the purge itself: tests/audit/core/test_append_only.py.)"""
    _rows(dpo, programme)
    with audit_bypass("test: the owner's bypass"), connection.cursor() as cur:
        cur.execute("DELETE FROM audit_reviewsearch")
    assert not ReviewSearch.objects.exists()
