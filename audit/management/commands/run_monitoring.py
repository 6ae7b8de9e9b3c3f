"""Run the monitoring rules over every entry sealed since the last run (Celery beat does this
every five minutes; this is the same run by hand)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from audit.core.models_review import MonitoringCursor
from audit.oversight.monitoring import CURSOR, run_monitoring


class Command(BaseCommand):
    help = "Run the audit trail's monitoring rules over new entries and raise flags for the DPO."

    def handle(self, *args, **opts):
        raised = run_monitoring()
        cursor = MonitoringCursor.objects.get(name=CURSOR)
        self.stdout.write(f"Raised {raised} flag(s); the rules have read the trail up to link {cursor.last_seq}.")
