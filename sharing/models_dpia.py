"""The programme's DPIA register (issue 23, point 2; ADR 48): the risks its data protection impact
assessment names, each scored on the ICO's matrix, and the reviews of the DPIA with the date the
next one is due. Before, the DPIA was only a reference and a sign-off date on the agreement.

Governance records, not personal data about women: a risk is described as a risk to people, and
the form warns against naming or describing anyone, as other free-text governance fields do. The
links to staff (owner, who recorded, who reviewed) are classified safe, as every other staff link
is. Rows change only through `sharing.dpia_register`, which audits each change.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from pause_portal.classification import DataClass as D

DESCRIPTION_MAX = 2000
MITIGATIONS_MAX = 4000
REVIEW_NOTES_MAX = 2000


class Likelihood(models.TextChoices):
    REMOTE = "remote", "Remote"
    POSSIBLE = "possible", "Possible"
    PROBABLE = "probable", "Probable"


class Severity(models.TextChoices):
    MINIMAL = "minimal", "Minimal"
    SIGNIFICANT = "significant", "Significant"
    SEVERE = "severe", "Severe"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class RiskStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    CLOSED = "closed", "Closed"


# The ICO's risk matrix (DPIA guidance, "How do we carry out a DPIA?"): the likelihood of harm
# against its severity gives the overall risk. Never entered: computed from these nine cells.
MATRIX: dict[tuple[str, str], str] = {
    (Likelihood.REMOTE, Severity.MINIMAL): RiskLevel.LOW,
    (Likelihood.REMOTE, Severity.SIGNIFICANT): RiskLevel.LOW,
    (Likelihood.REMOTE, Severity.SEVERE): RiskLevel.LOW,
    (Likelihood.POSSIBLE, Severity.MINIMAL): RiskLevel.LOW,
    (Likelihood.POSSIBLE, Severity.SIGNIFICANT): RiskLevel.MEDIUM,
    (Likelihood.POSSIBLE, Severity.SEVERE): RiskLevel.HIGH,
    (Likelihood.PROBABLE, Severity.MINIMAL): RiskLevel.LOW,
    (Likelihood.PROBABLE, Severity.SIGNIFICANT): RiskLevel.HIGH,
    (Likelihood.PROBABLE, Severity.SEVERE): RiskLevel.HIGH,
}
LEVEL_ORDER = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}


def overall_risk(likelihood: str, severity: str) -> str:
    """The overall risk the ICO's matrix gives a likelihood and a severity."""
    return MATRIX[(Likelihood(likelihood), Severity(severity))]


def _matrix_holds() -> Q:
    cells = [Q(likelihood=str(lk), severity=str(sv), overall_risk=str(level)) for (lk, sv), level in MATRIX.items()]
    condition = cells[0]
    for cell in cells[1:]:
        condition |= cell
    return condition


class DpiaRisk(models.Model):
    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    description = models.TextField(max_length=DESCRIPTION_MAX)  # a risk to people, naming no one
    likelihood = models.CharField(max_length=10, choices=Likelihood.choices)
    severity = models.CharField(max_length=12, choices=Severity.choices)
    overall_risk = models.CharField(max_length=6, choices=RiskLevel.choices)  # from MATRIX; a database check
    mitigations = models.TextField(max_length=MITIGATIONS_MAX, blank=True)
    residual_risk = models.CharField(max_length=6, choices=RiskLevel.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=RiskStatus.choices, default=RiskStatus.OPEN)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "description": D.SAFE, "likelihood": D.SAFE, "severity": D.SAFE,
        "overall_risk": D.SAFE, "mitigations": D.SAFE, "residual_risk": D.SAFE, "owner": D.SAFE, "status": D.SAFE,
        "recorded_by": D.SAFE, "recorded_at": D.SAFE, "changed_by": D.SAFE, "changed_at": D.SAFE,
    }

    class Meta:
        ordering = ["programme", "pk"]
        constraints = [
            models.CheckConstraint(condition=_matrix_holds(), name="dpia_risk_overall_from_the_matrix"),
            models.CheckConstraint(condition=~Q(description=""), name="dpia_risk_described"),
        ]

    def __str__(self) -> str:
        return f"DPIA risk #{self.pk}"


class DpiaReview(models.Model):
    """One review of the programme's DPIA: when it was reviewed, by whom, and when the next review
    is due. The latest is the one in force; earlier ones stay as the history."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    reviewed_on = models.DateField()
    next_review_on = models.DateField()
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    notes = models.TextField(max_length=REVIEW_NOTES_MAX, blank=True)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "reviewed_on": D.SAFE, "next_review_on": D.SAFE,
        "reviewed_by": D.SAFE, "recorded_at": D.SAFE, "notes": D.SAFE,
    }

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(next_review_on__gt=F("reviewed_on")),
                                   name="dpia_review_next_after_this_one"),
        ]

    def __str__(self) -> str:
        return f"DPIA review #{self.pk}"
