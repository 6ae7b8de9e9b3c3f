"""The Caldicott log (issue 23, point 3; ADR 45): each confirm or reject action of the Caldicott
Guardian checks the justification first (`justified`, before anything changes) and records the
decision with it (`record`, inside the action's transaction, so a decision and its log row are
written together or not at all)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from pause_portal.tenancy.models import Person, Programme
from sharing.models_caldicott import JUSTIFICATION_MAX, CaldicottDecision, Decision, DecisionKind


def justified(justification: str, *, decision: Decision, what: str) -> str:
    """The justification, stripped; a plain-English ValidationError if it is missing or too long."""
    text = (justification or "").strip()
    verb = "confirming" if decision == Decision.CONFIRM else "rejecting"
    if not text:
        raise ValidationError(f"Enter your justification for {verb} {what}")
    if len(text) > JUSTIFICATION_MAX:
        raise ValidationError(f"Your justification for {verb} {what} must be {JUSTIFICATION_MAX} characters "
                              f"or fewer")
    return text


def record(*, programme: Programme, kind: DecisionKind, subject: str, subject_pk: int, decision: Decision,
           justification: str, by: Person) -> CaldicottDecision:
    """One log row; call inside the decision's transaction, after `justified`."""
    return CaldicottDecision.objects.create(
        programme=programme, kind=kind, subject=subject, subject_pk=subject_pk, decision=decision,
        justification=justified(justification, decision=decision, what=subject.lower()), decided_by=by)


def log_of(programme: Programme, *, kind: str = "") -> QuerySet[CaldicottDecision]:
    """The programme's log, newest first, of one kind if `kind` names one."""
    rows = CaldicottDecision.objects.filter(programme=programme).select_related("decided_by")
    if kind in DecisionKind.values:
        rows = rows.filter(kind=kind)
    return rows.order_by("-decided_at", "-pk")
