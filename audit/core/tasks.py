"""The sealer's periodic tasks (Celery beat): seal every minute (each run that seals something
writes its checkpoint), and an hourly sweep of the whole trail with a catch-up checkpoint of the head; and the audit trail's
daily retention purge (ADR 40) and month partitions (ADR 52). The DPO's oversight tasks
(monitoring, telling of a rights proposal) are in `audit.oversight.tasks`."""

from __future__ import annotations

import logging

from celery import shared_task

from audit.core import sealing

log = logging.getLogger("audit.partitions")


@shared_task(name="audit.seal_pending", ignore_result=True)
def seal_pending() -> int:
    from audit.core.refusals import flush_refusal_tallies

    flush_refusal_tallies()  # the past minutes' refusals without sign-in, sealed in this run
    return sealing.seal_pending()


@shared_task(name="audit.write_checkpoint", ignore_result=True)
def write_checkpoint() -> int:
    # The hourly sweep: also seals an entry committed too late to be found by the minute's run
    # (one verification will call inserted, ADR 55), so no entry stays out of the chain.
    sealing.seal_pending(sweep=True)
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


@shared_task(name="audit.ensure_trail_partitions", ignore_result=True)
def ensure_trail_partitions() -> int:
    """The audit trail's month partitions from this month to three ahead (PostgreSQL; ADR 52), as
    the tables' owner (the `audit_owner` queue, like the purge). A refusal is logged; the DEFAULT
    partition takes every entry meanwhile. Returns how many months were made."""
    from audit.core.partitions import PartitionsRefused, ensure_ahead

    try:
        return len(ensure_ahead())
    except PartitionsRefused as refusal:
        log.error("audit trail partitions not made: %s", refusal)
        return 0
