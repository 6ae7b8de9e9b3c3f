"""Telling the people who may decide a proposal that it waits for them (issue 16, point 7): a
phase change (the Caldicott Guardian and every other Trust lead of the programme) and a new
version of the data-sharing agreement (the Caldicott Guardian). Run after the proposal is
committed (`sharing.tasks_governance`), and only while it still waits.

The emails carry no identifier and no token: the programme's name, what is proposed, the
proposer's role (never their name), for a move out of scoping the state of the final report and
what the purge keeps as they are when the email is sent, and one link to the portal page.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mass_mail
from django.template.loader import render_to_string

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.tenancy.models import MembershipStatus, Person, Phase, Programme
from pause_portal.tenancy.roles import Perm, Role, roles_with
from pause_portal.tenancy.selectors import membership_in
from sharing import agreements
from sharing.leaving_scoping import keeps_in_words, leaving_scoping
from sharing.models_scoping import Agreement, ChangeStatus, PhaseChange
from sharing.phases import may_decide_phase_change

logger = logging.getLogger(__name__)

PHASE_SUBJECT, PHASE_BODY = "emails/phase_change_awaiting_subject.txt", "emails/phase_change_awaiting_body.txt"
AGREEMENT_SUBJECT, AGREEMENT_BODY = "emails/agreement_awaiting_subject.txt", "emails/agreement_awaiting_body.txt"


def _members(programme: Programme, roles) -> list[Person]:
    return list(Person.objects.filter(
        is_active=True, memberships__programme=programme, memberships__status=MembershipStatus.ACTIVE,
        memberships__role__in=list(roles)).distinct().order_by("pk"))


def phase_change_deciders(change: PhaseChange) -> list[Person]:
    """Everyone who may confirm or reject it now (the same rule the action applies)."""
    return [p for p in _members(change.programme, roles_with(Perm.CONFIRM_PHASE_CHANGE))
            if may_decide_phase_change(change, p)]


def agreement_deciders(agreement: Agreement) -> list[Person]:
    return [p for p in _members(agreement.programme, [Role.CALDICOTT_GUARDIAN])
            if agreements.may_decide(agreement, p)]


def _proposer_role(person: Person, programme: Programme) -> str:
    membership = membership_in(person, programme.pk)
    return f"A {Role(membership.role).label}" if membership else "A Trust lead"


def _render(subject: str, body: str, context: dict) -> tuple[str, str]:
    return " ".join(render_to_string(subject, context).split()), render_to_string(body, context)


def phase_change_email(change: PhaseChange, portal_url: str = "") -> tuple[str, str]:
    leaving = leaving_scoping(change.programme, change) if change.from_phase == Phase.SCOPING else None
    return _render(PHASE_SUBJECT, PHASE_BODY, {
        "programme_name": change.programme.name, "change": change, "portal_url": portal_url,
        "proposer_role": _proposer_role(change.proposed_by, change.programme),
        "from_phase": change.get_from_phase_display().lower(), "to_phase": change.get_to_phase_display().lower(),
        "leaving": leaving, "keeps": keeps_in_words(leaving.keeps) if leaving else "",
    })


def agreement_email(agreement: Agreement, portal_url: str = "") -> tuple[str, str]:
    return _render(AGREEMENT_SUBJECT, AGREEMENT_BODY, {
        "programme_name": agreement.programme.name, "version": agreement.version, "portal_url": portal_url,
        "proposer_role": _proposer_role(agreement.proposed_by, agreement.programme),
    })


def _send(target, programme: Programme, recipients: list[Person], subject: str, body: str, what: str) -> int:
    if not recipients:
        # Nobody to decide is itself a risk: recorded, and logged for the service's monitoring.
        logger.warning("%s: nobody in programme #%s may decide it", what, programme.pk)
        record_event(Event.CHANGE, target=target, programme=programme, action=1,
                     reason=f"{what}: nobody who may decide it to tell by email")
        return 0
    send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, [p.email]) for p in recipients],
                   fail_silently=False)
    record_event(Event.CHANGE, target=target, programme=programme, action=1,
                 reason=f"{what}: {len(recipients)} people who may decide it told by email "
                        f"(people #{', #'.join(str(p.pk) for p in recipients)})")
    return len(recipients)


def tell_phase_change_deciders(*, change_id: int, portal_url: str = "") -> int:
    """Email everyone who may decide the phase change, if it still waits. Returns how many."""
    change = (PhaseChange.objects.select_related("programme", "proposed_by")
              .filter(pk=change_id, status=ChangeStatus.PROPOSED).first())
    if change is None:
        return 0
    subject, body = phase_change_email(change, portal_url)
    return _send(change, change.programme, phase_change_deciders(change), subject, body,
                 f"phase change #{change.pk} waiting")


def tell_agreement_deciders(*, agreement_id: int, portal_url: str = "") -> int:
    """Email the Caldicott Guardian(s) that a proposed agreement version waits, if it still does."""
    agreement = (Agreement.objects.select_related("programme", "proposed_by")
                 .filter(pk=agreement_id, status=ChangeStatus.PROPOSED).first())
    if agreement is None:
        return 0
    subject, body = agreement_email(agreement, portal_url)
    return _send(agreement, agreement.programme, agreement_deciders(agreement), subject, body,
                 f"agreement version {agreement.version} waiting")
