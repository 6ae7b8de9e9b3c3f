"""Write a synthetic extract to try the upload with (`make demo-extract`): the Standard
Safeguarding Dataset tables as CSV files in a folder, or the flat template as one CSV file.
Everything in it is invented (`eligibility.synthetic`).

    manage.py write_synthetic_extract FOLDER [--children N] [--seed S] [--today YYYY-MM-DD] [--flat]

The defaults make the demo's next extract for Northbrook scoping: the demo seeds that programme
with seed 1 and 620 children; the same seed and day with more children gives the same families
first, then more. So the upload's check shows a few women updated and new women added. The day
is the one the demo's extracts were made on (the earliest imported extract), as the generator's
dates are counted back from it; without one, today.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from eligibility.models import Extract, ExtractStatus
from eligibility.synthetic import write_flat, write_ssd

DEMO_SEED, DEMO_CHILDREN = 1, 680  # the demo's Northbrook extract: seed 1, 620 children


def _demo_day() -> date:
    try:
        first = Extract.objects.filter(status=ExtractStatus.SUCCEEDED).order_by("uploaded_at").first()
    except DatabaseError:  # no demo database yet
        return timezone.localdate()
    return timezone.localdate(first.uploaded_at) if first else timezone.localdate()


class Command(BaseCommand):
    help = "Write a synthetic (invented) case extract to a folder, to upload in the demo."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--children", type=int, default=DEMO_CHILDREN)
        parser.add_argument("--seed", type=int, default=DEMO_SEED)
        parser.add_argument("--today", type=date.fromisoformat, default=None,
                            help="The day the extract is taken on (YYYY-MM-DD); its dates end there.")
        parser.add_argument("--flat", action="store_true", help="One flat-template CSV instead of the SSD tables.")

    def handle(self, *args, folder: Path, children: int, seed: int, today: date | None, flat: bool, **opts):
        if children < 1:
            raise CommandError("--children must be at least 1")
        today = today or _demo_day()
        folder.mkdir(parents=True, exist_ok=True)
        if flat:
            with open(folder / "flat_template.csv", "wb") as stream:
                stats = write_flat(stream, children=children, seed=seed, today=today)
            names = ["flat_template.csv"]
        else:
            stats = write_ssd(folder, children=children, seed=seed, today=today)
            names = sorted(p.name for p in folder.glob("ssd_*.csv"))
        self.stdout.write(
            f"Wrote a synthetic extract (invented people only) of {children} children, taken on {today.isoformat()}, "
            f"to {folder}: {', '.join(names)}; {stats.kept_women} women and {stats.kept_children} children to be kept.\n"
            "Upload these files on the portal: Dashboard, then Upload a case extract.")
