"""The data set of bench/audit.py: synthetic audit entries and subjects loaded with COPY in
committed chunks, sealed in committed chunks, resumable through a marker table; the disk check
before loading. See bench/audit.py's docstring for how a run uses them.
"""

from __future__ import annotations

import importlib
import io
import json
import random
import shutil
import sys
from datetime import UTC, date, datetime, timedelta

import psycopg
from django.db import connection, transaction

START = datetime(2020, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=6 * 365)
CHUNK = 100_000
MARKER = "bench_audit_marker"
# Database bytes per entry once loaded, indexed and sealed (entries, ~2.1 subjects each, seals and
# every index), measured at 20M entries on the month-partitioned schema (24.63 GB; 1,150 at 5M on
# the single tables before ADR 52); DISK_MARGIN covers the sorts of the index builds, WAL and
# estimate error.
BYTES_PER_ENTRY = 1_231
DISK_MARGIN = 1.3
FALLBACK_ENTRIES = 20_000_000
TABLES = ("audit_auditentry", "audit_auditsubject")


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
            cur.execute("SET LOCAL jit = off")  # compiling the plan over every month's partitions costs seconds a chunk
            # the subjects of an entry are read from its own month (entry_time: one partition, not every one)
            subjects_of = SUBJECTS_OF[:-1] + " AND s.entry_time = e.timestamp)" if entry_time else SUBJECTS_OF
            query = (f"COPY (SELECT e.timestamp + interval '1 second', e.timestamp, {subjects_of}, "  # noqa: S608
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
