"""The audit trail's hash chain: sealed in the background, checkpointed outside the database,
verified — and every kind of tampering found: a modified, a deleted, an inserted and a reordered
entry, entries cut after a checkpoint, a chain recomputed without the key; interleaved commits
(a lower id committing after a higher one) are all sealed, none skipped.

Tampering is done as an attacker with the database owner's powers would: with raw SQL, the
append-only triggers switched off. The tamper tests run on SQLite and on PostgreSQL, where the
verifier streams its rows by COPY rather than building them in Python."""

from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.utils import timezone

from audit.core import sealing
from audit.core.log import record_event
from audit.core.models import AuditEntry, AuditSeal, Event
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
    """As a superuser would: with the append-only triggers switched off for the moment (SQLite
    has none)."""
    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor != "postgresql":
            cur.execute(sql, params)
            return
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
    assert [int(p.stem) for p in checkpoints.glob("*/*.json")] == [AuditSeal.objects.count()]  # one run, one file
    call_command("verify_audit_trail")
    out = capsys.readouterr().out
    assert "The audit trail verifies" in out and "0 entries not yet sealed" in out
    assert sealing.seal_pending() == 1  # only the verification's own record (ADR 46): nothing sealed twice
    assert sealing.seal_pending() == 0


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


pg = pytest.mark.postgres  # the tamper tests run on both: PostgreSQL streams the rows, SQLite builds them


@pytest.mark.django_db
def test_a_modified_entry_is_found(programme, checkpoints):
    made = entries(4, programme)
    sealing.seal_pending()
    raw("UPDATE audit_auditentry SET reason = 'nothing to see' WHERE id = %s", [made[2].pk])
    [problem] = problems()
    assert f"entry {made[2].pk}" in problem and "modified" in problem
    with pytest.raises(CommandError, match="modified"):
        call_command("verify_audit_trail")


@pytest.mark.django_db
def test_a_deleted_entry_is_found(programme, checkpoints):
    made = entries(4, programme)
    sealing.seal_pending()
    raw("DELETE FROM audit_auditsubject WHERE entry_id = %s", [made[1].pk])
    raw("DELETE FROM audit_auditentry WHERE id = %s", [made[1].pk])
    [problem] = problems()
    assert f"entry {made[1].pk}" in problem and "deleted" in problem


@pytest.mark.django_db
def test_a_deleted_entry_and_its_link_is_found(programme, checkpoints):
    made = entries(4, programme)
    sealing.seal_pending()
    seq = AuditSeal.objects.get(entry_id=made[1].pk).seq
    raw("DELETE FROM audit_auditseal WHERE seq = %s", [seq])
    raw("DELETE FROM audit_auditentry WHERE id = %s", [made[1].pk])
    [problem] = problems()
    assert f"link {seq} is missing" in problem


@pytest.mark.django_db
def test_an_inserted_entry_is_found(programme, checkpoints):
    made = entries(3, programme)
    sealing.seal_pending()
    # a backdated entry slipped in with a free id below the sealed ones: the hourly sweep seals it
    # (the minute's run reads past the head only: ADR 55) ...
    raw("INSERT INTO audit_auditentry (id, content_type_id, object_pk, object_repr, action, changes_text, "
        "timestamp, event, role, phase, request_id, page, reason, subject_count) "
        "SELECT %s, content_type_id, object_pk, object_repr, action, changes_text, %s, event, role, phase, "
        "request_id, page, 'backdated', 0 FROM audit_auditentry WHERE id = %s",
        [made[0].pk - 1000, timezone.now() - timedelta(days=30), made[0].pk])
    sealing.seal_pending(sweep=True)
    assert AuditSeal.objects.get(entry_id=made[0].pk - 1000).late
    # ... but its date gives it away
    [problem] = problems()
    assert f"entry {made[0].pk - 1000}" in problem and "inserted" in problem


@pytest.mark.django_db
def test_an_entry_inserted_into_the_chain_itself_is_found(programme, checkpoints):
    made = entries(3, programme)
    sealing.seal_pending()
    last = AuditSeal.objects.order_by("-seq").first()
    # an extra link forged without the key after the last one
    raw("INSERT INTO audit_auditseal (seq, entry_id, entry_digest, chain, sealed_at, late, entry_time) "
        "VALUES (%s, %s, %s, %s, %s, false, %s)",
        [last.seq + 1, made[0].pk + 10_000, "0" * 64, "f" * 64, timezone.now(), timezone.now()])
    assert any("missing (deleted)" in p or "does not follow" in p for p in problems())


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


@pytest.mark.django_db
def test_entries_cut_after_a_checkpoint_are_found(programme, checkpoints):
    assert_cut_tail_is_found(programme)


def assert_cut_tail_is_found(programme) -> None:
    """Seal five entries, checkpoint, cut the last two (entries, subjects and links): verification
    names the checkpoint whose entries were cut (whichever checkpoint store is configured)."""
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

    from audit.core.models import AuditChainAnchor

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
    from audit.core.models import AuditChainAnchor

    made = entries(4, programme)
    sealing.seal_pending()
    seal = AuditSeal.objects.get(entry_id=made[1].pk)
    AuditChainAnchor.objects.create(from_seq=seal.seq, first_seq=seal.seq + 1, previous_chain=seal.chain,
                                    reason="forged", mac="0" * 64)
    [problem] = problems()
    assert "not genuine" in problem


# --- the canonical form (ADR 14): COPY's text of the entry's line and its sorted subjects' lines ---
AWKWARD = ["eligibility.woman:7", "a,b", 'say "hi"', "back\\slash", "{braced}", "two words", "NULL", "null", "",
           "new\nline", "tab\there", "ctrl\x01char", "caf\u00e9", "\u00e9t\u00e9", "z", "(paren)"]


def test_the_canonical_text_is_what_copy_prints():
    from audit.core.sealing_digest import canonical_text

    assert canonical_text(["1", None, "a\tb", "c\\d", "e\nf\rg\bh\fi\vj"], ["z", "a\nb", "a"]) == (
        "1\t\\N\ta\\tb\tc\\\\d\te\\nf\\rg\\bh\\fi\\vj\na\na\\nb\nz\n")


def test_subjects_read_back_from_their_array_in_a_copy_stream_sort_as_written():
    """The verifier reads each entry's subjects as PostgreSQL's array text inside a COPY field:
    every awkward subject comes back exactly, sorted by code point and written as COPY would."""
    from audit.core.sealing_digest import _copy_unescape, array_text, copy_field, subject_lines

    for subjects in (AWKWARD, ["only"], ["b", "a"], ['"'], ["\\"], [","]):
        field = copy_field(array_text(subjects)).encode()
        assert _copy_unescape(field).decode() == array_text(subjects)
        assert subject_lines(field) == "".join(copy_field(s) + "\n" for s in sorted(subjects)).encode()
    assert subject_lines(b"\\N") == b""


def test_the_fast_hmac_is_hmac():
    from audit.core.sealing_chain import hmac_pads

    for key in (sealing.chain_key(), b"k" * 100):
        inner, outer = hmac_pads(key)
        h = inner.copy()
        h.update(b"1|2|d|p")
        mac = outer.copy()
        mac.update(h.digest())
        assert mac.hexdigest() == hmac.new(key, b"1|2|d|p", "sha256").hexdigest()


def test_every_column_of_an_entry_is_sealed():
    from audit.core.sealing_digest import ENTRY_COLUMNS

    assert set(ENTRY_COLUMNS) == {f.column for f in AuditEntry._meta.concrete_fields}


def awkward_entry(programme) -> AuditEntry:
    from audit.core.models import AuditSubject

    entry = AuditEntry.objects.create(
        event=Event.DISCLOSURE, action=3, content_type=ContentType.objects.get_for_model(programme), object_pk="", object_repr='eligibility.woman: 3 shown, "quoted"\tand tabbed',
        remote_addr="2001:db8::1", cid="c\\id", request_id="r\nid", page="/p?q=(1,2)", programme=programme,
        phase="scoping", role="trust_caseworker", reason="caf\u00e9 \\ back\tslash\r\n{x}", status_code=200,
        changes={"b": ["\u00e9", 1.5, None], "a": {"x": "y\tz"}}, subject_count=len(AWKWARD))
    AuditSubject.objects.bulk_create(AuditSubject.of(entry, s) for s in AWKWARD)
    return entry


@pytest.mark.django_db
def test_an_awkward_entry_seals_and_verifies(programme, checkpoints):
    entries(2, programme)
    awkward_entry(programme)
    entries(2, programme)
    sealing.seal_pending()
    result = sealing.verify()
    assert result.ok and result.unsealed == 0, result.problems


@pg
@pytest.mark.django_db
def test_postgresql_copy_and_the_python_canonical_text_agree(programme):
    """What the sealer and the verifier hash on PostgreSQL (COPY's lines) is what `canonical_text`
    builds from the columns' own text — the construction used on SQLite."""
    from audit.core.sealing_digest import (
        ENTRY_FIELDS,
        canonical_text,
        copy_digests,
        entry_texts,
        fix_session,
        python_digests,
    )

    made = [awkward_entry(programme), *entries(2, programme)]
    ids = [e.pk for e in made]
    assert copy_digests(ids) == python_digests(ids)
    values, subjects = entry_texts([made[0].pk])[made[0].pk]
    with transaction.atomic(), connection.cursor() as cur:
        fix_session(cur)
        with cur.cursor.copy(f"COPY (SELECT {ENTRY_FIELDS} FROM audit_auditentry e WHERE e.id = {made[0].pk}) "
                             "TO STDOUT") as copy:
            line = b"".join(bytes(b) for b in copy)
        with cur.cursor.copy(f"COPY (SELECT subject FROM audit_auditsubject WHERE entry_id = {made[0].pk} "
                             "ORDER BY subject COLLATE \"C\") TO STDOUT") as copy:
            line += b"".join(bytes(b) for b in copy)
    assert canonical_text(values, subjects).encode() == line


@pg
@pytest.mark.django_db
def test_the_stream_and_its_python_equivalent_give_the_same_lines(programme):
    """On PostgreSQL the verifier streams its rows by COPY; elsewhere it builds them in Python:
    field for field the same (but the times, which each database writes its own way)."""
    from audit.core import sealing_verify
    from audit.core.sealing_digest import subject_lines

    awkward_entry(programme)
    entries(2, programme)
    sealing.seal_pending()
    record_event(Event.CHANGE, reason="not sealed yet")
    with sealing_verify._streamed_lines(sealing_verify.FIRST_ID - 1) as lines:
        streamed = [line.split(b"\t") for line in lines]
    built = [line.split(b"\t") for line in sealing_verify._orm_lines(sealing_verify.FIRST_ID - 1)]
    assert len(streamed) == len(built) == AuditEntry.objects.count()

    def timeless(row):  # without the entry's times; the subjects (unordered) sorted
        return row[:4] + [subject_lines(row[5])] + row[6:7] + row[8:]

    assert [timeless(r) for r in streamed] == [timeless(r) for r in built]


@pytest.mark.django_db
def test_a_changed_added_or_removed_subject_is_found(programme, checkpoints):
    from audit.core.models import AuditSubject

    person = f.person(programme.trust)
    made = [record_event(Event.DISCLOSURE, subjects=[person, programme], programme=programme) for _ in range(3)]
    sealing.seal_pending()
    assert sealing.verify().ok
    subject = AuditSubject.objects.filter(entry=made[0]).first()
    raw("UPDATE audit_auditsubject SET subject = 'sharing.person:0' WHERE id = %s", [subject.pk])
    assert f"entry {made[0].pk}" in problems()[0]
    raw("INSERT INTO audit_auditsubject (entry_id, subject, entry_time) VALUES (%s, 'eligibility.woman:1', %s)",
        [made[1].pk, made[1].timestamp])
    raw("UPDATE audit_auditsubject SET subject = %s WHERE id = %s", [subject.subject, subject.pk])
    assert f"entry {made[1].pk}" in problems()[0] and "modified" in problems()[0]
    raw("DELETE FROM audit_auditsubject WHERE entry_id = %s AND subject = 'eligibility.woman:1'", [made[1].pk])
    assert sealing.verify().ok
    raw("DELETE FROM audit_auditsubject WHERE entry_id = %s", [made[2].pk])
    assert f"entry {made[2].pk}" in problems()[0] and "modified" in problems()[0]


def reseal(order: list[int]) -> None:
    """The chain made again by hand over these entry ids, in this order (all sealed now), and its
    head checkpointed."""
    raw("DELETE FROM audit_auditseal")
    key, previous, digests = sealing.chain_key(), sealing.GENESIS, sealing.entry_digests(order)
    for seq, entry_id in enumerate(order, start=1):
        previous = sealing.link(key, seq, entry_id, digests[entry_id], previous)
        raw("INSERT INTO audit_auditseal (seq, entry_id, entry_digest, chain, sealed_at, late, entry_time) "
            "SELECT %s, %s, %s, %s, %s, false, timestamp FROM audit_auditentry WHERE id = %s",
            [seq, entry_id, digests[entry_id], previous, timezone.now(), entry_id])
    sealing.write_checkpoint(start_empty_store=True)  # as the sealer checkpoints every run


@pytest.mark.django_db
def test_late_entries_beyond_what_the_walk_holds_still_verify(programme, checkpoints, monkeypatch):
    """Rows that arrive before the link ahead of them wait; past the limit the walk asks why, finds
    nothing wrong, and carries on holding more."""
    from audit.core import sealing_verify

    made = entries(12, programme)
    ids = list(AuditEntry.objects.order_by("id").values_list("id", flat=True))
    late = [e.pk for e in made[:5]]
    reseal([i for i in ids if i not in late] + late)  # the five sealed last, as if committed late
    monkeypatch.setattr(sealing_verify, "PENDING_LIMIT", 2)
    result = sealing.verify()
    assert result.ok and result.links == len(ids), result.problems
    # and with one of them gone, the walk, stalled, says which
    raw("DELETE FROM audit_auditsubject WHERE entry_id = %s", [late[1]])
    raw("DELETE FROM audit_auditentry WHERE id = %s", [late[1]])
    [problem] = problems()
    assert f"entry {late[1]}" in problem and "deleted" in problem


@pytest.mark.django_db
def test_a_backdated_entry_appended_after_the_others_is_found(programme, checkpoints):
    made = entries(3, programme)
    raw("INSERT INTO audit_auditentry (id, content_type_id, object_pk, object_repr, action, changes_text, "
        "timestamp, event, role, phase, request_id, page, reason, subject_count) "
        "SELECT %s, content_type_id, object_pk, object_repr, action, changes_text, %s, event, role, phase, "
        "request_id, page, 'backdated', 0 FROM audit_auditentry WHERE id = %s",
        [made[-1].pk + 1000, timezone.now() - timedelta(days=30), made[0].pk])
    sealing.seal_pending()
    assert not AuditSeal.objects.get(entry_id=made[-1].pk + 1000).late
    [problem] = problems()
    assert f"entry {made[-1].pk + 1000}" in problem and "inserted" in problem


@pytest.mark.django_db
def test_entries_sealed_long_after_they_were_written_are_not_taken_for_inserted(checkpoints):
    """A sealer stopped for longer than the tolerance seals the backlog when it comes back: the
    entries are judged by the time of the entry ahead of each, not by when its link was sealed."""
    import time_machine

    assert not AuditEntry.objects.exists()
    with time_machine.travel(timezone.now() - timedelta(hours=3), tick=True):
        entries(3)
    with time_machine.travel(timezone.now() - timedelta(hours=2), tick=True):
        entries(3)
    sealing.seal_pending()
    entries(2)
    sealing.seal_pending()
    result = sealing.verify()
    assert result.ok, result.problems
