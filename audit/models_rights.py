"""People's rights (issue 9): rights requests, their extensions, the DPO's redaction decisions on
third-party items in an access pack, the record of an erasure, and the breach register.

Written only by the actions in `audit.rights`, `audit.objections`, `audit.access_pack`,
`audit.erasure` and `audit.breaches`; nothing here saves on anyone's behalf.

A request names its person by a foreign key to her record while it exists and, always, by the
blind index of her Trust person id (never the id): after an erasure the key is gone and the index
is what stays, the same as the erasure tombstone's. Free text that may say something about her
(how her identity was checked, what she asks, the outcome, the compelling grounds) is encrypted
under the programme's Trust key, bound to its row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from pause_portal.classification import DataClass as D
from pseudonymisation.fields import EncryptedField, ProtectedModel


class RequestKind(models.TextChoices):
    ACCESS = "access", "Access (a copy of her information, Art. 15)"
    RECTIFICATION = "rectification", "Rectification (Art. 16)"
    RESTRICTION = "restriction", "Restriction of processing (Art. 18)"
    OBJECTION = "objection", "Objection to processing (Art. 21)"
    ERASURE = "erasure", "Erasure (Art. 17)"


class RequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETED = "completed", "Completed"
    REFUSED = "refused", "Refused"


class ObjectionOutcome(models.TextChoices):
    UPHELD = "upheld", "Upheld: processing stops and Pause's access ends"
    NOT_UPHELD = "not_upheld", "Not upheld: compelling legitimate grounds override her objection"


class RightsRequest(ProtectedModel):
    """One request from a woman (or someone acting for her) to exercise a right, answered by the
    programme's DPO: due one calendar month after it was received, extendable with a reason."""

    key_phase = "trust"

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=20, unique=True)
    kind = models.CharField(max_length=16, choices=RequestKind.choices)
    woman = models.ForeignKey("eligibility.Woman", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")  # None only once she has been erased (then closed)
    person_id_index = models.CharField(max_length=48)  # her Trust person id's blind index
    identity_check = EncryptedField()  # how the requester's identity was verified
    details = EncryptedField()  # what she asks for, in her words or the DPO's
    received_on = models.DateField()
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    restriction = models.ForeignKey("eligibility.Restriction", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")  # opened for this request (restriction, objection)
    objection_outcome = models.CharField(max_length=10, choices=ObjectionOutcome.choices, blank=True)
    outcome_note = EncryptedField()  # the answer, a refusal's reason or the compelling grounds
    rectification_done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                              on_delete=models.PROTECT, related_name="+")
    rectification_done_at = models.DateTimeField(null=True, blank=True)
    rectification_note = EncryptedField()  # the caseworker's account of what was checked and corrected
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)

    data_classification = {
        "id": D.SAFE, "row_uid": D.SAFE, "programme": D.SAFE, "reference": D.SAFE,
        "kind": D.SPECIAL,  # says she objected, asked for erasure...
        "woman": D.SAFE, "person_id_index": D.QUASI, "identity_check": D.DIRECT, "details": D.SPECIAL,
        "received_on": D.SAFE, "due_on": D.SAFE, "status": D.SAFE, "owner": D.SAFE, "opened_by": D.SAFE,
        "opened_at": D.SAFE, "restriction": D.SAFE, "objection_outcome": D.SPECIAL, "outcome_note": D.SPECIAL,
        "rectification_done_by": D.SAFE, "rectification_done_at": D.SAFE, "rectification_note": D.SPECIAL,
        "closed_by": D.SAFE, "closed_at": D.SAFE,
    }

    class Meta:
        ordering = ["due_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(due_on__gt=models.F("received_on")), name="rights_request_due_after"),
            models.CheckConstraint(
                condition=Q(status="open", closed_by__isnull=True, closed_at__isnull=True)
                | (~Q(status="open") & Q(closed_by__isnull=False, closed_at__isnull=False)),
                name="rights_request_closed_who_when",
            ),
            models.CheckConstraint(condition=Q(woman__isnull=False) | ~Q(status="open"),
                                   name="rights_request_person_until_erased"),
            models.CheckConstraint(condition=Q(objection_outcome="") | Q(kind="objection"),
                                   name="rights_request_outcome_of_objection"),
            models.CheckConstraint(
                condition=Q(rectification_done_by__isnull=True, rectification_done_at__isnull=True)
                | Q(kind="rectification", rectification_done_by__isnull=False, rectification_done_at__isnull=False),
                name="rights_request_rectification_who_when",
            ),
        ]
        indexes = [models.Index(fields=["programme", "status", "due_on"], name="rights_request_due")]

    def __str__(self) -> str:
        return f"rights request {self.reference}"

    @property
    def is_open(self) -> bool:
        return self.status == RequestStatus.OPEN


class RequestExtension(models.Model):
    """The due date moved by one or two months (Art. 12(3)), with the reason told to her."""

    request = models.ForeignKey(RightsRequest, on_delete=models.PROTECT, related_name="extensions")
    months = models.PositiveSmallIntegerField()
    reason = models.TextField()  # why (complexity, number of requests): no personal data
    due_before = models.DateField()
    due_after = models.DateField()
    extended_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    extended_at = models.DateTimeField(default=timezone.now)

    data_classification = {
        "id": D.SAFE, "request": D.SAFE, "months": D.SAFE, "reason": D.SAFE, "due_before": D.SAFE,
        "due_after": D.SAFE, "extended_by": D.SAFE, "extended_at": D.SAFE,
    }

    class Meta:
        ordering = ["extended_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(months__gte=1, months__lte=2), name="request_extension_months"),
            models.CheckConstraint(condition=Q(due_after__gt=models.F("due_before")),
                                   name="request_extension_moves_later"),
        ]

    def __str__(self) -> str:
        return f"extension #{self.pk} of {self.request_id}"


class Redaction(models.TextChoices):
    DISCLOSE = "disclose", "Disclose it in her pack"
    WITHHOLD = "withhold", "Withhold it"


class RedactionBasis(models.TextChoices):
    CONSENTED = "consented", "The other person consented"
    REASONABLE = "reasonable", "Reasonable to disclose without consent (DPA 2018 Sch. 2 para 16)"
    OFFICIAL_CAPACITY = "official_capacity", "Staff acting in their official role: reasonable to disclose"
    NO_CONSENT = "no_consent", "No consent, and not reasonable to disclose without it"
    SERIOUS_HARM = "serious_harm", "Disclosure would be likely to cause serious harm"


DISCLOSING_BASES = (RedactionBasis.CONSENTED, RedactionBasis.REASONABLE, RedactionBasis.OFFICIAL_CAPACITY)


class RedactionDecision(models.Model):
    """The DPO's decision about one third-party item of an access pack (one of her children, one
    member of staff): disclosed or withheld, and on what basis. An item has one current decision;
    a change is recorded (audit entry) and replaces it."""

    request = models.ForeignKey(RightsRequest, on_delete=models.PROTECT, related_name="redactions")
    item = models.CharField(max_length=60)  # a reference: "eligibility.child:12", "sharing.person:4"
    decision = models.CharField(max_length=10, choices=Redaction.choices)
    basis = models.CharField(max_length=20, choices=RedactionBasis.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    data_classification = {
        "id": D.SAFE, "request": D.SAFE, "item": D.SAFE, "decision": D.SAFE, "basis": D.SAFE,
        "decided_by": D.SAFE, "decided_at": D.SAFE,
    }

    class Meta:
        ordering = ["item"]
        constraints = [
            models.UniqueConstraint(fields=["request", "item"], name="redaction_once_per_item"),
            models.CheckConstraint(
                condition=Q(decision="disclose", basis__in=[b.value for b in DISCLOSING_BASES])
                | (Q(decision="withhold") & ~Q(basis__in=[b.value for b in DISCLOSING_BASES])),
                name="redaction_basis_fits_decision",
            ),
        ]

    def __str__(self) -> str:
        return f"redaction decision #{self.pk} ({self.decision})"


class ErasureGround(models.TextChoices):
    NO_LONGER_NECESSARY = "art17_1_a", "Art. 17(1)(a): no longer necessary for the purposes it was collected for"
    CONSENT_WITHDRAWN = "art17_1_b", "Art. 17(1)(b): she withdrew the consent it rested on"
    OBJECTION_UPHELD = "art17_1_c", "Art. 17(1)(c): she objected and no overriding legitimate grounds exist"
    UNLAWFUL = "art17_1_d", "Art. 17(1)(d): it was processed unlawfully"
    LEGAL_OBLIGATION = "art17_1_e", "Art. 17(1)(e): erasure is a legal obligation"


class ErasureRecord(models.Model):
    """What an erasure removed (rows per kind of record) and why; with the tombstone that keeps
    her out of later extracts. Holds no personal data."""

    request = models.OneToOneField(RightsRequest, on_delete=models.PROTECT, related_name="erasure")
    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    ground = models.CharField(max_length=10, choices=ErasureGround.choices)
    tombstone = models.ForeignKey("eligibility.ErasedPerson", on_delete=models.PROTECT, related_name="+")
    erased = models.JSONField(default=dict)  # model label -> rows deleted
    erased_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    erased_at = models.DateTimeField(default=timezone.now)

    data_classification = {
        "id": D.SAFE, "request": D.SAFE, "programme": D.SAFE, "ground": D.SAFE, "tombstone": D.SAFE,
        "erased": D.SAFE, "erased_by": D.SAFE, "erased_at": D.SAFE,
    }

    def __str__(self) -> str:
        return f"erasure record #{self.pk}"


class BreachRisk(models.TextChoices):
    UNLIKELY = "unlikely", "Unlikely to result in a risk to people's rights and freedoms"
    RISK = "risk", "A risk to people's rights and freedoms: tell the ICO within 72 hours"
    HIGH = "high", "A high risk: tell the ICO, and tell the people affected without undue delay"


class BreachStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Breach(ProtectedModel):
    """An entry of the breach register (Art. 33(5)): what happened, when it was found, who is
    affected, whether and when the ICO was told (72 hours from when it was found) and whether the
    people affected were told. The descriptions are encrypted: they may say who."""

    key_phase = "trust"

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=20, unique=True)
    what_happened = EncryptedField()
    happened_at = models.DateTimeField(null=True, blank=True)  # if known
    found_at = models.DateTimeField()
    people_affected = EncryptedField()  # who: categories of people and of records
    affected_count = models.PositiveIntegerField(null=True, blank=True)  # approximate, if known
    risk = models.CharField(max_length=10, choices=BreachRisk.choices)
    actions_taken = EncryptedField()  # containment and what is done so it does not happen again
    ico_told_at = models.DateTimeField(null=True, blank=True)
    ico_reference = models.CharField(max_length=40, blank=True)
    ico_not_told_reason = models.TextField(blank=True)  # why the ICO was not told: no personal data
    people_told_at = models.DateTimeField(null=True, blank=True)
    people_not_told_reason = models.TextField(blank=True)  # no personal data
    status = models.CharField(max_length=8, choices=BreachStatus.choices, default=BreachStatus.OPEN)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)

    data_classification = {
        "id": D.SAFE, "row_uid": D.SAFE, "programme": D.SAFE, "reference": D.SAFE, "what_happened": D.SPECIAL,
        "happened_at": D.SAFE, "found_at": D.SAFE, "people_affected": D.SPECIAL, "affected_count": D.SAFE,
        "risk": D.SAFE, "actions_taken": D.SPECIAL, "ico_told_at": D.SAFE, "ico_reference": D.SAFE,
        "ico_not_told_reason": D.SAFE, "people_told_at": D.SAFE, "people_not_told_reason": D.SAFE,
        "status": D.SAFE, "recorded_by": D.SAFE, "recorded_at": D.SAFE, "closed_by": D.SAFE, "closed_at": D.SAFE,
    }

    class Meta:
        verbose_name_plural = "breaches"
        ordering = ["-found_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(happened_at__isnull=True) | Q(happened_at__lte=models.F("found_at")),
                                   name="breach_found_after_it_happened"),
            models.CheckConstraint(condition=Q(ico_told_at__isnull=True) | Q(ico_told_at__gte=models.F("found_at")),
                                   name="breach_ico_told_after_found"),
            models.CheckConstraint(condition=Q(ico_told_at__isnull=True) | Q(ico_not_told_reason=""),
                                   name="breach_ico_told_or_why_not"),
            models.CheckConstraint(condition=Q(people_told_at__isnull=True) | Q(people_not_told_reason=""),
                                   name="breach_people_told_or_why_not"),
            models.CheckConstraint(
                condition=Q(status="open", closed_by__isnull=True, closed_at__isnull=True)
                | Q(status="closed", closed_by__isnull=False, closed_at__isnull=False),
                name="breach_closed_who_when",
            ),
        ]

    def __str__(self) -> str:
        return f"breach {self.reference}"
