"""Objections (issue 9, point 4; UK GDPR Art. 21).

An objection restricts her records from the moment it is opened (`audit.oversight.rights.open_request`,
through `audit.oversight.request_restrictions`): nothing about her can be released, she leaves the scoping
snapshot (the k-check re-runs) and every Pause view in delivery at once. It ends one of two ways:

- upheld (issue 17: two people): the DPO proposes it (`audit.oversight.proposals.propose_objection_upheld`)
  and it takes effect only when the Caldicott Guardian confirms it (`carry_out_upheld`). Processing
  stops. The restriction stays open for good, and Pause's access ends: her delivery release is
  withdrawn and her practitioner's caseload permission removed, so she does not come back into
  view even if someone later ends the restriction by mistake;
- not upheld (`decide_objection`, the DPO alone: nothing irreversible happens): the compelling
  legitimate grounds that override her interests are recorded (encrypted), and the restriction
  opened for the objection is ended.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from audit.core.models_rights import ObjectionOutcome, RequestKind, RequestStatus, RightsRequest
from audit.oversight.request_restrictions import restrict_for_request
from audit.oversight.rights import (
    RightsRefused,
    _locked,
    _text,
    dpo_membership,
    pending_proposal,
    protector_for,
    reveal,
)
from eligibility.models import RestrictionReason, Woman
from eligibility.restrictions import RestrictionRefused, end_restriction
from pause_portal.tenancy.models import Person
from pause_portal.tenancy.selectors import membership_in
from sharing.caseloads import end_for
from sharing.models_delivery import ReleasedWoman


def decide_objection(request: RightsRequest, *, outcome: ObjectionOutcome | str, note: str,
                     by: Person) -> RightsRequest:
    """Record that the objection is not upheld, with the compelling legitimate grounds, and close
    the request. An upheld objection ends processing for good: it is proposed
    (`audit.oversight.proposals.propose_objection_upheld`) and takes effect when the Caldicott Guardian
    confirms it (`carry_out_upheld`)."""
    membership = dpo_membership(by, request.programme_id)
    try:
        outcome = ObjectionOutcome(outcome)
    except ValueError:
        raise RightsRefused("Choose whether the objection is upheld.") from None
    if outcome == ObjectionOutcome.UPHELD:
        raise RightsRefused("An upheld objection ends processing for good: propose it, and the Caldicott Guardian "
                            "confirms it.")
    note = _text(note, "the compelling legitimate grounds")
    with transaction.atomic():
        locked = _locked(request)
        if locked.kind != RequestKind.OBJECTION:
            raise RightsRefused(f"Request {locked.reference} is not an objection.")
        if pending_proposal(locked) is not None:
            raise RightsRefused("Upholding this objection awaits the Caldicott Guardian: withdraw it first.")
        if locked.restriction_id and locked.restriction.ended_at is None:
            try:
                end_restriction(locked.restriction, by=by, for_request=locked)
            except RestrictionRefused as exc:
                raise RightsRefused(exc.message) from None
        _complete(locked, outcome, note, by=by, membership=membership)
    return locked


def carry_out_upheld(locked: RightsRequest, proposal, *, confirmer: Person, confirmer_membership) -> RightsRequest:
    """Uphold the (locked, open) objection, inside the confirmation's transaction: the restriction
    stays open for good and Pause's access ends. `audit.oversight.proposals.confirm` calls it."""
    if locked.kind != RequestKind.OBJECTION:
        raise RightsRefused(f"Request {locked.reference} is not an objection.")
    if locked.restriction_id is None or locked.restriction.ended_at is not None:
        restrict_for_request(locked, reason=RestrictionReason.OBJECTION, by=confirmer)
    end_pause_access(locked.woman, by=confirmer, why=f"objection upheld, request {locked.reference}")
    _complete(locked, ObjectionOutcome.UPHELD, reveal(proposal, "note", protector_for(locked)), by=confirmer,
              membership=confirmer_membership,
              also=f"; proposed by person #{proposal.proposed_by_id} (proposal #{proposal.pk}), confirmed by "
                   f"person #{confirmer.pk}")
    return locked


def _complete(locked: RightsRequest, outcome: ObjectionOutcome, note: str, *, by: Person, membership,
              also: str = "") -> None:
    locked.objection_outcome = outcome
    locked.status, locked.closed_by, locked.closed_at = RequestStatus.COMPLETED, by, timezone.now()
    locked.protect(protector_for(locked), outcome_note=note)
    locked.save(update_fields=["restriction", "objection_outcome", "status", "closed_by", "closed_at",
                               "outcome_note"])
    record_event(Event.CHANGE, actor=by, target=locked, programme=membership.programme, role=membership.role,
                 action=1, reason=f"rights request {locked.reference} completed: outcome recorded{also}")


def end_pause_access(woman: Woman, *, by: Person, why: str) -> ReleasedWoman | None:
    """Withdraw her delivery release (if she has one not yet withdrawn) and end her caseload
    assignment: Pause's access to her ends for good. `why` holds no personal data."""
    membership = membership_in(by, woman.programme_id)
    with transaction.atomic():
        released = ReleasedWoman.objects.select_for_update().filter(woman=woman, withdrawn_at__isnull=True).first()
        if released is None:
            return None
        released.withdrawn_at, released.withdrawn_by = timezone.now(), by
        released.save(update_fields=["withdrawn_at", "withdrawn_by"])
        record_event(Event.CHANGE, actor=by, target=released, subject_ids=[woman.pk], subject_model=Woman,
                     programme=woman.programme, role=membership.role if membership else "", action=1,
                     reason=f"delivery release of released woman #{released.pk} withdrawn ({why})")
        end_for(released, by=by, why=why)
    return released
