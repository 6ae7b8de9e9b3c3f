"""Every real retention run that deletes anything leaves a purge certificate (issue 22, point 3;
ADR 41): each table and its row count, as a raw count of the tables finds them; what was kept;
what remains where; the schedule or command; a digest that re-checks. Dry runs and runs that
delete nothing leave none, and a certificate that cannot be written leaves nothing deleted."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection

from audit.core.certificates import digest_holds
from audit.core.models import AuditEntry, AuditSubject
from audit.core.models_certificates import PurgeCertificate, PurgeKind
from eligibility.models import Woman
from sharing.models_delivery import RetentionRun
from sharing.retention import apply_retention
from sharing.retention_certificate import STORE_WORDS, beat_time
from sharing.tasks_retention import apply_retention_schedules
from tests.sharing.delivery.test_retention import RUN_AT, history, snapshot

pytestmark = pytest.mark.django_db

TABLES = sorted({label.split(".")[1].lower() for label in STORE_WORDS})


def raw_counts() -> dict[str, int]:
    """Rows in each delivery table, counted by SQL (not through the models)."""
    with connection.cursor() as cursor:
        out = {}
        for name in TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM sharing_{name}")  # noqa: S608 (fixed table names)
            out[f"sharing_{name}"] = cursor.fetchone()[0]
    return out


def test_a_real_run_that_deletes_issues_a_certificate_naming_each_table_and_its_rows():
    world = history()
    before, trust_women = raw_counts(), Woman.objects.count()
    with time_machine.travel(RUN_AT, tick=False):
        run = apply_retention(world.programme, dry_run=False, trigger="command")
    after = raw_counts()
    assert Woman.objects.count() == trust_women  # "the Trust's own records (not touched ...)"
    run.refresh_from_db()
    certificate = run.certificate
    assert certificate is not None and certificate.kind == PurgeKind.RETENTION
    assert certificate.programme_id == world.programme.pk and certificate.purged_by is None
    assert certificate.trigger == f"retention run #{run.pk}"
    assert certificate.schedule == "manage.py apply_retention by a system administrator, on the server"
    gone = {table: before[table] - after[table] for table in before if before[table] != after[table]}
    assert {s["table"]: s["rows"] for s in certificate.stores} == gone
    assert gone["sharing_releasedwoman"] == 2 and gone["sharing_contactattempt"] == 2
    assert all(s["store"] and "_" not in s["store"] for s in certificate.stores)  # words, not table names
    assert certificate.rows_deleted == sum(gone.values())
    kept = [k["what"] for k in certificate.kept]
    assert any("open safeguarding concern" in k for k in kept) and any("Trust's own records" in k for k in kept)
    assert certificate.remains[0]["what"].startswith("Audit entries naming the 2 released women deleted")
    entry = AuditEntry.objects.get(object_pk=str(run.pk), reason__startswith=f"retention run #{run.pk}")
    a, d = world.released[0], world.released[3]
    assert set(AuditSubject.objects.filter(entry=entry).values_list("subject", flat=True)) == {
        f"sharing.releasedwoman:{a.pk}", f"sharing.releasedwoman:{d.pk}"}  # by portal reference only
    assert "backups" in certificate.remains[-1]["where"] and certificate.remains[-1]["until"]
    assert digest_holds(PurgeCertificate.objects.get(pk=certificate.pk))


def test_the_beat_names_its_schedule_and_a_named_person_is_named_by_role():
    world = history()
    with time_machine.travel(RUN_AT, tick=False):
        apply_retention_schedules()
    run = RetentionRun.objects.get(programme=world.programme)
    assert beat_time() == "02:30"
    assert run.certificate.schedule == "daily retention schedule (Celery beat, 02:30)"
    with time_machine.travel(RUN_AT + timedelta(days=400), tick=False):  # c's last contact has now run out
        later = apply_retention(world.programme, dry_run=False, trigger="command", by=world.trust_lead)
    assert later.certificate.purged_by == world.trust_lead
    assert later.certificate.schedule == "manage.py apply_retention by the Trust lead"


def test_dry_runs_and_runs_that_delete_nothing_issue_no_certificate():
    world = history()
    with time_machine.travel(RUN_AT, tick=False):
        dry = apply_retention(world.programme, dry_run=True, trigger="preview", by=world.caldicott)
        assert dry.certificate is None and not PurgeCertificate.objects.exists()
        real = apply_retention(world.programme, dry_run=False, trigger="beat")
        again = apply_retention(world.programme, dry_run=False, trigger="beat")
    assert real.certificate is not None
    assert again.certificate is None and all(v["count"] == 0 for v in again.deleted.values())
    assert PurgeCertificate.objects.count() == 1


def test_a_run_whose_certificate_cannot_be_written_deletes_nothing_and_records_no_run(settings):
    world = history()
    before = snapshot()
    settings.PORTAL_DATABASE_BACKUP_DAYS = None  # the certificate's backups line cannot be reckoned
    with time_machine.travel(RUN_AT, tick=False), pytest.raises(TypeError):
        apply_retention(world.programme, dry_run=False, trigger="beat")
    assert snapshot() == before
    assert not RetentionRun.objects.exists() and not PurgeCertificate.objects.exists()
