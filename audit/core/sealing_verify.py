"""Verifying the audit trail's hash chain (ADR 14) in one streamed pass over the entries — or, on
PostgreSQL for a long chain outside a transaction, in ranges on both cores (`sealing_ranges`, ADR 53).

On PostgreSQL one `COPY (...) TO STDOUT` streams every entry in id order beside its seal, its
subjects and its own COPY line (`STREAM_SQL`: a merge join of the entries, their seals and their
subjects grouped by entry, in one snapshot); Python hashes each entry's line with its sorted
subjects (`sealing_digest`) and checks its link with one HMAC — the rows never become Python
objects beyond a split. Links are checked in seq order: seq order is id order except for entries
sealed late, so a row that arrives before the link ahead of it waits (`pending`) until that link
is checked, and the first broken link is the one reported. Entries with no seal are counted on
the way. Elsewhere (SQLite: the tests and the demo) the same lines are built from the ORM and
the columns' stored text, and the same walk checks them.

A seal whose entry is gone never appears in an entry stream: the walk then stops short of it (or
of the link after a deleted link), and `_diagnose` looks that one link up to say which it is.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC

from django.db import connection, transaction

from audit.core.models import AuditChainAnchor, AuditEntry, AuditSeal
from audit.core.sealing_chain import (
    ADVISORY_LOCK,
    GENESIS,
    LATE_TOLERANCE,
    Summary,
    anchor_mac,
    chain_key,
    checkpoint_store,
    unsealed_entries,
)
from audit.core.sealing_digest import (
    ENTRY_FIELDS,
    SUBJECTS_BY_ENTRY,
    array_text,
    copy_field,
    entry_texts,
    fix_session,
)
from audit.core.sealing_ranges import PLAN, verify_in_ranges
from audit.core.sealing_walk import FIRST_ID, Walk, copy_rows, dangling, missing_link  # noqa: F401  (FIRST_ID re-exported)

PENDING_LIMIT = 50_000  # rows waiting for the link ahead of them before the walk stops to ask why
# On PostgreSQL a chain of at least this many links is verified in WORKERS ranges, each by a
# process of its own (`sealing_ranges`, ADR 53); below it starting the processes costs more than
# the second core saves.
PARALLEL_MIN_LINKS = 1_000_000
WORKERS = 2
ORM_BATCH = 2000
# One line per entry: its seal's seq, its id, its seal's digest and link (NULL when not yet
# sealed), its time plus the tolerance, its subjects' array (unsorted; NULL when none) and its
# COPY line (the canonical text's first line: `sealing_digest`).
# Fixed names and our own expressions; {after} is formatted from an int.
STREAM_SQL = (
    "COPY (SELECT s.seq, e.id, s.entry_digest, s.chain, "  # noqa: S608
    f"e.\"timestamp\" + interval '{int(LATE_TOLERANCE.total_seconds())} seconds', g.subjects, "
    f"{ENTRY_FIELDS} FROM audit_auditentry e LEFT JOIN audit_auditseal s ON s.entry_id = e.id "
    f"LEFT JOIN {SUBJECTS_BY_ENTRY} g ON g.entry_id = e.id WHERE e.id > {{after}} ORDER BY e.id) TO STDOUT"
)
# PLAN (sealing_ranges): three ordered index scans merged, no hash tables, no JIT.


@dataclass
class Verification:
    links: int = 0
    first_seq: int = 1
    last_seq: int = 0
    checkpoints: int = 0  # in the store
    compared: int = 0  # each UTC day's newest, compared with the chain
    unsealed: int = 0
    problems: list[str] = field(default_factory=list)
    ranges: int = 1  # walked by this many processes (`sealing_ranges`)

    @property
    def ok(self) -> bool:
        return not self.problems


class _StoppedEarly(Exception):
    pass


@contextmanager
def _streamed_lines(after_id: int) -> Iterator[Iterator[bytes]]:
    """PostgreSQL: STREAM_SQL's lines for the entries after `after_id`, one COPY in one snapshot.
    A walk that stops early cancels the COPY (and rolls back its read-only transaction)."""
    try:
        with transaction.atomic(), connection.cursor() as cur:
            fix_session(cur)
            for name, value in PLAN:
                cur.execute("SELECT pg_catalog.set_config(%s, %s, true)", [name, value])
            with cur.cursor.copy(STREAM_SQL.format(after=int(after_id))) as copy:
                finished: list[bool] = []
                yield copy_rows(copy, finished)
                if not finished:
                    raise _StoppedEarly
    except _StoppedEarly:
        pass


def _stamp(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _orm_lines(after_id: int) -> Iterator[bytes]:
    """Any database: STREAM_SQL's lines built here, each field from the database's text of the
    column (`entry_texts`) and the subjects as PostgreSQL would write their array."""
    while True:
        entries = list(AuditEntry.objects.filter(id__gt=after_id).order_by("id")
                       .values_list("id", "timestamp")[:ORM_BATCH])
        if not entries:
            return
        ids = [entry_id for entry_id, _ in entries]
        seals: dict[int, list[tuple]] = {}
        for seal in AuditSeal.objects.filter(entry_id__in=ids).values_list("entry_id", "seq", "entry_digest", "chain"):
            seals.setdefault(seal[0], []).append(seal[1:])
        texts = entry_texts(ids)
        for entry_id, stamped in entries:
            values, subjects = texts[entry_id]
            tail = [_stamp(stamped + LATE_TOLERANCE), copy_field(array_text(subjects) if subjects else None),
                    *(copy_field(v) for v in values)]
            for seq, digest, chain in seals.get(entry_id) or [(None, None, None)]:
                head = [copy_field(None if seq is None else str(seq)), str(entry_id), copy_field(digest),
                        copy_field(chain)]
                yield "\t".join(head + tail).encode()
        after_id = ids[-1]


@contextmanager
def _orm_stream(after_id: int) -> Iterator[Iterator[bytes]]:
    yield _orm_lines(after_id)


def _diagnose(seq: int, streamed_to: int | None) -> str | None:
    """Why link `seq` has not been walked: the first link at or after it, looked up. None when
    there is none (the chain ends before it) or it is still to come: its entry is after
    `streamed_to`, or (`streamed_to` None: the stream has ended) it was sealed since."""
    found = AuditSeal.objects.filter(seq__gte=seq).order_by("seq").values_list("seq", "entry_id").first()
    exists = found is not None and AuditEntry.objects.filter(id=found[1]).exists()
    still_to_come = found is not None and (streamed_to is None or found[1] > streamed_to)
    return missing_link(seq, found, exists, still_to_come)


def _anchors(key: bytes, result: Verification) -> dict[int, tuple[int, str]] | None:
    """The purged runs: from_seq -> (first seq after the run, the link before it); None when an
    anchor is not genuine."""
    gaps = {}
    for a in AuditChainAnchor.objects.order_by("from_seq"):
        if not hmac.compare_digest(a.mac, anchor_mac(key, a.from_seq, a.first_seq, a.previous_chain)):
            result.problems.append(f"the purge record for links {a.from_seq}-{a.first_seq - 1} is not genuine "
                                   "(its MAC does not match)")
            return None
        gaps[a.from_seq] = (a.first_seq, a.previous_chain)
    return gaps


def _walk_all(walk: Walk) -> None:
    stream = _streamed_lines if connection.vendor == "postgresql" else _orm_stream
    while True:
        with stream(walk.last_id) as lines:
            finished = walk.run(lines)
        if walk.problem or finished:
            break
        walk.problem = _diagnose(walk.expected, walk.last_id)  # too many rows waiting: why?
        if walk.problem:
            return
        walk.limit *= 2  # a long run of late entries, all there: carry on
    if not walk.problem:  # the stream has ended: is there a link the entries never reached?
        walk.problem = _diagnose(walk.expected, None)
        if not walk.problem and any(seq > walk.expected for seq in walk.pending):
            walk.problem = dangling(walk.expected)


def _checkpoints() -> Summary:
    """The store's checkpoints (how many, and each day's newest), read while no sealer is
    between writing a checkpoint and committing its links (the sealer's advisory lock), so every
    checkpoint read has its links committed before the walk's snapshot is taken."""
    store = checkpoint_store()
    if connection.vendor != "postgresql":
        return store.summary()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
        return store.summary()


def _in_ranges(first_seq: int) -> bool:
    """Whether to verify in ranges on several cores: on PostgreSQL, a chain long enough, and
    outside any transaction (the workers' snapshot shows only what is committed; a caller's open
    transaction may hold what it has not)."""
    if connection.vendor != "postgresql" or WORKERS < 2 or connection.in_atomic_block:
        return False
    head = AuditSeal.objects.order_by("-seq").values_list("seq", flat=True).first()
    return head is not None and head - first_seq + 1 >= PARALLEL_MIN_LINKS


def _connect_params() -> dict:
    """Django's connection settings for a plain psycopg connection (the workers' and the snapshot's)."""
    params = connection.get_connection_params()
    return {k: v for k, v in params.items() if isinstance(v, str | int) and not isinstance(v, bool)}


def _walk_in_ranges(key: bytes, gaps, wanted: set[int], seq: int, previous: str):
    return verify_in_ranges(connect=_connect_params(), key=key, gaps=gaps, wanted=wanted, seq=seq,
                            previous=previous, workers=WORKERS, limit=PENDING_LIMIT)


def verify() -> Verification:
    """Recompute the chain from its anchor and check the checkpoints. Stops at the first broken
    link (everything after it is suspect) and says what it found there.

    The sealer checkpoints every batch it seals, the first included, so the store holds a
    checkpoint at or past every committed link: an empty store beside links (or purge anchors)
    fails, as does a checkpoint past the chain's end (entries cut, or the trail emptied). Each UTC
    day's newest checkpoint is compared with the chain: a link depends on every link before it,
    so a day's newest vouches for that day's others, and the comparison costs one checkpoint a
    day however often the sealer runs."""
    key, result = chain_key(), Verification()
    gaps = _anchors(key, result)
    if gaps is None:
        return result
    expected, previous = 1, GENESIS
    while expected in gaps:
        expected, previous = gaps[expected]
    result.first_seq = expected
    summary = _checkpoints()
    result.checkpoints, checkpoints = summary.count, summary.daily
    if not summary.count and (gaps or AuditSeal.objects.exists()):
        result.problems.append("the checkpoint store holds no checkpoint, yet the chain has links: the sealer "
                               "checkpoints from the first seal on, so the store was emptied, replaced or never "
                               "written, and entries cut from the end would not show")
    wanted = {c["seq"] for c in checkpoints}
    walk = _walk_in_ranges(key, gaps, wanted, expected, previous) if _in_ranges(expected) else None
    if walk is None:
        walk = Walk(key, gaps, wanted, expected, previous, limit=PENDING_LIMIT)
        _walk_all(walk)
    else:
        result.ranges = walk.ranges
    result.links, result.last_seq = walk.links, walk.last_seq
    if walk.problem:
        result.problems.append(walk.problem)
        result.unsealed = unsealed_entries().count()  # the walk stopped before counting them all
        return result
    result.unsealed = walk.unsealed
    for checkpoint in checkpoints:
        seq = checkpoint["seq"]
        if any(start <= seq < after for start, (after, _) in gaps.items()):
            continue  # in a run a retention purge removed
        result.compared += 1
        if seq > walk.last_seq and not walk.links:
            result.problems.append(f"checkpoint at link {seq} ({checkpoint['written_at']}) but the trail has no "
                                   "links left: it was emptied")
            break
        if seq > walk.last_seq:
            result.problems.append(f"checkpoint at link {seq} ({checkpoint['written_at']}) but the chain ends "
                                   f"at {walk.last_seq}: entries were cut")
            break
        if walk.chain_at.get(seq) != checkpoint["chain"]:
            result.problems.append(f"checkpoint at link {seq} ({checkpoint['written_at']}) does not match the "
                                   "chain (the chain was rewritten)")
            break
    return result
