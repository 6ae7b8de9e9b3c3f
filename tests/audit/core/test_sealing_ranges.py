"""The hash chain verified on both cores (ADR 53): on PostgreSQL a long chain is cut into two seq
ranges, each walked by a process of its own in one exported snapshot. Whatever the single pass
finds, the ranges find: a modified entry, subject or link on either side of the boundary, a
deleted entry or link at it, an entry sealed late whose link is in the second range but whose id
is in the first's, a purged run across the boundary, a backdated entry at the boundary, a cut tail.

The workers read only what is committed, so these tests commit (transaction=True), and they
lower the threshold so that a dozen links are cut into ranges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from audit.core import sealing, sealing_verify
from audit.core.log import record_event
from audit.core.models import AuditEntry, AuditSeal, AuditSubject, Event
from audit.core.sealing_ranges import LAST_ID, Range, _in_workers, split
from tests import factories as f
from tests.audit.core.test_sealing import assert_cut_tail_is_found, raw, reseal

pg = pytest.mark.postgres


@pytest.fixture
def in_ranges(monkeypatch, settings, tmp_path):
    settings.PORTAL_AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    monkeypatch.setattr(sealing_verify, "PARALLEL_MIN_LINKS", 1)


def trail(programme, n: int = 12, *, seal: bool = True) -> list[AuditEntry]:
    """`n` disclosures with two subjects each, sealed and checkpointed (unless they are to be
    sealed by hand)."""
    person = f.person(programme.trust)
    made = [record_event(Event.DISCLOSURE, subjects=[person, programme], programme=programme, reason=f"page {i}")
            for i in range(n)]
    if seal:
        sealing.seal_pending()
    return made


def boundary() -> int:
    """The first link of the second range."""
    head = AuditSeal.objects.order_by("-seq").values_list("seq", flat=True).first()
    return split(1, head, sealing_verify.WORKERS, {})[1]


def entry_at(seq: int) -> int:
    return AuditSeal.objects.get(seq=seq).entry_id


def verify_in_ranges() -> sealing.Verification:
    result = sealing.verify()
    assert result.ranges == 2  # really walked by two processes
    return result


@pg
@pytest.mark.django_db(transaction=True)
def test_a_short_chain_is_walked_in_one_pass(programme, settings, tmp_path):
    """Below PARALLEL_MIN_LINKS starting the workers would cost more than they save."""
    settings.PORTAL_AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    trail(programme, 4)
    result = sealing.verify()
    assert result.ok and result.ranges == 1 and sealing_verify.PARALLEL_MIN_LINKS > result.links


@pytest.mark.django_db
def test_sqlite_walks_the_chain_in_one_pass(programme, in_ranges):
    if connection.vendor == "postgresql":
        pytest.skip("the SQLite path (the demo's)")
    trail(programme, 4)
    result = sealing.verify()
    assert result.ok and result.ranges == 1


def test_ranges_never_start_inside_a_purged_run():
    assert split(1, 100, 2, {}) == [1, 51]
    assert split(1, 100, 2, {40: (60, "c")}) == [1, 60]
    assert split(1, 100, 4, {20: (60, "c")}) == [1, 60, 76]  # two starts fell in the run: one range fewer
    assert split(1, 1, 2, {}) == [1]


@pg
@pytest.mark.django_db(transaction=True)
def test_a_trail_verifies_in_two_ranges_as_in_one(programme, in_ranges, monkeypatch):
    trail(programme)
    sealing.write_checkpoint()
    record_event(Event.CHANGE, reason="not yet sealed")
    record_event(Event.CHANGE, reason="nor this one")
    both = verify_in_ranges()
    assert both.ok, both.problems
    monkeypatch.setattr(sealing_verify, "PARALLEL_MIN_LINKS", 10**12)
    one = sealing.verify()
    assert one.ranges == 1
    assert (both.links, both.last_seq, both.first_seq, both.unsealed, both.checkpoints, both.compared) == (
        one.links, one.last_seq, one.first_seq, one.unsealed, one.checkpoints, one.compared)
    assert both.links == AuditSeal.objects.count() and both.unsealed == 2


@pg
@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_chain_is_walked_in_one_pass(programme, in_ranges):
    """A caller's open transaction may hold writes no other connection sees: one pass, in it."""
    trail(programme, 4)
    with transaction.atomic():
        result = sealing.verify()
    assert result.ok and result.ranges == 1


# where, relative to the boundary B: a link deep in the first range, its last link, the second's
# first, and the chain's last
WHERE = {"first range": lambda b, made: AuditSeal.objects.get(entry_id=made[1].pk).seq,
         "just before the boundary": lambda b, made: b - 1, "at the boundary": lambda b, made: b,
         "last link": lambda b, made: AuditSeal.objects.count()}


@pg
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", list(WHERE))
@pytest.mark.parametrize("what", ["entry", "subject", "seal"])
def test_tampering_on_either_side_of_the_boundary_is_found(programme, in_ranges, where, what):
    made = trail(programme)
    seq = WHERE[where](boundary(), made)
    entry_id = entry_at(seq)
    if what == "entry":
        raw("UPDATE audit_auditentry SET reason = 'nothing to see' WHERE id = %s", [entry_id])
    elif what == "subject":
        subject = AuditSubject.objects.filter(entry_id=entry_id).order_by("id").first()
        raw("UPDATE audit_auditsubject SET subject = 'sharing.person:0' WHERE id = %s", [subject.pk])
    else:
        raw("UPDATE audit_auditseal SET chain = %s WHERE seq = %s", ["f" * 64, seq])
    [problem] = verify_in_ranges().problems
    assert problem.startswith(f"link {seq} (entry {entry_id})")
    assert ("modified" if what != "seal" else "does not follow") in problem


@pg
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["just before the boundary", "at the boundary"])
def test_a_deleted_entry_at_the_boundary_is_found(programme, in_ranges, where):
    made = trail(programme)
    seq = WHERE[where](boundary(), made)
    entry_id = entry_at(seq)
    raw("DELETE FROM audit_auditsubject WHERE entry_id = %s", [entry_id])
    raw("DELETE FROM audit_auditentry WHERE id = %s", [entry_id])
    [problem] = verify_in_ranges().problems
    assert problem == f"link {seq} (entry {entry_id}): the entry is missing (deleted)"


@pg
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["first range", "just before the boundary", "at the boundary", "last link"])
def test_a_gap_in_the_chain_is_found(programme, in_ranges, where):
    """A link deleted with its entry, wherever it falls: the gap is named (the last link's removal
    is a cut tail, which the checkpoint names)."""
    made = trail(programme)
    seq = WHERE[where](boundary(), made)
    entry_id = entry_at(seq)
    raw("DELETE FROM audit_auditseal WHERE seq = %s", [seq])
    raw("DELETE FROM audit_auditsubject WHERE entry_id = %s", [entry_id])
    raw("DELETE FROM audit_auditentry WHERE id = %s", [entry_id])
    [problem] = verify_in_ranges().problems
    if where == "last link":
        assert f"checkpoint at link {seq}" in problem and "entries were cut" in problem
    else:
        assert problem.startswith(f"link {seq} is missing: the chain jumps to {seq + 1}")


@pg
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("limit", [50_000, 2])
def test_late_entries_across_the_boundary_verify_and_a_deleted_one_is_found(programme, in_ranges, monkeypatch,
                                                                           limit):
    """Entries sealed last (as if committed late) have their links in the second range and their
    ids in the first's: the second range reads them by seq; with a tiny limit on the rows waiting
    it does so mid-stream."""
    made = trail(programme, seal=False)
    monkeypatch.setattr(sealing_verify, "PENDING_LIMIT", limit)
    ids = list(AuditEntry.objects.order_by("id").values_list("id", flat=True))
    late = [e.pk for e in made[:3]]
    reseal([i for i in ids if i not in late] + late)
    assert entry_at(boundary()) > max(late)  # the late entries' ids all lie in the first range's ids
    assert entry_at(boundary()) not in late and entry_at(len(ids)) == late[-1]
    result = verify_in_ranges()
    assert result.ok and result.links == len(ids), result.problems
    raw("DELETE FROM audit_auditsubject WHERE entry_id = %s", [late[1]])
    raw("DELETE FROM audit_auditentry WHERE id = %s", [late[1]])
    [problem] = verify_in_ranges().problems
    assert problem == f"link {len(ids) - 1} (entry {late[1]}): the entry is missing (deleted)"


@pg
@pytest.mark.django_db(transaction=True)
def test_a_purged_run_across_the_boundary_is_stepped_over(programme, in_ranges):
    trail(programme)
    b = boundary()
    run = list(AuditSeal.objects.filter(seq__gte=b - 1, seq__lte=b + 1).order_by("seq").values_list("seq", "entry_id",
                                                                                                      "chain"))
    for seq, entry_id, _ in run:
        raw("DELETE FROM audit_auditseal WHERE seq = %s", [seq])
        raw("DELETE FROM audit_auditsubject WHERE entry_id = %s", [entry_id])
        raw("DELETE FROM audit_auditentry WHERE id = %s", [entry_id])
    sealing.make_anchor(b - 1, b + 2, run[-1][2], reason="retention (test)")
    result = verify_in_ranges()
    assert result.ok, result.problems
    assert result.links == AuditSeal.objects.count()
    # and a link deleted just after the run is still found
    raw("DELETE FROM audit_auditseal WHERE seq = %s", [b + 2])
    [problem] = verify_in_ranges().problems
    assert f"link {b + 2} is missing" in problem


@pg
@pytest.mark.django_db(transaction=True)
def test_a_backdated_entry_at_the_boundary_is_found(programme, in_ranges):
    """The second range's first entry is judged by the time of the first range's last."""
    trail(programme, seal=False)
    order = list(AuditEntry.objects.order_by("id").values_list("id", flat=True))
    b = split(1, len(order), sealing_verify.WORKERS, {})[1]
    raw('UPDATE audit_auditentry SET "timestamp" = %s WHERE id = %s', [timezone.now() - timedelta(days=30),
                                                                        order[b - 1]])
    reseal(order)  # a chain that is all in order but for the date
    [problem] = verify_in_ranges().problems
    assert problem.startswith(f"link {b} (entry {order[b - 1]})") and "inserted" in problem


@pg
@pytest.mark.django_db(transaction=True)
def test_entries_cut_after_a_checkpoint_are_found_in_ranges(programme, in_ranges):
    trail(programme, 6)
    assert_cut_tail_is_found(programme)


@pg
@pytest.mark.django_db
def test_a_worker_that_fails_makes_verification_raise_not_pass():
    """A worker that cannot read its range (here: a snapshot that was never exported) gives no
    verdict on part of the chain: verify() raises."""

    task = Range(connect=sealing_verify._connect_params(), snapshot="00000003-0000001B-1", key=b"k" * 32, gaps={},
                 wanted=set(), seq=1, stop=2, after=0, upto=LAST_ID, limit=10)
    with pytest.raises(RuntimeError, match="verification worker failed"):
        _in_workers([task])


def range_plan(settings) -> str:
    from audit.core.sealing_ranges import LAST_ID, RANGE_SQL

    select = RANGE_SQL.format(after=0, upto=LAST_ID).removeprefix("COPY (").removesuffix(") TO STDOUT")
    with transaction.atomic(), connection.cursor() as cur:
        for name, value in settings:
            cur.execute(f"SET LOCAL {name} = {value}")
        cur.execute(f"EXPLAIN {select}")
        return "\n".join(row[0] for row in cur.fetchall())


@pg
@pytest.mark.django_db
def test_a_range_is_streamed_by_merging_each_months_index_scans_never_by_a_sort(programme):
    """PLAN prices sorts out: measured at 20M entries over 77 months, the planner otherwise sorted
    each range's entries and spilled 51 GB of temporary files (322 s against 190 s). Here index
    scans are made to look as dear as they did there (random_page_cost = 40)."""
    import re

    from audit.core.partitions import ensure_months
    from audit.core.sealing_ranges import PLAN

    ensure_months(timezone.now().date() - timedelta(days=400), timezone.now().date())
    trail(programme, 3)
    sort = re.compile(r"(^|->)\s*Sort\s+\(", re.M)
    dear = (("random_page_cost", "40"),)
    without = range_plan([*dear, *(p for p in PLAN if p[0] != "enable_sort")])
    assert sort.search(without), without  # what the planner does unless told
    plan = range_plan([*dear, *PLAN])
    assert not sort.search(plan), plan
    assert "Merge Append" in plan, plan  # each month's index scan, merged in id order
