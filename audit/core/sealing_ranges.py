"""The hash chain verified on both cores (ADR 53): contiguous runs of links, each walked by a
process of its own, all reading one snapshot of the trail.

The parent opens a REPEATABLE READ transaction, exports its snapshot (`pg_export_snapshot()`),
and cuts the links from the walk's start to the chain's head into `workers` ranges of seq. Each
range is verified by a worker process of its own — a fresh interpreter (`subprocess`, so nothing
of the parent's connections, threads or main module is inherited or re-run), given its range
through a pipe — on its own psycopg connection whose REPEATABLE READ transaction imports
the snapshot (`SET TRANSACTION SNAPSHOT`): the workers and the parent see exactly the same rows,
whatever is written meanwhile.

A range [seq, stop) streams, like the single pass, the entries of an id range beside their seals
and subjects (three ordered index scans merged; the bounds are repeated on each of the three, so
no scan starts at the table's beginning): the entries from the id of its own first link up to the
next range's. Its first link is checked against the stored link just before it — the previous
range's last link, which that range itself checks — so the ranges together prove the whole chain.
A link whose entry lies outside the range's ids (an entry sealed late, whose id is lower than its
neighbours') never comes in the stream: when the walk waits for it (at the stream's end, or with
too many rows waiting) the worker reads that one link by seq and walks it. Each entry is in
exactly one id range, so each unsealed entry is counted once.

This module is what the workers import: it needs no Django app, only `django.db`'s names through
`sealing_digest`, psycopg and the walk (`sealing_walk`).
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from audit.core.sealing_digest import ENTRY_FIELDS, SUBJECTS_OF, fix_session
from audit.core.sealing_walk import (
    FIRST_ID,
    LATE_TOLERANCE,
    Walk,
    copy_rows,
    dangling,
    missing_link,
)

# The plan wanted for a stream: ordered index scans merged, no hash tables, no sorts, no JIT (its
# compile time costs more than it saves here). Without enable_sort = off, at 20M entries over 77
# monthly partitions the planner sorted each range's entries instead of merging the partitions'
# index scans, and spilled 51 GB of temporary files: 322 s against 190 s without (ADR 53).
PLAN = (("jit", "off"), ("enable_hashjoin", "off"), ("enable_hashagg", "off"), ("enable_sort", "off"))
LAST_ID = 2**63 - 1  # the largest bigint: a range open at its end
_LATE = f"e.\"timestamp\" + interval '{int(LATE_TOLERANCE.total_seconds())} seconds'"
# One range's rows, as the single pass's STREAM_SQL: entries in (after, upto], beside their seals
# and grouped subjects, each side bounded. Fixed names and our own expressions; the bounds are ints.
RANGE_SQL = (
    f"COPY (SELECT s.seq, e.id, s.entry_digest, s.chain, {_LATE}, g.subjects, {ENTRY_FIELDS} "  # noqa: S608
    "FROM audit_auditentry e LEFT JOIN audit_auditseal s ON s.entry_id = e.id AND s.entry_id > {after} "
    "AND s.entry_id <= {upto} LEFT JOIN (SELECT entry_id, pg_catalog.array_agg(subject) AS subjects "
    "FROM audit_auditsubject WHERE entry_id > {after} AND entry_id <= {upto} GROUP BY entry_id) g "
    "ON g.entry_id = e.id WHERE e.id > {after} AND e.id <= {upto} ORDER BY e.id) TO STDOUT"
)
# One link's row by its seq (none when the link or its entry is missing).
LINK_SQL = (
    f"COPY (SELECT s.seq, e.id, s.entry_digest, s.chain, {_LATE}, {SUBJECTS_OF}, {ENTRY_FIELDS} "  # noqa: S608
    "FROM audit_auditseal s JOIN audit_auditentry e ON e.id = s.entry_id WHERE s.seq = {seq}) TO STDOUT"
)
_SNAPSHOT = re.compile(r"[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+")


@dataclass
class Range:
    """One range's work: links [seq, stop), entries with ids in (after, upto]. `previous` and
    `ahead` (the stored link before `seq` and its entry's time) are None when the worker is to
    read them itself; a range starting right after a purged run is given the run's anchor."""

    connect: dict
    snapshot: str
    key: bytes
    gaps: dict[int, tuple[int, str]]
    wanted: set[int]
    seq: int
    stop: int
    after: int
    upto: int
    limit: int
    previous: str | None = None
    ahead: str | None = None
    first: bool = False  # the lowest range: a seal below its first link is a second claim, not another range's


@dataclass
class RangeResult:
    links: int = 0
    last_seq: int = 0
    unsealed: int = 0
    chain_at: dict[int, str] = field(default_factory=dict)
    problem: str | None = None


def _snapshot_reader(connect: dict, snapshot: str | None) -> psycopg.Connection:
    """A read-only REPEATABLE READ transaction: on `snapshot` when given (it must be the
    transaction's first statement), with the columns' text settings and the stream plan fixed."""
    conn = psycopg.connect(**connect)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    with conn.cursor() as cur:
        if snapshot is not None:
            if not _SNAPSHOT.fullmatch(snapshot):
                raise ValueError(f"not a snapshot id: {snapshot!r}")
            cur.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        fix_session(cur)
        for name, value in PLAN:
            cur.execute("SELECT pg_catalog.set_config(%s, %s, true)", [name, value])
    return conn


class _StoppedEarly(Exception):
    pass


class _RangeWalker:
    def __init__(self, conn: psycopg.Connection, task: Range):
        self.cur, self.task = conn.cursor(), task

    def link_row(self, seq: int) -> bytes | None:
        with self.cur.copy(LINK_SQL.format(seq=int(seq))) as copy:
            rows = list(copy_rows(copy, []))
        return rows[0] if rows else None

    def diagnose(self, seq: int) -> str | None:
        """Why link `seq` cannot be read (`sealing_walk.missing_link`)."""
        self.cur.execute("SELECT seq, entry_id FROM audit_auditseal WHERE seq >= %s ORDER BY seq LIMIT 1", [seq])
        found = self.cur.fetchone()
        exists = False
        if found is not None:
            self.cur.execute("SELECT EXISTS (SELECT 1 FROM audit_auditentry WHERE id = %s)", [found[1]])
            exists = self.cur.fetchone()[0]
        return missing_link(seq, found, exists, still_to_come=True)

    def start(self) -> Walk | str:
        """The walk from the range's first link, or why it cannot start (the link before is gone)."""
        t = self.task
        previous, ahead = t.previous, t.ahead
        if previous is None:
            self.cur.execute('SELECT s.chain, pg_catalog.concat(e."timestamp") FROM audit_auditseal s '
                             "LEFT JOIN audit_auditentry e ON e.id = s.entry_id WHERE s.seq = %s", [t.seq - 1])
            found = self.cur.fetchone()
            if found is None:
                return self.diagnose(t.seq - 1) or dangling(t.seq - 1)
            previous, ahead = found[0], found[1] or None  # an entry gone is the previous range's to report
        walk = Walk(t.key, t.gaps, t.wanted, t.seq, previous, limit=t.limit, stop=t.stop, ahead=ahead,
                    claims_below=t.first)
        walk.last_id = t.after
        return walk

    def stream(self, walk: Walk) -> bool:
        """Walk the range's entries after `walk.last_id`; False when the walk stopped early (the
        COPY is then cancelled, and the transaction, snapshot and all, carries on)."""
        self.cur.execute("SAVEPOINT range_stream")
        try:
            with self.cur.copy(RANGE_SQL.format(after=int(walk.last_id), upto=int(self.task.upto))) as copy:
                finished: list[bool] = []
                walk.run(copy_rows(copy, finished))
                if not finished:
                    raise _StoppedEarly
        except _StoppedEarly:
            self.cur.execute("ROLLBACK TO SAVEPOINT range_stream")
            return False
        self.cur.execute("RELEASE SAVEPOINT range_stream")
        return True

    def walk_elsewhere(self, walk: Walk, finished: bool) -> None:
        """Walk, read one by one by seq, the links the stream does not bring (their entries are
        outside the range's ids) or has not brought yet, until one is still to come in the stream."""
        while not walk.done and not walk.problem:
            row = self.link_row(walk.expected)
            if row is None:
                walk.problem = self.diagnose(walk.expected)
                if walk.problem is None and finished and any(s > walk.expected for s in walk.pending):
                    walk.problem = dangling(walk.expected)
                return
            if not finished and walk.last_id < int(row.split(b"\t", 2)[1]) <= self.task.upto:
                return  # its entry is further on in this range's stream
            walk.run([row])

    def run(self) -> RangeResult:
        walk = self.start()
        if isinstance(walk, str):
            return RangeResult(problem=walk)
        while True:
            finished = self.stream(walk)
            if walk.problem:
                break
            self.walk_elsewhere(walk, finished)
            if walk.problem or finished:
                break
            if len(walk.pending) > walk.limit:
                walk.limit *= 2  # a long run of late entries, all there: carry on holding more
        return RangeResult(links=walk.links, last_seq=walk.last_seq, unsealed=walk.unsealed,
                           chain_at=walk.chain_at, problem=walk.problem)


def verify_range(task: Range) -> RangeResult:
    """A worker: verify one range on its own connection, in the parent's snapshot."""
    conn = _snapshot_reader(task.connect, task.snapshot)
    try:
        return _RangeWalker(conn, task).run()
    finally:
        conn.close()


# The worker's command: a fresh interpreter that reads its Range from stdin and writes its result.
WORKER = "from audit.core.sealing_ranges import serve; serve()"
PROJECT = str(Path(__file__).resolve().parents[2])  # where the `audit` package is found


def serve() -> None:
    """A worker process: one pickled Range in on stdin (from the parent, over a pipe: the chain key
    travels only there), its RangeResult out on stdout."""
    task = pickle.load(sys.stdin.buffer)  # noqa: S301 - from the parent that started it, over its pipe
    pickle.dump(verify_range(task), sys.stdout.buffer)
    sys.stdout.buffer.flush()


def _in_workers(tasks: list[Range]) -> list[RangeResult]:
    """Each range in a worker process of its own, all at once; their results in range order."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (PROJECT, os.environ.get("PYTHONPATH")) if p)}
    workers = []
    try:
        for task in tasks:
            worker = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      env=env)
            workers.append(worker)
            worker.stdin.write(pickle.dumps(task))
            worker.stdin.close()
        results = []
        for worker in workers:
            with worker.stdout:
                out = worker.stdout.read()
            if worker.wait() != 0:
                raise RuntimeError(f"an audit verification worker failed (exit {worker.returncode}); see its errors above")
            results.append(pickle.loads(out))  # noqa: S301 - our own worker's answer, over our own pipe
        return results
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            worker.stdout.close()


def split(first: int, head: int, parts: int, gaps: dict[int, tuple[int, str]]) -> list[int]:
    """Where the ranges of links [first, head] start: `parts` runs of about equal length, none
    starting inside a run a retention purge removed (it starts after the run instead)."""
    starts = []
    for k in range(parts):
        seq = first + k * (head - first + 1) // parts
        for start, (after, _) in gaps.items():
            if start <= seq < after:
                seq = after
        if seq <= head and (not starts or seq > starts[-1]):
            starts.append(seq)
    return starts


@dataclass
class Outcome:
    ranges: int
    links: int
    last_seq: int
    unsealed: int
    chain_at: dict[int, str]
    problem: str | None


def verify_in_ranges(*, connect: dict, key: bytes, gaps: dict[int, tuple[int, str]], wanted: set[int], seq: int,
                     previous: str, workers: int, limit: int) -> Outcome | None:
    """Links from `seq` (whose predecessor is `previous`) to the head, in `workers` ranges verified
    by as many processes in one exported snapshot; the first range's problem, if any, is the
    chain's first. None when the snapshot holds no link to cut into ranges."""
    reader = _snapshot_reader(connect, None)
    try:
        with reader.cursor() as cur:
            cur.execute("SELECT pg_catalog.pg_export_snapshot()")  # the transaction's first statement
            snapshot = cur.fetchone()[0]
            cur.execute("SELECT max(seq) FROM audit_auditseal")
            head = cur.fetchone()[0]
            starts = split(seq, head, workers, gaps) if head is not None and head >= seq else []
            if len(starts) < 2:
                return None
            afters = [FIRST_ID - 1]
            for start in starts[1:]:  # entries before the id of the range's first (existing) link go before it
                cur.execute("SELECT entry_id FROM audit_auditseal WHERE seq >= %s ORDER BY seq LIMIT 1", [start])
                afters.append(max(afters[-1], cur.fetchone()[0] - 1))
        after_gap = {after: chain for after, chain in gaps.values()}
        tasks = [Range(connect=connect, snapshot=snapshot, key=key, gaps=gaps, wanted=wanted, seq=start,
                       stop=starts[k + 1] if k + 1 < len(starts) else head + 1, after=afters[k],
                       upto=afters[k + 1] if k + 1 < len(starts) else LAST_ID, limit=limit,
                       previous=previous if k == 0 else after_gap.get(start), first=k == 0)
                 for k, start in enumerate(starts)]
        results = _in_workers(tasks)
    finally:
        reader.close()
    chain_at: dict[int, str] = {}
    for r in results:
        chain_at.update(r.chain_at)
    return Outcome(ranges=len(results), links=sum(r.links for r in results),
                   last_seq=max(r.last_seq for r in results), unsealed=sum(r.unsealed for r in results),
                   chain_at=chain_at, problem=next((r.problem for r in results if r.problem), None))
