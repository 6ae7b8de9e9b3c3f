"""People's rights (issue 9): rights requests, their extensions, the DPO's redaction decisions on
third-party items in an access pack, the record of an erasure, and the breach register.

Written only by the actions in `audit.oversight.rights`, `audit.oversight.objections`, `audit.oversight.access_pack`,
`audit.oversight.erasure` and `audit.oversight.breaches`; nothing here saves on anyone's behalf.

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
from pause_portal.tenancy.roles import Role
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


class ReceiptChannel(models.TextChoices):
    LETTER = "letter", "By letter"
    EMAIL = "email", "By email"
    IN_PERSON = "in_person", "In person"
    TRUST = "trust", "Through the Trust"


class IdentityMethod(models.TextChoices):
    IN_PERSON = "in_person", "Original documents seen in person"
    COPIES = "copies", "Copies of documents sent to us, checked against the Trust's record"
    VIDEO = "video", "Original documents shown on a video call"
    TRUST_KNOWN = "trust_known", "Confirmed by her Trust worker, who knows her, against the Trust's record"


class IdentityDocument(models.TextChoices):
    PASSPORT = "passport", "Passport"
    DRIVING_LICENCE = "driving_licence", "Driving licence"
    BIRTH_CERTIFICATE = "birth_certificate", "Birth certificate"
    RESIDENCE_PERMIT = "residence_permit", "Biometric residence permit or national identity card"
    BENEFITS_LETTER = "benefits_letter", "Benefits or council tax letter"
    BANK_STATEMENT = "bank_statement", "Bank statement or utility bill"
    NONE = "none", "No document: her Trust worker confirmed who she is"


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
    identity_check = EncryptedField()  # a note on how the requester's identity was verified (optional)
    # The structured evidence of the identity check (issue 17): the method, the type of document seen
    # (never its number) and who checked. The disclosure gate opens only once these are recorded.
    identity_method = models.CharField(max_length=12, choices=IdentityMethod.choices, blank=True)
    identity_document = models.CharField(max_length=20, choices=IdentityDocument.choices, blank=True)
    identity_checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                            related_name="+")
    identity_recorded_at = models.DateTimeField(null=True, blank=True)
    details = EncryptedField()  # what she asks for, in her words or the DPO's
    received_on = models.DateField()
    received_via = models.CharField(max_length=10, choices=ReceiptChannel.choices, blank=True)  # "" only before issue 17
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
        "identity_method": D.SAFE, "identity_document": D.SAFE, "identity_checked_by": D.SAFE,
        "identity_recorded_at": D.SAFE, "received_via": D.SAFE, "received_on": D.SAFE, "due_on": D.SAFE, "status": D.SAFE, "owner": D.SAFE, "opened_by": D.SAFE,
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
            models.CheckConstraint(
                condition=Q(identity_method="", identity_document="", identity_checked_by__isnull=True,
                            identity_recorded_at__isnull=True)
                | (~Q(identity_method="") & ~Q(identity_document="")
                   & Q(identity_checked_by__isnull=False, identity_recorded_at__isnull=False)),
                name="rights_request_identity_evidence_whole",
            ),
        ]
        indexes = [models.Index(fields=["programme", "status", "due_on"], name="rights_request_due")]

    def __str__(self) -> str:
        return f"rights request {self.reference}"

    @property
    def is_open(self) -> bool:
        return self.status == RequestStatus.OPEN

    @property
    def identity_verified(self) -> bool:
        """The structured evidence is recorded (method, document type, who checked): the gate to her
        records opens only then."""
        return bool(self.identity_method and self.identity_document and self.identity_checked_by_id)


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
    """The grounds of Art. 17(1) that can apply here. Not 17(1)(b), consent withdrawn: nothing the
    portal holds rests on her consent (ADR 0019); nor 17(1)(f), children's online services."""

    NO_LONGER_NECESSARY = "art17_1_a", "Art. 17(1)(a): no longer necessary for the purposes it was collected for"
    OBJECTION_UPHELD = "art17_1_c", "Art. 17(1)(c): she objected and no overriding legitimate grounds exist"
    UNLAWFUL = "art17_1_d", "Art. 17(1)(d): it was processed unlawfully"
    LEGAL_OBLIGATION = "art17_1_e", "Art. 17(1)(e): erasure is a legal obligation"


class ErasureExemption(models.TextChoices):
    """Art. 17(3): where one applies, erasure is refused and the refusal names it."""

    EXPRESSION = "art17_3_a", "Art. 17(3)(a): exercising the right of freedom of expression and information"
    LEGAL_OBLIGATION = "art17_3_b", ("Art. 17(3)(b): complying with a legal obligation, or a task in the public "
                                     "interest or in the exercise of official authority")
    PUBLIC_HEALTH = "art17_3_c", "Art. 17(3)(c): reasons of public interest in the area of public health"
    ARCHIVING = "art17_3_d", ("Art. 17(3)(d): archiving in the public interest, scientific or historical research, "
                              "or statistics")
    LEGAL_CLAIMS = "art17_3_e", "Art. 17(3)(e): establishing, exercising or defending legal claims"


class ProposalKind(models.TextChoices):
    ERASURE = "erasure", "Erasure of her records"
    OBJECTION_UPHELD = "objection_upheld", "Objection upheld: processing ends for good"


class ProposalStatus(models.TextChoices):
    PENDING = "pending", "Awaiting the Caldicott Guardian's confirmation"
    CONFIRMED = "confirmed", "Confirmed and carried out"
    DECLINED = "declined", "Declined by the Caldicott Guardian"
    WITHDRAWN = "withdrawn", "Withdrawn by the DPO"


class RightsProposal(ProtectedModel):
    """A DPO's proposal of an irreversible decision on a request (an erasure, or an upheld objection
    that ends processing for good), which takes effect only when the programme's Caldicott Guardian
    — never the proposer — confirms it (issue 17). Keeps the DPO's structured assessment of the Art.
    17(3) exemptions (each one answered; none may apply) and, for an objection, the answer to give
    her (encrypted: it may say something about her)."""

    key_phase = "trust"

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    request = models.ForeignKey(RightsRequest, on_delete=models.PROTECT, related_name="proposals")
    kind = models.CharField(max_length=20, choices=ProposalKind.choices)
    ground = models.CharField(max_length=10, choices=ErasureGround.choices, blank=True)  # erasure only
    exemptions = models.JSONField(default=dict)  # ErasureExemption value -> applies (bool); erasure only
    counts = models.JSONField(default=dict)  # what would be erased when proposed: model label -> rows
    note = EncryptedField()  # an objection's answer to her
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)  # why declined or withdrawn: no personal data

    data_classification = {
        "id": D.SAFE, "row_uid": D.SAFE, "programme": D.SAFE, "request": D.SAFE,
        "kind": D.SPECIAL,  # says she asked for erasure, or objected
        "ground": D.SPECIAL, "exemptions": D.SAFE, "counts": D.SAFE, "note": D.SPECIAL, "proposed_by": D.SAFE,
        "proposed_at": D.SAFE, "status": D.SAFE, "decided_by": D.SAFE, "decided_at": D.SAFE,
        "decision_note": D.SAFE,
    }

    class Meta:
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["request"], condition=Q(status="pending"),
                                    name="rights_proposal_one_pending"),
            models.CheckConstraint(
                condition=Q(status="pending", decided_by__isnull=True, decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_by__isnull=False, decided_at__isnull=False)),
                name="rights_proposal_decided_who_when",
            ),
            # Two people: whoever confirms or declines is never the DPO who proposed it.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("proposed_by"))
                | Q(status="withdrawn"),
                name="rights_proposal_second_person",
            ),
            models.CheckConstraint(condition=Q(kind="erasure") & ~Q(ground="") | Q(kind="objection_upheld", ground=""),
                                   name="rights_proposal_ground_of_erasure"),
        ]

    def __str__(self) -> str:
        return f"rights proposal #{self.pk} ({self.kind}, {self.status})"


class ErasureRecord(models.Model):
    """What an erasure removed (rows per kind of record) and why; with the tombstone that keeps
    her out of later extracts. Holds no personal data."""

    request = models.OneToOneField(RightsRequest, on_delete=models.PROTECT, related_name="erasure")
    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    ground = models.CharField(max_length=10, choices=ErasureGround.choices)
    tombstone = models.ForeignKey("eligibility.ErasedPerson", on_delete=models.PROTECT, related_name="+")
    erased = models.JSONField(default=dict)  # model label -> rows deleted
    # What stayed, and why (issue 17): a list of {"what", "count", "why"}; it names the Trust's own
    # case system, which the portal's erasure does not reach.
    kept = models.JSONField(default=list)
    erased_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")  # proposer
    erased_at = models.DateTimeField(default=timezone.now)
    proposal = models.OneToOneField(RightsProposal, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="erasure")  # None only for erasures before issue 17
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")  # the Caldicott Guardian

    data_classification = {
        "id": D.SAFE, "request": D.SAFE, "programme": D.SAFE, "ground": D.SAFE, "tombstone": D.SAFE,
        "erased": D.SAFE, "kept": D.SAFE, "erased_by": D.SAFE, "erased_at": D.SAFE, "proposal": D.SAFE,
        "confirmed_by": D.SAFE,
    }

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(confirmed_by__isnull=True) | ~Q(confirmed_by=models.F("erased_by")),
                                   name="erasure_record_second_person"),
        ]

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
    """An entry of the breach register (Art. 33(5)): what happened, when it was found, when the
    controller became aware of it (the 72 hours to the ICO run from then, not from when a form was
    filed: `aware_at`), who is affected, whether and when the ICO was told (and why late, after the
    72 hours) and whether the people affected were told (each woman affected: `AffectedWoman`). The
    descriptions are encrypted: they may say who."""

    key_phase = "trust"

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=20, unique=True)
    what_happened = EncryptedField()
    happened_at = models.DateTimeField(null=True, blank=True)  # if known
    found_at = models.DateTimeField()  # when it was discovered
    # When the controller became aware of it (Art. 33(1)): the 72 hours run from here. By default the
    # moment it was recorded or reported; earlier only with `aware_reason` (audit 0014 set it to
    # `found_at` on the breaches recorded before).
    aware_at = models.DateTimeField()
    aware_reason = models.TextField(blank=True)  # why earlier than the report: no personal data
    # Pause's side (its systems, its people) is involved: Pause is a controller with its own Art. 33
    # duty, and its DPO is told and reminded too.
    pause_side = models.BooleanField(default=False)
    # The monitoring flag it was escalated from, by reference ("audit.monitoringflag:12"), if any.
    flag_reference = models.CharField(max_length=60, blank=True)
    people_affected = EncryptedField()  # who: categories of people and of records
    affected_count = models.PositiveIntegerField(null=True, blank=True)  # approximate, if known
    risk = models.CharField(max_length=10, choices=BreachRisk.choices)
    actions_taken = EncryptedField()  # containment and what is done so it does not happen again
    ico_told_at = models.DateTimeField(null=True, blank=True)
    ico_reference = models.CharField(max_length=40, blank=True)
    ico_not_told_reason = models.TextField(blank=True)  # why the ICO was not told: no personal data
    # Why the ICO was told (or the decision recorded) more than 72 hours after `aware_at` (Art. 33(1)).
    late_reason = models.TextField(blank=True)  # no personal data
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
        "happened_at": D.SAFE, "found_at": D.SAFE, "aware_at": D.SAFE, "aware_reason": D.SAFE,
        "pause_side": D.SAFE, "flag_reference": D.SAFE, "late_reason": D.SAFE, "people_affected": D.SPECIAL, "affected_count": D.SAFE,
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
            models.CheckConstraint(condition=Q(happened_at__isnull=True) | Q(happened_at__lte=models.F("aware_at")),
                                   name="breach_aware_after_it_happened"),
            models.UniqueConstraint(fields=["flag_reference"], condition=~Q(flag_reference=""),
                                    name="breach_one_per_flag"),
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


class Art34Exception(models.TextChoices):
    """Art. 34(3): when a woman affected by a high-risk breach need not be told."""

    UNINTELLIGIBLE = "a", "(a) The data was unintelligible to anyone not authorised, for example encrypted"
    RISK_REMOVED = "b", "(b) Measures taken since mean the high risk is no longer likely"
    DISPROPORTIONATE = "c", "(c) Telling each would take disproportionate effort: a public communication instead"


class AffectedWoman(models.Model):
    """A woman affected by a breach, by the pseudonymous reference the DPO uses for her on the
    rights and review pages ("eligibility.woman:12"), never her name; and, for her, whether and when
    she was told (Art. 34) or which Art. 34(3) exception applies. A reference, not a foreign key:
    the register outlives her record (an erasure leaves the reference pointing at nothing)."""

    breach = models.ForeignKey(Breach, on_delete=models.PROTECT, related_name="affected_women")
    woman_reference = models.CharField(max_length=60)
    told_on = models.DateField(null=True, blank=True)
    exception = models.CharField(max_length=1, choices=Art34Exception.choices, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    data_classification = {
        "id": D.SAFE, "breach": D.SAFE, "woman_reference": D.QUASI, "told_on": D.SAFE, "exception": D.SAFE,
        "added_by": D.SAFE, "added_at": D.SAFE, "decided_by": D.SAFE, "decided_at": D.SAFE,
    }

    class Meta:
        ordering = ["breach", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["breach", "woman_reference"], name="affected_woman_once_per_breach"),
            models.CheckConstraint(condition=Q(told_on__isnull=True) | Q(exception=""),
                                   name="affected_woman_told_or_exception"),
            models.CheckConstraint(
                condition=(Q(told_on__isnull=True, exception="", decided_by__isnull=True, decided_at__isnull=True)
                           | (Q(decided_by__isnull=False, decided_at__isnull=False)
                              & (Q(told_on__isnull=False) | ~Q(exception="")))),
                name="affected_woman_decided_who_when"),
        ]

    def __str__(self) -> str:
        return f"woman affected by breach #{self.breach_id}"


class Systems(models.TextChoices):
    TRUST = "trust", "The Trust's systems or devices"
    PAUSE = "pause", "Pause's systems or devices"
    BOTH = "both", "Both"
    PORTAL = "portal", "This portal"
    NOT_KNOWN = "unknown", "Not known"


class ReportStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for the DPO"
    BREACH = "breach", "Recorded as a breach"
    DISMISSED = "dismissed", "Dismissed"


class SuspectedBreach(ProtectedModel):
    """A suspected breach reported by anyone in the programme, for the DPO to triage: recorded as a
    breach in the register (`breach`) or dismissed with a reason. The account is encrypted: the form
    warns against names, but it may still say who."""

    key_phase = "trust"

    programme = models.ForeignKey("sharing.Programme", on_delete=models.PROTECT, related_name="+")
    what_happened = EncryptedField()
    noticed_at = models.DateTimeField()  # when the reporter noticed it (or it happened)
    pause_side = models.BooleanField()  # Pause's side is involved (always, when a Pause role reports)
    systems = models.CharField(max_length=8, choices=Systems.choices)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reporter_role = models.CharField(max_length=30, choices=Role.choices)
    reported_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.WAITING)
    breach = models.OneToOneField(Breach, null=True, blank=True, on_delete=models.PROTECT, related_name="report")
    dismissed_reason = models.TextField(blank=True)  # no personal data
    triaged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    triaged_at = models.DateTimeField(null=True, blank=True)

    data_classification = {
        "id": D.SAFE, "row_uid": D.SAFE, "programme": D.SAFE, "what_happened": D.SPECIAL, "noticed_at": D.SAFE,
        "pause_side": D.SAFE, "systems": D.SAFE, "reported_by": D.SAFE, "reporter_role": D.SAFE,
        "reported_at": D.SAFE, "status": D.SAFE, "breach": D.SAFE, "dismissed_reason": D.SAFE,
        "triaged_by": D.SAFE, "triaged_at": D.SAFE,
    }

    class Meta:
        verbose_name_plural = "suspected breaches"
        ordering = ["-reported_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="waiting", breach__isnull=True, dismissed_reason="", triaged_by__isnull=True,
                             triaged_at__isnull=True)
                           | Q(status="breach", breach__isnull=False, dismissed_reason="", triaged_by__isnull=False,
                               triaged_at__isnull=False)
                           | (Q(status="dismissed", breach__isnull=True, triaged_by__isnull=False,
                                triaged_at__isnull=False) & ~Q(dismissed_reason=""))),
                name="suspected_breach_triaged_who_when_how"),
            models.CheckConstraint(condition=Q(noticed_at__lte=models.F("reported_at")),
                                   name="suspected_breach_noticed_before_reported"),
        ]

    def __str__(self) -> str:
        return f"suspected breach #{self.pk}"
