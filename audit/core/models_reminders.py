"""Reminders sent (issue 23, points 2, 4 and 6; ADR 47): one row per reminder of one thing at one
stage ("the breach's 48-hour reminder"), so each is sent exactly once whatever the number of sweeps,
workers or restarts. The row holds no personal data: the kind of thing, its stable key (a model
label and primary key), the stage, what the email and the dashboard said (written without any
identifier), and the people it went to."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from pause_portal.classification import DataClass as D


class Reminder(models.Model):
    kind = models.CharField(max_length=40)  # the provider: "breach_clock", "rights_due", ...
    item = models.CharField(max_length=80)  # the thing reminded of, e.g. "audit.breach:12"
    stage = models.CharField(max_length=20)  # which reminder of it, e.g. "48h", "7d"
    programme = models.ForeignKey("sharing.Programme", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")  # None: a deployment-wide thing
    headline = models.CharField(max_length=200)  # what the dashboard shows; no identifier
    link = models.CharField(max_length=200, blank=True)  # the portal page that lists the thing
    subject = models.CharField(max_length=200)  # the email's subject, as sent
    sent_at = models.DateTimeField(default=timezone.now)
    # Set by the sweep once the provider no longer reports the thing as waiting (answered,
    # acknowledged, decided, reviewed): the dashboard then stops showing it.
    cleared_at = models.DateTimeField(null=True, blank=True)

    data_classification = {
        "id": D.SAFE, "kind": D.SAFE, "item": D.SAFE, "stage": D.SAFE, "programme": D.SAFE, "headline": D.SAFE,
        "link": D.SAFE, "subject": D.SAFE, "sent_at": D.SAFE, "cleared_at": D.SAFE,
    }

    class Meta:
        ordering = ["-sent_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "item", "stage"], name="reminder_sent_once")]
        indexes = [models.Index(fields=["kind", "cleared_at"], name="reminder_open_by_kind")]

    def __str__(self) -> str:
        return f"{self.headline} ({self.stage})"


class ReminderRecipient(models.Model):
    """One person a reminder went to: the dashboard shows each person the reminders sent to them."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="recipients")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    data_classification = {"id": D.SAFE, "reminder": D.SAFE, "person": D.SAFE}

    class Meta:
        constraints = [models.UniqueConstraint(fields=["reminder", "person"], name="reminder_recipient_once")]

    def __str__(self) -> str:
        return f"reminder {self.reminder_id} to person {self.person_id}"
