"""What the scoping disclosure check keeps (issue 16; ADR 18).

- `ScopingTableVersion`: every version of every aggregate table Pause was shown or exported in
  scoping, exactly as shown (labels, published cells, totals), so that a new version can be
  checked against everything Pause already holds, and a test can solve for every hidden cell
  across all of them. Pause-side scoping data: purged when scoping ends.
- `ScopingIncident`: a served row that a later, stricter check found unsafe (it could single a
  woman out), opened for the DPO: which release, how many rows, since when, and who viewed them
  (from the audit trail). Kept: it is the Trust's accountability record, not Pause's data.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from pause_portal.classification import DataClass as D


class ScopingTableVersion(models.Model):
    """One version of a scoping aggregate table as Pause saw it. The same content shown again
    only updates `last_shown_at` and `times_shown`."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    table = models.CharField(max_length=60)  # the table's name ("removals", "outcomes", ...)
    via = models.CharField(max_length=20)  # "page", "export" or "final report" (the first)
    content = models.JSONField()  # {"title", "rows", "columns", "cells", "row_totals", "column_totals", "total"}
    sha256 = models.CharField(max_length=64)
    first_shown_at = models.DateTimeField(default=timezone.now)
    last_shown_at = models.DateTimeField(default=timezone.now)
    times_shown = models.PositiveIntegerField(default=1)
    hidden_cells = models.PositiveIntegerField(default=0)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "table": D.SAFE, "via": D.SAFE, "content": D.SAFE, "sha256": D.SAFE,
        "first_shown_at": D.SAFE, "last_shown_at": D.SAFE, "times_shown": D.SAFE, "hidden_cells": D.SAFE,
    }

    class Meta:
        ordering = ["programme", "first_shown_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["programme", "table", "sha256"],
                                               name="scoping_table_version_once")]

    def __str__(self) -> str:
        return f"scoping table version #{self.pk} ({self.table})"


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class ScopingIncident(models.Model):
    """A snapshot that had served rows a re-check found unsafe. References and counts only: the
    release by id, the rows by count, the viewers by person."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    release_id_ref = models.PositiveIntegerField()  # the ScopingRelease's id (the release is purged later)
    released_at = models.DateTimeField()  # served since
    rows_unsafe = models.PositiveIntegerField()  # rows served in a combination shared by fewer than k women
    rows_served = models.PositiveIntegerField()  # rows the snapshot served before the re-check
    smallest_class = models.PositiveIntegerField()  # over everything served, before the re-check
    k = models.PositiveSmallIntegerField()
    found_by = models.CharField(max_length=200)  # which check found it ("issue 16 re-check: every served column")
    viewers = models.JSONField(default=list)  # [{"person": id, "role": code, "views": n, "first": iso, "last": iso}]
    first_viewed_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=8, choices=IncidentStatus.choices, default=IncidentStatus.OPEN)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_note = models.TextField(blank=True)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "release_id_ref": D.SAFE, "released_at": D.SAFE,
        "rows_unsafe": D.SAFE, "rows_served": D.SAFE, "smallest_class": D.SAFE, "k": D.SAFE, "found_by": D.SAFE,
        "viewers": D.SAFE, "first_viewed_at": D.SAFE, "opened_at": D.SAFE, "status": D.SAFE,
        "closed_by": D.SAFE, "closed_at": D.SAFE,
        "closing_note": D.SPECIAL,  # the DPO's free text: may say anything
    }

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "release_id_ref", "found_by"], name="scoping_incident_once"),
            models.CheckConstraint(
                condition=(Q(status="open", closed_by__isnull=True, closed_at__isnull=True, closing_note="")
                           | (Q(status="closed", closed_by__isnull=False, closed_at__isnull=False)
                              & ~Q(closing_note=""))),
                name="scoping_incident_closed_who_when_note"),
        ]

    def __str__(self) -> str:
        return f"scoping incident #{self.pk}"
