"""Wrapped data keys, the record of what happened to their custody, and the progress of
re-encryption runs.

A data key exists only wrapped, under a key derived from its purpose's master secret and its
scope's secret in the key store (both outside the database; ADR 22). Destroying a key deletes its
wrapped copy and keeps a tombstone, so that anything protected by that version fails loudly
("destroyed"), not mysteriously ("missing"); once the destruction commits, the scope's secret is
deleted from the key store, so the copies the database cannot forget (dead row versions, WAL,
backups) no longer unwrap.
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


class Wrapping(models.IntegerChoices):
    # Before ADR 22: under the purpose's master secret alone. Re-wrapped by migration 0003 (or on
    # first use); old copies of such bytes unwrap with the master secret until it is rotated.
    MASTER_ONLY = 1, "Master secret alone"
    MASTER_AND_SCOPE_SECRET = 2, "Master secret and the scope's secret in the key store"


class DataKey(models.Model):
    programme_id = models.PositiveBigIntegerField()
    phase = models.CharField(max_length=20)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    version = models.PositiveIntegerField()
    wrapped_key = models.BinaryField(null=True)
    wrapping = models.PositiveSmallIntegerField(choices=Wrapping.choices, default=Wrapping.MASTER_AND_SCOPE_SECRET)
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    data_classification = {
        "id": SAFE,
        "programme_id": SAFE,
        "phase": SAFE,
        "purpose": SAFE,
        "version": SAFE,
        "wrapped_key": SAFE,  # useless without the master secret and the scope's secret, never in the database
        "wrapping": SAFE,
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


class CustodyEvent(models.TextChoices):
    LEGACY_REWRAPPED = "legacy_rewrapped", "Keys wrapped under the master secret alone re-wrapped"
    MASTER_ROTATED = "master_rotated", "Master secret rotated: every live key re-wrapped"
    SCOPE_SECRET_DELETED = "scope_secret_deleted", "Scope secret deleted from the key store"


class KeyCustodyRecord(models.Model):
    """What happened to the keys' custody outside ordinary use, kept by this app itself (it writes
    no audit entries: it imports no other app). The deletion certificate reads it: when a scope's
    secret was deleted, and whether copies wrapped under a master secret alone may still exist."""

    at = models.DateTimeField(default=timezone.now)
    event = models.CharField(max_length=30, choices=CustodyEvent.choices)
    scope = models.CharField(max_length=64, blank=True)  # a scope label, or "" for a whole purpose
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    keys = models.PositiveIntegerField(default=0)  # how many key versions it concerned

    data_classification = {
        "id": SAFE,
        "at": SAFE,
        "event": SAFE,
        "scope": SAFE,
        "purpose": SAFE,
        "keys": SAFE,
    }

    class Meta:
        indexes = [models.Index(fields=["scope", "event"], name="keycustody_scope_event")]

    def __str__(self) -> str:
        return f"{self.get_event_display()} ({self.scope or self.purpose})"


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
