"""Make the audit trail's month partitions (PostgreSQL; ADR 52), as the beat task
`audit.ensure_trail_partitions` does daily: this month and three ahead, or the months from
--from to --to (YYYY-MM). Rows of those months waiting in the DEFAULT partition move into them.
Run as the tables' owner (`docker-compose run --rm migrate python manage.py ...`).

    manage.py ensure_audit_partitions [--from 2026-01 --to 2026-12]
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from audit.core.partitions import PartitionsRefused, ensure_ahead, ensure_months


def _month(text: str) -> date:
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError as error:
        raise CommandError(f"{text!r} is not a month: write it as YYYY-MM.") from error


class Command(BaseCommand):
    help = "Make the audit trail's month partitions (this month and three ahead, or --from .. --to)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", help="the first month, YYYY-MM")
        parser.add_argument("--to", dest="last", help="the last month, YYYY-MM")

    def handle(self, *args, **opts):
        if bool(opts["first"]) != bool(opts["last"]):
            raise CommandError("Give both --from and --to, or neither.")
        try:
            if opts["first"]:
                first, last = _month(opts["first"]), _month(opts["last"])
                if last < first:
                    raise CommandError("--to is before --from.")
                made = ensure_months(first, last)
            else:
                made = ensure_ahead()
        except PartitionsRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        self.stdout.write(f"Made {len(made)} months: {', '.join(f'{m:%Y-%m}' for m in made) or 'none needed'}.")
