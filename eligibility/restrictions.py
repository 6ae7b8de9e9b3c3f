"""Restrictions (issue 7, point 4): a Trust lead or the DPO restricts a woman's records — for
example while her objection or request for restriction is considered — and ends the restriction
when it is settled.

While a restriction is open nothing about her can be released (`eligibility.release`), she is
taken out of the scoping snapshot and she leaves every Pause view in delivery at once
(`sharing.delivery_access`, by its own query). `open_restriction` is the only code that creates a
Restriction: it lives here, below sharing, so it cannot call the scoping release; it tells sharing
through the kernel's `woman_no_longer_releasable` hook (`pause_portal.hooks`), whose handler runs
in the same transaction, so a failure there leaves no restriction behind.

The rights actions (`audit.oversight.rights`, `.objections`) open and end the restrictions a
rights request holds through the same functions.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from audit.core.models_rights import ObjectionOutcome, RequestStatus, RightsRequest
from eligibility.models import Restriction, RestrictionReason, Woman
from pause_portal import hooks
from pause_portal.refused import Refused
from pause_portal.tenancy.models import Membership, Person
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in


class RestrictionRefused(Refused):
    """A restriction that cannot be opened or ended; nothing was written."""


def _restricting(by: Person, programme_id: int) -> Membership:
    membership = membership_in(by, programme_id)
    if membership is None or not role_has(membership.role, Perm.RESTRICT_PROCESSING):
        raise RestrictionRefused("Only the programme's Trust leads and its DPO restrict a woman's records.")
    return membership


def open_restriction(*, woman: Woman, reason: RestrictionReason | str, by: Person) -> Restriction:
    """Open a restriction on a woman's records (she can no longer be released) and take her out of
    the scoping release at once. Not role-checked: `restrict` is the checked action for the
    restrictions page; the rights actions check the DPO (or confirm a proposal) before calling it."""
    with transaction.atomic():
        restriction = Restriction.objects.create(programme_id=woman.programme_id, woman=woman,
                                                 reason=RestrictionReason(reason), recorded_by=by)
        record_event(Event.CHANGE, actor=by, target=restriction, subjects=[woman], subject_model=Woman,
                     programme=woman.programme, action=0, reason=f"restriction #{restriction.pk} opened")
        hooks.call(hooks.WOMAN_NO_LONGER_RELEASABLE, woman=woman, why="restriction opened", by=by)
    return restriction


def restrict(*, woman: Woman, reason: RestrictionReason | str, by: Person) -> Restriction:
    """Open a restriction of her records (refused if one is already open)."""
    _restricting(by, woman.programme_id)
    try:
        reason = RestrictionReason(reason)
    except ValueError:
        raise RestrictionRefused("Choose why her records are restricted.") from None
    with transaction.atomic():
        Woman.objects.select_for_update().filter(pk=woman.pk).first()  # one restriction at a time
        already = Restriction.objects.filter(woman=woman, ended_at__isnull=True).first()
        if already is not None:
            raise RestrictionRefused(f"Her records are already restricted (restriction #{already.pk}).")
        return open_restriction(woman=woman, reason=reason, by=by)


def _held_by_request(restriction: Restriction) -> RightsRequest | None:
    """The rights request that holds this restriction: one still open (it ends with the request's
    outcome), or an upheld objection (processing has stopped for good). None if neither."""
    return (RightsRequest.objects.filter(restriction=restriction)
            .filter(Q(status=RequestStatus.OPEN) | Q(objection_outcome=ObjectionOutcome.UPHELD)).first())


def end_restriction(restriction: Restriction, *, by: Person, for_request: RightsRequest | None = None) -> Restriction:
    """End an open restriction: she may be released again, and a released woman is back in Pause's
    view (if nothing else keeps her out). A restriction held by a rights request (an objection
    being considered, a restriction request, an upheld objection) ends only through that request's
    outcome: `for_request` is that request, passed by the rights actions."""
    membership = _restricting(by, restriction.programme_id)
    with transaction.atomic():
        locked = Restriction.objects.select_for_update().get(pk=restriction.pk)
        if locked.ended_at is not None:
            raise RestrictionRefused(f"Restriction #{locked.pk} has already ended.")
        held = _held_by_request(locked)
        if held is not None and (for_request is None or held.pk != for_request.pk):
            raise RestrictionRefused(
                f"Restriction #{locked.pk} belongs to rights request {held.reference}: it ends only with that "
                "request's outcome, recorded by the DPO on the request.")
        locked.ended_at = timezone.now()
        locked.save(update_fields=["ended_at"])
        record_event(Event.CHANGE, actor=by, target=locked, subject_ids=[locked.woman_id], subject_model=Woman,
                     programme=membership.programme, role=membership.role, action=1,
                     reason=f"restriction #{locked.pk} ended")
    return locked
