"""The DPO's oversight tasks: the monitoring rules' periodic run, and telling the confirmers of a
rights proposal. Task names are fixed (`name=`): they are the queue's contract, not the module's
path."""

from __future__ import annotations

import smtplib

from celery import shared_task


@shared_task(name="audit.run_monitoring", ignore_result=True)
def run_monitoring() -> int:
    from audit.oversight.monitoring import run_monitoring as run

    return run()


@shared_task(name="audit.tell_of_rights_proposal", ignore_result=True,
             autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=True, max_retries=8)
def tell_of_rights_proposal(proposal_id: int, portal_url: str = "") -> int:
    """Email the Caldicott Guardian (and, for an erasure, the Trust leads) that a decision awaits
    confirmation. Enqueued on commit with the proposal's id and the list's address only."""
    from audit.oversight.proposals import tell_of_proposal

    return tell_of_proposal(proposal_id=proposal_id, portal_url=portal_url)


@shared_task(name="audit.tell_of_suspected_breach", ignore_result=True,
             autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=True, max_retries=8)
def tell_of_suspected_breach(report_id: int, portal_url: str = "") -> int:
    """Email the Trust's DPO (and Pause's, when Pause's side is involved) that a suspected breach
    was reported. Enqueued on commit with the report's id and the triage list's address only."""
    from audit.oversight.breach_reports import tell_of_report

    return tell_of_report(report_id=report_id, portal_url=portal_url)


@shared_task(name="audit.send_reminders", ignore_result=True)
def send_reminders() -> dict[str, int]:
    """Every reminder due now, each sent once (ADR 47): DPIA reviews, breach clocks, rights requests,
    unacknowledged concerns, waiting confirmations."""
    from audit.oversight.reminder_providers import run_all

    return run_all()
