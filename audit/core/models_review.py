"""The DPO's access review and the monitoring rules (issue 8, points 2 and 3): what they keep.

- `ReviewSearch`: each search, report and export the DPO makes of the trail, with the DPO's reason —
  the record the Caldicott Guardian reads of the DPO's own activity. A person search keeps the
  subject references it resolved to (never the Trust id, NHS number or token searched for), so the
  report's pages can be turned without the identifier travelling again. A person search made for a
  rights request keeps the request (and found exactly the woman it is about); one made for anything
  else (a monitoring flag, a breach) keeps the DPO's free-text reason instead (ADR 16).
- `MonitoringFlag`: something a rule found in the trail, for the DPO to review and close with a note.
- `MonitoringCursor`: how far the rules have read (a link of the seal chain, which never skips an
  entry that committed late).
- `ConflictDeclaration`: a member of staff's declaration that they know someone whose records the
  portal may hold — kept only as blind indexes under the programme's key.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.utils import timezone

from pause_portal.append_only import AppendOnlyModel, Refusals
from pause_portal.classification import DataClass as D


class ReviewKind(models.TextChoices):
    PERSON_SEARCH = "person_search", "Search by person"
    TRAIL_SEARCH = "trail_search", "Search of the trail"
    USER_REPORT = "user_report", "Report on a member of staff"
    EXPORT = "export", "Export (CSV)"


class ReviewSearch(AppendOnlyModel):
    """One search, report or export of the audit trail by the DPO, with their reason."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=16, choices=ReviewKind.choices)
    reason = models.TextField(blank=True)
    criteria = models.JSONField(default=dict)  # filters, and for a person what kind of identifier — never its value
    subjects = models.JSONField(default=list)  # references ("app.model:pk") a person search resolved to
    result_count = models.PositiveIntegerField(default=0)
    # No database constraint: the retention purge removes whole expired months of entries, and a
    # review record must neither stop it nor vanish with it (the reference then dangles: shown as purged).
    entry = models.ForeignKey("audit.AuditEntry", null=True, blank=True, on_delete=models.DO_NOTHING,
                              db_constraint=False, related_name="+")
    # The open rights request a person search was made for (issue 9). Requests are never deleted —
    # an erasure clears a request's link to her and keeps the row — so PROTECT only guards the rule.
    rights_request = models.ForeignKey("audit.RightsRequest", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")

    append_only = Refusals(
        error=PermissionDenied,
        update="Review records are append-only: they cannot be updated.",
        delete="Review records are append-only: they cannot be deleted.",
        save="Review records are append-only.",
    )

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "by": D.SAFE, "at": D.SAFE, "kind": D.SAFE, "reason": D.SAFE,
        "criteria": D.SAFE, "subjects": D.SAFE, "result_count": D.SAFE, "entry": D.SAFE, "rights_request": D.SAFE,
    }

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["programme", "at"], name="review_search_programme_at")]

    def __str__(self) -> str:
        return f"review #{self.pk} ({self.kind})"



class FlagRule(models.TextChoices):
    OUT_OF_HOURS = "out_of_hours", "Access out of hours"
    BULK_ACCESS = "bulk_access", "Bulk access"
    OUTSIDE_CASELOAD = "outside_caseload", "Attempt outside a caseload or programme"
    REPEATED_REFUSALS = "repeated_refusals", "Repeated refusals"
    DECLARED_CONFLICT = "declared_conflict", "Access to someone on the declared-conflicts register"
    NO_RECEIPT = "no_receipt", "Rights request opened with no recorded receipt"
    RAPID_REQUESTS = "rapid_requests", "Rights requests opened faster than the threshold"


class FlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class MonitoringFlag(models.Model):
    """What a monitoring rule found: the entry that raised it, for the DPO to review and close."""

    rule = models.CharField(max_length=20, choices=FlagRule.choices)
    # As for ReviewSearch.entry: no database constraint, so the retention purge is never blocked.
    entry = models.ForeignKey("audit.AuditEntry", null=True, blank=True, on_delete=models.DO_NOTHING,
                              db_constraint=False, related_name="+")
    occurred_at = models.DateTimeField()  # when the access happened (kept if the entry is purged)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    programme = models.ForeignKey("sharing.Programme", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    detail = models.TextField()  # what the rule saw and its threshold: counts and times, never an identifier
    raised_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=8, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_note = models.TextField(blank=True)

    data_classification = {
        "id": D.SAFE, "rule": D.SAFE, "entry": D.SAFE, "occurred_at": D.SAFE, "actor": D.SAFE, "programme": D.SAFE, "detail": D.SAFE,
        "raised_at": D.SAFE, "status": D.SAFE, "closed_by": D.SAFE, "closed_at": D.SAFE,
        "closing_note": D.SPECIAL,  # the DPO's free text about what happened: may say anything
    }

    class Meta:
        ordering = ["-raised_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "entry"], name="flag_once_per_rule_and_entry"),
            models.CheckConstraint(
                condition=(Q(status=FlagStatus.OPEN, closed_by__isnull=True, closed_at__isnull=True,
                             closing_note="")
                           | (Q(status=FlagStatus.CLOSED, closed_by__isnull=False, closed_at__isnull=False)
                              & ~Q(closing_note=""))),
                name="flag_closed_with_who_when_and_note",
            ),
        ]
        indexes = [models.Index(fields=["programme", "status", "raised_at"], name="flag_programme_status")]

    def __str__(self) -> str:
        return f"flag #{self.pk} ({self.rule})"


class MonitoringCursor(models.Model):
    """How far the monitoring rules have read the trail: through this link of the seal chain."""

    name = models.CharField(max_length=30, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    ran_at = models.DateTimeField(null=True, blank=True)

    data_classification = {"id": D.SAFE, "name": D.SAFE, "last_seq": D.SAFE, "ran_at": D.SAFE}

    def __str__(self) -> str:
        return f"monitoring cursor {self.name} at link {self.last_seq}"


class ConflictKind(models.TextChoices):
    PERSON_ID = "person_id", "Trust person ID"
    NHS_NUMBER = "nhs_number", "NHS number"


class Relationship(models.TextChoices):
    RELATIVE = "relative", "A relative"
    KNOWN_PERSONALLY = "known_personally", "Someone I know personally (a friend, neighbour or acquaintance)"
    OTHER = "other", "Another connection"


class ConflictDeclaration(models.Model):
    """A member of staff knows someone the portal may hold records about. Only blind indexes of
    the identifier are kept (one per live key version of the programme's index key), so the
    register says nothing to anyone without that key."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    declared_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=12, choices=ConflictKind.choices)
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    index_terms = models.JSONField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "declared_by": D.SAFE, "declared_at": D.SAFE, "kind": D.SAFE,
        "relationship": D.QUASI, "index_terms": D.QUASI, "withdrawn_at": D.SAFE,
    }

    class Meta:
        ordering = ["-declared_at", "-pk"]
        indexes = [models.Index(fields=["programme", "declared_by"], name="conflict_programme_person")]

    def __str__(self) -> str:
        return f"conflict declaration #{self.pk}"
