"""The audit trail at scale: the DPO's per-person search and the chain's verification, each beside
its bare baseline, in one run, on a dedicated PostgreSQL database (`bench_audit`).

Loads `--entries` synthetic entries (default 5,000,000; `--entries 50000000` for issue 25's
national scale) and their subjects with COPY — disclosures naming 1-10 subjects, changes acting on
a record, sign-ins, refusals of case pages — spread over six years, about `--women` people
(default entries / 250). Then:

1. Per-person search, first page: `audit.oversight.review.person_entries(references)` (the product's query
   function: the count and the first 50 entries, newest first, with actor, organisation and
   programme: her entries' keys by a prepared statement, then the page's entries, ADR 54) beside
   the same statements run raw through psycopg — the same prepared `KEYS` with a generic plan,
   then the same page statement — interleaved, for `--people` people. Median latency of each and
   the ratio. Targets: within 2x of raw, under 200 ms median.
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
  try the fallback) is compared with `_audit_dataset.BYTES_PER_ENTRY` (measured at 5M entries with every index and
  the seals) times the entries still to load, with a margin (DISK_MARGIN). When it cannot hold the
  requested size the run says so and measures at 20,000,000 entries (FALLBACK_ENTRIES) instead; if
  even that does not fit it stops, having written nothing.
3. The live sealer with nothing to seal (`sealer_benchmark`): the minute's run, which reads past
   the chain's head only (ADR 55), beside the sweep, which reads the whole trail as every
   minute's run did before; then one new entry sealed, and a batch of 5,000, with its digests
   read within its months beside the same digests read from every month. Seals 5,001 entries
   into the data set.
- `--search-only` measures the search and not the verification; `--sealer-only` the search and
  the sealer.
- `--prepare` loads and seals, keeps the database and exits: the same command without it then
  measures (so that a long load can run apart from the measuring, e.g. on a quieter machine).
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
import random
import re
import signal
import statistics
import sys
import time

import _setup  # noqa: F401  (Django set up in test mode)
from _audit_dataset import (
    database_bytes,
    entries_that_fit,
    finish_loading,
    load,
    make_world,
    partitioned,
    read_marker,
    seal_all,
    start_loading,
)
from django.db import connection
from django.test.utils import setup_test_environment

SEARCH_TARGET_RATIO, SEARCH_TARGET_MS, VERIFY_TARGET_RATIO = 2.0, 200.0, 0.8


class Interrupted(KeyboardInterrupt):
    """SIGTERM, treated as Ctrl-C: the data is kept to be resumed."""


def _on_sigterm(signum, frame):
    raise Interrupted


def refs_of(w: int) -> list[str]:
    """The synthetic references about woman w (her record, children, decision, delivery rows)."""
    return [f"eligibility.woman:{w}", f"eligibility.child:{3 * w}", f"eligibility.child:{3 * w + 1}",
            f"eligibility.child:{3 * w + 2}", f"eligibility.decision:{w}", f"sharing.scopingwomanrow:{w}",
            f"sharing.releasedwoman:{w}", f"sharing.contactattempt:{2 * w}", f"sharing.contactattempt:{2 * w + 1}"]


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
    """Median latency of the product's per-person first page (count and entries) and of the same
    statements run raw through psycopg, interleaved: the keys (prepared, with a generic plan, as the
    product runs it), then the first page's entries by their keys."""
    import psycopg

    from audit.oversight.person_keys import (
        KEYS,
        by_keys,
        execute_sql,
        keys_parameters,
        newest_first,
        prepare_sql,
        targets,
        wanted_row,
    )
    from audit.oversight.review import PER_PAGE, _shown, person_entries

    rng = random.Random(3)
    chosen = [rng.randrange(1, women + 1) for _ in range(people)]
    settings = connection.settings_dict
    raw = psycopg.connect(host=settings["HOST"] or None, port=settings["PORT"] or None, user=settings["USER"],
                          password=settings["PASSWORD"] or None, dbname=settings["NAME"], autocommit=True)
    product_ms, raw_ms, found, raw_totals = [], [], [], []
    person_entries(refs_of(chosen[0]))  # warm-up (content types cached, the statement prepared, as in a running portal)
    from audit.core.models import AuditEntry

    shown = _shown(AuditEntry.objects.all())
    with raw.cursor() as cur:
        cur.execute(prepare_sql(KEYS))
    for w in chosen:
        refs = refs_of(w)
        keys_params = keys_parameters(refs)
        by_type = targets(refs)
        for turn in ("product", "raw") if rng.random() < 0.5 else ("raw", "product"):
            started = time.perf_counter()
            if turn == "product":
                page = person_entries(refs)
                rows = list(page.object_list)
                total = page.paginator.count
                product_ms.append((time.perf_counter() - started) * 1000)
                found.append((total, len(rows)))
            else:
                # (parameters bound in the client, as Django binds them: the page's times are then constants
                # the planner prunes the months by, and EXECUTE's parameters have no types of their own)
                with raw.transaction(), psycopg.ClientCursor(raw) as cur:
                    cur.execute("SELECT pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true)")
                    cur.execute(execute_sql(KEYS, len(keys_params)), keys_params)
                    keys = newest_first(row[:2] for row in cur.fetchall() if wanted_row(row, by_type))
                page_sql, page_params = by_keys(keys[:PER_PAGE], shown).query.sql_with_params()
                with psycopg.ClientCursor(raw) as cur:
                    cur.execute(page_sql, page_params)
                    cur.fetchall()
                raw_ms.append((time.perf_counter() - started) * 1000)
                raw_totals.append(len(keys))
    raw.close()
    assert raw_totals == [total for total, _ in found], "the raw statements found other entries than the product"
    return {"product_ms": statistics.median(product_ms), "raw_ms": statistics.median(raw_ms),
            "entries_per_person": statistics.median(t for t, _ in found), "people": len(chosen)}


def sealer_benchmark(rounds: int) -> dict:
    """The live sealer's run with nothing to seal, as every minute's beat run mostly is: the
    minute's read (`seal_pending()`: past the head only, ADR 55) beside the sweep's
    (`seal_pending(sweep=True)`: the whole trail, what every minute's run read before), after one
    untimed run of each, `rounds` times each, alternately; medians. Then one new entry sealed by
    the minute's run."""
    from audit.core import sealing
    from audit.core.log import Event, record_event

    minute, sweep = [], []
    sealing.seal_pending(), sealing.seal_pending(sweep=True)
    for _ in range(rounds):
        for samples, kwargs in ((minute, {}), (sweep, {"sweep": True})):
            started = time.perf_counter()
            assert sealing.seal_pending(**kwargs) == 0, "the benchmark's trail had unsealed entries"
            samples.append(time.perf_counter() - started)
    record_event(Event.CHANGE, reason="bench: one new entry")
    started = time.perf_counter()
    sealed = sealing.seal_pending()
    one = time.perf_counter() - started
    assert sealed == 1, sealed
    # A full batch: its digests read within the batch's months (ADR 55) beside the same digests
    # read from every month, as every batch read them before.
    from django.db import transaction

    from audit.core.models import AuditEntry
    from audit.core.sealing_digest import copy_digests

    with transaction.atomic():
        made = [record_event(Event.CHANGE, reason=f"bench: batch entry {i}").pk for i in range(sealing.BATCH)]
    started = time.perf_counter()
    sealed = sealing.seal_pending()
    batch = time.perf_counter() - started
    assert sealed == len(made), sealed
    times = dict(AuditEntry.objects.filter(pk__in=made).values_list("id", "timestamp"))
    started = time.perf_counter()
    within = copy_digests(made, times)
    within_s = time.perf_counter() - started
    started = time.perf_counter()
    every = copy_digests(made)
    every_s = time.perf_counter() - started
    assert within == every, "the digests read within the batch's months differ from those read from every month"
    return {"minute_ms": statistics.median(minute) * 1e3, "sweep_ms": statistics.median(sweep) * 1e3,
            "one_ms": one * 1e3, "batch": len(made), "batch_ms": batch * 1e3, "within_ms": within_s * 1e3,
            "every_ms": every_s * 1e3}


def print_sealer(figures: dict, entries: int) -> None:
    print(f"Live sealer over {entries:,} sealed entries, nothing to seal (median):")
    print(f"  the minute's run (past the head, ADR 55): {figures['minute_ms']:.1f} ms")
    print(f"  the sweep (the whole trail; before ADR 55 every minute's run): {figures['sweep_ms']:.1f} ms "
          f"(the minute's run takes {figures['minute_ms'] / figures['sweep_ms']:.3f} of it)")
    print(f"  one new entry sealed by the minute's run: {figures['one_ms']:.1f} ms")
    print(f"  a batch of {figures['batch']:,} new entries sealed: {figures['batch_ms']:,.0f} ms; its digests read "
          f"within the batch's months {figures['within_ms']:,.0f} ms, beside {figures['every_ms']:,.0f} ms from "
          f"every month as before (the same digests; {figures['within_ms'] / figures['every_ms']:.3f} of the time)")


def run(args, marker: dict) -> None:
    entries, women, world = marker["target"], marker["women"], marker["world"]
    started = time.perf_counter()
    subjects = load(entries, women, world, marker["seed"]) if not marker.get("loaded") else None
    if subjects is not None:
        finish_loading(marker, entries, subjects)
        print(f"Loaded {entries:,} entries and {subjects:,} subjects about {women:,} people "
              f"in {time.perf_counter() - started:.0f} s (COPY in committed chunks, indexes rebuilt)")
    if args.prepare:
        if not marker.get("sealed"):
            started = time.perf_counter()
            seal_all()
            print(f"Sealed {entries:,} entries in {time.perf_counter() - started:.0f} s")
        print(f"Prepared {args.db_name}: loaded and sealed, kept. Run the same command without --prepare to measure.")
        return
    search = search_benchmark(women, args.people)
    ratio = search["product_ms"] / search["raw_ms"]
    print(f"Per-person search, first page ({search['people']} people, median {search['entries_per_person']:.0f} "
          f"entries each, {entries:,} entries):")
    print(f"  product (audit.oversight.review.person_entries): {search['product_ms']:.1f} ms median")
    print(f"  raw SQL through psycopg (baseline):    {search['raw_ms']:.1f} ms median")
    print(f"  ratio {ratio:.2f}x (target <= {SEARCH_TARGET_RATIO}x), "
          f"{'meets' if search['product_ms'] < SEARCH_TARGET_MS else 'MISSES'} the {SEARCH_TARGET_MS:.0f} ms target")

    if args.search_only:
        return
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
    if args.sealer_only:  # (seals one entry: a kept data set then differs from a fresh one by it)
        print_sealer(sealer_benchmark(args.rounds), entries)
        return
    verify_benchmark(entries, args.rounds)
    print_sealer(sealer_benchmark(args.rounds), entries)
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
    parser.add_argument("--prepare", action="store_true",
                        help="load and seal only, keep the database and exit (measure later: the same command without it)")
    parser.add_argument("--search-only", action="store_true", help="measure the per-person search only")
    parser.add_argument("--sealer-only", action="store_true",
                        help="measure the live sealer's run with nothing to seal only (after the search)")
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
        if not interrupted and not args.keep and not args.prepare:
            connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


if __name__ == "__main__":
    sys.exit(main())
