"""What the delivery pages show of released women: one read of the women in view, one call of the
disclosure policy (one audit entry naming every woman shown), one key load — the same number of
queries whatever the number of women.

Values come live from the Trust's record (name, date of birth, postcode) and from the release
(address, Trust contact, place in the target group and its reason, participation), as the policy
serves them: only its served values are read, never the records' own fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import F, OuterRef, QuerySet, Subquery

from eligibility.disclosure import disclose
from pause_portal import presenting
from pause_portal.tenancy.selectors import current_membership
from sharing.contact import prompts_for
from sharing.delivery_access import visible_released_women
from sharing.models_delivery import (
    ENDED_PARTICIPATION,
    LEAVES_VIEW_AFTER_DAYS,
    CaseloadAssignment,
    Participation,
    ReleasedWoman,
)

# What a page says of a field the agreement's delivery items do not share (ADR 28): never "Not
# recorded", which would say something about the Trust's record.
NOT_SHARED = "Not shared under the agreement"
NAME_NOT_SHARED = "Name not shared under the agreement"


@dataclass
class ShownWoman:
    released: ReleasedWoman
    pk: int
    name: str
    date_of_birth: str
    postcode: str
    address: str
    trust_contact: str
    participation: str
    participation_label: str
    target_position: int | None
    target_reason: str
    practitioner_id: int | None
    practitioner: str
    prompt_contact: bool  # not contacted or not reached: the caseload asks for contact
    prompt_privacy: bool  # reached and agreed, but not yet given the privacy information
    leaves_view_on: date | None  # after a decline or withdrawal (unless a concern stays open)


def in_view(request) -> QuerySet[ReleasedWoman]:
    """The released women this person may see now (their caseload, for a practitioner), with what
    the pages show beside them, in target-group order."""
    current = CaseloadAssignment.objects.filter(released_woman=OuterRef("pk"), ended_at__isnull=True)
    return (
        visible_released_women(request.user, current_membership(request))
        .select_related("woman", "trust_contact")
        .annotate(practitioner_now=Subquery(current.values("practitioner_id")[:1]),
                  practitioner_name=Subquery(current.values("practitioner__full_name")[:1]))
        .order_by(F("target_position").asc(nulls_last=True), "released_at", "pk")
    )


def shown_women(request, rows, *, reason: str) -> list[ShownWoman]:
    """The rows as the disclosure policy serves them to this person now (one audit entry)."""
    rows = list(rows)
    if not rows:
        return []
    return as_shown(disclose(request.user, rows, page=request.path, reason=reason).pairs())


def as_shown(pairs) -> list[ShownWoman]:
    """Released women the disclosure policy has just served, as (record, served values), read for
    the page: the record gives ids and the caseload's annotations, the served values everything
    about her."""
    labels = dict(Participation.choices)
    out = []
    for r, w in pairs:
        prompts = prompts_for(r)  # nothing after a decline or withdrawal
        ended = r.participation_ended_at if r.participation in ENDED_PARTICIPATION else None
        contact = w.get("trust_contact")
        out.append(ShownWoman(
            released=r, pk=r.pk,
            name=presenting.name(w.get("forename"), w.get("surname"),
                                 missing="Name not recorded" if "forename" in w else NAME_NOT_SHARED),
            date_of_birth=presenting.day(w.get("date_of_birth")) if "date_of_birth" in w else NOT_SHARED,
            postcode=presenting.text(w.get("postcode")) if "postcode" in w else NOT_SHARED,
            address=presenting.text(w.get("address")) if "address" in w else NOT_SHARED,
            trust_contact=(contact.full_name if contact is not None else "") if "trust_contact" in w else NOT_SHARED,
            participation=r.participation, participation_label=labels.get(r.participation, r.participation),
            target_position=w.get("target_position"),
            target_reason=w.get("target_reason") or "",
            practitioner_id=getattr(r, "practitioner_now", None),
            practitioner=getattr(r, "practitioner_name", None) or "",
            prompt_contact=prompts.contact, prompt_privacy=prompts.privacy_information,
            leaves_view_on=(ended + timedelta(days=LEAVES_VIEW_AFTER_DAYS)).date() if ended else None,
        ))
    return out
