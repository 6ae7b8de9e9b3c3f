"""The scoping deadline's reminders, run daily by Celery beat (`CELERY_BEAT_SCHEDULE` in settings;
django_celery_beat's DatabaseScheduler copies it into the database when beat starts). Thin: the
work, and its idempotence, are in `sharing.phases.send_scoping_reminder`. The deadline itself needs
no task: the disclosure policy reads the clock."""

from __future__ import annotations

import logging

from celery import shared_task

from sharing.models import Phase, Programme
from sharing.phases import send_scoping_reminder

logger = logging.getLogger(__name__)


@shared_task(name="sharing.send_scoping_reminders", ignore_result=True)
def send_scoping_reminders() -> int:
    """Send each programme in scoping the reminder due now (30, 7 or 1 days before its deadline),
    once. Returns how many people were told."""
    told = 0
    for programme_id in Programme.objects.filter(phase=Phase.SCOPING).values_list("pk", flat=True):
        programme = Programme.objects.get(pk=programme_id)
        try:
            told += send_scoping_reminder(programme=programme)
        except Exception:  # one programme's failed email must not hold back the others' reminders
            logger.exception("scoping reminder for programme #%s failed; the next run tries again", programme_id)
    return told
