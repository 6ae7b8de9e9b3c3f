from django.db import models

from pause_portal.classification import DataClass as D
from pseudonymisation.blind_index import IndexKind
from pseudonymisation.fields import BlindIndexField, EncryptedField, ProtectedModel


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


class ProtectedCase(ProtectedModel):
    """A synthetic record with encrypted direct identifiers and blind indexes."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    trust_person_id = EncryptedField()
    surname = EncryptedField()
    date_of_birth = EncryptedField()
    nhs_number = EncryptedField()
    person_id_index = BlindIndexField(source="trust_person_id", kind=IndexKind.PERSON_ID)
    nhs_number_index = BlindIndexField(source="nhs_number", kind=IndexKind.NHS_NUMBER)
    surname_dob_index = BlindIndexField(source=("surname", "date_of_birth"), kind=IndexKind.SURNAME_DOB)
    age_band = models.CharField(max_length=10, blank=True)

    data_classification = {
        "id": D.SAFE,
        "row_uid": D.SAFE,
        "programme": D.SAFE,
        "trust_person_id": D.DIRECT,
        "surname": D.DIRECT,
        "date_of_birth": D.DIRECT,
        "nhs_number": D.DIRECT,
        "person_id_index": D.QUASI,
        "nhs_number_index": D.QUASI,
        "surname_dob_index": D.QUASI,
        "age_band": D.QUASI,
    }

    def __str__(self) -> str:
        return f"protected case #{self.pk}"
