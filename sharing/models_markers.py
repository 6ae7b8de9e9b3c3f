"""The do-not-approach marker (issue 22, point 5): what stays of a woman who declined Pause or
withdrew, once her release is gone, so that the Trust does not approach her again unknowingly.

It holds her Trust person id's blind index and nothing readable: no name, no NHS number, no
person id, no link to her records (which retention or erasure may delete while the marker must
stay). Written and read only through `sharing.do_not_approach`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from pause_portal.classification import DataClass as D


class MarkerKind(models.TextChoices):
    DECLINED = "declined", "Declined"
    WITHDREW = "withdrew", "Withdrew"


class DoNotApproachMarker(models.Model):
    """She declined or withdrew on `ended_at`: do not approach her again before `until` (the
    agreement's "do_not_approach" period, or the default, in `period`). A Trust lead who releases
    her again, with a reason, sets the marker aside (`set_aside_at`, `set_aside_by`); the reason
    is in the audit entry of that release, not here."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    person_id_index = models.CharField(max_length=48)  # her Trust person id's blind index (v<version>:<hex>)
    kind = models.CharField(max_length=10, choices=MarkerKind.choices)
    ended_at = models.DateTimeField()
    until = models.DateTimeField()
    period = models.CharField(max_length=60)  # the words `until` was reckoned from, and where they came from
    set_aside_at = models.DateTimeField(null=True, blank=True)
    set_aside_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "person_id_index": D.QUASI, "kind": D.SAFE, "ended_at": D.SAFE,
        "until": D.SAFE, "period": D.SAFE, "set_aside_at": D.SAFE, "set_aside_by": D.SAFE,
    }

    class Meta:
        ordering = ["ended_at", "pk"]
        indexes = [models.Index(fields=["programme", "person_id_index"], name="marker_programme_index")]
        constraints = [
            models.CheckConstraint(condition=Q(until__gt=F("ended_at")), name="marker_until_after_end"),
            models.CheckConstraint(condition=Q(set_aside_at__isnull=True, set_aside_by__isnull=True)
                                   | Q(set_aside_at__isnull=False, set_aside_by__isnull=False),
                                   name="marker_set_aside_who_and_when"),
        ]

    def __str__(self) -> str:
        return f"do-not-approach marker #{self.pk}"
