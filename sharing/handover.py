"""Hand-over when a practitioner leaves (issue 22, point 8).

When a practitioner is deactivated (`actions.deactivate_person`) or her role in a programme is
revoked (`actions.revoke_role`, and so `role_changes.change_role`), `hand_over` ends her open
assignments there with the reason ("practitioner left", "role revoked"), in the caller's
transaction, with the audit entry inside it. Each woman concerned is then *waiting for a
practitioner*: her latest assignment ended for one of those two reasons and she has no open one.

- The Pause lead sees them on "Women who need a practitioner" (`delivery:unassigned`), read
  through the one reader gate (`delivery_access.visible_released_women`: the lead sees every woman
  in Pause's view, so nobody drops out of sight), and assigns each with `caseloads.assign`, which
  takes her off the list.
- Her dashboard says how many wait ("N women need a practitioner"), and no more.
- After the commit, the programme's active Pause leads are emailed that women wait
  (`sharing.tell_pause_leads_of_handover`): the programme's name and the list's address, nothing
  else — no name, no token, no number, not whose caseload it was.

The state is the caseload history itself (`CaseloadAssignment.end_reason`): no second record of who
waits that could drift from who holds the permission.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.template.loader import render_to_string

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.queue import send_on_commit
from pause_portal.tenancy.models import Membership, MembershipStatus, Person, Phase, Programme
from pause_portal.tenancy.roles import Role
from sharing.caseloads import end_for_practitioner
from sharing.delivery_access import in_pause_view
from sharing.models_delivery import (
    CaseloadAssignment,
    CaseloadEndReason,
    CaseloadUserObjectPermission,
    ReleasedWoman,
)

logger = logging.getLogger(__name__)

HANDOVER_REASONS = (CaseloadEndReason.PRACTITIONER_LEFT, CaseloadEndReason.ROLE_REVOKED)
EMAIL_TASK = "sharing.tell_pause_leads_of_handover"
EMAIL_SUBJECT = "emails/handover_subject.txt"
EMAIL_BODY = "emails/handover_body.txt"


def waiting(queryset: QuerySet[ReleasedWoman]) -> QuerySet[ReleasedWoman]:
    """Those of `queryset` waiting for a practitioner: the latest assignment ended because her
    practitioner left or lost her role (an open assignment is always the latest, and has no end
    reason)."""
    latest = CaseloadAssignment.objects.filter(released_woman=OuterRef("pk")).order_by("-pk")
    return queryset.annotate(_latest_end_reason=Subquery(latest.values("end_reason")[:1])).filter(
        _latest_end_reason__in=HANDOVER_REASONS)


def waiting_count(membership: Membership | None) -> int:
    """For the Pause lead's dashboard: how many women of her programme in Pause's view wait for a
    practitioner. A number only; 0 for anyone else."""
    if membership is None or Role(membership.role) != Role.PAUSE_LEAD:
        return 0
    released = ReleasedWoman.objects.filter(programme_id=membership.programme_id)
    return waiting(in_pause_view(released)).count()


@dataclass(frozen=True)
class HandOver:
    assignments_ended: int = 0
    permissions_removed: int = 0
    women: list[ReleasedWoman] = field(default_factory=list)


def hand_over(person: Person, programme: Programme, *, by: Person, reason: CaseloadEndReason, now,
              portal_url: str = "") -> HandOver:
    """End `person`'s caseload in `programme` with `reason` and hand it to the Pause lead: audited
    in this transaction, the Pause leads emailed after it commits (`portal_url`: the address of the
    lead's list, the email's one link)."""
    with transaction.atomic():
        assignments, removed, women = end_for_practitioner(person, programme, by=by, now=now, reason=reason)
        if not (assignments or removed):
            return HandOver()
        record_event(
            Event.CHANGE, actor=by, target=programme, subjects=women, programme=programme, action=1,
            reason=f"caseload: taken out of person #{person.pk}'s caseload ({CaseloadEndReason(reason).label.lower()})"
                   f"; {assignments} assignment(s) ended, {removed} permission(s) removed; handed over to the "
                   f"Pause lead as women who need a practitioner",
        )
        if programme.phase == Phase.DELIVERY:
            send_on_commit(EMAIL_TASK, programme.pk, portal_url)
    return HandOver(assignments, removed, women)


def hand_over_everywhere(person: Person, *, by: Person, now, portal_url: str = "") -> int:
    """Deactivation: hand over her caseload in every programme she has one in. Returns how many
    women were handed over."""
    programme_ids = (set(CaseloadAssignment.objects.filter(practitioner=person, ended_at__isnull=True)
                         .values_list("programme_id", flat=True))
                     | set(CaseloadUserObjectPermission.objects.filter(user=person)
                           .values_list("content_object__programme_id", flat=True)))
    handed = 0
    for programme in Programme.objects.filter(pk__in=programme_ids).order_by("pk"):
        handed += len(hand_over(person, programme, by=by, reason=CaseloadEndReason.PRACTITIONER_LEFT, now=now,
                                portal_url=portal_url).women)
    return handed


# --- the email, after the commit ----------------------------------------------------------------
def pause_leads_of(programme: Programme) -> list[Person]:
    return list(Person.objects.filter(
        is_active=True, memberships__programme=programme, memberships__status=MembershipStatus.ACTIVE,
        memberships__role=Role.PAUSE_LEAD).distinct().order_by("pk"))


def handover_email(programme: Programme, portal_url: str) -> tuple[str, str]:
    """The subject and body: the programme's name and the list's address, nothing about the women
    (not even how many) or whose caseload it was."""
    context = {"programme_name": programme.name, "portal_url": portal_url}
    return (" ".join(render_to_string(EMAIL_SUBJECT, context).split()), render_to_string(EMAIL_BODY, context))


def tell_pause_leads(*, programme_id: int, portal_url: str = "") -> int:
    """Email every active Pause lead of the programme that women wait for a practitioner (run
    after the hand-over is committed). Nothing is sent once nobody waits. Returns how many people
    were told."""
    programme = Programme.objects.filter(pk=programme_id).first()
    if programme is None or programme.phase != Phase.DELIVERY:
        return 0
    if not waiting(in_pause_view(ReleasedWoman.objects.filter(programme=programme))).exists():
        return 0
    recipients = pause_leads_of(programme)
    if not recipients:
        # Nobody to tell is itself a risk: recorded, and logged for the service's monitoring.
        logger.warning("hand-over in programme #%s: no active Pause lead to tell by email", programme.pk)
        record_event(Event.CHANGE, target=programme, programme=programme, action=1,
                     reason="caseload hand-over: no active Pause lead to tell by email")
        return 0
    subject, body = handover_email(programme, portal_url)
    send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, [p.email]) for p in recipients],
                   fail_silently=False)
    record_event(Event.CHANGE, target=programme, programme=programme, action=1,
                 reason=f"caseload hand-over: {len(recipients)} Pause lead(s) told by email that women need a "
                        f"practitioner (people #{', #'.join(str(p.pk) for p in recipients)})")
    return len(recipients)
