"""What outlives a purged woman's record (issue 22, point 1; ADR 38): the minimal record of each
decision a named Trust person made about her. Imported into `eligibility.models` for Django."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from pause_portal.append_only import AppendOnlyModel, Refusals
from pause_portal.classification import DataClass as D

KEPT_DECISIONS = Refusals(
    error=PermissionError,
    update="{plural} are history: they are never updated.",
    delete="{plural} are history: they are never deleted.",
    save="A {name} is history: it is never changed.",
    instance_delete="A {name} is history: it is never deleted.",
)


class KeptDecision(AppendOnlyModel):
    """The evidence that a person, not the rules, decided: the outcome, who decided, when, and
    under which rule-set version, kept when the woman's record is purged
    (`eligibility.trust_copy_retention`). Nothing about her: no link to her record, no reason, no
    evidence, no dates of hers. Written only by that purge, never changed."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=16)  # an eligibility.models.DecisionOutcome value
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()
    rule_set = models.ForeignKey("eligibility.RuleSet", on_delete=models.PROTECT, related_name="+")
    rule_set_version = models.PositiveIntegerField()
    purged_at = models.DateTimeField(default=timezone.now)

    append_only = KEPT_DECISIONS

    data_classification = {
        "id": D.SAFE,
        "programme": D.SAFE,
        "outcome": D.SAFE,  # about no one: the record names no woman
        "decided_by": D.SAFE,
        "decided_at": D.SAFE,
        "rule_set": D.SAFE,
        "rule_set_version": D.SAFE,
        "purged_at": D.SAFE,
    }

    class Meta:
        app_label = "eligibility"
        ordering = ["decided_at", "pk"]

    def __str__(self) -> str:
        return f"kept decision #{self.pk} ({self.outcome})"
