"""Apply the retention schedule now (the daily beat job does the same): for the demo, and for
checking a schedule with --dry-run before it deletes anything."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from pause_portal.tenancy.models import Phase, Programme
from sharing.retention import BY_KEY, RetentionScheduleError, apply_retention


class Command(BaseCommand):
    help = ("Delete Pause's delivery data whose retention period (from the data-sharing agreement) has run out, "
            "and record the run. --dry-run counts what would be deleted and deletes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--programme", type=int, help="Only this programme (its id); default: every programme "
                                                          "in delivery or closed.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")

    def handle(self, *args, **opts):
        if opts["programme"] is not None:
            programmes = list(Programme.objects.filter(pk=opts["programme"]))
            if not programmes:
                raise CommandError(f"There is no programme #{opts['programme']}.")
        else:
            programmes = list(Programme.objects.filter(phase__in=[Phase.DELIVERY, Phase.CLOSED]))
        refused = []
        for programme in programmes:
            try:
                run = apply_retention(programme, dry_run=opts["dry_run"], trigger="command")
            except RetentionScheduleError as exc:
                refused.append(programme.pk)
                self.stderr.write(f"Programme #{programme.pk} {programme.name}: refused, nothing deleted.")
                for problem in exc.problems:
                    self.stderr.write(f"  {problem}")
                continue
            verb = "would delete" if run.dry_run else "deleted"
            self.stdout.write(f"Programme #{programme.pk} {programme.name}: retention run #{run.pk}"
                              f"{' (dry run: nothing deleted)' if run.dry_run else ''}")
            for key, done in run.deleted.items():
                entry = run.schedule.get(key)
                if entry is None:
                    self.stdout.write(f"  {key}: kept (no period in the agreement)")
                    continue
                tables = ", ".join(f"{label} {n}" for label, n in done["rows"].items())
                self.stdout.write(f"  {key}: {verb} {done['count']} (period {entry['period']} {BY_KEY[key].clock}, "
                                  f"from the agreement's \u201c{entry['from']}\u201d){f'; rows: {tables}' if tables else ''}")
                if done.get("awaiting_hand_over"):
                    self.stdout.write(f"    kept until the Trust files its concerns in its case record: "
                                      f"{done['awaiting_hand_over']}")
        if refused:
            raise CommandError(f"{len(refused)} programme(s) refused: correct the retention periods in their "
                               "data-sharing agreement.")
