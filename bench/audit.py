"""The audit trail at scale: the DPO's per-person search and the chain's verification, each beside
its bare baseline, in one run, on a dedicated PostgreSQL database (`bench_audit`).

Loads `--entries` synthetic entries (default 5,000,000) and their subjects with COPY — disclosures
naming 1-10 subjects, changes acting on a record, sign-ins, refusals of case pages — spread over
six years, about `--women` people (default entries / 250). Then:

1. Per-person search, first page: `audit.oversight.review.person_entries(references)` (the product's query
   function: count and first 50 entries, newest first, with actor, organisation and programme)
   beside the same two SQL statements run raw through psycopg, interleaved, for `--people` people.
   Median latency of each and the ratio. Targets: within 2x of raw, under 200 ms median.
2. Verification: the entries are sealed (`seal_all`: the chain computed with the product's own
   digest and `link`, written with COPY — `seal_pending` one batch at a time would take hours
   here), then `audit.core.sealing.verify()` is timed, beside a bare stream of the same rows (`COPY ...
   TO STDOUT` of the entries, subjects and seals, hashed with SHA-256), after one untimed stream,
   `--rounds` times each, alternately; the best of each compared. Target: at least 50% of the
   stream's rate.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres PORTAL_ENV=test \\
        .venv/bin/python bench/audit.py [--entries 5000000] [--people 40] [--women N]

The database is created (and dropped at the end, unless --keep) under the name bench_audit, or
--db-name (so that two runs on one server do not drop each other's).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import _setup  # noqa: F401  (Django set up in test mode)
from django.db import connection
from django.test.utils import setup_test_environment

SEARCH_TARGET_RATIO, SEARCH_TARGET_MS, VERIFY_TARGET_RATIO = 2.0, 200.0, 0.5
START = datetime(2020, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=6 * 365)
CHUNK = 100_000


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


def load(entries: int, women: int, world: dict) -> int:
    """COPY the entries and subjects (constraints and indexes off while loading, rebuilt after)."""
    rng = random.Random(8)
    ct, people, programme, org = world["ct"], world["people"], world["programme"], world["org"]
    step = SPAN / entries
    subject_id = 0
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef, indexname FROM pg_indexes WHERE tablename IN ('audit_auditentry', "
                    "'audit_auditsubject') AND indexname NOT LIKE '%%_pkey'")
        indexes = cur.fetchall()
        for _, name in indexes:
            cur.execute(f'DROP INDEX "{name}"')  # a partitioned table's: every partition's with it (ADR 52)
        cur.execute("SET session_replication_role = replica")  # no FK triggers while bulk loading
        raw = cur.cursor
        for start in range(1, entries + 1, CHUNK):
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
                for s in subjects:
                    subject_id += 1
                    out_s.write(f"{subject_id}\t{i}\t{s}\t{when}\n")
            with raw.copy("COPY audit_auditentry (id, content_type_id, object_pk, object_id, object_repr, "
                          "serialized_data, action, changes_text, changes, actor_id, cid, remote_addr, remote_port, "
                          "timestamp, additional_data, actor_email, event, role, organisation_id, programme_id, "
                          "phase, request_id, page, status_code, reason, subject_count) FROM STDIN") as copy:
                copy.write(out_e.getvalue())
            with raw.copy("COPY audit_auditsubject (id, entry_id, subject, entry_time) FROM STDIN") as copy:
                copy.write(out_s.getvalue())
            print(f"  loaded {min(start + CHUNK - 1, entries):,} entries", file=sys.stderr, end="\r")
        cur.execute("SET session_replication_role = origin")
        for definition, _ in indexes:  # (a partitioned table's reads "ON ONLY": made on every partition)
            cur.execute(definition.replace(" ON ONLY ", " ON "))
        cur.execute("SELECT setval(pg_get_serial_sequence('audit_auditentry', 'id'), %s)", [entries])
        cur.execute("SELECT setval(pg_get_serial_sequence('audit_auditsubject', 'id'), %s)", [max(subject_id, 1)])
        cur.execute("ANALYZE audit_auditentry")
        cur.execute("ANALYZE audit_auditsubject")
    print(file=sys.stderr)
    return subject_id


def seal_all() -> None:
    """The chain over every entry in id order, as `seal_pending` would have sealed it (digests by
    the product's own `copy_digest` over the entries' COPY text, links by its `link`), read and
    written with COPY one id range at a time (`seal_pending`, a batch at a time, would take hours
    here). Each entry is sealed a second after it was written, as by a sealer running all along."""
    from django.db import transaction

    from audit.core.sealing_chain import GENESIS, chain_key, link
    from audit.core.sealing_digest import ENTRY_FIELDS, SUBJECTS_OF, copy_digest, fix_session

    key, previous, seq = chain_key(), GENESIS, 0
    with connection.cursor() as cur:
        cur.execute("SELECT min(id), max(id) FROM audit_auditentry")
        first, last = cur.fetchone()
    for low in range(first or 1, (last or 0) + 1, CHUNK):
        out = io.BytesIO()
        with transaction.atomic(), connection.cursor() as cur:
            fix_session(cur)
            query = (f"COPY (SELECT e.timestamp, e.timestamp + interval '1 second', {SUBJECTS_OF}, {ENTRY_FIELDS} "  # noqa: S608
                     f"FROM audit_auditentry e WHERE e.id >= {low} AND e.id < {low + CHUNK} ORDER BY e.id) TO STDOUT")
            with cur.cursor.copy(query) as copy:
                data = b"".join(bytes(block) for block in copy)
            for line in data.splitlines():
                entry_time, sealed_at, subjects, entry = line.split(b"\t", 3)
                entry_id, digest = int(entry[:entry.index(b"\t")]), copy_digest(entry, subjects).decode()
                seq += 1
                previous = link(key, seq, entry_id, digest, previous)
                out.write(f"{seq}\t{entry_id}\t{digest}\t{previous}\t".encode() + sealed_at + b"\tf\t"
                          + entry_time + b"\n")
            with cur.cursor.copy("COPY audit_auditseal (seq, entry_id, entry_digest, chain, sealed_at, late, "
                                 "entry_time) FROM STDIN") as copy:
                copy.write(out.getvalue())
        print(f"  sealed {seq:,}", file=sys.stderr, end="\r")
    with connection.cursor() as cur:
        cur.execute("ANALYZE audit_auditseal")
    print(file=sys.stderr)


def bare_stream() -> tuple[int, float]:
    """The same rows as a plain COPY to the client, hashed: bytes read and seconds."""
    digest, size = hashlib.sha256(), 0
    started = time.perf_counter()
    with connection.cursor() as cur:
        for table in ("audit_auditentry", "audit_auditsubject", "audit_auditseal"):
            # (COPY (SELECT ...): a partitioned table cannot be copied by name, ADR 52)
            with cur.cursor.copy(f"COPY (SELECT * FROM {table}) TO STDOUT") as copy:  # noqa: S608 - fixed names
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
    print(f"  audit.core.sealing.verify(): {verify_rate:,.0f} entries/s ({min(verify_s):.1f} s; runs "
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=5_000_000)
    parser.add_argument("--women", type=int, default=0, help="people the entries are about (default entries/250)")
    parser.add_argument("--people", type=int, default=40, help="person searches timed")
    parser.add_argument("--rounds", type=int, default=3, help="verification and bare stream runs, each")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--db-name", default="bench_audit", help="the throwaway database (dropped at the end)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("bench/audit.py needs PostgreSQL: set DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    women = args.women or max(1000, args.entries // 250)
    setup_test_environment()
    connection.settings_dict.setdefault("TEST", {})["NAME"] = args.db_name
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from django.contrib.contenttypes.models import ContentType

        from pause_portal.tenancy.roles import Role
        from tests import factories as f

        programme = f.programme(phase="delivery")
        people = [f.person(programme.trust, with_device=False) for _ in range(200)]
        for p in people[:5]:
            f.membership(p, programme, Role.TRUST_CASEWORKER)
        world = {"programme": programme.pk, "org": programme.trust_id, "people": [p.pk for p in people],
                 "ct": {label: ContentType.objects.get_by_natural_key(*label.split(".")).pk
                        for label in ("eligibility.woman", "eligibility.decision", "sharing.person")}}
        from audit.core.bypass import audit_bypass

        # The fixtures' own entries go: the trail's ids are the bench's.
        with audit_bypass("bench: empty the trail before loading"), connection.cursor() as cur:
            cur.execute("DELETE FROM audit_auditsubject")
            cur.execute("DELETE FROM audit_auditentry")
        started = time.perf_counter()
        subjects = load(args.entries, women, world)
        print(f"Loaded {args.entries:,} entries and {subjects:,} subjects about {women:,} people "
              f"in {time.perf_counter() - started:.0f} s (COPY, indexes rebuilt)")

        search = search_benchmark(women, args.people)
        ratio = search["product_ms"] / search["raw_ms"]
        print(f"Per-person search, first page ({search['people']} people, median {search['entries_per_person']:.0f} "
              f"entries each):")
        print(f"  product (audit.oversight.review.person_entries): {search['product_ms']:.1f} ms median")
        print(f"  raw SQL through psycopg (baseline):    {search['raw_ms']:.1f} ms median")
        print(f"  ratio {ratio:.2f}x (target <= {SEARCH_TARGET_RATIO}x), "
              f"{'meets' if search['product_ms'] < SEARCH_TARGET_MS else 'MISSES'} the {SEARCH_TARGET_MS:.0f} ms target")

        started = time.perf_counter()
        seal_all()
        print(f"Sealed {args.entries:,} entries in {time.perf_counter() - started:.0f} s")
        # ... and checkpointed, as the sealer checkpoints every run (ADR 14), in a folder of its own.
        import tempfile

        from django.conf import settings

        from audit.core import sealing

        settings.PORTAL_AUDIT_CHECKPOINT_DIR = tempfile.mkdtemp(prefix="bench-audit-checkpoints-")
        settings.PORTAL_AUDIT_CHECKPOINT_DATABASE_URL = ""
        sealing.write_checkpoint(start_empty_store=True)
        verify_benchmark(args.entries, args.rounds)
        return 0
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


if __name__ == "__main__":
    sys.exit(main())
