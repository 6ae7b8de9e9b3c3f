"""Fetch-and-authorise for the casework pages: a released woman or a concern this person may
see now, or 404 (not yours looks exactly like not found), and her served details through the
disclosure policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q
from django.http import Http404

from eligibility.disclosure import disclose
from pause_portal import presenting
from pause_portal.tenancy.models import Membership
from pause_portal.tenancy.roles import Perm, Role, role_has
from pause_portal.tenancy.selectors import current_membership
from sharing.delivery_access import (
    PAUSE_DELIVERY_ROLES,
    concern_stays_in_view,
    visible_released_women,
)
from sharing.models_delivery import ReleasedWoman, SafeguardingConcern


def visible_woman_or_404(request, pk: int) -> tuple[ReleasedWoman, Membership]:
    """The released woman `pk` if this person may see her now (the Pause lead: any in Pause's
    view; a practitioner: their caseload), else 404."""
    membership = current_membership(request)
    released = (visible_released_women(request.user, membership).filter(pk=pk)
                .select_related("programme", "woman").first())
    if released is None:
        raise Http404("No such woman.")
    return released, membership


def concern_or_404(request, pk: int) -> tuple[SafeguardingConcern, Membership]:
    """The concern `pk` of the current programme: any, for whoever answers concerns (its Trust
    lead); for Pause, only about a woman in their view now, or an open one about a woman who left
    it that they raised (any, for the Pause lead: ADR 29). Anyone else: 404."""
    membership = current_membership(request)
    if membership is None:
        raise Http404("No such concern.")
    concerns = SafeguardingConcern.objects.filter(pk=pk, programme_id=membership.programme_id)
    if not role_has(membership.role, Perm.VIEW_CONCERNS):
        raise Http404("No such concern.")
    if not role_has(membership.role, Perm.ANSWER_CONCERNS):
        concerns = concerns.filter(Q(released_woman__in=visible_released_women(request.user, membership))
                                   | concern_stays_in_view(request.user, membership))
    concern = concerns.select_related("programme", "released_woman", "raised_by", "acknowledged_by",
                                      "closed_by").first()
    if concern is None:
        raise Http404("No such concern.")
    return concern, membership


@dataclass(frozen=True)
class ServedWoman:
    pk: int
    forename: str
    surname: str
    date_of_birth: date | None
    trust_person_id: str = ""  # the Trust's own reference: served to the Trust only

    @property
    def name(self) -> str:
        return f"{self.forename} {self.surname}".strip()


def served_woman(request, released: ReleasedWoman, *, reason: str) -> ServedWoman:
    """Her name and date of birth as the disclosure policy serves them to this person (one audit
    entry naming her); 404 if it serves nothing."""
    woman = released.woman
    # Pause is served the release (a live reference: her details read through it); the Trust
    # reads its own record of her.
    membership = current_membership(request)
    pause = membership is not None and Role(membership.role) in PAUSE_DELIVERY_ROLES
    served = list(disclose(request.user, [released if pause else woman], page=request.path, reason=reason))
    if not served:
        raise Http404("No such woman.")
    her = served[0]
    return ServedWoman(pk=released.pk, forename=her.get("forename") or "", surname=her.get("surname") or "",
                       date_of_birth=presenting.as_date(her.get("date_of_birth")),
                       trust_person_id=her.get("trust_person_id") or "")
