"""Delete kept uploads that no extract needs any more: what beat runs hourly
(`eligibility.sweep_kept_uploads`), for the demo and for anyone without beat (eager mode has none).

    manage.py sweep_uploads [--dry-run]

Prints and logs counts only (never a file name or a person's name).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from eligibility.uploads import sweep_kept_uploads


class Command(BaseCommand):
    help = "Delete kept uploads whose import has finished, failed long ago, or that no extract records."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; change nothing.")

    def handle(self, *args, **opts):
        report = sweep_kept_uploads(dry_run=opts["dry_run"])
        verb = "would be deleted" if opts["dry_run"] else "deleted"
        self.stdout.write(f"{report.deleted} kept uploads {verb} ({report.as_text()}).")
