"""The audit trail's retention (issue 22, point 6; ADR 40): one period for the whole deployment
(`PORTAL_AUDIT_RETENTION_DAYS`), whole calendar months purged once they are older than it.

`purge(cutoff, ...)` is the one way entries leave the trail; `manage.py purge_audit_retention`
(a person, a month they choose) and the Celery beat task `audit.purge_expired_trail` (no person,
the month the period allows: `scheduled_cutoff`) both call it. It

- refuses a cutoff that is not the first day of a month, or later than the period allows;
- asks the agreements, through the kernel's hook, for the longest audit-trail retention a live one
  asks for, and refuses when the deployment's period is shorter;
- connects as the tables' OWNER: the application role has no DELETE on the audit tables, and
  their trigger lets only the owner through the logged bypass (`audit.core.db_roles`,
  `audit.core.bypass`). The owner's connection is the database alias `audit_owner`
  (`PORTAL_AUDIT_OWNER_DATABASE_URL`), used by nothing else, or else the process's own connection
  where that logs in as the owner (a command run as the owner); on SQLite (the demo, the tests)
  there are no roles and the one database is used. On PostgreSQL, when the connection it would use
  does not log in as the tables' owner, it refuses before deleting anything;
- seals every entry first, then, in one transaction on the owner's connection holding the sealer's
  lock, removes the entries, their subjects and their links, writes an anchor for each run of
  removed links (so `verify_audit_trail` steps over them, as before), an entry recording the purge
  and the purge certificate (`audit.core.certificates`, kind AUDIT_TRAIL, no programme). On
  PostgreSQL the three tables are partitioned by month (ADR 52): each expired month's partitions
  are detached and dropped whole (their rows counted first), and the expired rows that sat in a
  DEFAULT partition are deleted; on SQLite (one table each) the rows are deleted.

A refusal other than bad input writes an entry (Event.REFUSED) saying why, and deletes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from audit.core import certificates
from audit.core.bypass import audit_bypass
from audit.core.log import record_event
from audit.core.models import AuditEntry, Event
from audit.core.models_certificates import PurgeCertificate, PurgeKind
from audit.core.owner_connection import OWNER_ALIAS, owner_alias, user_and_owner  # noqa: F401  (re-exported)
from audit.core.partitions import PARTITIONED, months_of, partition_name
from audit.core.sealing import ADVISORY_LOCK, make_anchor, seal_pending
from pause_portal import hooks
from pause_portal.refused import Refused

TABLES = ("audit_auditentry", "audit_auditsubject", "audit_auditseal")
CHUNK = 1000
log = logging.getLogger("audit.retention")


class BadCutoff(ValueError):
    """The month asked for is not one the period allows: nothing is done, nothing recorded."""


class RetentionRefused(Refused):
    """The purge cannot run as it must (no owner connection, not the owner, an agreement asks
    longer): nothing is deleted, and an entry says why."""


@dataclass(frozen=True)
class Purged:
    cutoff: date
    entries: int = 0
    subjects: int = 0
    seals: int = 0
    anchors: int = 0
    certificate: PurgeCertificate | None = None


def oldest_allowed(today: date | None = None) -> date:
    return (today or timezone.localdate()) - timedelta(days=settings.PORTAL_AUDIT_RETENTION_DAYS)


def scheduled_cutoff(today: date | None = None) -> date:
    """The first day of the month holding the oldest day still kept: every whole month before it
    is older than the period."""
    return oldest_allowed(today).replace(day=1)


def check_cutoff(cutoff: date, today: date | None = None) -> None:
    if cutoff.day != 1:
        raise BadCutoff("The cutoff must be the first day of a month: only whole months are purged.")
    if cutoff > oldest_allowed(today):
        raise BadCutoff(f"Entries are kept for {settings.PORTAL_AUDIT_RETENTION_DAYS} days: the cutoff must be on "
                        f"or before {oldest_allowed(today)}.")


def _check_owner(alias: str) -> None:
    found = user_and_owner(alias)
    if found is None:
        return  # SQLite has no roles: the one database
    user, owner = found
    if user == owner:
        return
    if alias == OWNER_ALIAS:
        raise RetentionRefused(
            f"The owner connection (PORTAL_AUDIT_OWNER_DATABASE_URL) logs in as {user!r}, which does not own the "
            f"audit tables ({owner!r} does): only their owner may delete entries through the logged bypass.")
    raise RetentionRefused(
        f"No owner connection is configured, and this process logs in as {user!r}, which does not own the audit "
        f"tables ({owner!r} does) and cannot delete their rows. Set PORTAL_AUDIT_OWNER_DATABASE_URL (or its _FILE) "
        "to a postgres:// URL that logs in as the owner.")


def _check_agreements() -> None:
    demand = hooks.call(hooks.AUDIT_RETENTION_DEMAND, by=None)
    if demand and demand["days"] > settings.PORTAL_AUDIT_RETENTION_DAYS:
        raise RetentionRefused(
            f"PORTAL_AUDIT_RETENTION_DAYS is {settings.PORTAL_AUDIT_RETENTION_DAYS} days, but {demand['words']}, "
            f"up to {demand['days']} days: the deployment's period must be at least that.")


def purge(cutoff: date, *, by, reason: str, schedule: str, today: date | None = None) -> Purged:
    """Purge every entry before `cutoff` (the first day of a month the period allows). `by`: the
    person who authorised it, or None when a schedule ran it (`schedule` says which)."""
    check_cutoff(cutoff, today)
    try:
        _check_agreements()
        alias = owner_alias()
        _check_owner(alias)
    except (RetentionRefused, DatabaseError) as refusal:
        _record_refusal(refusal, by=by, schedule=schedule, cutoff=cutoff)
        raise RetentionRefused(str(refusal)) from refusal
    moment = timezone.make_aware(datetime.combine(cutoff, time.min))
    seal_pending(sweep=True)  # every entry in the chain first, so the purge removes whole links
    if not AuditEntry.objects.using(alias).filter(timestamp__lt=moment).exists():
        return Purged(cutoff)
    words = f"retention purge before {cutoff} by {_who(by, schedule)}: {reason}"
    with audit_bypass(words, using=alias):
        _hold_the_sealer(alias)
        runs = _runs(moment, alias)
        if connections[alias].vendor == "postgresql":
            counts = _drop_expired(cutoff, moment, alias)
        else:
            counts = _delete_before(moment, runs, alias)
        for start, end, last_link in runs:  # verification steps over each removed run
            make_anchor(start, end + 1, last_link, f"retention purge before {cutoff}: {reason}", using=alias)
        record_event(Event.AUDIT_BYPASS, actor=by, target=by, using=alias,
                     reason=f"retention purge: {counts['audit_auditentry']} entries before {cutoff} ({schedule}); "
                            f"{reason}")
        certificate = certificates.issue(
            PurgeKind.AUDIT_TRAIL, programme=None, by=by, schedule=schedule, trigger=f"entries before {cutoff}",
            using=alias,
            stores=[certificates.store("Audit entries", "audit_auditentry", counts["audit_auditentry"]),
                    certificates.store("The subjects the entries named (references)", "audit_auditsubject",
                                       counts["audit_auditsubject"]),
                    certificates.store("The hash chain's links of those entries", "audit_auditseal",
                                       counts["audit_auditseal"])],
            kept=[{"what": "Anchors carrying the hash chain over the removed links, MACed with the chain key",
                   "table": "audit_auditchainanchor", "rows": len(runs)},
                  {"what": "The entries recording this purge and its certificate", "table": "audit_auditentry",
                   "rows": 2}])
    log.warning("audit trail purged before %s: %s entries (certificate #%s)", cutoff, counts["audit_auditentry"],
                certificate.pk)
    return Purged(cutoff, counts["audit_auditentry"], counts["audit_auditsubject"], counts["audit_auditseal"],
                  len(runs), certificate)


def purge_expired(*, schedule: str, today: date | None = None) -> Purged:
    """The scheduled purge: every whole month older than the period, with no person."""
    return purge(scheduled_cutoff(today), by=None, reason="the deployment's audit retention period",
                 schedule=schedule, today=today)


def _who(by, schedule: str) -> str:
    return f"person #{by.pk}" if by is not None else schedule


def _record_refusal(refusal: Exception, *, by, schedule: str, cutoff: date) -> None:
    log.error("audit trail purge before %s refused: %s", cutoff, refusal)
    record_event(Event.REFUSED, actor=by, target=by,
                 reason=f"audit trail retention purge before {cutoff} ({schedule}) refused, nothing deleted: "
                        f"{refusal}")


def _hold_the_sealer(alias: str) -> None:
    """No sealing run interleaves with the purge: it takes the sealer's lock for its transaction."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])


def _runs(moment, alias: str) -> list[tuple[int, int, str]]:
    """The runs of links the purge removes — the seals of entries older than `moment` (their
    `entry_time`, which is their month partition's key) — each as (first seq, last seq, the last
    link's value): one anchor each, so the chain stays verifiable. Runs are found in the database
    (seq minus its rank is constant along a run), so a month of links never comes into Python."""
    connection = connections[alias]
    when = connection.ops.adapt_datetimefield_value(moment)
    with connection.cursor() as cur:
        cur.execute("SELECT min(seq), max(seq) FROM (SELECT seq, seq - ROW_NUMBER() OVER (ORDER BY seq) AS run "
                    "FROM audit_auditseal WHERE entry_time < %s) s GROUP BY run ORDER BY 1", [when])
        bounds = cur.fetchall()
        runs = []
        for first, last in bounds:
            cur.execute("SELECT chain FROM audit_auditseal WHERE seq = %s AND entry_time < %s", [last, when])
            runs.append((first, last, cur.fetchone()[0]))
    return runs


def _delete_before(moment, runs: list[tuple[int, int, str]], alias: str) -> dict[str, int]:
    """One table each (SQLite): the entries older than `moment`, their subjects and their links."""
    ids = list(AuditEntry.objects.using(alias).filter(timestamp__lt=moment).order_by("id")
               .values_list("id", flat=True))
    counts = dict.fromkeys(TABLES, 0)
    with connections[alias].cursor() as cur:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start: start + CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            cur.execute(f"DELETE FROM audit_auditsubject WHERE entry_id IN ({marks})", chunk)  # noqa: S608
            counts["audit_auditsubject"] += cur.rowcount
            cur.execute(f"DELETE FROM audit_auditentry WHERE id IN ({marks})", chunk)  # noqa: S608
            counts["audit_auditentry"] += cur.rowcount
        for start, end, _ in runs:
            cur.execute("DELETE FROM audit_auditseal WHERE seq >= %s AND seq <= %s", [start, end])
            counts["audit_auditseal"] += cur.rowcount
    return counts


def _drop_expired(cutoff: date, moment, alias: str) -> dict[str, int]:
    """Partitioned by month (PostgreSQL, ADR 52): each month before `cutoff` goes whole — its
    partition of each table detached and dropped, its rows counted first — and the rows older
    than `moment` that sat in a DEFAULT partition are deleted."""
    counts = dict.fromkeys(TABLES, 0)
    with connections[alias].cursor() as cur:
        for table, key in PARTITIONED:
            cur.execute(f'DELETE FROM {table}_default WHERE "{key}" < %s', [moment])  # noqa: S608 - fixed names
            counts[table] += cur.rowcount
        for table, _ in PARTITIONED:
            for month in months_of(table, alias):
                if month >= cutoff:
                    break
                name = partition_name(table, month)
                cur.execute(f"SELECT count(*) FROM {name}")  # noqa: S608 - our own name
                counts[table] += cur.fetchone()[0]
                cur.execute(f"ALTER TABLE {table} DETACH PARTITION {name}")
                cur.execute(f"DROP TABLE {name}")
    return counts
