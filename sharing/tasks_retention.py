"""The retention schedule, run daily by Celery beat (`CELERY_BEAT_SCHEDULE` in settings). Thin:
the work is `sharing.retention.apply_retention`; `manage.py apply_retention` runs the same for the
demo and offers a dry run."""

from __future__ import annotations

import logging

from celery import shared_task

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.tenancy.models import Phase, Programme
from sharing.retention import RetentionScheduleError, apply_retention

logger = logging.getLogger(__name__)


@shared_task(name="sharing.apply_retention_schedules", ignore_result=True)
def apply_retention_schedules() -> int:
    """Apply each delivery or closed programme's retention schedule. A programme whose agreement
    has a period that cannot be applied is refused (nothing deleted, an audit entry says why) and
    the others go on. Returns how many programmes ran."""
    ran = 0
    for programme_id in Programme.objects.filter(phase__in=[Phase.DELIVERY, Phase.CLOSED]).values_list("pk", flat=True):
        programme = Programme.objects.get(pk=programme_id)
        try:
            apply_retention(programme, dry_run=False, trigger="beat")
            ran += 1
        except RetentionScheduleError as exc:
            logger.error("retention for programme #%s refused: %s", programme_id, exc)
            record_event(Event.CHANGE, actor=None, target=programme, programme=programme, action=0,
                         reason=f"retention run refused, nothing deleted: {exc}")
        except Exception:  # one programme's failure must not hold back the others
            logger.exception("retention for programme #%s failed; the next run tries again", programme_id)
    return ran
