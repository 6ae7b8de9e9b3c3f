"""The reminder core (ADR 47): each reminder of a thing at a stage is sent exactly once whatever the
number of sweeps; an email that cannot be sent leaves nothing recorded, so the next sweep sends it;
a reminder leaves the dashboard once its thing no longer waits; text that looks like a reference is
refused; and the dashboard shows a person only the reminders sent to them."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from audit.core import reminders
from audit.core.models import AuditEntry
from audit.core.models_reminders import Reminder
from audit.core.reminders import Due, IdentifierInReminder, looks_identifying

pytestmark = pytest.mark.django_db


def _due(programme, people, stage="24h", item="audit.breach:1"):
    return Due(item=item, stage=stage, programme_id=programme.pk, recipients=tuple(p.pk for p in people),
               subject="A suspected breach waits for a decision on telling the ICO",
               body="A suspected breach was found 24 hours ago. Sign in to the portal to record the decision.",
               headline="A suspected breach: 48 hours left to tell the ICO", link="/dpo/breaches/")


def test_each_reminder_is_sent_once_whatever_the_number_of_sweeps(programme, dpo, caldicott):
    first = reminders.send_due("breach_clock", [_due(programme, [dpo, caldicott])])
    again = reminders.send_due("breach_clock", [_due(programme, [dpo, caldicott])])
    assert len(first) == 1 and again == []
    assert sorted(m.to[0] for m in mail.outbox) == sorted([dpo.email, caldicott.email])
    assert Reminder.objects.count() == 1
    entry = AuditEntry.objects.get(object_repr__startswith="audit.reminder", reason__startswith="reminder sent")
    assert "2 people" in entry.reason
    # The next stage is a new reminder.
    reminders.send_due("breach_clock", [_due(programme, [dpo], stage="48h")])
    assert len(mail.outbox) == 3


def test_a_failed_email_leaves_nothing_so_the_next_sweep_sends_it(programme, dpo, settings):
    settings.EMAIL_BACKEND = "tests.audit.core.test_reminders.FailingBackend"
    with pytest.raises(smtplib.SMTPException):
        reminders.send_due("breach_clock", [_due(programme, [dpo])])
    assert not Reminder.objects.exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert len(reminders.send_due("breach_clock", [_due(programme, [dpo])])) == 1


class FailingBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPException("the mail server is down")


def test_a_thing_that_no_longer_waits_is_cleared_and_leaves_the_dashboard(programme, dpo, as_person):
    reminders.send_due("breach_clock", [_due(programme, [dpo])])
    client = as_person(dpo)
    page = client.get(reverse("dashboard")).content.decode()
    assert "48 hours left to tell the ICO" in page
    # Still waiting, no new stage due: kept.
    reminders.send_due("breach_clock", [Due(item="audit.breach:1")])
    assert Reminder.objects.get().cleared_at is None
    # No longer reported: cleared.
    reminders.send_due("breach_clock", [])
    assert Reminder.objects.get().cleared_at is not None
    assert "48 hours left to tell the ICO" not in client.get(reverse("dashboard")).content.decode()


def test_the_dashboard_shows_only_the_reminders_sent_to_the_viewer(programme, dpo, caldicott, as_person):
    reminders.send_due("breach_clock", [_due(programme, [dpo])])
    assert "48 hours left" not in as_person(caldicott).get(reverse("dashboard")).content.decode()


def test_the_latest_stage_of_a_thing_is_shown_once(programme, dpo):
    now = timezone.now()
    reminders.send_due("breach_clock", [_due(programme, [dpo], stage="24h")], now=now)
    reminders.send_due("breach_clock", [_due(programme, [dpo], stage="48h")], now=now + timedelta(hours=24))
    shown = reminders.shown_to(dpo, programme_id=programme.pk)
    assert [r.stage for r in shown] == ["48h"]


def test_one_provider_failing_does_not_stop_the_others(programme, dpo):
    def broken(now):
        raise RuntimeError("a provider's bug")

    def working(now):
        return [_due(programme, [dpo])]

    with pytest.raises(RuntimeError):
        reminders.run({"broken": broken, "breach_clock": working})
    assert Reminder.objects.filter(kind="breach_clock").count() == 1


@pytest.mark.parametrize("text", ["Rights request R-2026-0012 is due", "person #13", "case 123456",
                                  "sch1-18 applies", "art6_1_e"])
def test_text_that_looks_like_a_reference_is_refused(programme, dpo, text):
    assert looks_identifying(text)
    with pytest.raises(IdentifierInReminder):
        Due(item="x:1", stage="7d", recipients=(dpo.pk,), subject=text, body="b", headline="h")


@pytest.mark.parametrize("text", ["Due on 7 December 2026 at 14:30", "A review is due by 2026-12-07",
                                  "24 hours, 48 hours and 66 hours", "December 2026"])
def test_dates_times_and_hours_are_not_references(text):
    assert looks_identifying(text) is None


def test_a_programme_named_with_digits_is_not_taken_for_a_reference(programme, dpo):
    programme.name = "Leeds 2027 Covid-19 pilot"
    programme.save()
    due = Due(item="x:1", stage="7d", programme_id=programme.pk, recipients=(dpo.pk,),
              subject=f"A review in {programme.name} is due", body=f"In {programme.name}, a review is due.",
              headline=f"{programme.name}: a review is due")
    assert len(reminders.send_due("dpia_review", [due])) == 1


def test_one_reminder_failing_does_not_hold_back_the_others_of_its_kind(programme, dpo, caldicott, settings):
    settings.EMAIL_BACKEND = "tests.audit.core.test_reminders.RefusesOneAddress"
    RefusesOneAddress.refused = caldicott.email
    first = _due(programme, [caldicott], item="audit.breach:1")
    second = _due(programme, [dpo], item="audit.breach:2")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        reminders.send_due("breach_clock", [first, second])
    assert list(Reminder.objects.values_list("item", flat=True)) == ["audit.breach:2"]
    assert [m.to for m in mail.outbox] == [[dpo.email]]


class RefusesOneAddress:
    """A mail server that refuses one address and delivers the rest to the test outbox."""

    refused = ""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        for message in messages:
            if self.refused in message.to:
                raise smtplib.SMTPRecipientsRefused({self.refused: (550, b"no such mailbox")})
        mail.outbox.extend(messages)
        return len(messages)
