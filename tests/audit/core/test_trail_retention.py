"""The audit trail's retention (issue 22, point 6; ADR 40): one period for the deployment, purged
daily by a scheduled job with no person, as the tables' owner, with a purge certificate; the chain
carried forward. PostgreSQL's roles: tests/audit/core/test_trail_retention_roles.py."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from audit.core import sealing
from audit.core.certificates import digest_holds
from audit.core.log import record_event
from audit.core.models import AuditChainAnchor, AuditEntry, AuditSeal, AuditSubject, Event
from audit.core.models_certificates import PurgeCertificate, PurgeKind
from audit.core.retention import OWNER_ALIAS, scheduled_cutoff
from audit.core.tasks import TRAIL_RETENTION_SCHEDULE, purge_expired_trail
from pause_portal.tenancy.roles import OrganisationKind
from tests import factories as f
from tests.audit.owner_connection import the_tests_connection

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TODAY = datetime(2026, 12, 7, 12, 0, tzinfo=LONDON)  # 2,196 days back is 3 December 2020


@pytest.fixture(autouse=True)
def _the_morning_of_today():
    """Whatever is made "now" in these tests is made on the morning of TODAY, before its purges at
    noon, whatever the real date: the verifier holds the chain's order against entries' times."""
    with time_machine.travel(datetime(2026, 12, 7, 11, 0, tzinfo=LONDON), tick=True):
        yield


def at(*when) -> datetime:
    return datetime(*when, tzinfo=LONDON)


def entry_at(moment: datetime, person, subjects=()) -> AuditEntry:
    with time_machine.travel(moment, tick=False):
        return record_event(Event.DISCLOSURE if subjects else Event.SIGN_IN, actor=person, target=None if subjects
                            else person, subjects=subjects, page="/x/" if subjects else None)


@pytest.fixture(autouse=True)
def owner():
    """On PostgreSQL the job deletes through the owner's alias: here the test's own connection (the
    suite's user owns the tables). On SQLite there is none: the one database. (PostgreSQL's roles,
    with connections of their own: test_trail_retention_roles.py.)"""
    if connection.vendor != "postgresql":
        yield None
        return
    with the_tests_connection() as owner:
        yield owner


@pytest.fixture
def person(db):
    return f.person(f.organisation(OrganisationKind.TRUST))


@pytest.fixture
def trail(person):
    """Entries either side of the scheduled cutoff (1 December 2020), sealed and checkpointed."""
    other = f.person(person.organisation)
    made = {
        "old": entry_at(at(2020, 10, 20, 9), person, subjects=[person, other]),
        "last_old": entry_at(at(2020, 11, 30, 23, 30), person),
        "first_kept": entry_at(at(2020, 12, 1, 0, 30), person),
        "recent": entry_at(at(2026, 12, 1, 10), person),
    }
    with time_machine.travel(TODAY, tick=False):
        sealing.seal_pending()
        sealing.write_checkpoint()
    return made


def test_the_scheduled_cutoff_is_the_first_of_the_month_the_period_reaches(settings):
    assert settings.PORTAL_AUDIT_RETENTION_DAYS == 6 * 366
    assert scheduled_cutoff(TODAY.date()) == TODAY.date().replace(year=2020, month=12, day=1)
    settings.PORTAL_AUDIT_RETENTION_DAYS = 30
    assert scheduled_cutoff(TODAY.date()).isoformat() == "2026-11-01"


def test_the_scheduled_job_purges_whole_expired_months_with_no_person_and_runs_again_harmlessly(trail):
    assert (OWNER_ALIAS in connections.settings) == (connection.vendor == "postgresql")
    with time_machine.travel(TODAY, tick=False):
        assert purge_expired_trail() == 2
    assert not AuditEntry.objects.filter(pk__in=[trail["old"].pk, trail["last_old"].pk]).exists()
    assert AuditEntry.objects.filter(pk__in=[trail["first_kept"].pk, trail["recent"].pk]).count() == 2
    assert not AuditSubject.objects.filter(entry_id=trail["old"].pk).exists()
    assert not AuditSeal.objects.filter(entry_id__in=[trail["old"].pk, trail["last_old"].pk]).exists()
    anchor = AuditChainAnchor.objects.get()  # the two old entries were one run of links
    assert anchor.first_seq - anchor.from_seq == 2

    certificate = PurgeCertificate.objects.get()
    assert certificate.kind == PurgeKind.AUDIT_TRAIL and certificate.programme is None
    assert certificate.purged_by is None and certificate.schedule == TRAIL_RETENTION_SCHEDULE
    assert certificate.trigger == "entries before 2020-12-01"
    assert [(s["table"], s["rows"]) for s in certificate.stores] == [
        ("audit_auditentry", 2), ("audit_auditsubject", 2), ("audit_auditseal", 2)]
    assert certificate.kept[0]["table"] == "audit_auditchainanchor" and certificate.kept[0]["rows"] == 1
    assert digest_holds(certificate)
    bypass = AuditEntry.objects.get(event=Event.AUDIT_BYPASS)
    assert bypass.actor_id is None and "2 entries before 2020-12-01" in bypass.reason

    counts = (AuditEntry.objects.count(), AuditSeal.objects.count(), AuditChainAnchor.objects.count())
    with time_machine.travel(TODAY, tick=False):
        assert purge_expired_trail() == 0  # the second run: nothing left to purge, nothing written
        sealing.seal_pending()  # the purge's own entries
    assert PurgeCertificate.objects.count() == 1 and AuditChainAnchor.objects.count() == counts[2]
    assert AuditEntry.objects.count() == counts[0]
    with time_machine.travel(TODAY, tick=False):
        result = sealing.verify()
        assert result.ok and result.unsealed == 0, result.problems
        call_command("verify_audit_trail")


def test_an_edited_certificate_no_longer_matches_its_digest(trail):
    with time_machine.travel(TODAY, tick=False):
        purge_expired_trail()
    certificate = PurgeCertificate.objects.get()
    assert digest_holds(certificate)
    certificate.stores[0]["rows"] = 1  # in memory only: what an edit of the row would do
    assert not digest_holds(certificate)


def test_the_command_purges_the_same_way_for_a_person_with_a_certificate(trail, person):
    with time_machine.travel(TODAY, tick=False):
        with pytest.raises(CommandError, match="kept for 2196 days"):
            call_command("purge_audit_retention", "--before", "2021-01-01", "--by", person.email, "--reason", "r")
        call_command("purge_audit_retention", "--before", "2020-11-01", "--by", person.email, "--reason", "r")
    assert not AuditEntry.objects.filter(pk=trail["old"].pk).exists()  # October and before go, ...
    assert AuditEntry.objects.filter(pk=trail["last_old"].pk).exists()  # ... November stays
    certificate = PurgeCertificate.objects.get()
    assert certificate.purged_by == person and certificate.schedule == "manage.py purge_audit_retention"
    assert certificate.rows_deleted == 1 + 2 + 1 and digest_holds(certificate)


def test_a_live_agreement_asking_longer_stops_the_job_which_records_why(trail, settings):
    programme = f.programme(phase="delivery")
    f.AgreementFactory(programme=programme, retention={"audit_trail": "7 years"})
    with time_machine.travel(TODAY, tick=False):
        assert purge_expired_trail() == 0
    assert AuditEntry.objects.filter(pk=trail["old"].pk).exists() and not PurgeCertificate.objects.exists()
    refusal = AuditEntry.objects.get(event=Event.REFUSED)
    assert "refused, nothing deleted" in refusal.reason and "7 years" in refusal.reason
    assert "up to 2562 days" in refusal.reason and refusal.actor_id is None
    settings.PORTAL_AUDIT_RETENTION_DAYS = 7 * 366  # the deployment keeps it long enough now
    with time_machine.travel(TODAY, tick=False):
        assert purge_expired_trail() == 0  # 2,562 days back is before any entry
    with time_machine.travel(at(2027, 12, 7, 12), tick=False):
        assert purge_expired_trail() == 2


def test_beat_runs_the_job_daily_on_the_owners_queue_alone(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["audit-trail-retention"]
    assert entry["task"] == "audit.purge_expired_trail" and (entry["schedule"].hour, entry["schedule"].minute) == (
        {3}, {15})
    assert "audit.core.tasks" in settings.CELERY_IMPORTS
    assert settings.CELERY_TASK_ROUTES["audit.purge_expired_trail"] == {"queue": "audit_owner"}
    assert [task for task, route in settings.CELERY_TASK_ROUTES.items() if route["queue"] == "audit_owner"] == [
        "audit.purge_expired_trail", "audit.ensure_trail_partitions"]  # the owner's worker takes nothing else


def test_the_retention_page_forecasts_what_the_scheduled_purge_removes(trail):
    """The 90-day forecast (issue 22, point 7) against the real purge as its oracle: nothing goes
    the day before the earliest day it gives, something goes on that day, and by the window's end
    exactly the count it gives has gone."""
    from datetime import time, timedelta

    from audit.oversight.retention_page import audit_trail_due

    now = at(2026, 10, 1, 12)
    [due] = audit_trail_due(now, 90)
    earliest = due["earliest"]
    assert earliest.isoformat() == "2026-11-06" and due["count"] == 2
    with time_machine.travel(datetime.combine(earliest - timedelta(days=1), time(12), LONDON), tick=False):
        assert purge_expired_trail() == 0
    with time_machine.travel(datetime.combine(earliest, time(12), LONDON), tick=False):
        first = purge_expired_trail()
    with time_machine.travel(now + timedelta(days=90), tick=False):
        assert first >= 1 and first + purge_expired_trail() == due["count"]
        assert audit_trail_due(now + timedelta(days=90), 0) == []
