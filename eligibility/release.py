"""Whether a woman's records may be released to Pause: the one predicate every release path asks.

No automated decision: only a person's decision (the latest) that she is eligible or at risk
makes her releasable, and only while no re-review of that decision is pending and no restriction
is open. The rules' proposals never count.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from eligibility.models import Decision, DecisionOutcome, ReReview, Restriction, Woman

RELEASABLE_OUTCOMES = (DecisionOutcome.ELIGIBLE, DecisionOutcome.AT_RISK)


def releasable(women: QuerySet[Woman]) -> QuerySet[Woman]:
    """Those of `women` that may be released: one query, whatever their number."""
    latest = Decision.objects.filter(woman=OuterRef("pk")).order_by("-pk")
    return (
        women.annotate(
            _latest_decision=Subquery(latest.values("pk")[:1]),
            _latest_outcome=Subquery(latest.values("outcome")[:1]),
        )
        .filter(_latest_outcome__in=RELEASABLE_OUTCOMES)
        .exclude(Exists(ReReview.objects.filter(decision_id=OuterRef("_latest_decision"))))
        .exclude(Exists(Restriction.objects.filter(woman=OuterRef("pk"), ended_at__isnull=True)))
    )


def can_be_released(woman: Woman) -> bool:
    """True only when a person decided her eligible or at risk (latest decision), no re-review of
    that decision is pending, and no restriction is open."""
    return releasable(Woman.objects.filter(pk=woman.pk)).exists()
