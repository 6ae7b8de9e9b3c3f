"""The sealer's periodic tasks (Celery beat): seal every minute, checkpoint hourly."""

from __future__ import annotations

from celery import shared_task

from audit import sealing


@shared_task(name="audit.seal_pending", ignore_result=True)
def seal_pending() -> int:
    return sealing.seal_pending()


@shared_task(name="audit.write_checkpoint", ignore_result=True)
def write_checkpoint() -> int:
    sealing.seal_pending()
    head = sealing.write_checkpoint()
    return head["seq"] if head else 0


@shared_task(name="audit.run_monitoring", ignore_result=True)
def run_monitoring() -> int:
    from audit.monitoring import run_monitoring as run

    return run()
