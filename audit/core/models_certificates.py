"""Purge certificates (issue 22, point 3): one for every purge the portal makes outside scoping
(scoping keeps its own `sharing.DeletionCertificate`, in the same form). Written only by
`audit.core.certificates.issue`; each holds a SHA-256 digest of its canonical text, which
`audit.core.certificates.digest_holds` re-checks. Kept: no retention rule removes them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from pause_portal.classification import DataClass as D


class PurgeKind(models.TextChoices):
    RETENTION = "retention", "Retention of Pause's delivery records"
    TRUST_COPY = "trust_copy", "Retention of the Trust's copy"
    CLOSURE = "closure", "Programme closed"
    AUDIT_TRAIL = "audit_trail", "Retention of the audit trail"


class PurgeCertificate(models.Model):
    """What one purge deleted: each store (with its table) and its row count, the keys destroyed,
    what was kept, what still remains and where (backups, until their rotation date), when, by whom
    or by which schedule, and a digest of all of it."""

    kind = models.CharField(max_length=16, choices=PurgeKind.choices)
    programme = models.ForeignKey("sharing.Programme", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")  # None: the deployment's audit trail
    purged_at = models.DateTimeField(default=timezone.now)
    purged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")  # None: a schedule ran it
    schedule = models.CharField(max_length=200)  # the schedule or command that ran it, in words
    trigger = models.CharField(max_length=80)  # e.g. "retention run #12", "closure"
    stores = models.JSONField(default=list)  # [{"store": words, "table": db table, "rows": n}]
    keys_destroyed = models.JSONField(default=list)  # [{"scope": label, "versions": n, "remains": words, ...}]
    kept = models.JSONField(default=list)  # [{"what": words, "table": db table or "", "rows": n or None}]
    remains = models.JSONField(default=list)  # [{"what": words, "where": words, "until": date or None}]
    digest = models.CharField(max_length=64)

    data_classification = {
        "id": D.SAFE, "kind": D.SAFE, "programme": D.SAFE, "purged_at": D.SAFE, "purged_by": D.SAFE,
        "schedule": D.SAFE, "trigger": D.SAFE, "stores": D.SAFE, "keys_destroyed": D.SAFE, "kept": D.SAFE,
        "remains": D.SAFE, "digest": D.SAFE,
    }

    class Meta:
        app_label = "audit"
        ordering = ["-purged_at", "-pk"]

    def __str__(self) -> str:
        return f"purge certificate #{self.pk}"

    @property
    def rows_deleted(self) -> int:
        return sum(int(s.get("rows") or 0) for s in self.stores)
