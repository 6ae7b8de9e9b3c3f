"""The minute's sealer reads the trail's newest part only (issue 25, ADR 55): the entries past the
highest sealed id, and late commits dated within LATE_TOLERANCE of the chain head's entry. What
it leaves is exactly what verification would call inserted whenever it were sealed (the
verifier is the oracle here), and the hourly sweep seals that too, so nothing stays out of the
chain.

Backdated entries are written as a superuser would (`raw`: triggers off, on PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audit.core import sealing, tasks
from audit.core.models import AuditEntry, AuditSeal
from audit.core.sealing_walk import LATE_TOLERANCE
from tests.audit.core.test_sealing import entries, raw

pg = pytest.mark.skipif(connection.vendor != "postgresql", reason="month partitions are PostgreSQL's")


@pytest.fixture
def checkpoints(settings, tmp_path):
    settings.PORTAL_AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")


def head_time():
    return AuditSeal.objects.order_by("-seq").values_list("entry_time", flat=True).first()


def backdate(below: AuditEntry, when, offset: int = 1000) -> int:
    """An entry given a free id below the sealed ones and dated `when`, as a transaction that
    took an id early and committed now would leave it."""
    entry_id = below.pk - offset
    raw("INSERT INTO audit_auditentry (id, content_type_id, object_pk, object_repr, action, changes_text, "
        "timestamp, event, role, phase, request_id, page, reason, subject_count) "
        "SELECT %s, content_type_id, object_pk, object_repr, action, changes_text, %s, event, role, phase, "
        "request_id, page, 'committed late', 0 FROM audit_auditentry WHERE id = %s", [entry_id, when, below.pk])
    return entry_id


@pytest.mark.django_db
def test_a_late_commit_at_the_tolerance_is_sealed_by_the_minutes_run_and_verifies(programme, checkpoints):
    made = entries(3, programme)
    sealing.seal_pending()
    late = backdate(made[0], head_time() - LATE_TOLERANCE)  # the oldest date that can still follow the head
    assert sealing.seal_pending() == 1
    assert AuditSeal.objects.get(entry_id=late).late
    result = sealing.verify()
    assert result.ok and result.unsealed == 0, result.problems


@pytest.mark.django_db
def test_a_commit_later_than_that_waits_for_the_hourly_sweep_and_verification_calls_it_inserted(
        programme, checkpoints):
    made = entries(3, programme)
    sealing.seal_pending()
    late = backdate(made[0], head_time() - LATE_TOLERANCE - timedelta(seconds=1))
    assert sealing.seal_pending() == 0  # the minute's run does not look that far back ...
    assert not AuditSeal.objects.filter(entry_id=late).exists()
    waiting = sealing.verify()
    assert waiting.ok and waiting.unsealed == 1, waiting.problems  # ... and verification counts it unsealed
    tasks.write_checkpoint()  # the hourly run sweeps the whole trail
    assert AuditSeal.objects.get(entry_id=late).late
    [problem] = sealing.verify().problems  # sealed, it is what it would have been at any time: inserted
    assert f"entry {late}" in problem and "inserted" in problem


def test_the_sweep_runs_every_hour(settings):
    """What the minute's run leaves is sealed within the hour: the beat runs the sweeping task at
    minute 0 of every hour."""
    from celery.schedules import crontab

    [sweep] = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "audit.write_checkpoint"]
    assert sweep["schedule"] == crontab(minute=0)


@pytest.mark.django_db
def test_new_entries_and_late_ones_are_sealed_together_in_id_order(programme, checkpoints):
    made = entries(3, programme)
    sealing.seal_pending()
    late = backdate(made[0], timezone.now())
    newer = entries(2, programme)
    before, pending = AuditSeal.objects.count(), sorted(sealing.unsealed_entries().values_list("id", flat=True))
    assert late in pending and {e.pk for e in newer} <= set(pending)
    assert sealing.seal_pending(batch=2) == len(pending)  # in batches of two
    order = list(AuditSeal.objects.filter(seq__gt=before).order_by("seq").values_list("entry_id", flat=True))
    assert order == pending and order[0] == late
    assert sealing.verify().ok


@pytest.mark.django_db
def test_with_nothing_sealed_yet_the_minutes_run_seals_every_entry(programme, checkpoints):
    old = entries(2, programme)
    raw('UPDATE audit_auditentry SET "timestamp" = %s WHERE id = %s', [timezone.now() - timedelta(days=40),
                                                                        old[0].pk])
    assert sealing.seal_pending() == AuditEntry.objects.count()  # no head: nothing to bound by


@pytest.mark.django_db
def test_the_command_sweeps(programme, checkpoints):
    from django.core.management import call_command

    made = entries(2, programme)
    sealing.seal_pending()
    late = backdate(made[0], head_time() - timedelta(days=3))
    call_command("seal_audit_trail")
    assert AuditSeal.objects.filter(entry_id=late).exists()


@pg
@pytest.mark.django_db
def test_the_minutes_reads_touch_only_the_newest_months(programme, checkpoints):
    """Over thirteen months, the late read scans the head's month (and the DEFAULT partition)
    only, for its entries and its seals; the sweep reads every month."""
    from audit.core.partitions import ensure_months, months_of, partition_name
    from audit.core.sealing_chain import late_cutoff, unsealed_entries, unsealed_since_head

    today = timezone.now().date()
    ensure_months(today - timedelta(days=400), today)
    months = months_of("audit_auditentry")
    entries(3, programme)
    sealing.seal_pending()
    highest = AuditSeal.objects.order_by("-entry_id").values_list("entry_id", flat=True).first()
    late, newer = unsealed_since_head(highest, late_cutoff(head_time()))
    plan = late.order_by("id").explain()
    old = [m for m in months if m < today.replace(day=1) - timedelta(days=31)]
    assert len(old) >= 10
    for month in old:
        for table in ("audit_auditentry", "audit_auditseal"):
            assert partition_name(table, month) not in plan, plan
    current = today.replace(day=1)
    assert partition_name("audit_auditentry", current) in plan, plan
    sweep = unsealed_entries().order_by("id").explain()
    assert all(partition_name("audit_auditentry", m) in sweep for m in old)  # the baseline reads them all


@pg
@pytest.mark.django_db
def test_a_batchs_digests_read_only_the_months_its_entries_are_in(programme):
    """Given the entries' times, the digests are those read without them (and those built in
    Python from each column's text), and the statement keeps only the batch's months."""
    from audit.core.partitions import ensure_months, months_of, partition_name
    from audit.core.sealing_digest import copy_digests, digests_select, python_digests
    from tests.audit.core.test_sealing import awkward_entry

    today = timezone.now().date()
    ensure_months(today - timedelta(days=400), today)
    made = [awkward_entry(programme), *entries(3, programme)]
    ids = [e.pk for e in made]
    times = dict(AuditEntry.objects.filter(pk__in=ids).values_list("id", "timestamp"))
    assert copy_digests(ids, times) == copy_digests(ids) == python_digests(ids)
    with connection.cursor() as cur:
        cur.execute(f"EXPLAIN {digests_select(ids, times)}")
        plan = "\n".join(row[0] for row in cur.fetchall())
    current = today.replace(day=1)
    old = [m for m in months_of("audit_auditentry") if m < current - timedelta(days=31)]
    assert len(old) >= 10
    for month in old:
        for table in ("audit_auditentry", "audit_auditsubject"):
            assert partition_name(table, month) not in plan, plan
    assert partition_name("audit_auditsubject", current) in plan, plan
