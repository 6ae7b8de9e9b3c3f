"""The sealer's periodic tasks (Celery beat): seal every minute (each run that seals something
writes its checkpoint), and an hourly catch-up checkpoint of the head."""

from __future__ import annotations

import smtplib

from celery import shared_task

from audit import sealing


@shared_task(name="audit.seal_pending", ignore_result=True)
def seal_pending() -> int:
    from audit.refusals import flush_refusal_tallies

    flush_refusal_tallies()  # the past minutes' refusals without sign-in, sealed in this run
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


@shared_task(name="audit.tell_of_rights_proposal", ignore_result=True,
             autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=True, max_retries=8)
def tell_of_rights_proposal(proposal_id: int, portal_url: str = "") -> int:
    """Email the Caldicott Guardian (and, for an erasure, the Trust leads) that a decision awaits
    confirmation. Enqueued on commit with the proposal's id and the list's address only."""
    from audit.proposals import tell_of_proposal

    return tell_of_proposal(proposal_id=proposal_id, portal_url=portal_url)
