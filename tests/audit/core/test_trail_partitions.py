"""The audit trail partitioned by month on PostgreSQL (issue 25, point 3; ADR 52): the three tables'
partitions, keys, triggers and grants; an entry's rows in its month; the DEFAULT partition and
the months made ahead (rows moved out of the DEFAULT, nothing lost); the chain's digests unchanged
and verification across months; retention dropping whole months; the per-person search able to
use an index on every partition. Migrating over a sealed trail: test_trail_partition_migration.py."""

from __future__ import annotations

import io
import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from audit.core import partitions, sealing
from audit.core.bypass import audit_bypass
from audit.core.db_roles import audit_partitions
from audit.core.log import record_event
from audit.core.models import AuditChainAnchor, AuditEntry, AuditSeal, AuditSubject, Event
from audit.core.models_certificates import PurgeCertificate
from audit.core.partitions import (
    PARTITIONED,
    PartitionsRefused,
    ensure_ahead,
    ensure_months,
    months_of,
)
from audit.core.retention import purge
from audit.core.sealing_digest import entry_digests
from audit.core.tasks import ensure_trail_partitions
from pause_portal.tenancy.roles import OrganisationKind
from tests import factories as f
from tests.audit.owner_connection import the_tests_connection
from tests.audit.pg_roles import granted_like_the_app, refused_as

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
LONDON = ZoneInfo("Europe/London")
TODAY = datetime(2026, 12, 7, 12, 0, tzinfo=LONDON)
APP_ROLE = "portal_app_partitions_test"


@pytest.fixture(autouse=True)
def _the_morning_of_today():
    with time_machine.travel(datetime(2026, 12, 7, 11, 0, tzinfo=LONDON), tick=True):
        yield


EARLY = datetime(2015, 1, 1, 9, tzinfo=LONDON)


@pytest.fixture
def person(db):
    """Made (with the entries that records) before every entry of these tests: the chain holds
    entries to be dated in the order they were sealed."""
    with time_machine.travel(EARLY, tick=False):
        return f.person(f.organisation(OrganisationKind.TRUST))


def another(person):
    with time_machine.travel(EARLY, tick=False):
        return f.person(person.organisation)


def entry_at(moment: datetime, person, subjects=()) -> AuditEntry:
    with time_machine.travel(moment, tick=False):
        return record_event(Event.DISCLOSURE, actor=person, subjects=subjects or [person], page="/x/")


def where(table: str, column: str, value) -> str:
    """The partition a row is in."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE {column} = %s", [value])  # noqa: S608
        return cur.fetchone()[0]


def exists(name: str) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cur.fetchone()[0]


def seal_and_checkpoint() -> None:
    with time_machine.travel(TODAY, tick=False):
        sealing.seal_pending()  # (the first seal starts the checkpoint store)
        sealing.write_checkpoint()
    with connection.cursor() as cur:  # Django's deferred foreign keys checked now: TRUNCATE and ALTER
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TABLE refuse a table with pending trigger events


# --- the schema -------------------------------------------------------------------------------
def test_the_three_tables_are_partitioned_by_range_on_the_entrys_time_with_a_default():
    with connection.cursor() as cur:
        for table, key in PARTITIONED:
            cur.execute("SELECT p.partstrat, a.attname FROM pg_partitioned_table p JOIN pg_attribute a "
                        "ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] WHERE p.partrelid = %s::regclass",
                        [table])
            assert cur.fetchone() == ("r", key), table
            cur.execute("SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c "
                        "ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass AND c.relname = %s",
                        [table, f"{table}_default"])
            assert cur.fetchone() == ("DEFAULT",)
            # The migration made the month it ran in and the three after it (the test database is new).
            cur.execute("SELECT applied FROM django_migrations WHERE app = 'audit' AND name LIKE '0015_%%'")
            this_month = partitions.first_of(cur.fetchone()[0])
            assert {partitions.add_months(this_month, n) for n in range(4)} <= set(months_of(table)), table


def test_keys_and_unique_constraints_hold_the_partition_key():
    with connection.cursor() as cur:
        cur.execute("SELECT conrelid::regclass::text, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = ANY(ARRAY['audit_auditentry', 'audit_auditsubject', 'audit_auditseal']"
                    "::regclass[]) AND contype IN ('p', 'u') ORDER BY 1, 2")
        assert cur.fetchall() == [
            ("audit_auditentry", "p", 'PRIMARY KEY (id, "timestamp")'),
            ("audit_auditseal", "p", "PRIMARY KEY (seq, entry_time)"),
            ("audit_auditseal", "u", "UNIQUE (entry_id, entry_time)"),
            ("audit_auditsubject", "p", "PRIMARY KEY (id, entry_time)"),
        ]
        # No foreign key into the entries (it would have to name their whole key) ...
        cur.execute("SELECT conname FROM pg_constraint WHERE confrelid = 'audit_auditentry'::regclass")
        assert cur.fetchall() == []
        # ... and every partition has every index of its table.
        for table, _ in PARTITIONED:
            cur.execute("SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass", [table])
            indexes = cur.fetchone()[0]
            cur.execute("SELECT c.relname, (SELECT count(*) FROM pg_index x WHERE x.indrelid = c.oid AND x.indisvalid) "
                        "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
                        [table])
            for name, count in cur.fetchall():
                assert count == indexes, name


def test_an_entry_its_subjects_and_its_seal_are_in_its_months_partition(person):
    entry = record_event(Event.DISCLOSURE, actor=person, subjects=[person], page="/x/")
    seal_and_checkpoint()
    month = partitions.first_of(entry.timestamp)
    assert where("audit_auditentry", "id", entry.pk) == partitions.partition_name("audit_auditentry", month)
    assert where("audit_auditsubject", "entry_id", entry.pk) == partitions.partition_name("audit_auditsubject", month)
    assert where("audit_auditseal", "entry_id", entry.pk) == partitions.partition_name("audit_auditseal", month)
    subject, seal = AuditSubject.objects.get(entry=entry), AuditSeal.objects.get(entry_id=entry.pk)
    assert subject.entry_time == entry.timestamp == seal.entry_time


# --- append-only: the triggers and the application role -----------------------------------------
@pytest.fixture
def app_role(db):
    return granted_like_the_app(APP_ROLE)


def test_the_application_role_reaches_no_partition_and_only_selects_and_inserts_through_the_tables(app_role,
                                                                                                   person):
    record_event(Event.SIGN_IN, actor=person, target=person)
    seal_and_checkpoint()
    with connection.cursor() as cur:
        names = audit_partitions(cur)
        assert len(names) >= 3 * 5  # four months and the DEFAULT each
        for name in names:
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"):
                cur.execute("SELECT has_table_privilege(%s, %s, %s)", [APP_ROLE, name, privilege])
                assert cur.fetchone() == (False,), (name, privilege)
        for table, _ in PARTITIONED:
            cur.execute("SELECT has_table_privilege(%s, %s, 'SELECT'), has_table_privilege(%s, %s, 'INSERT'), "
                        "has_table_privilege(%s, %s, 'UPDATE'), has_table_privilege(%s, %s, 'DELETE'), "
                        "has_table_privilege(%s, %s, 'TRUNCATE')", [APP_ROLE, table] * 5)
            assert cur.fetchone() == (True, True, False, False, False), table
    month = where("audit_auditentry", "event", Event.SIGN_IN)
    for sql in (f"SELECT count(*) FROM {month}", f"DELETE FROM {month}", "DELETE FROM audit_auditentry_default",
                "TRUNCATE audit_auditsubject_default", "UPDATE audit_auditseal SET chain = chain",
                "DELETE FROM audit_auditentry", "TRUNCATE audit_auditentry", f"DROP TABLE {month}",
                f"ALTER TABLE audit_auditentry DETACH PARTITION {month}"):
        for bypass in (False, True):
            error = refused_as(sql, APP_ROLE, bypass=bypass)
            assert error and ("permission denied" in error or "must be owner" in error), (sql, error)
    assert refused_as("SELECT count(*) FROM audit_auditentry", APP_ROLE) is None
    assert AuditEntry.objects.exists()


def test_every_partition_refuses_update_delete_and_truncate_even_to_the_owner_without_the_bypass(person):
    old = entry_at(datetime(2019, 5, 1, 9, tzinfo=LONDON), person)  # no month for it: the DEFAULT
    record_event(Event.SIGN_IN, actor=person, target=person)
    seal_and_checkpoint()
    with connection.cursor() as cur:
        names = audit_partitions(cur)
    holding = {where(table, column, value) for table, column, value in (
        ("audit_auditentry", "id", old.pk), ("audit_auditsubject", "entry_id", old.pk),
        ("audit_auditseal", "entry_id", old.pk), ("audit_auditentry", "event", Event.SIGN_IN))}
    assert len(holding) == 4 and holding <= set(names)
    for name in names:  # a row trigger fires only on rows: UPDATE and DELETE where there are some
        column = "timestamp" if name.startswith("audit_auditentry") else "entry_time"
        statements = [f'UPDATE {name} SET "{column}" = "{column}"', f"DELETE FROM {name}"] if name in holding else []
        for sql in [*statements, f"TRUNCATE {name}"]:
            error = refused_as(sql)
            assert error and "append-only" in error, (sql, error)
    assert AuditEntry.objects.filter(pk=old.pk).exists()
    # The owner's logged bypass still gets through, on a partition as on the table.
    with audit_bypass("test: the owner's bypass on a partition"), connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditsubject_default WHERE entry_id = %s", [old.pk])
        cur.execute("DELETE FROM audit_auditseal_default WHERE entry_id = %s", [old.pk])
        cur.execute("DELETE FROM audit_auditentry_default WHERE id = %s", [old.pk])
    assert not AuditEntry.objects.filter(pk=old.pk).exists()
    assert "append-only" in refused_as("TRUNCATE audit_auditentry_default")


# --- the DEFAULT and the months made ahead ----------------------------------------------------------
def test_rows_of_a_month_without_a_partition_go_to_the_default_and_move_into_its_month_when_made(person, caplog):
    """(As when the daily task was not run in time: that month's rows wait in the DEFAULT.)"""
    other = another(person)
    entries = [entry_at(datetime(2025, 3, 14, 10, tzinfo=LONDON), person, subjects=[person, other])
               for _ in range(3)]
    now = record_event(Event.SIGN_IN, actor=person, target=person)
    seal_and_checkpoint()
    ids = [e.pk for e in entries]
    assert {where("audit_auditentry", "id", i) for i in ids} == {"audit_auditentry_default"}
    assert where("audit_auditseal", "entry_id", ids[0]) == "audit_auditseal_default"
    before = entry_digests(ids + [now.pk])
    rows = (AuditEntry.objects.count(), AuditSubject.objects.count(), AuditSeal.objects.count())

    with caplog.at_level(logging.WARNING, logger="audit.bypass"), time_machine.travel(TODAY, tick=False):
        assert ensure_months(date(2025, 2, 1), date(2025, 4, 1)) == [date(2025, 2, 1), date(2025, 3, 1),
                                                                     date(2025, 4, 1)]
    assert "audit bypass opened" in caplog.text and "2025-03" in caplog.text
    assert {where("audit_auditentry", "id", i) for i in ids} == {"audit_auditentry_p2025m03"}
    assert {where("audit_auditsubject", "entry_id", i) for i in ids} == {"audit_auditsubject_p2025m03"}
    assert {where("audit_auditseal", "entry_id", i) for i in ids} == {"audit_auditseal_p2025m03"}
    # Nothing lost, nothing changed: the same rows, the same digests, and the chain verifies.
    moved = AuditEntry.objects.get(event=Event.AUDIT_BYPASS, reason__contains="2025-03")
    assert "3 rows of audit_auditentry, 6 rows of audit_auditsubject, 3 rows of audit_auditseal" in moved.reason
    assert (AuditEntry.objects.count() - 1, AuditSubject.objects.count(), AuditSeal.objects.count()) == rows
    assert entry_digests(ids + [now.pk]) == before
    seal_and_checkpoint()
    with time_machine.travel(TODAY, tick=False):
        result = sealing.verify()
    assert result.ok and result.unsealed == 0, result.problems
    with connection.cursor() as cur:  # the new months are append-only and out of the role's reach too
        cur.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_auditentry_p2025m03'::regclass "
                    "AND tgfoid = 'portal_audit_append_only'::regproc")
        assert cur.fetchone() == (2,)
    assert "append-only" in refused_as("TRUNCATE audit_auditseal_p2025m02")
    # The months without rows in the DEFAULT were made without an entry saying so.
    assert AuditEntry.objects.filter(event=Event.AUDIT_BYPASS).count() == 1


def test_the_daily_task_makes_this_month_and_three_ahead_once(settings):
    assert settings.CELERY_BEAT_SCHEDULE["audit-trail-partitions"]["task"] == "audit.ensure_trail_partitions"
    assert settings.CELERY_TASK_ROUTES["audit.ensure_trail_partitions"] == {"queue": "audit_owner"}
    with time_machine.travel(datetime(2031, 11, 20, 3, 5, tzinfo=LONDON), tick=False):
        assert ensure_trail_partitions() == 4
        assert ensure_ahead() == []  # already there
    for table, _ in PARTITIONED:
        assert {date(2031, 11, 1), date(2031, 12, 1), date(2032, 1, 1), date(2032, 2, 1)} <= set(months_of(table))
        assert date(2032, 3, 1) not in months_of(table)


def test_a_month_begins_at_midnight_in_the_deployments_time_zone(person):
    """As the retention purge counts months: 1 July 00:30 in London is 30 June in UTC."""
    ensure_months(date(2030, 6, 1), date(2030, 7, 1))
    entry = entry_at(datetime(2030, 7, 1, 0, 30, tzinfo=LONDON), person)
    assert where("audit_auditentry", "id", entry.pk) == "audit_auditentry_p2030m07"


def test_only_the_tables_owner_makes_partitions(person):
    role = "portal_not_the_owner_partitions"
    with connection.cursor() as cur:  # inside the test's transaction: gone with it
        cur.execute(f"CREATE ROLE {role} NOLOGIN")
        cur.execute(f"SET ROLE {role}")
        try:
            with pytest.raises(PartitionsRefused, match="made by the tables' owner"):
                ensure_months(date(2033, 1, 1), date(2033, 1, 1))
        finally:
            cur.execute("RESET ROLE")
    assert date(2033, 1, 1) not in months_of("audit_auditentry")


# --- verification across months -------------------------------------------------------------------
def test_the_chain_verifies_with_entries_in_several_months_and_the_default(person):
    ensure_months(date(2026, 9, 1), date(2026, 10, 1))
    made = [entry_at(datetime(2025, 1, 2, 9, tzinfo=LONDON), person),  # the DEFAULT
            entry_at(datetime(2026, 9, 2, 9, tzinfo=LONDON), person),
            entry_at(datetime(2026, 10, 2, 9, tzinfo=LONDON), person),
            record_event(Event.SIGN_IN, actor=person, target=person)]
    seal_and_checkpoint()
    with time_machine.travel(TODAY, tick=False):
        result = sealing.verify()
    assert result.ok and result.links == AuditEntry.objects.count() >= len(made) and not result.unsealed, result.problems


# --- retention: whole months dropped -----------------------------------------------------------------
def test_the_purge_drops_expired_months_partitions_deletes_the_defaults_old_rows_and_the_chain_verifies(person):
    ensure_months(date(2020, 10, 1), date(2020, 12, 1))
    made = {
        "default": entry_at(datetime(2020, 8, 20, 9, tzinfo=LONDON), person),  # no month: the DEFAULT
        "october": entry_at(datetime(2020, 10, 20, 9, tzinfo=LONDON), person, [person, another(person)]),
        "november": entry_at(datetime(2020, 11, 30, 23, 30, tzinfo=LONDON), person),
        "december": entry_at(datetime(2020, 12, 1, 0, 30, tzinfo=LONDON), person),
        "recent": record_event(Event.SIGN_IN, actor=person, target=person),
    }
    seal_and_checkpoint()
    cutoff = datetime(2020, 12, 1, tzinfo=LONDON)
    due = (AuditEntry.objects.filter(timestamp__lt=cutoff).count(),
           AuditSubject.objects.filter(entry__timestamp__lt=cutoff).count(), AuditSeal.objects.filter(
               entry_id__in=AuditEntry.objects.filter(timestamp__lt=cutoff).values("id")).count())
    assert due[0] >= 3 and due[1] >= 4 and due[2] == due[0]  # (and the people's own entries, in 2015)
    with the_tests_connection(), time_machine.travel(TODAY, tick=False):
        purged = purge(date(2020, 12, 1), by=None, reason="test", schedule="test", today=TODAY.date())
    assert (purged.entries, purged.subjects, purged.seals, purged.anchors) == (*due, 1)
    for table, _ in PARTITIONED:
        assert not exists(f"{table}_p2020m10") and not exists(f"{table}_p2020m11"), table
        assert exists(f"{table}_p2020m12") and exists(f"{table}_default")
    assert set(AuditEntry.objects.filter(pk__in=[e.pk for e in made.values()]).values_list("pk", flat=True)) == {
        made["december"].pk, made["recent"].pk}
    assert not AuditSubject.objects.filter(entry_time__lt=datetime(2020, 12, 1, tzinfo=LONDON)).exists()
    assert not AuditSeal.objects.filter(entry_time__lt=datetime(2020, 12, 1, tzinfo=LONDON)).exists()
    anchor = AuditChainAnchor.objects.get()
    assert (anchor.from_seq, anchor.first_seq) == (1, due[0] + 1)
    certificate = PurgeCertificate.objects.get()
    assert [(s["table"], s["rows"]) for s in certificate.stores] == [
        ("audit_auditentry", due[0]), ("audit_auditsubject", due[1]), ("audit_auditseal", due[2])]
    seal_and_checkpoint()
    with time_machine.travel(TODAY, tick=False):
        result = sealing.verify()
    assert result.ok and result.unsealed == 0, result.problems


# --- keys unique within a month only: the verifier catches a second claim -------------------------
@pytest.mark.parametrize("forged_seq", ["walked", "ahead", "zero"])
def test_a_second_seal_claiming_a_link_is_found_though_the_keys_allow_it_in_another_month(person, forged_seq):
    """seq and entry_id are unique only with entry_time on PostgreSQL: the application role could
    insert an entry and a seal claiming an existing link in another month. The walk refuses a
    link claimed twice (or before the chain's first), outside a purged run."""
    made = [record_event(Event.SIGN_IN, actor=person, target=person) for _ in range(3)]
    seal_and_checkpoint()
    assert sealing.verify().ok
    seals = list(AuditSeal.objects.order_by("seq"))
    seq = {"walked": seals[1].seq, "ahead": seals[-1].seq + 5, "zero": 0}[forged_seq]
    forged = entry_at(datetime(2019, 5, 1, 9, tzinfo=LONDON), person)  # the DEFAULT: another month
    with connection.cursor() as cur:
        cur.execute("INSERT INTO audit_auditseal (seq, entry_id, entry_digest, chain, sealed_at, late, entry_time) "
                    "VALUES (%s, %s, %s, %s, now(), false, %s)",
                    [seq, forged.pk, seals[1].entry_digest, seals[1].chain, forged.timestamp])
    if forged_seq == "ahead":  # two claims on a link still to come
        twin = entry_at(datetime(2019, 5, 2, 9, tzinfo=LONDON), person)
        with connection.cursor() as cur:
            cur.execute("INSERT INTO audit_auditseal (seq, entry_id, entry_digest, chain, sealed_at, late, "
                        "entry_time) VALUES (%s, %s, %s, %s, now(), false, %s)",
                        [seq, twin.pk, seals[1].entry_digest, seals[1].chain, twin.timestamp])
    with time_machine.travel(TODAY, tick=False):
        problems = sealing.verify().problems
    assert problems and "a second seal" in problems[0], problems
    assert len(made) == 3


def test_an_entry_sharing_anothers_id_in_another_month_is_found(person):
    made = [record_event(Event.SIGN_IN, actor=person, target=person) for _ in range(2)]
    seal_and_checkpoint()
    with connection.cursor() as cur:  # the key is (id, timestamp): the same id in another month goes in
        cur.execute("INSERT INTO audit_auditentry (id, content_type_id, object_pk, object_repr, action, changes_text, "
                    "timestamp, event, role, phase, request_id, page, reason, subject_count) "
                    "SELECT id, content_type_id, object_pk, object_repr, action, changes_text, %s, event, role, "
                    "phase, request_id, page, 'a twin', 0 FROM audit_auditentry WHERE id = %s",
                    [datetime(2019, 5, 1, 9, tzinfo=LONDON), made[0].pk])
    assert AuditEntry.objects.filter(pk=made[0].pk).count() == 2
    with time_machine.travel(TODAY, tick=False):
        problems = sealing.verify().problems
    assert problems and f"entry {made[0].pk}" in problems[0], problems


def test_the_command_makes_the_months_asked_for_and_refuses_bad_input():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = io.StringIO()
    call_command("ensure_audit_partitions", "--from", "2034-01", "--to", "2034-02", stdout=out)
    assert out.getvalue().strip() == "Made 2 months: 2034-01, 2034-02."
    assert {date(2034, 1, 1), date(2034, 2, 1)} <= set(months_of("audit_auditseal"))
    for args, words in ((["--from", "2034-13", "--to", "2035-01"], "not a month"),
                        (["--from", "2035-02", "--to", "2035-01"], "before --from"),
                        (["--from", "2035-01"], "both --from and --to")):
        with pytest.raises(CommandError, match=words):
            call_command("ensure_audit_partitions", *args)
    assert date(2035, 1, 1) not in months_of("audit_auditentry")
