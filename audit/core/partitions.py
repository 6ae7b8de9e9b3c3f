"""The audit trail's month partitions on PostgreSQL (ADR 52): making the months to come, and
naming the months there are.

Entries, subjects and seals are partitioned by range on the entry's time (`PARTITIONED`), one
partition per calendar month, named `<table>_pYYYYmMM`, plus `<table>_default`, which takes any row
whose month has no partition, so that no entry ever fails to be written. A month runs from
midnight on its first day in the deployment's time zone (settings.TIME_ZONE), as the retention
purge counts its months (`audit.core.retention`), so a month it purges is whole partitions.

- `ensure_ahead()` (the daily beat task `audit.ensure_trail_partitions`, on the owner's queue):
  makes sure the months from this one to `MONTHS_AHEAD` ahead exist. `ensure_months(first, last)`
  does it for any span (the benchmark's loader, an operator).
- A month is made in one transaction under the owner's logged bypass (`audit.core.bypass`), one
  table after the other: the DEFAULT partition is locked, the month's table made like its parent,
  the rows of that month sitting in the DEFAULT moved into it, and the table attached as the
  month's partition — so nothing is lost and nothing can slip into the DEFAULT meanwhile. Its
  indexes, keys and row triggers come from the parent on attaching; its TRUNCATE trigger is made
  here; the application role has no privilege on it (it reaches rows through the parent). Rows
  moved are recorded in an AUDIT_BYPASS entry.
- Only the tables' owner can make partitions: on another role it refuses before anything
  (`PartitionsRefused`). On SQLite (the demo) there are no partitions and nothing is done.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, time

from django.db import connections
from django.utils import timezone

from audit.core.bypass import audit_bypass
from audit.core.log import record_event
from audit.core.models import Event
from audit.core.owner_connection import owner_alias, user_and_owner
from pause_portal.refused import Refused

PARTITIONED = (("audit_auditentry", "timestamp"), ("audit_auditsubject", "entry_time"),
               ("audit_auditseal", "entry_time"))
MONTHS_AHEAD = 3
_MONTH_NAME = re.compile(r"_p(\d{4})m(\d{2})$")
log = logging.getLogger("audit.partitions")


class PartitionsRefused(Refused):
    """The partitions cannot be made on this connection (not the tables' owner): nothing is done."""


def first_of(moment: date | datetime) -> date:
    if isinstance(moment, datetime):
        moment = timezone.localdate(moment)
    return moment.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month.year:04d}m{month.month:02d}"


def bound(month: date) -> str:
    """Midnight on the month's first day in the deployment's time zone, as PostgreSQL reads it."""
    return timezone.make_aware(datetime.combine(month, time.min)).isoformat(sep=" ")


def months_of(table: str, using: str = "default") -> list[date]:
    """The months `table` has a partition for, in order ([] on SQLite)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cur:
        cur.execute("SELECT c.relname FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = %s::regclass", [table])
        names = [row[0] for row in cur.fetchall()]
    months = []
    for name in names:
        found = _MONTH_NAME.search(name)
        if found and name == partition_name(table, date(int(found[1]), int(found[2]), 1)):
            months.append(date(int(found[1]), int(found[2]), 1))
    return sorted(months)


def ensure_ahead(months: int = MONTHS_AHEAD, *, today: date | None = None) -> list[date]:
    """This month and the `months` after it exist for all three tables; returns the months made."""
    this_month = first_of(today or timezone.now())
    return ensure_months(this_month, add_months(this_month, months))


def ensure_months(first: date, last: date) -> list[date]:
    """Every month from `first`'s to `last`'s exists for all three tables, on the owner's
    connection; returns the months made (each in a transaction of its own)."""
    alias = owner_alias()
    if connections[alias].vendor != "postgresql":
        return []
    found = user_and_owner(alias)
    if found and found[0] != found[1]:
        raise PartitionsRefused(f"The audit trail's partitions are made by the tables' owner ({found[1]!r}); this "
                                f"connection logs in as {found[0]!r}. Run it on the audit_owner queue or as the owner.")
    made, month, last = [], first_of(first), first_of(last)
    while month <= last:
        if any(month not in months_of(table, alias) for table, _ in PARTITIONED):
            _make_month(month, alias)
            made.append(month)
        month = add_months(month, 1)
    return made


def _make_month(month: date, alias: str) -> None:
    moved: dict[str, int] = {}
    with audit_bypass(f"audit trail partition for {month:%Y-%m}: rows of the month moved out of the DEFAULT",
                      using=alias), connections[alias].cursor() as cur:
        for table, key in PARTITIONED:  # entries first, as every writer takes them
            name, default = partition_name(table, month), f"{table}_default"
            start, end = bound(month), bound(add_months(month, 1))
            # Nothing reaches the DEFAULT until the month is attached (ATTACH would lock it anyway);
            # a run beside this one waits here, then finds the month made.
            cur.execute(f"LOCK TABLE {default} IN ACCESS EXCLUSIVE MODE")
            if month in months_of(table, alias):
                continue
            cur.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                        "INCLUDING STORAGE)")
            cur.execute(f'WITH moved AS (DELETE FROM {default} WHERE "{key}" >= %s AND "{key}" < %s '  # noqa: S608
                        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved", [start, end])
            moved[table] = cur.rowcount
            cur.execute(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [start, end])
            cur.execute(f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
                        "FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_append_only()")
        if any(moved.values()):
            record_event(Event.AUDIT_BYPASS, using=alias,
                         reason=f"audit trail partition for {month:%Y-%m} made: " + ", ".join(
                             f"{count} rows of {table}" for table, count in moved.items()) + " moved out of the DEFAULT")
    log.info("audit trail partition for %s made (%s)", f"{month:%Y-%m}", moved)
