"""Remove whole expired months of the audit trail, under the owner role, through the logged bypass.

    manage.py purge_audit_retention --before 2020-01-01 --by dpo@example.org --reason "6-year retention"

Only whole calendar months older than the retention period go; the purge itself is recorded as
an entry that stays. The hash chain is carried forward: the purge removes the links of the purged
entries and records, for each run of removed links, an anchor MACed with the chain key (the run
and its last link), so `verify_audit_trail` steps over it and still holds afterwards. On PostgreSQL the application role has no DELETE on audit tables, so this
fails unless run with the owner's DATABASE_URL.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from audit.core.bypass import audit_bypass
from audit.core.log import record_event
from audit.core.models import AuditEntry, AuditSeal, Event
from audit.core.sealing import make_anchor, seal_pending
from pause_portal.tenancy.models import Person


class Command(BaseCommand):
    help = "Purge whole expired months of the audit trail (owner role only; logged)."

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="First day of a month (YYYY-MM-01); entries before it go.")
        parser.add_argument("--by", required=True, help="Email of the person authorising the purge.")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, **opts):
        try:
            cutoff = date.fromisoformat(opts["before"])
        except ValueError as exc:
            raise CommandError("--before must be a date: YYYY-MM-01.") from exc
        if cutoff.day != 1:
            raise CommandError("--before must be the first day of a month: only whole months are purged.")
        oldest_allowed = timezone.localdate() - timedelta(days=settings.PORTAL_AUDIT_RETENTION_DAYS)
        if cutoff > oldest_allowed:
            raise CommandError(
                f"Entries are kept for {settings.PORTAL_AUDIT_RETENTION_DAYS} days: --before must be on or before {oldest_allowed}."
            )
        by = Person.objects.filter(email__iexact=opts["by"], is_active=True).first()
        if by is None:
            raise CommandError(f"No active person with the email address {opts['by']}.")
        moment = timezone.make_aware(datetime.combine(cutoff, time.min))
        seal_pending()  # every entry in the chain first, so the purge removes whole links
        ids, runs = _purgeable(moment)
        with audit_bypass(f"retention purge before {cutoff} by person #{by.pk}: {opts['reason']}"):
            with connection.cursor() as cur:
                for start in range(0, len(ids), 1000):
                    chunk = ids[start : start + 1000]
                    marks = ", ".join(["%s"] * len(chunk))
                    cur.execute(f"DELETE FROM audit_auditsubject WHERE entry_id IN ({marks})", chunk)  # noqa: S608
                    cur.execute(f"DELETE FROM audit_auditentry WHERE id IN ({marks})", chunk)  # noqa: S608
                for start, end, _ in runs:
                    cur.execute("DELETE FROM audit_auditseal WHERE seq >= %s AND seq <= %s", [start, end])
            for start, end, last_link in runs:  # verification steps over each removed run
                make_anchor(start, end + 1, last_link, f"retention purge before {cutoff}: {opts['reason']}")
            record_event(Event.AUDIT_BYPASS, actor=by, target=by,
                         reason=f"retention purge: {len(ids)} entries before {cutoff}; {opts['reason']}")
        self.stdout.write(f"Purged {len(ids)} entries before {cutoff}.")


def _purgeable(moment) -> tuple[list[int], list[tuple[int, int, str]]]:
    """The entries older than `moment`, and the runs of links they occupy in the chain:
    (first seq, last seq, the last link's value) — one anchor each, so the chain stays verifiable."""
    ids = list(AuditEntry.objects.filter(timestamp__lt=moment).values_list("id", flat=True))
    runs: list[list] = []
    for seq, chain in AuditSeal.objects.filter(entry_id__in=ids).order_by("seq").values_list("seq", "chain"):
        if runs and runs[-1][1] == seq - 1:
            runs[-1][1:] = [seq, chain]
        else:
            runs.append([seq, seq, chain])
    return ids, [tuple(r) for r in runs]
