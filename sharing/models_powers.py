"""A statutory power a Trust lead adds to the programme's vocabulary (issue 21, point 4): which
law underpins a public task is for the Trust's lawyers, not the code. It can be cited once the
Caldicott Guardian confirms it (never its proposer); a confirmed power is never changed or
removed, since releases, concerns and phase changes cite it by its code ``power_<id>``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from pause_portal.classification import DataClass as D
from sharing.models_scoping import ChangeStatus


class StatutoryPowerQuerySet(models.QuerySet):
    def confirmed(self, programme_id: int):
        return self.filter(programme_id=programme_id, status=ChangeStatus.CONFIRMED).order_by("pk")


class StatutoryPower(models.Model):
    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="statutory_powers")
    label = models.CharField(max_length=300)  # "Children Act 1989, section 22: ...", as pages show it
    justification = models.TextField()  # why it applies: the Trust's legal advice, in brief
    status = models.CharField(max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    objects = StatutoryPowerQuerySet.as_manager()

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "label": D.SAFE, "justification": D.SAFE, "status": D.SAFE,
        "proposed_by": D.SAFE, "proposed_at": D.SAFE, "decided_by": D.SAFE, "decided_at": D.SAFE,
        "decision_reason": D.SAFE,
    }

    class Meta:
        ordering = ["programme", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                                   name="statutory_power_decided_by_another"),
        ]

    def __str__(self) -> str:
        return f"statutory power #{self.pk}"

    @property
    def code(self) -> str:
        return f"power_{self.pk}"
