"""Wrapped data keys and the progress of re-encryption runs.

A data key exists only wrapped by its purpose's master secret (which lives outside the database).
Destroying a key deletes its wrapped copy and keeps a tombstone, so that anything protected by
that version fails loudly ("destroyed"), not mysteriously ("missing").
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

# This app is a leaf: the classification values are spelled out (they are StrEnum values of
# pause_portal.classification.DataClass, which compares equal to these strings).
SAFE = "safe"


class Purpose(models.TextChoices):
    TOKEN = "token", "Keyed tokens"
    ENCRYPTION = "encryption", "Field encryption"
    BLIND_INDEX = "blind_index", "Blind indexes"


class DataKey(models.Model):
    programme_id = models.PositiveBigIntegerField()
    phase = models.CharField(max_length=20)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    version = models.PositiveIntegerField()
    wrapped_key = models.BinaryField(null=True)
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    data_classification = {
        "id": SAFE,
        "programme_id": SAFE,
        "phase": SAFE,
        "purpose": SAFE,
        "version": SAFE,
        "wrapped_key": SAFE,  # useless without the master secret, which is never in the database
        "created_at": SAFE,
        "retired_at": SAFE,
        "destroyed_at": SAFE,
    }

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["programme_id", "phase", "purpose", "version"], name="datakey_unique_version"),
            models.UniqueConstraint(
                fields=["programme_id", "phase", "purpose"],
                condition=Q(retired_at__isnull=True, destroyed_at__isnull=True),
                name="datakey_one_current",
            ),
            models.CheckConstraint(
                condition=Q(destroyed_at__isnull=True, wrapped_key__isnull=False)
                | Q(destroyed_at__isnull=False, wrapped_key__isnull=True),
                name="datakey_destroyed_means_gone",
            ),
        ]

    def __str__(self) -> str:
        return f"data key {self.programme_id}/{self.phase}/{self.purpose} v{self.version}"


class ReencryptionRun(models.Model):
    """One pass of re-encrypting (or re-indexing) one model's rows onto the current key version,
    resumable from `last_pk`."""

    model_label = models.CharField(max_length=100)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    last_pk = models.BigIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    data_classification = {
        "id": SAFE,
        "model_label": SAFE,
        "purpose": SAFE,
        "last_pk": SAFE,
        "rows_done": SAFE,
        "started_at": SAFE,
        "finished_at": SAFE,
    }

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model_label", "purpose"], condition=Q(finished_at__isnull=True), name="reencryption_one_open_run"
            )
        ]

    def __str__(self) -> str:
        return f"re-encryption of {self.model_label} ({self.purpose})"
