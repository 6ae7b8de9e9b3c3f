"""Casework's background work: telling the Trust leads that a safeguarding concern or serious
incident awaits them, and the Pause leads that a practitioner's caseload was handed to them. Thin:
the work is `sharing.concerns.tell_trust_leads` and `sharing.handover.tell_pause_leads`. Enqueued on commit
(by name, `pause_portal.queue.send_on_commit`) with the concern's (or programme's) id and the list's address only — Redis never
holds anything about the women or the concern."""

from __future__ import annotations

import smtplib

from celery import shared_task

from sharing.concerns import tell_trust_leads
from sharing.handover import tell_pause_leads


@shared_task(name="sharing.tell_trust_leads_of_concern", ignore_result=True,
             autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=True, max_retries=8)
def tell_trust_leads_of_concern(concern_id: int, portal_url: str = "") -> int:
    """Email the programme's Trust leads that something awaits them (retried when the mail
    server fails; a retry may repeat an email, never lose one)."""
    return tell_trust_leads(concern_id=concern_id, portal_url=portal_url)


@shared_task(name="sharing.tell_pause_leads_of_handover", ignore_result=True,
             autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=True, max_retries=8)
def tell_pause_leads_of_handover(programme_id: int, portal_url: str = "") -> int:
    """Email the programme's Pause leads that women need a practitioner (retried when the mail
    server fails; a retry may repeat an email, never lose one)."""
    return tell_pause_leads(programme_id=programme_id, portal_url=portal_url)
