"""Issue 25, point 3 (ADR 52): on PostgreSQL the audit trail's entries, subjects and seals become
tables partitioned by range on the entry's time, one partition a calendar month (from midnight on
its first day in the deployment's time zone, as the retention purge counts months) and a
DEFAULT partition, so that no entry can ever fail to be written for want of its month.

- Subjects and seals get `entry_time`, the entry's timestamp (filled here from the entries), their
  partition key: a month's entries, subjects and seals are dropped together by the retention purge.
- Keys hold the partition key (PostgreSQL requires it): entries (id, timestamp), subjects
  (id, entry_time), seals (seq, entry_time) and (entry_id, entry_time). The subjects' foreign key to
  the entries goes (a foreign key into a partitioned table must name its whole key); the review
  searches' and monitoring flags' had none already.
- Each table is rebuilt as the owner, in this migration's transaction: renamed aside, created
  again partitioned (LIKE the old: columns, defaults, checks), its months from the oldest row's
  through three ahead and the DEFAULT made, every row copied, the old table dropped, then every
  index, key, foreign key and the append-only triggers made again with their names (row triggers
  are cloned to each partition; each partition gets its own TRUNCATE trigger). The id sequences
  carry on from where they were (an identity column cannot be partitioned on PostgreSQL 15: a
  sequence owned by the column, at the old one's position). `audit.core.db_roles` grants after
  the migrate: the application role gets SELECT and INSERT on the parents and nothing on any
  partition.
- SQLite (the demo) keeps one table each: only the columns are added and filled.
- A seal whose entry is missing cannot be given its time: the migration stops and says so
  (`verify_audit_trail` reports the same seal).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations, models

# table -> its partition key column (the order is the rebuild's: subjects and seals read the entries)
PARTITIONED = (("audit_auditentry", "timestamp"), ("audit_auditsubject", "entry_time"),
               ("audit_auditseal", "entry_time"))
MONTHS_AHEAD = 3


def _month(moment: datetime) -> tuple[int, int]:
    moment = moment.astimezone(ZoneInfo(settings.TIME_ZONE))
    return moment.year, moment.month


def _next(month: tuple[int, int]) -> tuple[int, int]:
    year, number = month
    return (year + 1, 1) if number == 12 else (year, number + 1)


def _months(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    out = [first]
    while out[-1] < last:
        out.append(_next(out[-1]))
    return out


def _bound(month: tuple[int, int]) -> str:
    """Midnight on the month's first day in the deployment's time zone (the retention purge's months)."""
    return f"'{datetime(month[0], month[1], 1, tzinfo=ZoneInfo(settings.TIME_ZONE)).isoformat(sep=' ')}'"


def _triggers(cur, table: str) -> None:
    cur.execute(f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION portal_audit_append_only()")
    cur.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_append_only()")


def _partition(cur, table: str, name: str, bounds: str) -> None:
    cur.execute(f"CREATE TABLE {name} PARTITION OF {table} {bounds}")
    # Row triggers are cloned from the parent; a TRUNCATE trigger is per table.
    cur.execute(f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
                "FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_append_only()")


def _shape(cur, table: str):
    """The table's indexes (not those of its constraints), its key and unique constraints, its
    foreign keys, and its id sequence's position (None: no id sequence)."""
    cur.execute("SELECT i.indexrelid::regclass::text, pg_catalog.pg_get_indexdef(i.indexrelid) "
                "FROM pg_catalog.pg_index i WHERE i.indrelid = %s::regclass AND NOT EXISTS "
                "(SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1", [table])
    indexes = cur.fetchall()
    cur.execute("SELECT conname, contype, pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY contype DESC, conname",
                [table])
    constraints = cur.fetchall()
    sequence = position = None
    if _has_id(cur, table):
        cur.execute("SELECT pg_catalog.pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cur.fetchone()[0]
    if sequence:
        cur.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608 - the catalogue's name
        position = cur.fetchone()
    return indexes, constraints, position


def _has_id(cur, table: str) -> bool:
    cur.execute("SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = %s::regclass AND attname = 'id' "
                "AND NOT attisdropped", [table])
    return cur.fetchone() is not None


def _columns(cur, table: str) -> list[str]:
    cur.execute("SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                "AND NOT attisdropped ORDER BY attnum", [table])
    return [row[0] for row in cur.fetchall()]


def _with_key(definition: str, key: str, add: bool) -> str:
    """A PRIMARY KEY (...) or UNIQUE (...) definition with the partition key added (or taken off)."""
    head, _, rest = definition.partition("(")
    columns, _, tail = rest.partition(")")
    names = [c.strip() for c in columns.split(",")]
    quoted = f'"{key}"' if key == "timestamp" else key
    names = [n for n in names if n not in (key, quoted)]
    if add:
        names.append(quoted)
    return f"{head}({', '.join(names)}){tail}"


def _rebuild(cur, table: str, key: str, *, partitioned: bool, months: list[tuple[int, int]]) -> None:
    old = f"{table}_rebuilt_from"
    indexes, constraints, position = _shape(cur, table)
    cur.execute(f"ALTER TABLE {table} RENAME TO {old}")
    cur.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE "
                "INCLUDING COMMENTS)" + (f' PARTITION BY RANGE ("{key}")' if partitioned else ""))
    if table != "audit_auditentry":
        cur.execute(f"ALTER TABLE {table} ALTER COLUMN entry_time SET NOT NULL")
    if position is not None:  # (going back: LIKE copied the old table's nextval, whose sequence goes with it)
        cur.execute(f"ALTER TABLE {table} ALTER COLUMN id DROP DEFAULT")
    if partitioned:
        for month in months:
            _partition(cur, table, f"{table}_p{month[0]:04d}m{month[1]:02d}",
                       f"FOR VALUES FROM ({_bound(month)}) TO ({_bound(_next(month))})")
        _partition(cur, table, f"{table}_default", "DEFAULT")
    names = _columns(cur, old)
    columns = ", ".join(f'"{c}"' for c in names)
    if table == "audit_auditentry":
        source = f"SELECT {columns} FROM {old}"
    else:  # the entry's time (a missing entry leaves it NULL, which the NOT NULL refuses: nothing dropped)
        values = ", ".join('e."timestamp"' if c == "entry_time" and partitioned else f'o."{c}"' for c in names)
        source = f"SELECT {values} FROM {old} o LEFT JOIN audit_auditentry e ON e.id = o.entry_id"
    cur.execute(f"INSERT INTO {table} ({columns}) {source}")  # noqa: S608 - catalogue names
    cur.execute(f"DROP TABLE {old}")  # its indexes, triggers and identity sequence with it
    if position is not None:
        sequence = f"{table}_id_seq"
        if partitioned:  # PostgreSQL 15 has no identity columns on a partitioned table
            cur.execute(f"CREATE SEQUENCE {sequence} AS bigint OWNED BY {table}.id")
            cur.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT pg_catalog.nextval('{sequence}'::regclass)")
        else:  # going back: the identity column Django made
            cur.execute(f"ALTER TABLE {table} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
                        f"(SEQUENCE NAME {sequence})")
        cur.execute("SELECT pg_catalog.setval(%s, %s, %s)", [sequence, *position])
    for name, kind, definition in constraints:
        if kind in ("p", "u"):
            definition = _with_key(definition, key, add=partitioned)
        cur.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for _, definition in indexes:
        cur.execute(definition.replace(f" ON public.{old} ", f" ON public.{table} ").replace(
            f" ON ONLY public.{old} ", f" ON public.{table} "))
    _triggers(cur, table)
    cur.execute(f"ANALYZE {table}")


def _refuse_orphan_seals(cur) -> None:
    cur.execute("SELECT s.seq, s.entry_id FROM audit_auditseal s WHERE NOT EXISTS "
                "(SELECT 1 FROM audit_auditentry e WHERE e.id = s.entry_id) ORDER BY s.seq LIMIT 1")
    orphan = cur.fetchone()
    if orphan:
        raise RuntimeError(f"Audit seal {orphan[0]} names entry {orphan[1]}, which is missing: its month cannot be "
                           "known, so the trail is not rebuilt. Run `manage.py verify_audit_trail` and resolve it "
                           "before migrating.")


def _fill_entry_times(cur) -> None:
    """SQLite: subjects and seals get their entry's time (on PostgreSQL the rebuild copies it)."""
    for table in ("audit_auditsubject", "audit_auditseal"):
        cur.execute(f"UPDATE {table} SET entry_time = (SELECT e.timestamp FROM audit_auditentry e "  # noqa: S608
                    f"WHERE e.id = {table}.entry_id)")


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        _refuse_orphan_seals(cur)
        if schema_editor.connection.vendor != "postgresql":
            _fill_entry_times(cur)  # one table each
            return
        cur.execute("SELECT min(timestamp) FROM audit_auditentry")
        oldest = cur.fetchone()[0]
        now = datetime.now(UTC)
        this_month = _month(now)
        last = this_month
        for _ in range(MONTHS_AHEAD):
            last = _next(last)
        months = _months(min(_month(oldest), this_month) if oldest else this_month, last)
        for table, key in PARTITIONED:
            _rebuild(cur, table, key, partitioned=True, months=months)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        for table, key in PARTITIONED:
            _rebuild(cur, table, key, partitioned=False, months=[])


def _alter_entry_time(apps, schema_editor, *, null: bool) -> None:
    if schema_editor.connection.vendor == "postgresql":
        return
    for name in ("AuditSubject", "AuditSeal"):
        model = apps.get_model("audit", name)
        old = model._meta.get_field("entry_time")
        new = models.DateTimeField(null=null)
        new.set_attributes_from_name("entry_time")
        new.model = model
        schema_editor.alter_field(model, old, new)


def not_null(apps, schema_editor):
    _alter_entry_time(apps, schema_editor, null=False)


def nullable(apps, schema_editor):
    _alter_entry_time(apps, schema_editor, null=True)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0014_breach_reports"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditsubject",
            name="entry",
            field=models.ForeignKey(db_constraint=False, on_delete=models.deletion.PROTECT, related_name="subjects",
                                    to="audit.auditentry"),
        ),
        migrations.AddField(model_name="auditsubject", name="entry_time", field=models.DateTimeField(null=True)),
        migrations.AddField(model_name="auditseal", name="entry_time", field=models.DateTimeField(null=True)),
        migrations.RunPython(forwards, backwards),
        # NOT NULL: the rebuild made it so on PostgreSQL (where it is in the key, which a later
        # ALTER ... DROP NOT NULL going back would trip on); on SQLite, Django's own AlterField.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="auditsubject", name="entry_time", field=models.DateTimeField()),
                migrations.AlterField(model_name="auditseal", name="entry_time", field=models.DateTimeField()),
            ],
            database_operations=[migrations.RunPython(not_null, nullable)],
        ),
    ]
