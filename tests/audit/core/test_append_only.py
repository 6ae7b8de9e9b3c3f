"""The audit trail is append-only: in the ORM, by a trigger for every role, and by the
application role's privileges; only the logged bypass gets past, for the flush and the purge."""

import logging

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from audit.core.bypass import audit_bypass
from audit.core.log import record_event
from audit.core.models import AuditEntry, AuditSubject, Event
from tests.audit.pg_roles import granted_like_the_app

pytestmark = pytest.mark.django_db
APP_ROLE = "portal_app_test"


@pytest.fixture
def entry(caseworker):
    return record_event(Event.DISCLOSURE, actor=caseworker, subjects=[caseworker], page="/x/")


def test_orm_refuses_update_and_delete(entry):
    with pytest.raises(PermissionDenied):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="changed")
    with pytest.raises(PermissionDenied):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(PermissionDenied):
        entry.delete()
    entry.reason = "changed"
    with pytest.raises(PermissionDenied):
        entry.save()
    with pytest.raises(PermissionDenied):
        AuditSubject.objects.filter(entry=entry).delete()


def _refused(sql: str) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql)
    except DatabaseError:
        return True
    return False


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET reason = 'rewritten'",
        "DELETE FROM audit_auditentry",
        "TRUNCATE audit_auditentry CASCADE",
        "UPDATE audit_auditsubject SET subject = 'x'",
        "DELETE FROM audit_auditsubject",
        "TRUNCATE audit_auditsubject",
    ],
)
def test_the_trigger_refuses_every_role_even_the_owner(entry, sql):
    assert _refused(sql)
    assert AuditEntry.objects.filter(pk=entry.pk, reason="").exists()


@pytest.fixture
def app_role(db):
    return granted_like_the_app(APP_ROLE)


def _as_app_role(sql: str, params=None):
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"SET LOCAL ROLE {APP_ROLE}")
        # Even with the bypass set, the application role lacks the privilege itself.
        cur.execute("SET LOCAL portal.audit_bypass = 'on'")
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["UPDATE audit_auditentry SET reason = 'x'", "DELETE FROM audit_auditentry",
                                       "TRUNCATE audit_auditentry CASCADE", "DELETE FROM audit_auditsubject",
                                       "UPDATE audit_auditsubject SET subject = 'x'", "TRUNCATE audit_auditsubject"])
def test_the_application_role_cannot_update_delete_or_truncate(entry, app_role, statement):
    with pytest.raises(DatabaseError, match="permission denied"):
        _as_app_role(statement)


@pytest.mark.postgres
def test_the_application_role_can_insert_and_read(entry, app_role):
    assert _as_app_role("SELECT count(*) FROM audit_auditentry")[0][0] >= 1
    _as_app_role(
        "INSERT INTO audit_auditsubject (entry_id, subject, entry_time) VALUES (%s, %s, %s)",
        [entry.pk, "sharing.person:0", entry.timestamp]
    )
    # ...and still works normally on the portal's other tables.
    assert _as_app_role("UPDATE sharing_organisation SET name = name") is None


@pytest.mark.postgres
def test_the_logged_bypass_lets_the_owner_through(entry, caplog):
    with caplog.at_level(logging.WARNING, logger="audit.bypass"), audit_bypass("test of the bypass"):
        with connection.cursor() as cur:
            cur.execute("DELETE FROM audit_auditsubject WHERE entry_id = %s", [entry.pk])
            cur.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
    assert not AuditEntry.objects.filter(pk=entry.pk).exists()
    assert "audit bypass opened" in caplog.text and "test of the bypass" in caplog.text
    # The bypass ends with its transaction.
    assert _refused("DELETE FROM audit_auditentry")


def test_auditlogflush_is_disabled(entry):
    with pytest.raises(CommandError, match="append-only"):
        call_command("auditlogflush")
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_test_suites_flush_goes_through_the_logged_bypass(caseworker, caplog):
    record_event(Event.SIGN_IN, actor=caseworker, target=caseworker)
    with caplog.at_level(logging.WARNING, logger="audit.bypass"):
        call_command("flush", interactive=False, verbosity=0)
    assert AuditEntry.objects.count() == 0
    assert "flush of every table" in caplog.text


def test_changes_of_people_are_logged_without_their_values(system_admin):
    from sharing import actions

    person = actions.add_person(email="Jo.Synthetic@test.invalid", full_name="Jo Synthetic",
                                organisation=system_admin.organisation, by=system_admin)
    created = AuditEntry.objects.filter(event=Event.CHANGE, object_pk=str(person.pk)).latest("id")
    assert created.object_repr == f"sharing.person:{person.pk}"
    assert created.changes["email"] == ["[redacted]", "[redacted]"]
    assert created.changes["full_name"] == ["[redacted]", "[redacted]"]
    assert "password" not in created.changes
    assert created.actor_email is None


def test_the_retention_purge_takes_only_whole_expired_months_and_records_itself(system_admin):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now() - timedelta(days=7 * 366)):
        old = record_event(Event.SIGN_IN, actor=system_admin, target=system_admin)
    recent = record_event(Event.SIGN_IN, actor=system_admin, target=system_admin)
    with pytest.raises(CommandError, match="first day of a month"):
        call_command("purge_audit_retention", "--before", "2019-01-15", "--by", system_admin.email, "--reason", "r")
    with pytest.raises(CommandError, match="kept for"):
        call_command("purge_audit_retention", "--before", timezone.localdate().replace(day=1).isoformat(),
                     "--by", system_admin.email, "--reason", "r")
    cutoff = (timezone.localdate() - timedelta(days=6 * 366 + 40)).replace(day=1)
    call_command("purge_audit_retention", "--before", cutoff.isoformat(), "--by", system_admin.email, "--reason", "six years")
    assert not AuditEntry.objects.filter(pk=old.pk).exists()
    assert AuditEntry.objects.filter(pk=recent.pk).exists()
    assert AuditEntry.objects.filter(event=Event.AUDIT_BYPASS, reason__contains="1 entries").exists()
