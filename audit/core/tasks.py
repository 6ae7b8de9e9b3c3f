"""The sealer's periodic tasks (Celery beat): seal every minute (each run that seals something
writes its checkpoint), and an hourly catch-up checkpoint of the head. The DPO's oversight tasks
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
