"""The audit trail's hash chain: sealed in the background, checkpointed outside the database,
verified — and every kind of tampering found: a modified, a deleted, an inserted and a reordered
entry, entries cut after a checkpoint, a chain recomputed without the key; interleaved commits
(a lower id committing after a higher one) are all sealed, none skipped.

Tampering is done as an attacker with the database owner's powers would: through the logged
bypass of the append-only trigger, with raw SQL."""

from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.utils import timezone

from audit import sealing
from audit.log import record_event
from audit.models import AuditEntry, AuditSeal, Event
from tests import factories as f


@pytest.fixture
def checkpoints(settings, tmp_path):
    settings.PORTAL_AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    return tmp_path / "checkpoints"


def entries(n: int, programme=None) -> list[AuditEntry]:
    person = f.person(programme.trust) if programme else None
    return [record_event(Event.CHANGE, actor=person, target=person, programme=programme, reason=f"entry {i}")
            for i in range(n)]


def raw(sql: str, params=()) -> None:
    """As a superuser would: with the append-only triggers switched off for the moment."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(sql, params)
        cur.execute("SET LOCAL session_replication_role = origin")


def problems() -> list[str]:
    return sealing.verify().problems


@pytest.mark.django_db
def test_a_sealed_trail_verifies_and_the_commands_say_so(programme, checkpoints, capsys):
    entries(5, programme)
    call_command("seal_audit_trail", "--checkpoint")
    assert AuditSeal.objects.count() == AuditEntry.objects.count()
    assert [int(p.stem) for p in checkpoints.glob("*.json")] == [AuditSeal.objects.count()]
    call_command("verify_audit_trail")
    out = capsys.readouterr().out
    assert "The audit trail verifies" in out and "0 entries not yet sealed" in out
    assert sealing.seal_pending() == 0  # nothing twice


@pytest.mark.django_db
def test_new_entries_after_a_checkpoint_extend_the_chain(programme, checkpoints):
    entries(3, programme)
    sealing.seal_pending()
    sealing.write_checkpoint()
    entries(4, programme)
    pending = AuditEntry.objects.count() - AuditSeal.objects.count()
    assert pending >= 4 and sealing.seal_pending() == pending
    sealing.write_checkpoint()
    result = sealing.verify()
    assert result.ok and result.links == AuditEntry.objects.count() and result.checkpoints == 2


@pytest.mark.django_db
def test_an_unsealed_entry_is_reported_but_is_not_a_break(programme, checkpoints):
    entries(2, programme)
    sealing.seal_pending()
    record_event(Event.CHANGE, reason="after the sealer ran")
    result = sealing.verify()
    assert result.ok and result.unsealed == 1


def test_the_chain_needs_the_key(settings):
    """A link is an HMAC under a key derived from the audit chain secret: another key, another link."""
    key = sealing.chain_key()
    other = hashlib.sha256(b"a guess").digest()
    assert sealing.link(key, 1, 7, "d" * 64, sealing.GENESIS) != sealing.link(other, 1, 7, "d" * 64, sealing.GENESIS)
    assert sealing.link(key, 1, 7, "d" * 64, sealing.GENESIS) == hmac.new(
        key, f"1|7|{'d' * 64}|{sealing.GENESIS}".encode(), "sha256").hexdigest()


pg = pytest.mark.postgres


@pg
@pytest.mark.django_db
def test_a_modified_entry_is_found(programme, checkpoints):
    made = entries(4, programme)
    sealing.seal_pending()
    raw("UPDATE audit_auditentry SET reason = 'nothing to see' WHERE id = %s", [made[2].pk])
    [problem] = problems()
    assert f"entry {made[2].pk}" in problem and "modified" in problem
    with pytest.raises(CommandError, match="modified"):
        call_command("verify_audit_trail")


@pg
@pytest.mark.django_db
def test_a_deleted_entry_is_found(programme, checkpoints):
    made = entries(4, programme)
    sealing.seal_pending()
    raw("DELETE FROM audit_auditsubject WHERE entry_id = %s", [made[1].pk])
    raw("DELETE FROM audit_auditentry WHERE id = %s", [made[1].pk])
    [problem] = problems()
    assert f"entry {made[1].pk}" in problem and "deleted" in problem


@pg
@pytest.mark.django_db
def test_a_deleted_entry_and_its_link_is_found(programme, checkpoints):
    made = entries(4, programme)
    sealing.seal_pending()
    seq = AuditSeal.objects.get(entry_id=made[1].pk).seq
    raw("DELETE FROM audit_auditseal WHERE seq = %s", [seq])
    raw("DELETE FROM audit_auditentry WHERE id = %s", [made[1].pk])
    [problem] = problems()
    assert f"link {seq} is missing" in problem


@pg
@pytest.mark.django_db
def test_an_inserted_entry_is_found(programme, checkpoints):
    made = entries(3, programme)
    sealing.seal_pending()
    # a backdated entry slipped in with a free id below the sealed ones: the sealer seals it ...
    raw("INSERT INTO audit_auditentry (id, content_type_id, object_pk, object_repr, action, changes_text, "
        "timestamp, event, role, phase, request_id, page, reason, subject_count) "
        "SELECT %s, content_type_id, object_pk, object_repr, action, changes_text, %s, event, role, phase, "
        "request_id, page, 'backdated', 0 FROM audit_auditentry WHERE id = %s",
        [made[0].pk - 1000, timezone.now() - timedelta(days=30), made[0].pk])
    sealing.seal_pending()
    assert AuditSeal.objects.get(entry_id=made[0].pk - 1000).late
    # ... but its date gives it away
    [problem] = problems()
    assert f"entry {made[0].pk - 1000}" in problem and "inserted" in problem


@pg
@pytest.mark.django_db
def test_an_entry_inserted_into_the_chain_itself_is_found(programme, checkpoints):
    made = entries(3, programme)
    sealing.seal_pending()
    last = AuditSeal.objects.order_by("-seq").first()
    # an extra link forged without the key after the last one
    raw("INSERT INTO audit_auditseal (seq, entry_id, entry_digest, chain, sealed_at, late) "
        "VALUES (%s, %s, %s, %s, %s, false)",
        [last.seq + 1, made[0].pk + 10_000, "0" * 64, "f" * 64, timezone.now()])
    assert any("missing (deleted)" in p or "does not follow" in p for p in problems())


@pg
@pytest.mark.django_db
def test_a_reordered_entry_is_found(programme, checkpoints):
    made = entries(4, programme)
    sealing.seal_pending()
    a, b = AuditSeal.objects.get(entry_id=made[1].pk), AuditSeal.objects.get(entry_id=made[2].pk)
    raw("UPDATE audit_auditseal SET seq = 999999999 WHERE seq = %s", [a.seq])
    raw("UPDATE audit_auditseal SET seq = %s WHERE seq = %s", [a.seq, b.seq])
    raw("UPDATE audit_auditseal SET seq = %s WHERE seq = 999999999", [b.seq])
    [problem] = problems()
    assert f"link {a.seq}" in problem and "does not follow" in problem


@pg
@pytest.mark.django_db
def test_entries_cut_after_a_checkpoint_are_found(programme, checkpoints):
    entries(5, programme)
    sealing.seal_pending()
    head = sealing.write_checkpoint()
    tail = list(AuditSeal.objects.filter(seq__gt=head["seq"] - 2).values_list("seq", "entry_id"))
    for seq, entry_id in tail:
        raw("DELETE FROM audit_auditseal WHERE seq = %s", [seq])
        raw("DELETE FROM audit_auditsubject WHERE entry_id = %s", [entry_id])
        raw("DELETE FROM audit_auditentry WHERE id = %s", [entry_id])
    [problem] = problems()
    assert f"checkpoint at link {head['seq']}" in problem and "entries were cut" in problem


@pg
@pytest.mark.django_db
def test_a_chain_recomputed_without_the_key_is_found(programme, checkpoints):
    made = entries(4, programme)
    sealing.seal_pending()
    sealing.write_checkpoint()
    raw("UPDATE audit_auditentry SET reason = 'rewritten' WHERE id = %s", [made[1].pk])
    wrong_key, previous = hashlib.sha256(b"not the key").digest(), sealing.GENESIS
    digests = sealing.entry_digests(list(AuditSeal.objects.values_list("entry_id", flat=True)))
    for seal in AuditSeal.objects.order_by("seq"):
        previous = sealing.link(wrong_key, seal.seq, seal.entry_id, digests[seal.entry_id], previous)
        raw("UPDATE audit_auditseal SET entry_digest = %s, chain = %s WHERE seq = %s",
            [digests[seal.entry_id], previous, seal.seq])
    [problem] = problems()
    assert "link 1 " in problem and "without the key" in problem


@pg
@pytest.mark.django_db(transaction=True)
def test_interleaved_commits_are_all_sealed(programme, checkpoints):
    """A lower id committing after a higher one was sealed is sealed when it appears."""
    entries(1, programme)
    holding, release = threading.Event(), threading.Event()
    held: list[int] = []

    def slow_writer():
        try:
            with transaction.atomic():
                held.append(record_event(Event.CHANGE, reason="slow transaction").pk)  # takes the lower id
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    holding.wait(10)
    quick = record_event(Event.CHANGE, reason="quick transaction")  # a higher id, committed first
    assert quick.pk > held[0]
    sealing.seal_pending()
    assert not AuditSeal.objects.filter(entry_id=held[0]).exists()  # not visible yet
    release.set()
    thread.join()
    assert sealing.seal_pending() == 1
    seal = AuditSeal.objects.get(entry_id=held[0])
    assert seal.late and seal.seq == AuditSeal.objects.count()
    result = sealing.verify()
    assert result.ok and result.unsealed == 0, result.problems


@pytest.mark.django_db
def test_the_chain_still_verifies_after_a_retention_purge(system_admin, checkpoints):
    import time_machine

    from audit.models import AuditChainAnchor

    with time_machine.travel(timezone.now() - timedelta(days=7 * 366)):
        old = [record_event(Event.SIGN_IN, actor=system_admin, target=system_admin) for _ in range(3)]
    sealing.seal_pending()
    sealing.write_checkpoint()  # a checkpoint inside what will be purged
    recent = [record_event(Event.SIGN_IN, actor=system_admin, target=system_admin) for _ in range(2)]
    sealing.seal_pending()
    sealing.write_checkpoint()
    cutoff = (timezone.localdate() - timedelta(days=6 * 366 + 40)).replace(day=1)
    call_command("purge_audit_retention", "--before", cutoff.isoformat(), "--by", system_admin.email,
                 "--reason", "six years")
    assert not AuditEntry.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert AuditEntry.objects.filter(pk__in=[e.pk for e in recent]).count() == 2
    anchor = AuditChainAnchor.objects.get()  # the 3 old entries were one run of links
    assert anchor.first_seq - anchor.from_seq == 3
    assert not AuditSeal.objects.filter(seq__gte=anchor.from_seq, seq__lt=anchor.first_seq).exists()
    sealing.seal_pending()  # the purge's own entry
    result = sealing.verify()
    assert result.ok, result.problems
    assert result.unsealed == 0 and result.links == AuditSeal.objects.count()
    call_command("verify_audit_trail")


@pytest.mark.django_db
def test_a_forged_purge_record_does_not_hide_a_deletion(programme, checkpoints):
    from audit.models import AuditChainAnchor

    made = entries(4, programme)
    sealing.seal_pending()
    seal = AuditSeal.objects.get(entry_id=made[1].pk)
    AuditChainAnchor.objects.create(from_seq=seal.seq, first_seq=seal.seq + 1, previous_chain=seal.chain,
                                    reason="forged", mac="0" * 64)
    [problem] = problems()
    assert "not genuine" in problem
