"""The Caldicott log (issue 23, point 3): every confirmation or rejection by the Caldicott
Guardian, with their justification, one row per decision, written by `sharing.caldicott_log.record`
in the same transaction as the decision itself. The actions only ever add rows.

The justification is classified safe: the form asks for reasons, not names, and warns against
personal data, like every other free-text governance field (ADR 45)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from pause_portal.classification import DataClass as D

JUSTIFICATION_MAX = 2000


class DecisionKind(models.TextChoices):
    AGREEMENT = "agreement", "Data-sharing agreement version"
    STATUTORY_POWER = "statutory_power", "Statutory power"
    PHASE_CHANGE = "phase_change", "Phase change"
    PRIVACY_NOTICE = "privacy_notice", "Privacy notice version"
    ROLE_GRANT = "role_grant", "Role grant"
    RIGHTS_DECISION = "rights_decision", "The DPO's rights decision"


class Decision(models.TextChoices):
    CONFIRM = "confirm", "Confirmed"
    REJECT = "reject", "Rejected"


class CaldicottDecision(models.Model):
    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=DecisionKind.choices)
    subject = models.CharField(max_length=200)  # what was decided, in words: "Version 3 of the agreement"
    subject_pk = models.PositiveBigIntegerField()
    decision = models.CharField(max_length=7, choices=Decision.choices)
    justification = models.TextField(max_length=JUSTIFICATION_MAX)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "kind": D.SAFE, "subject": D.SAFE, "subject_pk": D.SAFE,
        "decision": D.SAFE, "justification": D.SAFE, "decided_by": D.SAFE, "decided_at": D.SAFE,
    }

    class Meta:
        ordering = ["-decided_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(justification=""), name="caldicott_decision_justified"),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()}: {self.subject}"
