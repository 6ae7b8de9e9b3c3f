"""What the delivery pages show of released women: one read of the women in view, one call of the
disclosure policy (one audit entry naming every woman shown), one key load — the same number of
queries whatever the number of women.

Values come live from the Trust's record (name, date of birth, postcode) and from the release
(address, Trust contact, place in the target group and its reason, participation), and only the
fields the policy serves are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import F, OuterRef, QuerySet, Subquery

from eligibility.disclosure import disclose
from eligibility.models import Woman
from pause_portal.tenancy.selectors import current_membership
from pseudonymisation.fields import Protector
from sharing.contact import prompts_for
from sharing.delivery_access import visible_released_women
from sharing.models_delivery import (
    ENDED_PARTICIPATION,
    LEAVES_VIEW_AFTER_DAYS,
    CaseloadAssignment,
    Participation,
    ReleasedWoman,
)


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


def day(value: str | None) -> str:
    if not value:
        return "Not recorded"
    d = date.fromisoformat(value)
    return f"{d.day} {d:%B %Y}"


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
    shown = disclose(request.user, rows, page=request.path, reason=reason)
    if not shown.records:
        return []
    return as_shown(shown.records, shown.fields.get(shown.records[0].programme_id, frozenset()))


def as_shown(records: list[ReleasedWoman], served: frozenset[str]) -> list[ShownWoman]:
    """Records the disclosure policy has just served (one programme), read for the page: only the
    `served` fields are decrypted."""
    programme_id = records[0].programme_id
    trust_keys = Protector.load(programme_id, Woman.key_phase, create=False)
    own_keys = (trust_keys if ReleasedWoman.key_phase == Woman.key_phase
                else Protector.load(programme_id, ReleasedWoman.key_phase, create=False))
    labels = dict(Participation.choices)

    def read(record, keys: Protector, name: str) -> str:
        return (record.reveal(keys, name) or "") if name in served else ""

    out = []
    for r in records:
        prompts = prompts_for(r)  # nothing after a decline or withdrawal
        ended = r.participation_ended_at if r.participation in ENDED_PARTICIPATION else None
        names = (read(r.woman, trust_keys, "forename"), read(r.woman, trust_keys, "surname"))
        out.append(ShownWoman(
            released=r, pk=r.pk,
            name=" ".join(n for n in names if n) or "Name not recorded",
            date_of_birth=day(read(r.woman, trust_keys, "date_of_birth")),
            postcode=read(r.woman, trust_keys, "postcode") or "Not recorded",
            address=read(r, own_keys, "address") or "Not recorded",
            trust_contact=r.trust_contact.full_name if "trust_contact" in served else "",
            participation=r.participation, participation_label=labels.get(r.participation, r.participation),
            target_position=r.target_position if "target_position" in served else None,
            target_reason=read(r, own_keys, "target_reason"),
            practitioner_id=getattr(r, "practitioner_now", None),
            practitioner=getattr(r, "practitioner_name", None) or "",
            prompt_contact=prompts.contact, prompt_privacy=prompts.privacy_information,
            leaves_view_on=(ended + timedelta(days=LEAVES_VIEW_AFTER_DAYS)).date() if ended else None,
        ))
    return out
