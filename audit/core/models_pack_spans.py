"""Parts of free text withheld from an access pack (issue 23, point 5): the DPO marks a span of
one passage (a decision's reason, a contact note, a concern's summary...) and the exemption that
lets it be withheld. Written only by `audit.oversight.pack_spans`.

A span holds offsets, never the words it covers: the passage itself stays encrypted where it is.
`text_length` is the passage's length when the span was marked; if the passage has changed since,
the pack withholds the whole passage until the DPO marks it again (fail closed).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from pause_portal.classification import DataClass as D


class SpanExemption(models.TextChoices):
    """The DPA 2018 exemptions from the right of access that can apply to a passage here, in plain
    words (the citation is in ADR 44 and `CITATIONS`)."""

    THIRD_PARTY = "third_party", "Third-party information"
    SERIOUS_HARM = "serious_harm", "Likely to cause serious harm"
    LEGAL_PRIVILEGE = "legal_privilege", "Legal advice (legal professional privilege)"
    CRIME = "crime", "Preventing or detecting crime"


# What each exemption is, for the DPO's page (never in her pack).
CITATIONS = {
    SpanExemption.THIRD_PARTY: "It identifies someone else who has not consented, and it is not reasonable to "
                               "disclose it without their consent (DPA 2018 Schedule 2 Part 3 paragraph 16).",
    SpanExemption.SERIOUS_HARM: "Disclosing it would be likely to cause serious harm to her or someone else's "
                                "physical or mental health (social work data: DPA 2018 Schedule 3 Part 3 "
                                "paragraph 10).",
    SpanExemption.LEGAL_PRIVILEGE: "It is legal advice or was prepared for legal proceedings (DPA 2018 Schedule 2 "
                                   "Part 4 paragraph 19).",
    SpanExemption.CRIME: "Disclosing it would be likely to prejudice preventing or detecting crime (DPA 2018 "
                         "Schedule 2 Part 1 paragraph 2).",
}


class PackRedactedSpan(models.Model):
    request = models.ForeignKey("audit.RightsRequest", on_delete=models.PROTECT, related_name="redacted_spans")
    passage = models.CharField(max_length=80)  # "eligibility.decision:12:reason"
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text_length = models.PositiveIntegerField()
    exemption = models.CharField(max_length=20, choices=SpanExemption.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    data_classification = {
        "id": D.SAFE, "request": D.SAFE, "passage": D.SAFE, "start": D.SAFE, "end": D.SAFE,
        "text_length": D.SAFE, "exemption": D.SAFE, "decided_by": D.SAFE, "decided_at": D.SAFE,
    }

    class Meta:
        ordering = ["passage", "start", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")) & Q(end__lte=F("text_length")),
                                   name="redacted_span_within_its_passage"),
            models.UniqueConstraint(fields=["request", "passage", "start", "end"], name="redacted_span_once"),
        ]

    def __str__(self) -> str:
        return f"redacted span #{self.pk}"
