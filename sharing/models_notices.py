"""The privacy notices (issue 21, point 5): each programme holds the text of the Trust's privacy
notice and of Pause's own Art. 14 notice, as numbered versions. A version is published by a lead
of its controller and takes effect once a second person confirms it (`sharing.privacy_notices`);
a confirmed version is never changed, the next one replaces it. The version in force is the latest
confirmed one. A Trust version also says how long scoping may last (`scoping_months`, at most 3,
and `scoping_extension_days`, the longest extension it tells women about)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from pause_portal.classification import DataClass as D
from sharing.models_scoping import ChangeStatus


class Controller(models.TextChoices):
    TRUST = "trust", "The Trust's privacy notice"
    PAUSE = "pause", "Pause's privacy notice (Art. 14)"


class PrivacyNotice(models.Model):
    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="privacy_notices")
    controller = models.CharField(max_length=5, choices=Controller.choices)
    version = models.PositiveIntegerField()
    text = models.TextField()
    scoping_months = models.PositiveSmallIntegerField(default=3)  # Trust notices: how long scoping lasts
    scoping_extension_days = models.PositiveSmallIntegerField(default=0)  # the longest extension it announces
    change_reason = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "controller": D.SAFE, "version": D.SAFE, "text": D.SAFE,
        "scoping_months": D.SAFE, "scoping_extension_days": D.SAFE, "change_reason": D.SAFE, "status": D.SAFE,
        "proposed_by": D.SAFE, "proposed_at": D.SAFE, "decided_by": D.SAFE, "decided_at": D.SAFE,
        "decision_reason": D.SAFE,
    }

    class Meta:
        ordering = ["programme", "controller", "version"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "controller", "version"], name="privacy_notice_one_version"),
            models.UniqueConstraint(fields=["programme", "controller"], condition=Q(status="proposed"),
                                    name="privacy_notice_one_waiting"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                                   name="privacy_notice_decided_by_another"),
            models.CheckConstraint(condition=Q(scoping_months__gte=1, scoping_months__lte=3),
                                   name="privacy_notice_scoping_at_most_3_months"),
        ]

    def __str__(self) -> str:
        return f"{self.get_controller_display()} v{self.version}"

    @property
    def label(self) -> str:
        """"The Trust's privacy notice, version 2": how pages and records name it."""
        return f"{self.get_controller_display()}, version {self.version}"
