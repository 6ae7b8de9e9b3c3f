"""Re-run the current scoping disclosure check over every live snapshot (issue 16, point 6):
withhold or generalise whatever now fails, and open an incident for the DPO for each release that
had served a row found unsafe. Data migration sharing 0007 runs the same at deployment."""

from django.core.management.base import BaseCommand

from sharing.scoping_recheck import recheck_live_snapshots


class Command(BaseCommand):
    help = "Re-check every live scoping snapshot over every served column; open incidents for unsafe rows."

    def handle(self, *args, **options):
        results = recheck_live_snapshots()
        if not results:
            self.stdout.write("No live scoping snapshot.")
        for r in results:
            self.stdout.write(
                f"programme #{r['programme']}: {r['rows']} rows; served before {r['served_before']} "
                f"({r['unsafe_before']} unsafe); now served {r['served_after']}, withheld {r['withheld_after']}; "
                f"levels {r['levels']}; incidents opened: {len(r['incidents'])}")
