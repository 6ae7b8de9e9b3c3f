"""Remove whole expired months of the audit trail, as the tables' owner, through the logged bypass.

    manage.py purge_audit_retention --before 2020-01-01 --by dpo@example.org --reason "6-year retention"

The same purge Celery beat runs daily with no person (`audit.purge_expired_trail`), here for a
month a person chooses and authorises: `audit.core.retention.purge` (ADR 40). Only whole calendar
months older than PORTAL_AUDIT_RETENTION_DAYS go; it refuses when a live agreement asks the trail
be kept longer than that. The chain is carried forward by an anchor for each run of removed links,
so `verify_audit_trail` still holds afterwards; the purge is recorded by an entry and a purge
certificate. On PostgreSQL it deletes through the owner's connection
(PORTAL_AUDIT_OWNER_DATABASE_URL): the application role has no DELETE on audit tables.
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from audit.core.retention import BadCutoff, RetentionRefused, purge
from pause_portal.tenancy.models import Person

SCHEDULE = "manage.py purge_audit_retention"


class Command(BaseCommand):
    help = "Purge whole expired months of the audit trail (owner role only; logged, with a certificate)."

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="First day of a month (YYYY-MM-01); entries before it go.")
        parser.add_argument("--by", required=True, help="Email of the person authorising the purge.")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, **opts):
        try:
            cutoff = date.fromisoformat(opts["before"])
        except ValueError as exc:
            raise CommandError("--before must be a date: YYYY-MM-01.") from exc
        by = Person.objects.filter(email__iexact=opts["by"], is_active=True).first()
        if by is None:
            raise CommandError(f"No active person with the email address {opts['by']}.")
        try:
            done = purge(cutoff, by=by, reason=opts["reason"], schedule=SCHEDULE)
        except BadCutoff as exc:
            raise CommandError(f"--before: {exc}") from exc
        except RetentionRefused as exc:
            raise CommandError(f"Refused, nothing deleted: {exc}") from exc
        if done.certificate is None:
            self.stdout.write(f"Nothing to purge before {cutoff}.")
        else:
            self.stdout.write(f"Purged {done.entries} entries before {cutoff} (purge certificate "
                              f"#{done.certificate.pk}).")
