"""Extending the vocabulary of statutory powers (issue 21, point 4): a Trust lead proposes a power
with the Trust's reason for it; the programme's Caldicott Guardian (never the proposer) confirms or
rejects it. A confirmed power can be cited by the agreement and by concerns (`sharing.lawful_bases`);
it is never changed or removed. Every step is audited."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.tenancy.models import Person, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in
from sharing import caldicott_log, lawful_bases
from sharing.models_caldicott import Decision, DecisionKind
from sharing.models_powers import StatutoryPower
from sharing.models_scoping import ChangeStatus

LABEL_MAX = 300
JUSTIFICATION_MAX = 5000


def _role(person: Person, programme_id: int):
    membership = membership_in(person, programme_id)
    return membership.role if membership else None


def waiting_powers(programme: Programme):
    return StatutoryPower.objects.filter(programme=programme, status=ChangeStatus.PROPOSED).order_by("pk")


def propose_power(*, programme: Programme, by: Person, label: str, justification: str) -> StatutoryPower:
    """A Trust lead proposes a power, named as pages will show it ("Children Act 1989, section 22:
    ..."), with why it applies. Refused, with nothing written, on a blank or a known name."""
    role = _role(by, programme.pk)
    if not role_has(role, Perm.PROPOSE_AGREEMENT_CHANGE):
        raise PermissionDenied("Only a Trust lead of the programme proposes a statutory power.")
    label, justification = (label or "").strip(), (justification or "").strip()
    problems = {}
    if not label:
        problems["label"] = "Enter the statutory power: the Act, the section and what it provides"
    elif len(label) > LABEL_MAX:
        problems["label"] = f"The statutory power must be {LABEL_MAX} characters or fewer"
    elif label.casefold() in {text.casefold() for _, text in lawful_bases.power_choices(programme.pk)} | {
            p.label.casefold() for p in waiting_powers(programme)}:
        problems["label"] = "This statutory power is already on the list, or waiting for the Caldicott Guardian"
    if not justification:
        problems["justification"] = "Enter why this power applies: the Trust's legal advice, in brief"
    elif len(justification) > JUSTIFICATION_MAX:
        problems["justification"] = f"The reason must be {JUSTIFICATION_MAX} characters or fewer"
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        power = StatutoryPower.objects.create(programme=programme, label=label, justification=justification,
                                              proposed_by=by)
        record_event(Event.CHANGE, actor=by, target=power, programme=programme, role=role, action=0,
                     reason=f"statutory power proposed: {label}")
    return power


def may_decide(power: StatutoryPower, person: Person) -> bool:
    return (person.pk != power.proposed_by_id
            and role_has(_role(person, power.programme_id), Perm.CONFIRM_AGREEMENT_CHANGE))


def decide_power(*, power: StatutoryPower, by: Person, confirm: bool, justification: str) -> StatutoryPower:
    """The Caldicott Guardian confirms it (it can be cited from then on) or rejects it, with their
    justification either way (logged: ADR 45)."""
    decision = Decision.CONFIRM if confirm else Decision.REJECT
    justification = caldicott_log.justified(justification, decision=decision, what="the statutory power")
    with transaction.atomic():
        power = StatutoryPower.objects.select_for_update().get(pk=power.pk)
        if power.status != ChangeStatus.PROPOSED:
            raise ValidationError(f"This statutory power is not waiting for a decision: it is "
                                  f"{power.get_status_display().lower()}")
        if not may_decide(power, by):
            raise PermissionDenied("A statutory power is confirmed or rejected by the programme's Caldicott "
                                   "Guardian, never by the person who proposed it.")
        power.status = ChangeStatus.CONFIRMED if confirm else ChangeStatus.REJECTED
        power.decided_by, power.decided_at, power.decision_reason = by, timezone.now(), justification
        power.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        record_event(Event.CHANGE, actor=by, target=power, programme=power.programme, role=_role(by, power.programme_id),
                     action=1, reason=f"statutory power {'confirmed' if confirm else 'rejected'}: {power.label}"
                                      + (f" ({power.decision_reason})" if power.decision_reason else ""))
        caldicott_log.record(programme=power.programme, kind=DecisionKind.STATUTORY_POWER,
                             subject=f"Statutory power: {power.label}", subject_pk=power.pk, decision=decision,
                             justification=justification, by=by)
    return power
