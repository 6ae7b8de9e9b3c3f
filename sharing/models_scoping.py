"""The data-sharing agreement, phase changes, and the scoping phase's Pause-side data: the
k-checked release snapshot, Pause's notes and export records, the final report, and the deletion
certificate left when scoping ends (issue 6; ARCHITECTURE "The phases").

Pause-side scoping data — `ScopingRelease`, `ScopingWomanRow`, `ScopingChildRow`, `ScopingNote`,
`ScopingExport`, and every `FinalReport` but the approved one — is purged when scoping ends
(`SCOPING_PURGED_MODELS`); the Trust's own records are not touched.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from pause_portal.classification import DataClass as D
from pause_portal.tenancy.models import Phase


class ChangeStatus(models.TextChoices):
    PROPOSED = "proposed", "Awaiting confirmation"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Agreement(models.Model):
    """One version of a programme's data-sharing agreement. A version is proposed by a Trust lead
    and takes effect once confirmed by the Caldicott Guardian (never the proposer); a confirmed
    version is never changed — a change is the next version. The current agreement is the latest
    confirmed version."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="agreements")
    version = models.PositiveIntegerField()
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    parties = models.TextField()  # the controllers and processors, by name and role
    purposes = models.TextField()
    # Each controller's bases: {"trust": {"article_6", "article_9", "power"}, "pause": {...}}, codes of
    # sharing.lawful_bases (issue 21, point 4); versions before it held one flat list (sharing 0013).
    lawful_bases = models.JSONField(default=dict)
    data_items = models.JSONField(default=dict)  # phase -> list of item codes each phase may share
    retention = models.JSONField(default=dict)  # store -> period, in words
    uk_only_processing = models.BooleanField(default=False)
    policy_document_reference = models.CharField(max_length=200, blank=True)  # Sch. 1 Part 4 APD
    dpia_reference = models.CharField(max_length=200, blank=True)
    dpia_signed_off_by = models.CharField(max_length=200, blank=True)  # name and role of the signatory
    dpia_signed_off_on = models.DateField(null=True, blank=True)
    scoping_extension_days = models.PositiveIntegerField(default=0)  # beyond the 3 months
    # How long a Trust lead has to settle a change since release (a re-review, an absence) before
    # she leaves Pause's view (issue 21, point 2; `sharing.delivery_access`).
    decide_changes_within_days = models.PositiveSmallIntegerField(default=14)
    # Pause is a controller with its own Art. 33 duty: its DPO's address, to which the notice of a
    # suspected breach on Pause's side and its 72-hour reminders go (issue 23, point 4; ADR 49).
    # An office address (dpo@...), not a person's: the emails carry no identifier either way.
    pause_dpo_email = models.EmailField(max_length=200, blank=True)
    change_reason = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "version": D.SAFE, "based_on": D.SAFE, "parties": D.SAFE,
        "purposes": D.SAFE, "lawful_bases": D.SAFE, "data_items": D.SAFE, "retention": D.SAFE,
        "uk_only_processing": D.SAFE, "policy_document_reference": D.SAFE, "dpia_reference": D.SAFE,
        "dpia_signed_off_by": D.SAFE, "dpia_signed_off_on": D.SAFE, "scoping_extension_days": D.SAFE,
        "decide_changes_within_days": D.SAFE, "pause_dpo_email": D.SAFE, "change_reason": D.SAFE, "status": D.SAFE, "proposed_by": D.SAFE, "proposed_at": D.SAFE,
        "decided_by": D.SAFE, "decided_at": D.SAFE,
    }

    class Meta:
        ordering = ["programme", "version"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "version"], name="agreement_one_version_number"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                                   name="agreement_decided_by_another"),
        ]

    def __str__(self) -> str:
        return f"data-sharing agreement v{self.version}"


class PhaseChange(models.Model):
    """A proposed move scoping -> delivery -> closed: a Trust lead proposes; the Caldicott Guardian
    or a second Trust lead confirms (never the proposer, never the DPO)."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="phase_changes")
    from_phase = models.CharField(max_length=10, choices=Phase.choices)
    to_phase = models.CharField(max_length=10, choices=Phase.choices)
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.PROPOSED)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    # Leaving scoping with no approved final report is refused unless the proposer chose, on the
    # record, to end scoping with no final report kept (the purge then keeps nothing).
    no_final_report_kept = models.BooleanField(default=False)
    # The bases the change relies on: the agreement's in force when it was proposed (both controllers;
    # sharing.lawful_bases). Empty on changes recorded before issue 21.
    lawful_bases = models.JSONField(default=dict)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "from_phase": D.SAFE, "to_phase": D.SAFE, "reason": D.SAFE,
        "status": D.SAFE, "proposed_by": D.SAFE, "proposed_at": D.SAFE, "decided_by": D.SAFE,
        "decided_at": D.SAFE, "no_final_report_kept": D.SAFE, "lawful_bases": D.SAFE,
    }

    class Meta:
        ordering = ["proposed_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                                   name="phase_change_decided_by_another"),
            models.UniqueConstraint(fields=["programme"], condition=Q(status="proposed"),
                                    name="phase_change_one_open_proposal"),
        ]

    def __str__(self) -> str:
        return f"phase change {self.from_phase} -> {self.to_phase}"


class ScopingReminder(models.Model):
    """A deadline reminder sent (30, 7 or 1 days before), so each is sent once."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    days_before = models.PositiveSmallIntegerField()
    deadline = models.DateTimeField()
    sent_at = models.DateTimeField(default=timezone.now)

    data_classification = {"id": D.SAFE, "programme": D.SAFE, "days_before": D.SAFE, "deadline": D.SAFE,
                           "sent_at": D.SAFE}

    class Meta:
        constraints = [models.UniqueConstraint(fields=["programme", "deadline", "days_before"],
                                               name="scoping_reminder_once")]

    def __str__(self) -> str:
        return f"scoping reminder {self.days_before} days before"


class ScopingRelease(models.Model):
    """One release of women to Pause in scoping: who, when, under which agreement version, and
    what the k-anonymity check did to the whole snapshot (`report`: levels chosen, rows withheld).
    Purged when scoping ends."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="+")
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(default=timezone.now)
    women = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict)  # counts, level names and withheld counts only

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "agreement": D.SAFE, "released_by": D.SAFE, "released_at": D.SAFE,
        "women": D.SAFE, "report": D.SAFE,
    }

    class Meta:
        ordering = ["released_at", "pk"]

    def __str__(self) -> str:
        return f"scoping release #{self.pk}"


class ScopingWomanRow(models.Model):
    """A released woman as Pause sees her in scoping: made once at release. `*_fine` keep the
    minimised values at their finest level (so the k-check can run again over the snapshot when
    someone is removed); the served values are the generalised ones; a withheld row is never
    served. `woman` links back to the Trust's record for removals only; it is never shown."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    release = models.ForeignKey(ScopingRelease, on_delete=models.PROTECT, related_name="rows")
    woman = models.ForeignKey("eligibility.Woman", on_delete=models.PROTECT, related_name="+")
    token = models.CharField(max_length=40)
    age_band_fine = models.CharField(max_length=20)  # at release
    age_at_first_removal_fine = models.CharField(max_length=20, default="Not known")  # aggregate tables only
    ethnic_group_fine = models.CharField(max_length=20)
    children_removed_fine = models.PositiveSmallIntegerField()
    removal_years_fine = models.CharField(max_length=200)
    outcome_types_fine = models.CharField(max_length=200, default="")  # the exact outcome types
    outcome_types = models.CharField(max_length=200)
    age_at_first_removal = models.CharField(max_length=40, default="")
    age_band = models.CharField(max_length=20)
    ethnic_group = models.CharField(max_length=20)
    children_removed = models.CharField(max_length=20)
    removal_years = models.CharField(max_length=200)
    withheld = models.BooleanField(default=False)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "release": D.SAFE, "woman": D.QUASI, "token": D.QUASI,
        "age_band_fine": D.QUASI, "age_at_first_removal_fine": D.QUASI, "ethnic_group_fine": D.SPECIAL, "children_removed_fine": D.QUASI,
        "removal_years_fine": D.QUASI, "outcome_types_fine": D.QUASI, "outcome_types": D.QUASI,
        "age_at_first_removal": D.QUASI, "age_band": D.QUASI,
        "ethnic_group": D.SPECIAL, "children_removed": D.QUASI, "removal_years": D.QUASI, "withheld": D.SAFE,
    }

    class Meta:
        ordering = ["token"]
        constraints = [models.UniqueConstraint(fields=["programme", "woman"], name="scoping_row_one_per_woman")]

    def __str__(self) -> str:
        return f"scoping row {self.token}"


class ScopingChildRow(models.Model):
    """A released woman's child in scoping: a scoping token, a year band and an outcome only."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    mother_row = models.ForeignKey(ScopingWomanRow, on_delete=models.CASCADE, related_name="children")
    token = models.CharField(max_length=40)
    year_band = models.CharField(max_length=20)
    outcome = models.CharField(max_length=60)

    data_classification = {"id": D.SAFE, "programme": D.SAFE, "mother_row": D.SAFE, "token": D.QUASI,
                           "year_band": D.QUASI, "outcome": D.QUASI}

    class Meta:
        ordering = ["token"]

    def __str__(self) -> str:
        return f"scoping child row {self.token}"


class ScopingNote(models.Model):
    """The Pause lead's working notes and analyses during scoping (purged with the snapshot)."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField(default=timezone.now)
    text = models.TextField()

    data_classification = {"id": D.SAFE, "programme": D.SAFE, "written_by": D.SAFE, "written_at": D.SAFE,
                           "text": D.QUASI}

    def __str__(self) -> str:
        return f"scoping note #{self.pk}"


class ScopingExport(models.Model):
    """A record of an aggregate export in scoping: which table, by whom, when, and a digest of
    the file served (purged with the snapshot)."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    exported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    exported_at = models.DateTimeField(default=timezone.now)
    table = models.CharField(max_length=60)
    sha256 = models.CharField(max_length=64)
    suppressed_cells = models.PositiveIntegerField(default=0)

    data_classification = {"id": D.SAFE, "programme": D.SAFE, "exported_by": D.SAFE, "exported_at": D.SAFE,
                           "table": D.SAFE, "sha256": D.SAFE, "suppressed_cells": D.SAFE}

    def __str__(self) -> str:
        return f"scoping export #{self.pk}"


class ReportStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted for approval"
    APPROVED = "approved", "Approved"
    RETURNED = "returned", "Returned for changes"


class FinalReport(models.Model):
    """Pause's final scoping report: text plus aggregate tables made from portal tables, each
    checked by the suppression helper. Submitted by the Pause lead, approved by a Trust lead;
    only an approved report outlives scoping."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    tables = models.JSONField(default=list)  # [{"title", "columns", "rows", "suppressed"}], suppressed
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.TextField(blank=True)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "title": D.SAFE, "body": D.QUASI, "tables": D.SAFE, "status": D.SAFE,
        "written_by": D.SAFE, "updated_at": D.SAFE, "submitted_at": D.SAFE, "decided_by": D.SAFE,
        "decided_at": D.SAFE, "return_reason": D.SAFE,
    }

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["programme"], condition=Q(status="approved"),
                                    name="final_report_one_approved"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("written_by")),
                                   name="final_report_decided_by_another"),
        ]

    def __str__(self) -> str:
        return f"final report #{self.pk}"


class DeletionCertificate(models.Model):
    """What the end of scoping purged: every store with its row count, the key destroyed, when, by
    whom (or by the deadline), and a SHA-256 digest of the certificate's canonical text. Kept."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    purged_at = models.DateTimeField(default=timezone.now)
    purged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")  # None: the deadline passed
    trigger = models.CharField(max_length=40)  # "deadline" or "phase change #N"
    stores = models.JSONField(default=list)  # [{"store": label, "rows": n}]
    keys_destroyed = models.JSONField(default=list)  # [{"scope": label, "versions": n}]
    kept = models.JSONField(default=list)  # e.g. the approved final report's id
    digest = models.CharField(max_length=64)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "purged_at": D.SAFE, "purged_by": D.SAFE, "trigger": D.SAFE,
        "stores": D.SAFE, "keys_destroyed": D.SAFE, "kept": D.SAFE, "digest": D.SAFE,
    }

    class Meta:
        constraints = [models.UniqueConstraint(fields=["programme"], name="deletion_certificate_once")]


    def __str__(self) -> str:
        return f"deletion certificate #{self.pk}"


from sharing.models_scoping_checks import ScopingIncident, ScopingTableVersion  # noqa: E402,F401

# Pause-side scoping data: what the purge deletes (FinalReport: all but the approved one).
SCOPING_PURGED_MODELS = (ScopingChildRow, ScopingWomanRow, ScopingRelease, ScopingNote, ScopingExport,
                         ScopingTableVersion)
