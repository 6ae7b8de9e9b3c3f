"""The audit trail's scheduled purge and PostgreSQL's roles (issue 22, point 6; ADR 40): the job
deletes through the owner's connection (the `audit_owner` alias, PORTAL_AUDIT_OWNER_DATABASE_URL),
never the application's. The application role's own connection cannot delete an audit row; given
it as the owner's, or given none, the job refuses, records why and deletes nothing."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import DatabaseError, connection, connections, transaction

from audit.core import sealing
from audit.core.certificates import digest_holds
from audit.core.db_roles import apply_grants
from audit.core.log import record_event
from audit.core.models import AuditChainAnchor, AuditEntry, Event
from audit.core.models_certificates import PurgeCertificate
from audit.core.retention import OWNER_ALIAS
from audit.core.tasks import purge_expired_trail
from pause_portal.tenancy.roles import OrganisationKind
from tests import factories as f
from tests.audit.owner_connection import own_connection

pytestmark = pytest.mark.postgres
LONDON = ZoneInfo("Europe/London")
TODAY = datetime(2026, 12, 7, 12, 0, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _the_morning_of_today():
    """Whatever is made "now" in these tests is made on the morning of TODAY, before its purges at
    noon, whatever the real date: the verifier holds the chain's order against entries' times."""
    with time_machine.travel(datetime(2026, 12, 7, 11, 0, tzinfo=LONDON), tick=True):
        yield


def old_and_recent() -> tuple[list[AuditEntry], AuditEntry]:
    person = f.person(f.organisation(OrganisationKind.TRUST))
    with time_machine.travel(datetime(2020, 6, 1, 9, tzinfo=LONDON), tick=False):
        old = [record_event(Event.SIGN_IN, actor=person, target=person) for _ in range(2)]
    recent = record_event(Event.SIGN_IN, actor=person, target=person)
    with time_machine.travel(TODAY, tick=False):
        sealing.seal_pending()
    return old, recent


@pytest.fixture
def app_login(transactional_db):
    """A login role like docker-compose's portal_app, granted as every migrate grants it."""
    role, dbname = f"portal_app_retention_{os.getpid()}", connection.settings_dict["NAME"]
    with connection.cursor() as cur:
        cur.execute(f"CREATE ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
        cur.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {dbname} TO {role}")
        apply_grants(cur, role)
    yield role
    with connection.cursor() as cur:
        cur.execute(f"DROP OWNED BY {role}")
        cur.execute(f"DROP ROLE {role}")


@pytest.mark.django_db
def test_with_no_owner_connection_the_job_refuses_and_records_why():
    """As in every app container: no owner alias, and the process logs in as the application role."""
    old, _ = old_and_recent()
    role = f"portal_app_no_owner_{os.getpid()}"
    assert OWNER_ALIAS not in connections.settings
    with connection.cursor() as cur:  # inside the test's transaction: gone with it
        cur.execute(f"CREATE ROLE {role} NOLOGIN")
        apply_grants(cur, role)
        cur.execute(f"SET LOCAL ROLE {role}")
    with time_machine.travel(TODAY, tick=False):
        assert purge_expired_trail() == 0
    with connection.cursor() as cur:
        cur.execute("RESET ROLE")
    assert AuditEntry.objects.filter(pk__in=[e.pk for e in old]).count() == 2 and not PurgeCertificate.objects.exists()
    refusal = AuditEntry.objects.get(event=Event.REFUSED)
    assert "refused, nothing deleted: No owner connection is configured" in refusal.reason
    assert f"this process logs in as '{role}', which does not own the audit tables" in refusal.reason
    assert "PORTAL_AUDIT_OWNER_DATABASE_URL" in refusal.reason


@pytest.mark.django_db(transaction=True)
def test_the_application_roles_connection_cannot_delete_and_the_job_refuses_it(app_login):
    old, _ = old_and_recent()
    with own_connection(app_login) as app:
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic(using=OWNER_ALIAS):
            with app.cursor() as cur:
                cur.execute("SET LOCAL portal.audit_bypass = 'on'")  # any role may set it: no use to this one
                cur.execute("DELETE FROM audit_auditentry WHERE id = %s", [old[0].pk])
        with time_machine.travel(TODAY, tick=False):
            assert purge_expired_trail() == 0
    assert AuditEntry.objects.filter(pk__in=[e.pk for e in old]).count() == 2 and not PurgeCertificate.objects.exists()
    refusal = AuditEntry.objects.get(event=Event.REFUSED)
    assert f"logs in as '{app_login}', which does not own the audit tables" in refusal.reason


@pytest.mark.django_db(transaction=True)
def test_the_owners_connection_purges_and_the_chain_still_holds():
    old, recent = old_and_recent()
    with own_connection(connection.settings_dict["USER"]) as owner:
        assert owner is not connections["default"]
        with time_machine.travel(TODAY, tick=False):
            assert purge_expired_trail() == 2
            assert purge_expired_trail() == 0  # run again: nothing more
    assert not AuditEntry.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert AuditEntry.objects.filter(pk=recent.pk).exists() and AuditChainAnchor.objects.count() == 1
    certificate = PurgeCertificate.objects.get()
    assert certificate.rows_deleted == 2 + 0 + 2 and digest_holds(certificate)
    with time_machine.travel(TODAY, tick=False):
        sealing.seal_pending()
        result = sealing.verify()
    assert result.ok and result.unsealed == 0, result.problems
