"""Verifying the audit trail's hash chain (ADR 14) in one streamed pass over the entries.

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

import binascii
import hashlib
import hmac
from collections.abc import Iterable, Iterator
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
    hmac_pads,
    unsealed_entries,
)
from audit.core.sealing_digest import (
    ENTRY_FIELDS,
    NULL,
    SUBJECTS_BY_ENTRY,
    array_text,
    copy_field,
    entry_texts,
    fix_session,
    subject_lines,
)

PENDING_LIMIT = 50_000  # rows waiting for the link ahead of them before the walk stops to ask why
ORM_BATCH = 2000
FIRST_ID = -(2**63) + 1  # ids are bigints and need not be positive (an attacker's need not be)
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
# The plan wanted: three ordered index scans merged, no hash tables, no JIT (its compile time
# costs more than it saves here).
PLAN = (("jit", "off"), ("enable_hashjoin", "off"), ("enable_hashagg", "off"))


@dataclass
class Verification:
    links: int = 0
    first_seq: int = 1
    last_seq: int = 0
    checkpoints: int = 0  # in the store
    compared: int = 0  # each UTC day's newest, compared with the chain
    unsealed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Walk:
    """The chain walked in seq order over rows arriving in entry order (see the module doc)."""

    def __init__(self, key: bytes, gaps: dict[int, tuple[int, str]], wanted: set[int], seq: int, previous: str):
        self.key, self.wanted = key, wanted
        self.gaps = {start: (after, chain.encode()) for start, (after, chain) in gaps.items()}
        self.expected, self.previous, self.ahead = seq, previous.encode(), None  # ahead: the time of the entry before
        self.pending: dict[int, list[bytes]] = {}
        self.limit = PENDING_LIMIT
        self.chain_at: dict[int, str] = {}
        self.links = self.unsealed = self.last_seq = 0
        self.last_id = FIRST_ID - 1  # the last entry streamed
        self.problem: str | None = None

    def run(self, lines: Iterable[bytes]) -> bool:
        """Walk these lines (STREAM_SQL's); False when it stopped early: at a broken link (`problem`)
        or with too many rows waiting. The state is kept, so a walk can carry on after `last_id`.
        The hot loop of verification: everything it needs is a local, and the HMAC is taken from
        the key's precomputed pads (hmac.digest looks the hash up again on every call)."""
        gaps, wanted, pending, chain_at = self.gaps, self.wanted, self.pending, self.chain_at
        expected, previous, ahead, limit = self.expected, self.previous, self.ahead, self.limit
        inner, outer = hmac_pads(self.key)
        inner_copy, outer_copy, sha_copy = inner.copy, outer.copy, hashlib.sha256().copy
        hexlify, null, newline = binascii.hexlify, NULL, b"\n"
        links = unsealed = 0
        last_seq = self.last_seq
        try:
            for line in lines:
                row = line.split(b"\t", 6)
                seq_b = row[0]
                if seq_b == null:
                    unsealed += 1
                    continue
                seq = int(seq_b)
                if seq != expected:
                    if seq > expected:  # the link ahead of it is still to come
                        if seq in pending:
                            self.problem = _twice(row)
                            return False
                        pending[seq] = row
                        if len(pending) > limit:
                            self.last_id = int(row[1])  # where a walk carrying on starts again
                            return False
                    elif not any(start <= seq < after for start, (after, _) in gaps.items()):
                        # Walked already, or before the chain's first link: a second seal claiming a
                        # link (on PostgreSQL seq is unique only within a month: ADR 52).
                        self.problem = _twice(row)
                        return False
                    continue  # else in a purged run: not part of the chain
                while True:
                    _, entry_b, digest, chain, latest, subjects, entry = row
                    # the entry's digest (copy_digest, inlined): its line, then its subjects' lines
                    if subjects == null:
                        text = entry + newline
                    elif b"," in subjects or b'"' in subjects or b"\\" in subjects:
                        text = entry + newline + subject_lines(subjects)
                    else:  # one subject, as COPY writes it
                        text = entry + newline + subjects[1:-1] + newline
                    h = sha_copy()
                    h.update(text)
                    if hexlify(h.digest()) != digest:
                        self.problem = f"{_where(row)}: the entry's content no longer matches its seal (modified)"
                        return False
                    h = inner_copy()
                    h.update(b"|".join((seq_b, entry_b, digest, previous)))
                    mac = outer_copy()
                    mac.update(h.digest())
                    if hexlify(mac.digest()) != chain:
                        self.problem = (f"{_where(row)}: the link does not follow from the one before (reordered, "
                                        "inserted, or the chain recomputed without the key)")
                        return False
                    if ahead is not None and latest < ahead:  # (times as PostgreSQL writes them sort as text)
                        self.problem = (f"{_where(row)}: dated {_time(entry)}, well before the entry ahead of it in "
                                        f"the chain ({ahead.decode()}): it was inserted, not committed late")
                        return False
                    if seq in wanted:
                        chain_at[seq] = chain.decode()
                    previous, ahead, last_seq = chain, entry.split(b"\t", 2)[1], seq
                    links += 1
                    expected = seq + 1
                    while expected in gaps:  # a run removed by a retention purge
                        expected, previous = gaps[expected]
                        ahead = None
                    row = pending.pop(expected, None)
                    if row is None:
                        break
                    seq_b, seq = row[0], expected
            return True
        finally:
            self.expected, self.previous, self.ahead, self.last_seq = expected, previous, ahead, last_seq
            self.links += links
            self.unsealed += unsealed


def _twice(row: list[bytes]) -> str:
    return (f"{_where(row)}: a second seal for a link already in the chain (a seal forged beside it, or an entry "
            "sharing another's id)")


def _where(row: list[bytes]) -> str:
    return f"link {row[0].decode()} (entry {row[1].decode()})"


def _time(entry_line: bytes) -> str:
    return entry_line.split(b"\t", 2)[1].decode()


class _StoppedEarly(Exception):
    pass


def _lines(copy, finished: list[bool]) -> Iterator[bytes]:
    for block in copy:  # one CopyData message, always one row (the protocol says so), newline-ended
        yield bytes(block[:-1])
    finished.append(True)


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
                yield _lines(copy, finished)
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
    if found is None:
        return None
    at, entry_id = found
    if at != seq:
        return f"link {seq} is missing: the chain jumps to {at} (a link was deleted, or links were reordered)"
    if not AuditEntry.objects.filter(id=entry_id).exists():
        return f"link {seq} (entry {entry_id}): the entry is missing (deleted)"
    if streamed_to is None or entry_id > streamed_to:
        return None  # still to come; or, once the stream has ended, sealed after its snapshot
    return f"link {seq} (entry {entry_id}) is out of place: its entry was not where the chain says"


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


def _walk_all(walk: _Walk) -> None:
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
            walk.problem = f"link {walk.expected} is missing (a link was deleted, or links were reordered)"


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
    walk = _Walk(key, gaps, {c["seq"] for c in checkpoints}, expected, previous)
    _walk_all(walk)
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
