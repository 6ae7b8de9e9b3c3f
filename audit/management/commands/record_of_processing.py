"""Write a controller's record of processing (UK GDPR Article 30) for a programme to standard
output, generated from its confirmed data-sharing agreement (ADR 43):

    manage.py record_of_processing --programme "Westvale delivery" [--controller trust|pause] --format json|csv|html
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit.oversight.record_files import as_csv_text, as_html, as_json
from audit.oversight.record_of_processing import (
    CONTROLLERS,
    FORMATS,
    RecordRefused,
    record_of_processing,
)
from pause_portal.tenancy.models import Programme

WRITERS = {"json": as_json, "csv": as_csv_text, "html": as_html}


class Command(BaseCommand):
    help = ("Write the Trust's (or Pause's) record of processing for a programme, from its confirmed "
            "data-sharing agreement, as JSON, CSV or HTML.")

    def add_arguments(self, parser):
        parser.add_argument("--programme", required=True, help="The programme's name.")
        parser.add_argument("--controller", default="trust", help="trust (the default) or pause: whose record.")
        parser.add_argument("--format", default="json", help="json (the default), csv or html.")

    def handle(self, *args, **opts):
        if opts["format"] not in FORMATS:
            raise CommandError(f"There is no format \u201c{opts['format']}\u201d: choose {', '.join(FORMATS)}.")
        if opts["controller"] not in CONTROLLERS:
            raise CommandError(f"There is no controller \u201c{opts['controller']}\u201d: choose trust or pause.")
        programme = Programme.objects.filter(name=opts["programme"]).select_related("trust", "pause_practice").first()
        if programme is None:
            names = ", ".join(Programme.objects.order_by("name").values_list("name", flat=True)) or "none yet"
            raise CommandError(f"There is no programme called \u201c{opts['programme']}\u201d (programmes: {names}).")
        try:
            record = record_of_processing(programme, opts["controller"])
        except RecordRefused as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(WRITERS[opts["format"]](record))
