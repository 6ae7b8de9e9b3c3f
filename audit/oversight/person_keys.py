"""The DPO's per-person search, in two steps: the keys — (time, id) — of every entry about a person,
then the entries of the page shown (ADR 54).

The search has no date range. On PostgreSQL the trail is partitioned by month (ADR 52), and a
statement that cannot name the months is planned against every month's partition and each of
their indexes: at 200,000 entries over 77 months, planning the search's former single statement
took 140-260 ms of its 500 ms, and it ran every id against every month. So here:

1. The keys are read by one prepared statement with a generic plan (`KEYS`): planned once on a
   connection (Django keeps it for CONN_MAX_AGE), each later search only runs it. Its three parts
   are the subject index of each month's subjects, and the target index and the refused-page index
   of each month's entries.
2. The count is the number of keys.
3. A page's entries are read by their ids and times as constants (`entries_for`), so the planner
   keeps only the months they are in.
4. The summary reads every entry about her by joining her keys (`SUMMARY`): one probe of one
   month's primary key each.

An entry whose subject carries a time other than its own (which only the owner role could write)
is still found: the entries a page's keys miss are read again by id alone, in every month.

SQLite (the demo) has one table: the same keys come from the ORM.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connections, transaction
from django.db.models import QuerySet

from audit.core.models import AuditEntry, AuditSubject, Event
from audit.oversight.person_subjects import pages_about
from pause_portal.read_replica import reading_alias

Key = tuple[datetime, int]  # an entry's (timestamp, id): its month and its id

# (name, parameter types, statement): prepared once on each connection
KEYS = ("audit_person_keys", "text[], integer[], bigint[], text[]", (
    "SELECT s.entry_time, s.entry_id, NULL::integer, NULL::bigint FROM audit_auditsubject s "
    "WHERE s.subject = ANY($1) "
    'UNION ALL SELECT e."timestamp", e.id, e.content_type_id, e.object_id FROM audit_auditentry e '
    "WHERE e.content_type_id = ANY($2) AND e.object_id = ANY($3) "
    # the refused-page index is partial (event = 'refused', Event.REFUSED): written in, not a parameter
    'UNION ALL SELECT e."timestamp", e.id, NULL, NULL FROM audit_auditentry e '
    "WHERE e.event = 'refused' AND e.page = ANY($4)"))
SUMMARY = ("audit_person_summary", "bigint[], timestamptz[]", (
    'SELECT e.id, e.actor_id, e."timestamp", e.event, e.page, e.reason '
    'FROM unnest($1, $2) AS k(id, at) JOIN audit_auditentry e ON e.id = k.id AND e."timestamp" = k.at'))
CHUNK = 500  # keys read at a time when many entries are asked for (an export)


def targets(references: list[str]) -> dict[int, set[int]]:
    """Content type id -> the object ids among the references (entries acting on them as targets)."""
    out: dict[int, set[int]] = {}
    for ref in references:
        label, _, pk = ref.partition(":")
        if pk.isdigit():
            content_type = ContentType.objects.get_for_model(apps.get_model(label))
            out.setdefault(content_type.pk, set()).add(int(pk))
    return out


def keys_parameters(references: list[str], by_type: dict[int, set[int]] | None = None) -> list[list]:
    """KEYS' parameters for these references (PostgreSQL); `by_type`: their `targets`, if read."""
    by_type = targets(references) if by_type is None else by_type
    return [sorted(set(references)), sorted(by_type), sorted({pk for pks in by_type.values() for pk in pks}),
            pages_about(references)]


def wanted_row(row: tuple, by_type: dict[int, set[int]]) -> bool:
    """KEYS reads every listed type with every listed id: keep the entries on a pair asked for."""
    content_type, object_id = row[2], row[3]
    return content_type is None or object_id in by_type.get(content_type, ())


def newest_first(rows) -> list[Key]:
    """Each entry once, newest first (by time, then id, as the pages order them)."""
    seen: dict[int, datetime] = {}
    for at, entry_id in rows:
        if entry_id not in seen or at > seen[entry_id]:
            seen[entry_id] = at
    return sorted(((at, entry_id) for entry_id, at in seen.items()), reverse=True)


def prepare_sql(statement: tuple[str, str, str]) -> str:
    name, types, sql = statement
    return f"PREPARE {name} ({types}) AS {sql}"


def execute_sql(statement: tuple[str, str, str], count: int) -> str:
    return f"EXECUTE {statement[0]} ({', '.join(['%s'] * count)})"


def run_prepared(alias: str, statement: tuple[str, str, str], params: list) -> list[tuple]:
    """Run one of this module's statements, prepared on the connection the first time (a prepared
    statement outlives a rolled-back transaction) and run with a generic plan: planned once."""
    with transaction.atomic(using=alias), connections[alias].cursor() as cur:
        cur.execute("SELECT pg_catalog.current_setting('plan_cache_mode'), "
                    "pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true), "
                    "EXISTS (SELECT 1 FROM pg_catalog.pg_prepared_statements WHERE name = %s)", [statement[0]])
        before, _, prepared = cur.fetchone()
        if not prepared:
            cur.execute(prepare_sql(statement))
        cur.execute(execute_sql(statement, len(params)), params)
        rows = cur.fetchall()
        cur.execute("SELECT pg_catalog.set_config('plan_cache_mode', %s, true)", [before])
    return rows


def entry_keys(references: list[str]) -> list[Key]:
    """The keys of every entry about any of the references — named as a subject, acted on as the
    target, or a refused request for one of their pages — each once, newest first."""
    if not references:
        return []
    alias = reading_alias()
    if connections[alias].vendor == "postgresql":
        by_type = targets(references)
        rows = run_prepared(alias, KEYS, keys_parameters(references, by_type))
        return newest_first(row[:2] for row in rows if wanted_row(row, by_type))
    return newest_first(_orm_keys(references, alias))


def _orm_keys(references: list[str], alias: str) -> list[Key]:
    rows = list(AuditSubject.objects.using(alias).filter(subject__in=references).values_list("entry_time", "entry_id"))
    for content_type, pks in targets(references).items():
        rows += AuditEntry.objects.using(alias).filter(content_type_id=content_type, object_id__in=pks) \
            .values_list("timestamp", "id")
    pages = pages_about(references)
    if pages:
        rows += AuditEntry.objects.using(alias).filter(event=Event.REFUSED, page__in=pages).values_list("timestamp", "id")
    return rows


def by_keys(keys: Sequence[Key], shown: QuerySet) -> QuerySet:
    """The entries of these keys, their times and ids as constants: only their months are read."""
    return shown.filter(timestamp__in=sorted({at for at, _ in keys}), id__in=[entry_id for _, entry_id in keys])


def entries_for(keys: Sequence[Key], shown: QuerySet) -> list[AuditEntry]:
    """These keys' entries from `shown` (a queryset of the entries, as the pages read them), in the
    keys' order. Any an entry's own time does not find is read by its id alone."""
    if not keys:
        return []
    ids = [entry_id for _, entry_id in keys]
    if connections[shown.db].vendor == "postgresql":
        found = {e.pk: e for e in by_keys(keys, shown)}
        missing = [entry_id for entry_id in ids if entry_id not in found]
        if missing:
            found.update((e.pk, e) for e in shown.filter(id__in=missing))
    else:
        found = {e.pk: e for e in shown.filter(id__in=ids)}
    return [found[entry_id] for entry_id in ids if entry_id in found]


def summary_rows(keys: Sequence[Key]) -> list[tuple]:
    """(actor id, timestamp, event, page, reason) of each key's entry."""
    if not keys:
        return []
    alias = reading_alias()
    ids = [entry_id for _, entry_id in keys]
    if connections[alias].vendor != "postgresql":
        return list(AuditEntry.objects.using(alias).filter(id__in=ids)
                    .values_list("actor_id", "timestamp", "event", "page", "reason"))
    rows = run_prepared(alias, SUMMARY, [ids, [at for at, _ in keys]])
    have = {row[0] for row in rows}
    missing = [entry_id for entry_id in ids if entry_id not in have]
    if missing:  # an entry its key's time does not find: by its id alone
        rows += AuditEntry.objects.using(alias).filter(id__in=missing) \
            .values_list("id", "actor_id", "timestamp", "event", "page", "reason")
    return [row[1:] for row in rows]


class PersonEntries:
    """The entries about a person, newest first, as a sequence a Paginator pages and an export
    slices: its length is the number of keys; a slice reads only its own entries."""

    def __init__(self, keys: list[Key], shown: QuerySet):
        self.keys, self.shown = keys, shown

    def count(self) -> int:
        return len(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index):
        if isinstance(index, slice):
            wanted = self.keys[index]
            return [e for start in range(0, len(wanted), CHUNK)
                    for e in entries_for(wanted[start:start + CHUNK], self.shown)]
        return entries_for([self.keys[index]], self.shown)[0]

    def __iter__(self) -> Iterator[AuditEntry]:
        return iter(self[:])
