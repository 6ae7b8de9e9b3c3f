"""The audit trail at scale: the DPO's per-person search and the chain's verification, each beside
its bare baseline, in one run, on a dedicated PostgreSQL database (`bench_audit`).

Loads `--entries` synthetic entries (default 5,000,000; `--entries 50000000` for issue 25's
national scale) and their subjects with COPY — disclosures naming 1-10 subjects, changes acting on
a record, sign-ins, refusals of case pages — spread over six years, about `--women` people
(default entries / 250). Then:

1. Per-person search, first page: `audit.oversight.review.person_entries(references)` (the product's query
   function: count and first 50 entries, newest first, with actor, organisation and programme)
   beside the same two SQL statements run raw through psycopg, interleaved, for `--people` people.
   Median latency of each and the ratio. Targets: within 2x of raw, under 200 ms median.
2. Verification: the entries are sealed (`seal_all`: the chain computed with the product's own
   digest and `link`, written with COPY — `seal_pending` one batch at a time would take hours
   here), then `audit.core.sealing.verify()` is timed (on both cores above
   `sealing_verify.PARALLEL_MIN_LINKS` links: ADR 53), beside a bare stream of the same rows (one
   plain `COPY ... TO STDOUT` per table — entries, subjects, seals — hashed with SHA-256 in one
   process), after one untimed stream, `--rounds` times each, alternately; the best of each
   compared. Target: at least 0.8 of the stream's rate (VERIFY_TARGET_RATIO).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres PORTAL_ENV=test \\
        .venv/bin/python bench/audit.py [--entries 5000000] [--people 40] [--women N] [--db-name NAME]

At scale (issue 25): the data set is loaded in committed chunks of 100,000 entries (each chunk's
entries and subjects one transaction; ids, times and contents depend only on the chunk, the
target size and `--seed`), and sealed in committed chunks too. A marker table in the benchmark
database (`bench_audit_marker`) records the requested and actual size, the seed and what is done,
so running the same command again (same `--db-name`, `--entries`, `--women`, `--seed`) carries on
from what is there instead of starting again; any other size or seed starts afresh.

- Disk: before anything is written the free space on PostgreSQL's data directory (`SHOW
  data_directory`; `--assume-free-bytes N` to state it instead, e.g. for a remote server or to
  try the fallback) is compared with BYTES_PER_ENTRY (measured at 5M entries with every index and
  the seals) times the entries still to load, with a margin (DISK_MARGIN). When it cannot hold the
  requested size the run says so and measures at 20,000,000 entries (FALLBACK_ENTRIES) instead; if
  even that does not fit it stops, having written nothing.
- Afterwards the database is dropped (unless `--keep`), also after an error; but an interrupted
  run (Ctrl-C, SIGINT or SIGTERM) keeps it, to be resumed by running the same command again, and
  says so. `--drop` drops a kept database and exits.
- The loader works on today's single tables and on the month-partitioned ones (issue 25, point 3):
  when audit_auditsubject/audit_auditseal have an `entry_time` column it is filled with the
  entry's time; the months the data spans are created first when the entries are partitioned.
  While loading, the secondary indexes of the entries and subjects (the parents' only: dropping a
  partitioned table's index drops its partitions') and their foreign keys are dropped, their
  definitions kept in the marker, and they are made again afterwards (foreign keys validated);
  no `session_replication_role`.

    # the national-scale run (issue 25), resumable: run it again after an interruption
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres PORTAL_ENV=test \\
        .venv/bin/python bench/audit.py --entries 50000000 --db-name bench_audit_50m
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import io
import json
import random
import re
import shutil
import signal
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta

import _setup  # noqa: F401  (Django set up in test mode)
import psycopg
from django.db import connection, transaction
from django.test.utils import setup_test_environment

SEARCH_TARGET_RATIO, SEARCH_TARGET_MS, VERIFY_TARGET_RATIO = 2.0, 200.0, 0.8
START = datetime(2020, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=6 * 365)
CHUNK = 100_000
MARKER = "bench_audit_marker"
# Database bytes per entry once loaded, indexed and sealed (entries, ~2.6 subjects each, seals and
# every index), measured at 5M entries on today's schema; DISK_MARGIN covers the sorts of the
# index builds, WAL and estimate error.
BYTES_PER_ENTRY = 1_100
DISK_MARGIN = 1.3
FALLBACK_ENTRIES = 20_000_000
TABLES = ("audit_auditentry", "audit_auditsubject")


class Interrupted(KeyboardInterrupt):
    """SIGTERM, treated as Ctrl-C: the data is kept to be resumed."""


def _on_sigterm(signum, frame):
    raise Interrupted


def refs_of(w: int) -> list[str]:
    """The synthetic references about woman w (her record, children, decision, delivery rows)."""
    return [f"eligibility.woman:{w}", f"eligibility.child:{3 * w}", f"eligibility.child:{3 * w + 1}",
            f"eligibility.child:{3 * w + 2}", f"eligibility.decision:{w}", f"sharing.scopingwomanrow:{w}",
            f"sharing.releasedwoman:{w}", f"sharing.contactattempt:{2 * w}", f"sharing.contactattempt:{2 * w + 1}"]


def subject_of(rng: random.Random, w: int) -> str:
    roll = rng.random()
    if roll < 0.6:
        return f"eligibility.woman:{w}"
    if roll < 0.75:
        return f"sharing.releasedwoman:{w}"
    if roll < 0.85:
        return f"eligibility.child:{3 * w + rng.randrange(3)}"
    if roll < 0.95:
        return f"sharing.contactattempt:{2 * w + rng.randrange(2)}"
    return f"sharing.scopingwomanrow:{w}"


def has_entry_time(table: str) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
                    "AND table_name = %s AND column_name = 'entry_time'", [table])
        return cur.fetchone() is not None


def partitioned(table: str) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cur.fetchone()
        return bool(row and row[0])


# --- the marker: what this database holds and what is done ----------------------------------------
def read_marker(db_name: str) -> dict | None:
    """The marker of an existing benchmark database, or None (no such database, or no marker)."""
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db_name])
        if cur.fetchone() is None:
            return None
    params = {k: v for k, v in connection.get_connection_params().items()
              if isinstance(v, str | int) and not isinstance(v, bool)}
    with psycopg.connect(**{**params, "dbname": db_name}) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [MARKER])
        if not cur.fetchone()[0]:
            return None
        cur.execute(f"SELECT state FROM {MARKER}")  # noqa: S608 - a fixed name
        row = cur.fetchone()
        return row[0] if row else None


def update_marker(**changes) -> None:
    with connection.cursor() as cur:
        cur.execute(f"UPDATE {MARKER} SET state = state || %s::jsonb", [json.dumps(changes)])  # noqa: S608


def database_bytes() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_database_size(current_database())")
        return cur.fetchone()[0]


# --- the disk ----------------------------------------------------------------------------------------
def entries_that_fit(requested: int, held_bytes: int, assume_free: int | None) -> int:
    """The requested size when the data directory's disk can hold what is still to be written (with
    the margin), else FALLBACK_ENTRIES when that fits (saying so); exits when neither does."""
    if assume_free is None:
        with connection.cursor() as cur:
            cur.execute("SHOW data_directory")
            data_directory = cur.fetchone()[0]
        try:
            free, where = shutil.disk_usage(data_directory).free, f"free on {data_directory}"
        except OSError as exc:
            sys.exit(f"cannot measure the free disk of PostgreSQL's data directory {data_directory} ({exc}): "
                     "is the server on another machine? State it with --assume-free-bytes N.")
    else:
        free, where = assume_free, "free (--assume-free-bytes)"

    def needed(n: int) -> int:
        return max(0, int(n * BYTES_PER_ENTRY * DISK_MARGIN) - held_bytes)

    print(f"Disk: {free / 1e9:,.1f} GB {where}; {requested:,} entries need about {needed(requested) / 1e9:,.1f} GB "
          f"more ({BYTES_PER_ENTRY:,} bytes an entry with indexes and seals, x{DISK_MARGIN} margin)")
    if needed(requested) <= free:
        return requested
    if requested > FALLBACK_ENTRIES and needed(FALLBACK_ENTRIES) <= free:
        print(f"The disk cannot hold {requested:,} entries: measuring at {FALLBACK_ENTRIES:,} instead "
              f"(about {needed(FALLBACK_ENTRIES) / 1e9:,.1f} GB).")
        return FALLBACK_ENTRIES
    sys.exit(f"The disk cannot hold {min(requested, FALLBACK_ENTRIES):,} entries "
             f"(about {needed(min(requested, FALLBACK_ENTRIES)) / 1e9:,.1f} GB): nothing was written.")


# --- loading, in committed chunks -----------------------------------------------------------------
def start_loading(state: dict) -> None:
    """A fresh database: the marker, and the entries' and subjects' secondary indexes and foreign
    keys dropped (their definitions in the marker, to be made again after the load), in one
    transaction; the months the data spans created when the trail is partitioned."""
    if partitioned("audit_auditentry"):
        months = importlib.import_module("audit.core.partitions")  # the partitioned schema's (issue 25)
        last = START + SPAN
        months.ensure_months(date(START.year, START.month, 1), date(last.year, last.month, 1))
    with transaction.atomic(), connection.cursor() as cur:
        # the parents' own indexes (a partitioned index's DROP takes its partitions' with it), not
        # those backing a constraint (primary and unique keys stay)
        cur.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                    "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                    "WHERE c.conindid = to_regclass(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))) "
                    "ORDER BY i.indexname", [list(TABLES)])
        indexes = cur.fetchall()
        cur.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE contype = 'f' AND conrelid = ANY(ARRAY[to_regclass(%s), to_regclass(%s)]) "
                    "AND conparentid = 0 ORDER BY conname", list(TABLES))
        foreign_keys = cur.fetchall()
        cur.execute(f"CREATE TABLE {MARKER} (id int PRIMARY KEY CHECK (id = 1), state jsonb NOT NULL)")
        cur.execute(f"INSERT INTO {MARKER} VALUES (1, %s::jsonb)",  # noqa: S608 - a fixed name
                    [json.dumps({**state, "indexes": indexes, "foreign_keys": foreign_keys})])
        for table, name, _ in foreign_keys:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')


def load_chunk(start: int, entries: int, women: int, world: dict, seed: int, subject_id: int,
               entry_time: bool) -> int:
    """Entries start..start+CHUNK-1 and their subjects (ids from subject_id + 1), COPYed in one
    transaction; returns the last subject id. Everything depends only on the chunk, so a chunk
    is either wholly there or not at all."""
    rng = random.Random(f"{seed}:{entries}:{start}")
    ct, people, programme, org = world["ct"], world["people"], world["programme"], world["org"]
    step = SPAN / entries
    out_e, out_s = io.StringIO(), io.StringIO()
    for i in range(start, min(start + CHUNK, entries + 1)):
        when = (START + step * i).isoformat()
        actor = people[rng.randrange(len(people))]
        roll = rng.random()
        w = rng.randrange(1, women + 1)
        obj_id, obj_pk, page, status, n, subjects = "\\N", "", "/records/eligibility/", "\\N", 0, []
        if roll < 0.55:
            event, kind, action, reason = "disclosure", ct["eligibility.woman"], 3, ""
            n = 1 if rng.random() < 0.5 else rng.randint(2, 10)
            subjects = [subject_of(rng, w if k == 0 else rng.randrange(1, women + 1)) for k in range(n)]
            repr_ = f"eligibility.woman: {n} shown"
        elif roll < 0.75:
            event, kind, action = "change", ct["eligibility.decision"], 0
            obj_id, obj_pk, repr_ = str(w), str(w), f"eligibility.decision:{w}"
            reason, n, subjects = f"eligibility decision #{w}: Eligible", 1, [f"eligibility.woman:{w}"]
            page = f"/records/women/{w}/"
        elif roll < 0.90:
            event, kind, action, reason = "sign_in", ct["sharing.person"], 3, "password accepted"
            obj_id, obj_pk, repr_, page = str(actor), str(actor), f"sharing.person:{actor}", "/account/sign-in/"
        elif roll < 0.95:
            event, kind, action, reason = "refused", ct["sharing.person"], 3, "GET refused"
            repr_, page, status = f"sharing.person:{actor}", f"/records/women/{w}/", "404"
        else:
            event, kind, action, reason = "disclosure", ct["sharing.person"], 3, "staff details"
            repr_, page = "sharing.person: 3 shown", "/"
        out_e.write(f"{i}\t{kind}\t{obj_pk}\t{obj_id}\t{repr_}\t\\N\t{action}\t\t\\N\t{actor}\t\\N\t"
                    f"10.0.{i % 250}.{i % 200}\t\\N\t{when}\t\\N\t\\N\t{event}\ttrust_caseworker\t{org}\t"
                    f"{programme}\tdelivery\t{i:032x}\t{page}\t{status}\t{reason}\t{n}\n")
        tail = f"\t{when}\n" if entry_time else "\n"
        for subject in subjects:
            subject_id += 1
            out_s.write(f"{subject_id}\t{i}\t{subject}{tail}")
    with transaction.atomic(), connection.cursor() as cur:
        raw = cur.cursor
        with raw.copy("COPY audit_auditentry (id, content_type_id, object_pk, object_id, object_repr, "
                      "serialized_data, action, changes_text, changes, actor_id, cid, remote_addr, remote_port, "
                      "timestamp, additional_data, actor_email, event, role, organisation_id, programme_id, "
                      "phase, request_id, page, status_code, reason, subject_count) FROM STDIN") as copy:
            copy.write(out_e.getvalue())
        columns = "id, entry_id, subject, entry_time" if entry_time else "id, entry_id, subject"
        with raw.copy(f"COPY audit_auditsubject ({columns}) FROM STDIN") as copy:
            copy.write(out_s.getvalue())
    return subject_id


def load(entries: int, women: int, world: dict, seed: int) -> int:
    """COPY the entries and subjects not loaded yet, a committed chunk at a time; returns how
    many subjects there are."""
    entry_time = has_entry_time("audit_auditsubject")
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM audit_auditentry")
        loaded = cur.fetchone()[0]
        cur.execute("SELECT coalesce(max(id), 0) FROM audit_auditsubject")
        subject_id = cur.fetchone()[0]
    if loaded % CHUNK and loaded != entries:
        raise RuntimeError(f"{loaded:,} entries loaded: not a whole number of chunks; start afresh (--drop)")
    if loaded:
        print(f"  resuming: {loaded:,} of {entries:,} entries already loaded", file=sys.stderr)
    for start in range(loaded + 1, entries + 1, CHUNK):
        subject_id = load_chunk(start, entries, women, world, seed, subject_id, entry_time)
        print(f"  loaded {min(start + CHUNK - 1, entries):,} entries", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    return subject_id


def finish_loading(marker: dict, entries: int, subjects: int) -> None:
    """The dropped indexes and foreign keys made again (those not made yet: this too may be
    interrupted), the id sequences moved past the data, statistics gathered."""
    with connection.cursor() as cur:
        for name, definition in marker["indexes"]:
            cur.execute("SELECT to_regclass(quote_ident(current_schema()) || '.' || quote_ident(%s))", [name])
            if cur.fetchone()[0] is None:
                print(f"  index {name}", file=sys.stderr)
                cur.execute(definition.replace(" ON ONLY ", " ON ", 1))  # a partitioned index on every partition
        for table, name, definition in marker["foreign_keys"]:
            cur.execute("SELECT 1 FROM pg_constraint WHERE conname = %s AND conrelid = to_regclass(%s)", [name, table])
            if cur.fetchone() is None:
                print(f"  foreign key {name}", file=sys.stderr)
                cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cur.execute("SELECT setval(pg_get_serial_sequence('audit_auditentry', 'id'), %s)", [entries])
        cur.execute("SELECT setval(pg_get_serial_sequence('audit_auditsubject', 'id'), %s)", [max(subjects, 1)])
        cur.execute("ANALYZE audit_auditentry")
        cur.execute("ANALYZE audit_auditsubject")
    update_marker(loaded=True)


def seal_all() -> None:
    """The chain over every entry in id order, as `seal_pending` would have sealed it (digests by
    the product's own `copy_digest` over the entries' COPY text, links by its `link`), read and
    written with COPY one id range at a time, each range one transaction (`seal_pending`, a batch at
    a time, would take hours here). Carries on after the last link there is. Each entry is sealed
    a second after it was written, as by a sealer running all along."""
    from audit.core.sealing_chain import GENESIS, chain_key, link
    from audit.core.sealing_digest import ENTRY_FIELDS, SUBJECTS_OF, copy_digest, fix_session

    key, entry_time = chain_key(), has_entry_time("audit_auditseal")
    columns = "seq, entry_id, entry_digest, chain, sealed_at, late" + (", entry_time" if entry_time else "")
    with connection.cursor() as cur:
        cur.execute("SELECT seq, entry_id, chain FROM audit_auditseal ORDER BY seq DESC LIMIT 1")
        head = cur.fetchone()
        cur.execute("SELECT max(id) FROM audit_auditentry")
        last = cur.fetchone()[0] or 0
        cur.execute("SELECT min(id) FROM audit_auditentry")
        first = cur.fetchone()[0] or 1
    seq, previous, begin = (head[0], head[2], head[1] + 1) if head else (0, GENESIS, first)
    if head:
        print(f"  resuming: {seq:,} entries already sealed", file=sys.stderr)
    for low in range(begin, last + 1, CHUNK):
        out = io.BytesIO()
        with transaction.atomic(), connection.cursor() as cur:
            fix_session(cur)
            query = (f"COPY (SELECT e.timestamp + interval '1 second', e.timestamp, {SUBJECTS_OF}, "  # noqa: S608
                     f"{ENTRY_FIELDS} FROM audit_auditentry e WHERE e.id >= {low} AND e.id < {low + CHUNK} "
                     "ORDER BY e.id) TO STDOUT")
            with cur.cursor.copy(query) as copy:
                data = b"".join(bytes(block) for block in copy)
            for line in data.splitlines():
                sealed_at, written, subjects, entry = line.split(b"\t", 3)
                entry_id, digest = int(entry[:entry.index(b"\t")]), copy_digest(entry, subjects).decode()
                seq += 1
                previous = link(key, seq, entry_id, digest, previous)
                out.write(f"{seq}\t{entry_id}\t{digest}\t{previous}\t".encode() + sealed_at
                          + (b"\tf\t" + written + b"\n" if entry_time else b"\tf\n"))
            with cur.cursor.copy(f"COPY audit_auditseal ({columns}) FROM STDIN") as copy:
                copy.write(out.getvalue())
        print(f"  sealed {seq:,}", file=sys.stderr, end="\r")
    with connection.cursor() as cur:
        cur.execute("ANALYZE audit_auditseal")
    print(file=sys.stderr)
    update_marker(sealed=True)


def bare_stream() -> tuple[int, float]:
    """The same rows as a plain COPY to the client, hashed: bytes read and seconds."""
    digest, size = hashlib.sha256(), 0
    started = time.perf_counter()
    with connection.cursor() as cur:
        for table in ("audit_auditentry", "audit_auditsubject", "audit_auditseal"):
            # a partitioned table is copied out through a query (COPY refuses the table itself)
            source = f"(SELECT * FROM {table})" if partitioned(table) else table
            with cur.cursor.copy(f"COPY {source} TO STDOUT") as copy:  # noqa: S608 - fixed names
                for block in copy:
                    digest.update(block)
                    size += len(block)
    return size, time.perf_counter() - started


def verify_benchmark(entries: int, rounds: int) -> None:
    """`audit.core.sealing.verify()` beside the bare stream, after one untimed stream (so neither reads
    a cold cache the other warmed), `rounds` times each, alternately; the best of each is compared."""
    from audit.core import sealing

    bare_stream()
    stream_s, verify_s, size = [], [], 0
    for _ in range(rounds):
        size, seconds = bare_stream()
        stream_s.append(seconds)
        started = time.perf_counter()
        result = sealing.verify()
        verify_s.append(time.perf_counter() - started)
        assert result.ok and result.links == entries, result.problems
    stream_rate, verify_rate = entries / min(stream_s), entries / min(verify_s)
    print(f"Verification (best of {rounds}, alternately, after a warm-up stream):")
    print(f"  audit.core.sealing.verify() ({result.ranges} process{'es' if result.ranges > 1 else ''}): "
          f"{verify_rate:,.0f} entries/s ({min(verify_s):.1f} s; runs "
          f"{', '.join(f'{s:.1f}' for s in verify_s)} s; {entries:,} links)")
    print(f"  bare stream (COPY TO STDOUT + sha256, {size / 1e6:,.0f} MB): {stream_rate:,.0f} entries/s "
          f"({min(stream_s):.1f} s; runs {', '.join(f'{s:.1f}' for s in stream_s)} s)")
    print(f"  ratio {verify_rate / stream_rate:.2f} (target >= {VERIFY_TARGET_RATIO})")


def search_benchmark(women: int, people: int) -> dict:
    """Median latency of the product's per-person first page and of its SQL run raw, interleaved."""
    import psycopg

    from audit.oversight.review import PER_PAGE, person_entries, person_entries_queryset

    rng = random.Random(3)
    chosen = [rng.randrange(1, women + 1) for _ in range(people)]
    settings = connection.settings_dict
    raw = psycopg.connect(host=settings["HOST"] or None, port=settings["PORT"] or None, user=settings["USER"],
                          password=settings["PASSWORD"] or None, dbname=settings["NAME"], autocommit=True)
    product_ms, raw_ms, found = [], [], []
    person_entries(refs_of(chosen[0]))  # warm-up (content types cached, as in a running portal)
    for w in chosen:
        refs = refs_of(w)
        queryset = person_entries_queryset(refs)
        count_sql, count_params = queryset.order_by().values("pk").query.sql_with_params()
        count_sql = f"SELECT COUNT(*) FROM ({count_sql}) counted"  # noqa: S608 - Django's own SQL
        page_sql, page_params = queryset[:PER_PAGE].query.sql_with_params()
        for turn in ("product", "raw") if rng.random() < 0.5 else ("raw", "product"):
            started = time.perf_counter()
            if turn == "product":
                page = person_entries(refs)
                rows = list(page.object_list)
                total = page.paginator.count
                product_ms.append((time.perf_counter() - started) * 1000)
                found.append((total, len(rows)))
            else:
                with raw.cursor() as cur:
                    cur.execute(count_sql, count_params)
                    cur.fetchone()
                    cur.execute(page_sql, page_params)
                    cur.fetchall()
                raw_ms.append((time.perf_counter() - started) * 1000)
    raw.close()
    return {"product_ms": statistics.median(product_ms), "raw_ms": statistics.median(raw_ms),
            "entries_per_person": statistics.median(t for t, _ in found), "people": len(chosen)}


def make_world() -> dict:
    from django.contrib.contenttypes.models import ContentType

    from audit.core.bypass import audit_bypass
    from pause_portal.tenancy.roles import Role
    from tests import factories as f

    programme = f.programme(phase="delivery")
    people = [f.person(programme.trust, with_device=False) for _ in range(200)]
    for p in people[:5]:
        f.membership(p, programme, Role.TRUST_CASEWORKER)
    # The fixtures' own entries go: the trail's ids are the bench's.
    with audit_bypass("bench: empty the trail before loading"), connection.cursor() as cur:
        cur.execute("DELETE FROM audit_auditsubject")
        cur.execute("DELETE FROM audit_auditentry")
    return {"programme": programme.pk, "org": programme.trust_id, "people": [p.pk for p in people],
            "ct": {label: ContentType.objects.get_by_natural_key(*label.split(".")).pk
                   for label in ("eligibility.woman", "eligibility.decision", "sharing.person")}}


def run(args, marker: dict) -> None:
    entries, women, world = marker["target"], marker["women"], marker["world"]
    started = time.perf_counter()
    subjects = load(entries, women, world, marker["seed"]) if not marker.get("loaded") else None
    if subjects is not None:
        finish_loading(marker, entries, subjects)
        print(f"Loaded {entries:,} entries and {subjects:,} subjects about {women:,} people "
              f"in {time.perf_counter() - started:.0f} s (COPY in committed chunks, indexes rebuilt)")
    search = search_benchmark(women, args.people)
    ratio = search["product_ms"] / search["raw_ms"]
    print(f"Per-person search, first page ({search['people']} people, median {search['entries_per_person']:.0f} "
          f"entries each, {entries:,} entries):")
    print(f"  product (audit.oversight.review.person_entries): {search['product_ms']:.1f} ms median")
    print(f"  raw SQL through psycopg (baseline):    {search['raw_ms']:.1f} ms median")
    print(f"  ratio {ratio:.2f}x (target <= {SEARCH_TARGET_RATIO}x), "
          f"{'meets' if search['product_ms'] < SEARCH_TARGET_MS else 'MISSES'} the {SEARCH_TARGET_MS:.0f} ms target")

    if not marker.get("sealed"):
        started = time.perf_counter()
        seal_all()
        print(f"Sealed {entries:,} entries in {time.perf_counter() - started:.0f} s")
    # ... and checkpointed, as the sealer checkpoints every run (ADR 14), in a folder of its own.
    import tempfile

    from django.conf import settings

    from audit.core import sealing

    settings.PORTAL_AUDIT_CHECKPOINT_DIR = tempfile.mkdtemp(prefix="bench-audit-checkpoints-")
    settings.PORTAL_AUDIT_CHECKPOINT_DATABASE_URL = ""
    sealing.write_checkpoint(start_empty_store=True)
    verify_benchmark(entries, args.rounds)
    print(f"Database {args.db_name}: {database_bytes() / 1e9:,.2f} GB ({database_bytes() / entries:,.0f} bytes an entry)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=5_000_000)
    parser.add_argument("--women", type=int, default=0, help="people the entries are about (default entries/250)")
    parser.add_argument("--people", type=int, default=40, help="person searches timed")
    parser.add_argument("--rounds", type=int, default=3, help="verification and bare stream runs, each")
    parser.add_argument("--seed", type=int, default=8, help="the data set's seed (part of what a resume must match)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--db-name", default="bench_audit", help="the throwaway database (dropped at the end)")
    parser.add_argument("--assume-free-bytes", type=int, default=None,
                        help="the free disk to plan with, instead of measuring PostgreSQL's data directory")
    parser.add_argument("--drop", action="store_true", help="drop a kept or interrupted benchmark database, and exit")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("bench/audit.py needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    if args.entries < 1 or (args.assume_free_bytes is not None and args.assume_free_bytes < 0):
        print("--entries must be positive and --assume-free-bytes not negative", file=sys.stderr)
        return 2
    setup_test_environment()
    connection.settings_dict.setdefault("TEST", {})["NAME"] = args.db_name
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.db_name):
        print("--db-name: lower-case letters, digits and underscores", file=sys.stderr)
        return 2
    if args.drop:
        with connection.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{args.db_name}"')
        print(f"Dropped {args.db_name} (if it was there).")
        return 0
    marker = read_marker(args.db_name)
    request = {"requested": args.entries, "women_arg": args.women, "seed": args.seed}
    resume = marker is not None and all(marker.get(k) == v for k, v in request.items())
    if marker is not None and not resume:
        print(f"{args.db_name} holds another data set ({marker.get('requested'):,} entries, seed "
              f"{marker.get('seed')}): starting afresh.")
    held = 0
    if resume:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_database_size(%s)", [args.db_name])
            held = cur.fetchone()[0]
    entries = entries_that_fit(marker["target"] if resume else args.entries, held, args.assume_free_bytes)
    if resume and entries != marker["target"]:
        sys.exit(f"{args.db_name} holds part of {marker['target']:,} entries, more than the disk can now hold: "
                 "drop it (--drop) and run again.")
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C interrupts even where started with it ignored
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=resume)
    interrupted = False
    try:
        if resume:
            print(f"Resuming {args.db_name}: {entries:,} entries, seed {args.seed} "
                  f"({'loaded' if marker.get('loaded') else 'loading'}, {'sealed' if marker.get('sealed') else 'not sealed'}).")
        else:
            marker = {**request, "target": entries, "women": args.women or max(1000, entries // 250),
                      "world": make_world()}
            start_loading(marker)
            marker = read_marker(args.db_name)
        run(args, marker)
        return 0
    except KeyboardInterrupt:
        interrupted = True
        print(f"\nInterrupted: {args.db_name} is kept with what was committed. Run the same command again to carry "
              "on, or with --drop to drop it.", file=sys.stderr)
        return 130
    finally:
        if not interrupted and not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


if __name__ == "__main__":
    sys.exit(main())
