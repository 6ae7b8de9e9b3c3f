"""Migration audit 0015 (ADR 52) over a sealed trail: back to 0014 (one table each), entries with
subjects written and sealed there, then forward again — every row carried over with its entry's
time, the digests the same before and after, the chain verifying, and the ids carrying on. On
PostgreSQL it rebuilds the tables partitioned; on SQLite it only adds and fills the columns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit.core import sealing
from audit.core.log import record_event
from audit.core.models import AuditEntry, AuditSeal, AuditSubject, Event
from audit.core.sealing_digest import entry_digests

BEFORE = ("audit", "0014_breach_reports")
ENTRIES = (  # times in three months (on PostgreSQL: two past months made by the migration, and now)
    datetime(2026, 9, 30, 23, 30, tzinfo=UTC), datetime(2026, 10, 15, 8, tzinfo=UTC),
    datetime(2026, 11, 1, 0, 0, tzinfo=UTC),
)


def _migrate(target) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


def _latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _write_and_seal_at_0014(content_type_id: int) -> list[int]:
    """Entries and subjects as 0014's tables hold them, and their chain with its checkpoint, all
    by SQL (today's models know the new columns)."""
    key, previous, ids = sealing.chain_key(), sealing.GENESIS, []
    with connection.cursor() as cur:
        for n, moment in enumerate(ENTRIES):
            cur.execute("INSERT INTO audit_auditentry (content_type_id, object_pk, object_repr, action, changes_text, "
                        "timestamp, event, role, phase, request_id, page, reason, subject_count) VALUES "
                        "(%s, '', 'x', 3, '', %s, 'disclosure', '', '', '', '/x/', %s, 2) RETURNING id",
                        [content_type_id, moment, f"entry {n}\twith a tab"])
            ids.append(cur.fetchone()[0])
            for subject in (f"sharing.person:{n}", "eligibility.woman:7"):
                cur.execute("INSERT INTO audit_auditsubject (entry_id, subject) VALUES (%s, %s)", [ids[-1], subject])
    digests = entry_digests(ids)
    with connection.cursor() as cur:
        for seq, entry_id in enumerate(ids, start=1):
            previous = sealing.link(key, seq, entry_id, digests[entry_id], previous)
            cur.execute("INSERT INTO audit_auditseal (seq, entry_id, entry_digest, chain, sealed_at, late) "
                        "VALUES (%s, %s, %s, %s, %s, false)", [seq, entry_id, digests[entry_id], previous,
                                                                timezone.now()])
    return ids


@pytest.mark.django_db(transaction=True)
def test_migrating_over_a_sealed_trail_keeps_every_row_and_digest_and_the_chain_verifies(settings, tmp_path):
    from django.contrib.contenttypes.models import ContentType

    settings.PORTAL_AUDIT_CHECKPOINT_DIR = str(tmp_path)
    content_type_id = ContentType.objects.get_for_model(AuditEntry).pk
    latest = _latest()
    _migrate([BEFORE])
    try:
        ids = _write_and_seal_at_0014(content_type_id)
        before = entry_digests(ids)
    finally:
        _migrate(latest)
    assert entry_digests(ids) == before
    entries = dict(AuditEntry.objects.filter(pk__in=ids).values_list("pk", "timestamp"))
    assert sorted(entries.values()) == list(ENTRIES)
    subjects = list(AuditSubject.objects.filter(entry_id__in=ids).values_list("entry_id", "entry_time"))
    assert len(subjects) == 6 and all(time == entries[entry_id] for entry_id, time in subjects)
    seals = list(AuditSeal.objects.order_by("seq").values_list("seq", "entry_id", "entry_time"))
    assert seals == [(n, entry_id, entries[entry_id]) for n, entry_id in enumerate(ids, start=1)]
    # The ids carry on where they were; the sealer and the verifier carry on over the old links.
    newer = record_event(Event.SIGN_IN)
    assert newer.pk > max(ids) and AuditSubject.objects.filter(entry_id=newer.pk).count() == 0
    sealing.seal_pending()
    sealing.write_checkpoint(start_empty_store=True)
    result = sealing.verify()
    assert result.ok and result.links == 4 and result.unsealed == 0, result.problems
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT tableoid::regclass::text FROM audit_auditentry WHERE id = ANY(%s) ORDER BY id", [ids])
            assert [row[0] for row in cur.fetchall()] == [
                "audit_auditentry_p2026m10", "audit_auditentry_p2026m10", "audit_auditentry_p2026m11"]
            cur.execute("SELECT tableoid::regclass::text FROM audit_auditseal WHERE entry_id = %s", [ids[0]])
            assert cur.fetchone() == ("audit_auditseal_p2026m10",)  # 00:30 on 1 October in London
