"""The sealer's periodic tasks (Celery beat): seal every minute (each run that seals something
writes its checkpoint), and an hourly catch-up checkpoint of the head; and the audit trail's
daily retention purge (ADR 40). The DPO's oversight tasks
(monitoring, telling of a rights proposal) are in `audit.oversight.tasks`."""

from __future__ import annotations

from celery import shared_task

from audit.core import sealing


@shared_task(name="audit.seal_pending", ignore_result=True)
def seal_pending() -> int:
    from audit.core.refusals import flush_refusal_tallies

    flush_refusal_tallies()  # the past minutes' refusals without sign-in, sealed in this run
    return sealing.seal_pending()


@shared_task(name="audit.write_checkpoint", ignore_result=True)
def write_checkpoint() -> int:
    sealing.seal_pending()
    head = sealing.write_checkpoint()
    return head["seq"] if head else 0


# The words a scheduled purge's certificate gives for what ran it (settings.CELERY_BEAT_SCHEDULE).
TRAIL_RETENTION_SCHEDULE = "Celery beat schedule \u201caudit-trail-retention\u201d, daily at 03:15 (Europe/London)"


@shared_task(name="audit.purge_expired_trail", ignore_result=True)
def purge_expired_trail() -> int:
    """Every whole month of the audit trail older than the deployment's period, as the tables'
    owner, with no person (audit.core.retention). A refusal is logged and recorded there, and
    deletes nothing; the next day's run tries again. Returns how many entries went."""
    from audit.core.retention import RetentionRefused, purge_expired

    try:
        return purge_expired(schedule=TRAIL_RETENTION_SCHEDULE).entries
    except RetentionRefused:
        return 0
