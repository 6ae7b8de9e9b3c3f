"""The retention schedules, run daily by Celery beat (`CELERY_BEAT_SCHEDULE` in settings). Thin:
the work is `sharing.retention.apply_retention` (Pause's delivery data) and
`sharing.trust_copy_schedule.apply_trust_copy_retention` (the Trust's copy); `manage.py
apply_retention` and `manage.py apply_trust_copy_retention` run the same and offer a dry run."""

from __future__ import annotations

import logging

from celery import shared_task

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.tenancy.models import Phase, Programme
from sharing.retention import RetentionScheduleError, apply_retention
from sharing.trust_copy_schedule import apply_trust_copy_retention

logger = logging.getLogger(__name__)


def _run_each(programme_ids, apply, *, what: str, refused: str) -> int:
    """Run one schedule for each programme, as the beat does. A programme whose agreement has a
    period that cannot be applied is refused (nothing deleted, an audit entry says why: `refused`)
    and the others go on; so do they when one fails. Returns how many programmes ran."""
    ran = 0
    for programme_id in programme_ids:
        programme = Programme.objects.get(pk=programme_id)
        try:
            apply(programme, dry_run=False, trigger="beat")
            ran += 1
        except RetentionScheduleError as exc:
            logger.error("%s for programme #%s refused: %s", what, programme_id, exc)
            record_event(Event.CHANGE, actor=None, target=programme, programme=programme, action=0,
                         reason=f"{refused} refused, nothing deleted: {exc}")
        except Exception:  # one programme's failure must not hold back the others
            logger.exception("%s for programme #%s failed; the next run tries again", what, programme_id)
    return ran


@shared_task(name="sharing.apply_retention_schedules", ignore_result=True)
def apply_retention_schedules() -> int:
    """Apply each delivery or closed programme's retention schedule. Returns how many ran."""
    return _run_each(Programme.objects.filter(phase__in=[Phase.DELIVERY, Phase.CLOSED]).values_list("pk", flat=True),
                     apply_retention, what="retention", refused="retention run")


@shared_task(name="sharing.apply_trust_copy_schedules", ignore_result=True)
def apply_trust_copy_schedules() -> int:
    """Apply each programme's Trust's-copy schedule (every phase: the Trust's copy exists from the
    first import). Returns how many ran."""
    return _run_each(Programme.objects.values_list("pk", flat=True), apply_trust_copy_retention,
                     what="Trust's copy retention", refused="Trust's copy retention")
