"""The delivery phase's records: releases (a live reference to the Trust's records), caseloads,
contact and participation, safeguarding concerns and serious incidents, quarterly progress
reports and retention runs.

A delivery release never copies a woman's identifiers: `ReleasedWoman` points at the Trust's
`eligibility.Woman`, so Pause sees her current details through the disclosure policy, and a
restriction or withdrawal takes her out of every Pause view at once. The one identifier the
Trust's extracts do not carry — the address to contact her at — is entered by the Trust lead at
release and stored encrypted here. Children reach Pause only as delivery tokens (a key scope of
their own, unlinkable to scoping tokens).

Caseloads are django-guardian object permissions on `ReleasedWoman` (direct foreign-key
permission tables); `CaseloadAssignment` keeps the history of who was assigned when.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from pause_portal.classification import DataClass as D
from pseudonymisation.fields import EncryptedField, ProtectedModel

WORK_WITH_WOMAN = "work_with_woman"  # the caseload's object permission on ReleasedWoman


class DeliveryRelease(models.Model):
    """One act of release by a Trust lead: which women, when, by whom, under which agreement and
    lawful basis. The women released are its `ReleasedWoman` rows."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="delivery_releases")
    agreement = models.ForeignKey("sharing.Agreement", on_delete=models.PROTECT, related_name="+")
    lawful_bases = models.JSONField(default=dict)  # the agreement's bases, as cited at release (sharing.lawful_bases)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(default=timezone.now)
    women_count = models.PositiveIntegerField(default=0)
    children_count = models.PositiveIntegerField(default=0)
    # The Trust's privacy notice version in force at release (issue 21, point 5); None: none was.
    trust_notice = models.ForeignKey("sharing.PrivacyNotice", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "agreement": D.SAFE, "lawful_bases": D.SAFE, "released_by": D.SAFE,
        "released_at": D.SAFE, "women_count": D.SAFE, "children_count": D.SAFE, "trust_notice": D.SAFE,
    }

    class Meta:
        ordering = ["released_at", "pk"]

    def __str__(self) -> str:
        return f"delivery release #{self.pk}"


class Participation(models.TextChoices):
    NOT_CONTACTED = "not_contacted", "Not yet contacted"
    NOT_REACHED = "not_reached", "Not reached"
    AGREED = "agreed", "Agreed to take part"
    DECLINED = "declined", "Declined"
    WITHDREW = "withdrew", "Withdrew"


ENDED_PARTICIPATION = (Participation.DECLINED, Participation.WITHDREW)
LEAVES_VIEW_AFTER_DAYS = 30  # after a decline or withdrawal, unless a safeguarding concern is open


class ReleasedWoman(ProtectedModel):
    """A woman released to Pause for delivery: a live reference to the Trust's record."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="released_women")
    woman = models.ForeignKey("eligibility.Woman", on_delete=models.PROTECT, related_name="delivery_releases")
    release = models.ForeignKey(DeliveryRelease, on_delete=models.PROTECT, related_name="women")
    released_at = models.DateTimeField(default=timezone.now)
    trust_contact = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    address = EncryptedField()  # entered by the Trust lead at release (extracts carry postcodes only)
    target_position = models.PositiveIntegerField(null=True, blank=True)  # the Pause lead's order
    target_reason = EncryptedField()  # why she is placed there (may say something about her)
    participation = models.CharField(max_length=14, choices=Participation.choices,
                                     default=Participation.NOT_CONTACTED)
    participation_ended_at = models.DateTimeField(null=True, blank=True)  # a decline or withdrawal
    privacy_information_given_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)  # the Trust took the release back
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    # The eligibility decision she is shared on: her latest at release, or the one a reinstatement
    # cites. A later decision that is not eligible or at risk takes her out until a Trust lead
    # reinstates her (ADR 29).
    shared_on_decision = models.ForeignKey("eligibility.Decision", null=True, blank=True, on_delete=models.PROTECT,
                                           related_name="+")

    data_classification = {
        "id": D.SAFE, "row_uid": D.SAFE, "programme": D.SAFE, "woman": D.SAFE, "release": D.SAFE,
        "shared_on_decision": D.SAFE,
        "released_at": D.SAFE, "trust_contact": D.SAFE, "address": D.DIRECT, "target_position": D.SAFE,
        "target_reason": D.SPECIAL, "participation": D.SPECIAL, "participation_ended_at": D.QUASI,
        "privacy_information_given_at": D.SAFE, "withdrawn_at": D.SAFE, "withdrawn_by": D.SAFE,
    }

    class Meta:
        permissions = [(WORK_WITH_WOMAN, "Work with this woman (her practitioner's caseload)")]
        constraints = [
            models.UniqueConstraint(fields=["programme", "woman"], name="released_woman_once_per_programme"),
            models.CheckConstraint(
                condition=Q(participation__in=[p.value for p in ENDED_PARTICIPATION],
                            participation_ended_at__isnull=False)
                | (~Q(participation__in=[p.value for p in ENDED_PARTICIPATION])
                   & Q(participation_ended_at__isnull=True)),
                name="released_woman_ended_participation_dated",
            ),
        ]
        indexes = [models.Index(fields=["programme", "target_position"], name="released_woman_target")]

    def __str__(self) -> str:
        return f"released woman #{self.pk}"


class AbsenceConfirmation(models.Model):
    """A Trust lead's confirmation that a released woman missing from the latest extract stays shared
    with Pause. It settles that one absence: the extract she was last in is kept, so when she comes
    back and goes missing again the new absence needs a new confirmation (ADR 29)."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    released_woman = models.ForeignKey(ReleasedWoman, on_delete=models.PROTECT, related_name="absence_confirmations")
    last_extract = models.ForeignKey("eligibility.Extract", on_delete=models.PROTECT, related_name="+")
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(default=timezone.now)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "released_woman": D.SAFE, "last_extract": D.SAFE,
        "confirmed_by": D.SAFE, "confirmed_at": D.SAFE,
    }

    class Meta:
        ordering = ["confirmed_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["released_woman", "last_extract"], name="absence_confirmed_once"),
        ]

    def __str__(self) -> str:
        return f"absence confirmation #{self.pk}"


class ReleaseReinstatement(models.Model):
    """A Trust lead reinstating a woman's existing release after she left Pause's view, on a new
    decision that makes her releasable. The release keeps its row (one per woman); this keeps the
    history: when, by whom, on which decision, and the withdrawal it undid, if any (ADR 29)."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    released_woman = models.ForeignKey(ReleasedWoman, on_delete=models.PROTECT, related_name="reinstatements")
    decision = models.ForeignKey("eligibility.Decision", on_delete=models.PROTECT, related_name="+")
    previous_decision = models.ForeignKey("eligibility.Decision", null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="+")
    undid_withdrawal_at = models.DateTimeField(null=True, blank=True)
    undid_withdrawal_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                            related_name="+")
    reinstated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reinstated_at = models.DateTimeField(default=timezone.now)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "released_woman": D.SAFE, "decision": D.SAFE,
        "previous_decision": D.SAFE, "undid_withdrawal_at": D.SAFE, "undid_withdrawal_by": D.SAFE,
        "reinstated_by": D.SAFE, "reinstated_at": D.SAFE,
    }

    class Meta:
        ordering = ["reinstated_at", "pk"]

    def __str__(self) -> str:
        return f"reinstatement #{self.pk}"


class CaseloadUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(ReleasedWoman, on_delete=models.CASCADE)

    data_classification = {"id": D.SAFE, "permission": D.SAFE, "user": D.SAFE, "content_object": D.SAFE}


class CaseloadGroupObjectPermission(GroupObjectPermissionBase):
    """Unused (caseloads are per person), but guardian expects the pair."""

    content_object = models.ForeignKey(ReleasedWoman, on_delete=models.CASCADE)

    data_classification = {"id": D.SAFE, "permission": D.SAFE, "group": D.SAFE, "content_object": D.SAFE}


class CaseloadEndReason(models.TextChoices):
    """Why an assignment ended. A practitioner leaving or losing her role hands her caseload to the
    Pause lead (`sharing.handover`): those two reasons put the woman on the lead's "Women who need
    a practitioner" list until she is assigned again."""

    REASSIGNED = "reassigned", "Assigned to another practitioner"
    UNASSIGNED = "unassigned", "Taken out of the caseload by the Pause lead"
    TRUST_ENDED = "trust_ended", "Ended by the Trust (release withdrawn, objection upheld)"
    PROGRAMME_CLOSED = "programme_closed", "Programme closed"
    ROLE_REVOKED = "role_revoked", "Practitioner's role revoked"
    PRACTITIONER_LEFT = "practitioner_left", "Practitioner left (deactivated)"


class CaseloadAssignment(models.Model):
    """Who had a released woman in their caseload, from when to when, and why it ended (the
    permission is the guardian row; this is its history). Assignments ended before the reason was
    recorded have none ("")."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    released_woman = models.ForeignKey(ReleasedWoman, on_delete=models.PROTECT, related_name="assignments")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    end_reason = models.CharField(max_length=20, choices=CaseloadEndReason.choices, blank=True, default="")

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "released_woman": D.SAFE, "practitioner": D.SAFE,
        "assigned_by": D.SAFE, "assigned_at": D.SAFE, "ended_at": D.SAFE, "ended_by": D.SAFE,
        "end_reason": D.SAFE,
    }

    class Meta:
        ordering = ["assigned_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["released_woman"], condition=Q(ended_at__isnull=True),
                                    name="caseload_one_current_practitioner"),
            models.CheckConstraint(condition=Q(ended_at__isnull=False) | Q(end_reason=""),
                                   name="caseload_open_has_no_end_reason"),
        ]

    def __str__(self) -> str:
        return f"caseload assignment #{self.pk}"


class ReleasedChild(models.Model):
    """A child of a released woman, as Pause may know it: a delivery token (values are read live
    from the Trust's record: year of birth, removal year, outcome)."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    released_woman = models.ForeignKey(ReleasedWoman, on_delete=models.PROTECT, related_name="children")
    child = models.ForeignKey("eligibility.Child", on_delete=models.PROTECT, related_name="+")
    token = models.CharField(max_length=40)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "released_woman": D.SAFE, "child": D.SAFE, "token": D.QUASI,
    }

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["programme", "child"], name="released_child_once_per_programme"),
        ]

    def __str__(self) -> str:
        return f"released child #{self.pk}"


class ContactMethod(models.TextChoices):
    PHONE = "phone", "Phone call"
    TEXT = "text", "Text message"
    LETTER = "letter", "Letter"
    VISIT = "visit", "Home visit"
    MEETING = "meeting", "Meeting elsewhere"
    VIA_PROFESSIONAL = "via_professional", "Through a professional she knows"


class ContactAttempt(ProtectedModel):
    """One attempt to reach a released woman, and what came of it."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    released_woman = models.ForeignKey(ReleasedWoman, on_delete=models.PROTECT, related_name="contacts")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    contacted_on = models.DateField()
    method = models.CharField(max_length=20, choices=ContactMethod.choices)
    outcome = models.CharField(max_length=14, choices=Participation.choices)
    privacy_information_given = models.BooleanField(default=False)  # one of the notices below was given
    # Which versions of the privacy notices she was given at this attempt (issue 21, point 5).
    trust_notice_given = models.ForeignKey("sharing.PrivacyNotice", null=True, blank=True,
                                           on_delete=models.PROTECT, related_name="+")
    pause_notice_given = models.ForeignKey("sharing.PrivacyNotice", null=True, blank=True,
                                           on_delete=models.PROTECT, related_name="+")
    note = EncryptedField()

    data_classification = {
        "id": D.SAFE, "row_uid": D.SAFE, "programme": D.SAFE, "released_woman": D.SAFE, "recorded_by": D.SAFE,
        "recorded_at": D.SAFE, "contacted_on": D.QUASI, "method": D.SAFE, "outcome": D.SPECIAL,
        "privacy_information_given": D.SAFE, "trust_notice_given": D.SAFE, "pause_notice_given": D.SAFE,
        "note": D.SPECIAL,
    }

    class Meta:
        ordering = ["contacted_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(outcome=Participation.NOT_CONTACTED), name="contact_has_outcome"),
        ]

    def __str__(self) -> str:
        return f"contact attempt #{self.pk}"


class ConcernKind(models.TextChoices):
    SAFEGUARDING = "safeguarding", "Safeguarding concern"
    SERIOUS_INCIDENT = "serious_incident", "Serious incident"


class ConcernStatus(models.TextChoices):
    OPEN = "open", "Open: awaiting the Trust"
    ACKNOWLEDGED = "acknowledged", "Acknowledged by the Trust"
    CLOSED = "closed", "Closed"


OPEN_CONCERN_STATUSES = (ConcernStatus.OPEN, ConcernStatus.ACKNOWLEDGED)


class SafeguardingConcern(ProtectedModel):
    """A concern or serious incident a practitioner raises with the Trust about a released woman.
    The Trust sees what it contains; the email that tells the Trust lead says only that something
    awaits them."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    # Empty only once an erasure has removed her record: the concern outlives it (issue 22, point 4)
    # and keeps her Trust person id instead, so the Trust can still file it against her.
    released_woman = models.ForeignKey(ReleasedWoman, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="concerns")
    trust_person_id = EncryptedField()
    kind = models.CharField(max_length=16, choices=ConcernKind.choices)
    # Pause's bases for telling the Trust: {"pause": {"article_6", "article_9", "power"}}, codes of
    # sharing.lawful_bases (issue 21, point 4).
    lawful_bases = models.JSONField(default=dict)
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(default=timezone.now)
    summary = EncryptedField()
    status = models.CharField(max_length=12, choices=ConcernStatus.choices, default=ConcernStatus.OPEN)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_note = EncryptedField()
    # The Trust lead says the hand-over document is filed in the Trust's case record: only then may
    # Pause's retention remove the concern (sharing.concern_hand_over).
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    filed_at = models.DateTimeField(null=True, blank=True)

    data_classification = {
        "id": D.SAFE, "row_uid": D.SAFE, "programme": D.SAFE, "released_woman": D.SAFE, "kind": D.SPECIAL,
        "lawful_bases": D.SAFE, "raised_by": D.SAFE, "raised_at": D.SAFE, "summary": D.SPECIAL,
        "status": D.SAFE, "acknowledged_by": D.SAFE, "acknowledged_at": D.SAFE, "closed_by": D.SAFE,
        "closed_at": D.SAFE, "closing_note": D.SPECIAL, "trust_person_id": D.DIRECT, "filed_by": D.SAFE,
        "filed_at": D.SAFE,
    }

    class Meta:
        ordering = ["-raised_at", "-pk"]
        indexes = [models.Index(fields=["released_woman", "status"], name="concern_woman_status")]
        constraints = [
            models.CheckConstraint(condition=Q(filed_by__isnull=True, filed_at__isnull=True)
                                   | Q(filed_by__isnull=False, filed_at__isnull=False, status="closed"),
                                   name="concern_filed_when_closed"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class QuarterlyReportStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent to the Trust"


class QuarterlyReport(models.Model):
    """An anonymised progress report from the Pause lead to the Trust (and the Council where the
    agreement names it): counts by quarter, small numbers suppressed consistently across every
    report sent. A sent report never changes."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="quarterly_reports")
    year = models.PositiveSmallIntegerField()
    quarter = models.PositiveSmallIntegerField()
    figures = models.JSONField(default=dict)  # the released table: measure -> quarter -> shown value
    suppressed = models.JSONField(default=list)  # the cells shown as suppressed
    recipients = models.JSONField(default=list)  # organisation names, as the agreement names them
    commentary = models.TextField(blank=True)  # aggregate words only; checked for identifiers
    status = models.CharField(max_length=8, choices=QuarterlyReportStatus.choices, default=QuarterlyReportStatus.DRAFT)
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    written_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "year": D.SAFE, "quarter": D.SAFE, "figures": D.SAFE,
        "suppressed": D.SAFE, "recipients": D.SAFE, "commentary": D.SAFE, "status": D.SAFE, "written_by": D.SAFE,
        "written_at": D.SAFE, "sent_at": D.SAFE, "sha256": D.SAFE,
    }

    class Meta:
        ordering = ["programme", "year", "quarter"]
        constraints = [
            models.CheckConstraint(condition=Q(quarter__gte=1, quarter__lte=4), name="quarterly_report_quarter"),
            models.UniqueConstraint(fields=["programme", "year", "quarter"], condition=Q(status="sent"),
                                    name="quarterly_report_sent_once"),
            models.CheckConstraint(condition=Q(status="draft", sent_at__isnull=True)
                                   | Q(status="sent", sent_at__isnull=False), name="quarterly_report_sent_dated"),
        ]

    def __str__(self) -> str:
        return f"progress report {self.year} Q{self.quarter}"


class RetentionRun(models.Model):
    """One run of the retention schedule (beat job or management command): what it would delete
    (a dry run) or deleted, per data category."""

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField()
    trigger = models.CharField(max_length=12)  # "beat", "command" or "preview" (a dry run from the retention page)
    run_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    schedule = models.JSONField(default=dict)  # category -> days, read from the agreement
    deleted = models.JSONField(default=dict)  # category -> count (would delete, on a dry run)
    # The purge certificate of a real run that deleted anything (sharing.retention_certificate):
    # the run points at it, since audit.core, below sharing, may not know runs.
    certificate = models.OneToOneField("audit.PurgeCertificate", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")

    data_classification = {
        "id": D.SAFE, "programme": D.SAFE, "started_at": D.SAFE, "finished_at": D.SAFE, "dry_run": D.SAFE,
        "trigger": D.SAFE, "run_by": D.SAFE, "schedule": D.SAFE, "deleted": D.SAFE, "certificate": D.SAFE,
    }

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(finished_at__isnull=True) | Q(finished_at__gte=F("started_at")),
                                   name="retention_run_finishes_after_start"),
        ]

    def __str__(self) -> str:
        return f"retention run #{self.pk}"
