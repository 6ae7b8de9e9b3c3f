"""The scoping deadline's reminders, run daily by Celery beat (`CELERY_BEAT_SCHEDULE` in settings;
django_celery_beat's DatabaseScheduler copies it into the database when beat starts). Thin: the
work, and its idempotence, are in `sharing.phases.send_scoping_reminder`. The deadline itself needs
no task: the disclosure policy reads the clock.

And telling the people who may decide a proposed phase change or agreement version that it waits
(`sharing.governance_emails`): enqueued on commit by name (`pause_portal.queue.send_on_commit`) with the proposal's id and
the decision page's address only."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task

from pause_portal.tenancy.models import Phase, Programme
from sharing.governance_emails import tell_agreement_deciders, tell_phase_change_deciders
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


@shared_task(name="sharing.tell_deciders_of_phase_change", ignore_result=True,
             autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=True, max_retries=8)
def tell_deciders_of_phase_change(change_id: int, portal_url: str = "") -> int:
    """Email everyone who may decide a proposed phase change (retried when the mail server fails;
    a retry may repeat an email, never lose one)."""
    return tell_phase_change_deciders(change_id=change_id, portal_url=portal_url)


@shared_task(name="sharing.tell_deciders_of_agreement", ignore_result=True,
             autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=True, max_retries=8)
def tell_deciders_of_agreement(agreement_id: int, portal_url: str = "") -> int:
    """Email the Caldicott Guardian that a proposed agreement version waits for them."""
    return tell_agreement_deciders(agreement_id=agreement_id, portal_url=portal_url)
