from django.db import models

from pause_portal.classification import DataClass as D


class CaseRecord(models.Model):
    """A synthetic case record belonging to a programme."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    trust_person_id = models.CharField(max_length=48)
    surname = models.CharField(max_length=100)
    ethnicity = models.CharField(max_length=4, blank=True)
    age_band = models.CharField(max_length=10, blank=True)

    data_classification = {
        "id": D.SAFE,
        "programme": D.SAFE,
        "trust_person_id": D.DIRECT,
        "surname": D.DIRECT,
        "ethnicity": D.SPECIAL,
        "age_band": D.QUASI,
    }

    def __str__(self) -> str:
        return f"case record #{self.pk}"
