"""A named Trust person decides about each woman the rules looked at: eligible, at risk, not
eligible or needs more information, with a reason.

A decision is never changed: a revision is a new `Decision`, and the latest is current, so the
history stays. Each one keeps the rule-set version, the reference date and the evidence it was
made on (codes, dates, child and extract references: no name or Trust id). The reason is free text
that may name people: it is encrypted, and the audit entry says what was decided, never why.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from eligibility.engine import evaluate
from eligibility.models import Decision, DecisionOutcome, Evaluation, ReReview, Restriction, Woman
from eligibility.rules import current_rule_set
from pause_portal import hooks
from pause_portal.tenancy.models import Person
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.fields import Protector

REASON_MAX = 5000


def may_decide_eligibility(person: Person, programme_id: int) -> str | None:
    """The person's role if they may decide about the programme's women, else None."""
    membership = membership_in(person, programme_id)
    if membership is None or not role_has(membership.role, Perm.DECIDE_ELIGIBILITY):
        return None
    return membership.role


def latest_evaluation(woman: Woman) -> Evaluation | None:
    return Evaluation.objects.filter(woman=woman).select_related("run", "run__rule_set").order_by("-run_id").first()


RESTRICTED = ("Her records are restricted: no decision can be recorded about her until the restriction ends "
              "(UK GDPR Art. 18)")


def is_restricted(woman: Woman) -> bool:
    return Restriction.objects.filter(woman=woman, ended_at__isnull=True).exists()


def decide(*, woman: Woman, by: Person, outcome: DecisionOutcome | str, reason: str, note: str = "") -> Decision:
    """Record `by`'s decision about the woman, on the evidence of her latest evaluation (or, if
    the rules have not run for her yet, of an evaluation made now under the current rules).
    `note` adds to the audit entry how it was made (a batch says so: `eligibility.batch_decisions`)."""
    role = may_decide_eligibility(by, woman.programme_id)
    if role is None:
        raise PermissionDenied("Only the programme's Trust caseworkers and leads decide about women.")
    if is_restricted(woman):
        raise ValidationError(RESTRICTED)
    outcome = DecisionOutcome(outcome)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Enter the reason for your decision")
    if len(reason) > REASON_MAX:
        raise ValidationError(f"The reason must be {REASON_MAX} characters or fewer")
    evaluation = latest_evaluation(woman)
    if evaluation is not None:
        rule_set, reference_date = evaluation.run.rule_set, evaluation.run.reference_date
        proposal, evidence, digest = evaluation.proposal, evaluation.evidence, evaluation.evidence_digest
    else:
        rule_set, reference_date = current_rule_set(woman.programme), timezone.localdate()
        [fresh] = evaluate(woman.programme, rule_set, reference_date, women=Woman.objects.filter(pk=woman.pk))
        proposal, evidence, digest = fresh.proposal, fresh.evidence, fresh.digest
    decision = Decision(
        programme_id=woman.programme_id, woman=woman, outcome=outcome, decided_by=by, rule_set=rule_set,
        reference_date=reference_date, evaluation=evaluation, proposal=proposal, evidence=evidence,
        evidence_digest=digest,
    )
    decision.protect(Protector.load(woman.programme_id, Decision.key_phase), reason=reason)
    with transaction.atomic():
        # One decision about her at a time, before this one takes its number: a batch that checked
        # her holds her row until it commits, and the latest decision (the highest pk) is then the
        # one committed last (eligibility.batch_decisions).
        Woman.objects.select_for_update().filter(pk=woman.pk).values_list("pk", flat=True).first()
        decision.save()
        record_event(
            Event.CHANGE, actor=by, target=decision, subjects=[woman], subject_model=Woman,
            programme=woman.programme, role=role, action=0,
            reason=f"eligibility decision #{decision.pk}: {outcome.label} (rules proposed {proposal}; "
                   f"rule set version {rule_set.version}){'; ' + note if note else ''}",
        )
        if outcome not in (DecisionOutcome.ELIGIBLE, DecisionOutcome.AT_RISK):
            # A withdrawn flag takes her out of the scoping release at once (no-op if not in it):
            # sharing's handler of the hook, in this transaction (ADR 24).
            hooks.call(hooks.WOMAN_NO_LONGER_RELEASABLE, woman=woman, why="decision withdrawn", by=by)
    return decision


def decision_history(woman: Woman) -> QuerySet[Decision]:
    """Every decision about the woman, oldest first; the last is current."""
    return Decision.objects.filter(woman=woman).select_related("decided_by", "rule_set").order_by("pk")


def current_decision(woman: Woman) -> Decision | None:
    return Decision.objects.filter(woman=woman).order_by("-pk").first()


def re_review_pending(woman: Woman) -> bool:
    """Her latest decision's evidence changed since it was made (a new decision settles it)."""
    latest = current_decision(woman)
    return latest is not None and ReReview.objects.filter(decision=latest).exists()
