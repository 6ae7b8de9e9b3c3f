"""Apply the Trust's copy's retention schedule now (the daily beat job does the same), or check it
with --dry-run before it deletes anything."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from eligibility.trust_copy_retention import RULES
from pause_portal.tenancy.models import Programme
from sharing.retention import RetentionScheduleError
from sharing.trust_copy_schedule import apply_trust_copy_retention


class Command(BaseCommand):
    help = ("Remove from the Trust's copy the women whose retention period (from the data-sharing agreement) has run "
            "out: untouched women and women decided not eligible. --dry-run counts them and deletes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--programme", type=int, help="Only this programme (its id); default: every programme.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be removed; delete nothing.")

    def handle(self, *args, **opts):
        programmes = Programme.objects.all()
        if opts["programme"] is not None:
            programmes = programmes.filter(pk=opts["programme"])
            if not programmes.exists():
                raise CommandError(f"There is no programme #{opts['programme']}.")
        refused = []
        for programme in programmes.order_by("pk"):
            try:
                run = apply_trust_copy_retention(programme, dry_run=opts["dry_run"], trigger="command")
            except RetentionScheduleError as exc:
                refused.append(programme.pk)
                self.stderr.write(f"Programme #{programme.pk} {programme.name}: refused, nothing deleted.")
                for problem in exc.problems:
                    self.stderr.write(f"  {problem}")
                continue
            verb = "would remove" if run.dry_run else "removed"
            self.stdout.write(f"Programme #{programme.pk} {programme.name}: the Trust's copy"
                              f"{' (dry run: nothing deleted)' if run.dry_run else ''}")
            for rule, done in run.done.items():
                if "kept" in done:
                    self.stdout.write(f"  {rule}: kept ({done['kept']})")
                    continue
                tables = ", ".join(f"{label} {n}" for label, n in done["rows"].items())
                self.stdout.write(f"  {rule}: {verb} {done['count']} women ({RULES[rule][1]})"
                                  f"{f'; rows: {tables}' if tables else ''}")
            if run.kept_decisions:
                self.stdout.write(f"  minimal decision records {'to keep' if run.dry_run else 'kept'}: "
                                  f"{run.kept_decisions}")
            if run.certificate_id:
                self.stdout.write(f"  purge certificate #{run.certificate_id}")
        if refused:
            raise CommandError(f"{len(refused)} programme(s) refused: correct the retention periods in their "
                               "data-sharing agreement.")
