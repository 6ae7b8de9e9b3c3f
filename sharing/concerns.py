"""Safeguarding concerns and serious incidents (issue 7, point 5).

Her practitioner (or the Pause lead, for any woman in Pause's view) raises one about a released
woman, with Pause's lawful bases for telling the Trust (`sharing.lawful_bases`: by default those of
Pause in the agreement in force). The Trust leads of the programme are told
twice: in the portal (their concerns list and dashboard), where they see what it contains, and by
an email sent after the concern is committed that says only that something awaits them — no
name, no identifier, no token, no summary, no link to the concern itself. A Trust lead
acknowledges it and closes it with a closing note. While a concern is open the woman stays in
Pause's view even after she declines or withdraws (`sharing.delivery_access`).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mass_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.queue import send_on_commit
from pause_portal.tenancy.models import MembershipStatus, Person, Programme
from pause_portal.tenancy.roles import Perm, Role, role_has
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.fields import Protector
from sharing import lawful_bases as bases
from sharing.delivery_access import visible_released_women
from sharing.models_delivery import (
    OPEN_CONCERN_STATUSES,
    ConcernKind,
    ConcernStatus,
    ReleasedWoman,
    SafeguardingConcern,
)
from sharing.scoping_term import current_agreement

logger = logging.getLogger(__name__)

TEXT_MAX = 5000
EMAIL_SUBJECT = "emails/concern_awaiting_subject.txt"
EMAIL_BODY = "emails/concern_awaiting_body.txt"


def _raiser_membership(released: ReleasedWoman, by: Person):
    """Her practitioner, or the programme's Pause lead, while she is in their view."""
    membership = membership_in(by, released.programme_id)
    allowed = membership is not None and role_has(membership.role, Perm.RAISE_SAFEGUARDING)
    if not allowed or not visible_released_women(by, membership).filter(pk=released.pk).exists():
        raise PermissionDenied("Only her practitioner or the Pause lead raises a concern about her.")
    return membership


def _trust_lead_membership(concern: SafeguardingConcern, by: Person):
    membership = membership_in(by, concern.programme_id)
    if membership is None or not role_has(membership.role, Perm.ANSWER_CONCERNS):
        raise PermissionDenied("Only a Trust lead of the programme answers a concern.")
    return membership


def _text(value: str, *, field: str, missing: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: missing})
    if len(value) > TEXT_MAX:
        raise ValidationError({field: f"{what} must be {TEXT_MAX} characters or fewer"})
    return value


def pause_bases_in_force(programme_id: int) -> dict:
    """Pause's bases in the agreement in force ({"pause": {...}}), or {} where it names none."""
    agreement = current_agreement(Programme(pk=programme_id))
    pause = bases.normalised(agreement.lawful_bases if agreement else {}).get("pause")
    return {"pause": pause} if pause else {}


def raise_concern(released: ReleasedWoman, *, by: Person, kind: str, summary: str, lawful_bases: dict | None = None,
                  portal_url: str = "") -> SafeguardingConcern:
    """Record a concern or serious incident about her with Pause's lawful bases for telling the
    Trust ({"pause": {"article_6", "article_9", "power"}}; by default Pause's in the agreement in
    force), and tell the Trust leads once it is committed. `portal_url` is the absolute address of
    the concerns list (the email's only link). Raises PermissionDenied or ValidationError; nothing
    is written then."""
    membership = _raiser_membership(released, by)
    problems = {}
    if kind not in ConcernKind.values:
        problems["kind"] = "Choose whether this is a safeguarding concern or a serious incident"
    try:
        chosen = bases.validate(pause_bases_in_force(released.programme_id) if lawful_bases is None else lawful_bases,
                                programme_id=released.programme_id, controllers=("pause",))
    except ValidationError as e:
        problems.update({k: v[0] for k, v in e.message_dict.items()})
    try:
        summary = _text(summary, field="summary", missing="Describe the concern: what happened and what you know",
                        what="The description")
    except ValidationError as e:
        problems.update({k: v[0] for k, v in e.message_dict.items()})
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        concern = SafeguardingConcern(programme_id=released.programme_id, released_woman=released, kind=kind,
                                      lawful_bases=chosen, raised_by=by, raised_at=timezone.now())
        concern.protect(Protector.load(released.programme_id, SafeguardingConcern.key_phase), summary=summary)
        concern.save()
        record_event(Event.CHANGE, actor=by, target=concern, subjects=[released], programme=membership.programme,
                     role=membership.role, action=0,
                     reason=f"{kind} #{concern.pk} raised with the Trust under {bases.in_words(chosen)}")
        send_on_commit("sharing.tell_trust_leads_of_concern", concern.pk, portal_url)
    return concern


def acknowledge_concern(concern: SafeguardingConcern, *, by: Person) -> SafeguardingConcern:
    """A Trust lead says the Trust has it in hand."""
    membership = _trust_lead_membership(concern, by)
    with transaction.atomic():
        concern = SafeguardingConcern.objects.select_for_update().get(pk=concern.pk)
        if concern.status != ConcernStatus.OPEN:
            raise ValidationError("This has already been acknowledged" if concern.status == ConcernStatus.ACKNOWLEDGED
                                  else "This has been closed")
        concern.status, concern.acknowledged_by, concern.acknowledged_at = (ConcernStatus.ACKNOWLEDGED, by,
                                                                             timezone.now())
        concern.save(update_fields=["status", "acknowledged_by", "acknowledged_at"])
        record_event(Event.CHANGE, actor=by, target=concern, subjects=[concern.released_woman],
                     programme=membership.programme, role=membership.role, action=1,
                     reason=f"{concern.kind} #{concern.pk} acknowledged by the Trust")
    return concern


def close_concern(concern: SafeguardingConcern, *, by: Person, closing_note: str) -> SafeguardingConcern:
    """A Trust lead closes it, saying how it ended (the note is kept encrypted)."""
    membership = _trust_lead_membership(concern, by)
    note = _text(closing_note, field="closing_note", missing="Enter a closing note: what was done and why it is closed",
                 what="The closing note")
    with transaction.atomic():
        concern = SafeguardingConcern.objects.select_for_update().get(pk=concern.pk)
        if concern.status not in OPEN_CONCERN_STATUSES:
            raise ValidationError("This has already been closed")
        concern.status, concern.closed_by, concern.closed_at = ConcernStatus.CLOSED, by, timezone.now()
        concern.protect(Protector.load(concern.programme_id, SafeguardingConcern.key_phase), closing_note=note)
        concern.save(update_fields=["status", "closed_by", "closed_at", "closing_note"])
        record_event(Event.CHANGE, actor=by, target=concern, subjects=[concern.released_woman],
                     programme=membership.programme, role=membership.role, action=1,
                     reason=f"{concern.kind} #{concern.pk} closed by the Trust")
    return concern


def trust_leads_of(programme: Programme) -> list[Person]:
    return list(Person.objects.filter(
        is_active=True, memberships__programme=programme, memberships__status=MembershipStatus.ACTIVE,
        memberships__role=Role.TRUST_LEAD).distinct().order_by("pk"))


def concern_email(programme: Programme, portal_url: str) -> tuple[str, str]:
    """The email's subject and body: the programme's name and the concerns list's address, and
    nothing about the woman or the concern."""
    context = {"programme_name": programme.name, "portal_url": portal_url}
    return (" ".join(render_to_string(EMAIL_SUBJECT, context).split()), render_to_string(EMAIL_BODY, context))


def tell_trust_leads(*, concern_id: int, portal_url: str = "") -> int:
    """Email every active Trust lead of the concern's programme that something awaits them (run
    after the concern is committed). Nothing is sent once the concern is no longer open. Returns
    how many people were told."""
    concern = SafeguardingConcern.objects.select_related("programme").filter(pk=concern_id).first()
    if concern is None or concern.status != ConcernStatus.OPEN:
        return 0
    recipients = trust_leads_of(concern.programme)
    if not recipients:
        # Nobody to tell is itself a risk: recorded, and logged for the service's monitoring.
        logger.warning("concern #%s: no active Trust lead in programme #%s to tell by email", concern.pk,
                       concern.programme_id)
        record_event(Event.CHANGE, target=concern, programme=concern.programme, action=1,
                     reason=f"{concern.kind} #{concern.pk}: no active Trust lead to tell by email")
        return 0
    subject, body = concern_email(concern.programme, portal_url)
    send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, [p.email]) for p in recipients],
                   fail_silently=False)
    record_event(Event.CHANGE, target=concern, programme=concern.programme, action=1,
                 reason=f"{concern.kind} #{concern.pk}: {len(recipients)} Trust leads told by email that something "
                        f"awaits them (people #{', #'.join(str(p.pk) for p in recipients)})")
    return len(recipients)
