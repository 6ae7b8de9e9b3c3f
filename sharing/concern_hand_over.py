"""Handing a closed safeguarding concern to the Trust's case record (issue 22, point 4).

A concern is the Trust's record as much as Pause's: it follows the Trust's social-care retention,
not Pause's clock. Once a Trust lead has closed it, the concern awaits hand-over: a Trust lead
downloads it as a plain, printable document (`hand_over_document`: what it says, with the woman
named only by the Trust's own person id, so it can be filed) and then says it is filed in the
Trust's case record (`mark_filed`). Until then Pause's retention keeps it, and the released woman
it is about (`sharing.retention`), and an erasure keeps it too, detached from her record with her
Trust person id (`audit.oversight.erasure`).

The document is rendered by Django's template engine with autoescaping and a Content-Security-Policy
in a meta element: nothing may load or run, and its one style block is allowed by its hash.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.tenancy.models import Membership, Person, Programme
from pause_portal.tenancy.roles import Perm, Role, role_has
from pause_portal.tenancy.selectors import membership_in
from sharing import lawful_bases as bases
from sharing.models_delivery import ConcernStatus, SafeguardingConcern

DOCUMENT_TEMPLATE = "casework/hand_over_document.html"
# No character here is changed by HTML escaping, so the hash below is of exactly what is served.
DOCUMENT_CSS = ("body{font-family:arial,sans-serif;margin:2em;color:#0b0c0c;line-height:1.4;max-width:50em}"
                "dt{font-weight:bold;margin-top:1em}dd{margin:0;white-space:pre-wrap}")


def awaiting_hand_over(programme_id: int):
    """Closed concerns of the programme the Trust has not yet filed in its case record."""
    return SafeguardingConcern.objects.filter(programme_id=programme_id, status=ConcernStatus.CLOSED,
                                              filed_at__isnull=True)


@dataclass(frozen=True)
class HandOver:
    """What a hand-over document holds: one concern, and whom it is about by the Trust's id only."""

    reference: str
    programme_name: str
    trust_person_id: str
    kind: str
    raised_at: datetime | None
    raised_by: str  # a role, never a name: the Trust files what Pause said, not who at Pause
    lawful_bases: str
    summary: str
    status: str
    acknowledged_at: datetime | None
    closed_at: datetime | None
    closing_note: str
    generated_at: datetime


def raiser_role(concern: SafeguardingConcern) -> str:
    """The role the person who raised it holds (or held) in the programme."""
    role = (Membership.objects.filter(person_id=concern.raised_by_id, programme_id=concern.programme_id)
            .order_by("-requested_at").values_list("role", flat=True).first())
    return Role(role).label if role else "Pause"


def hand_over(concern: SafeguardingConcern, served, *, trust_person_id: str) -> HandOver:
    """The document's content from the concern as served to the Trust lead (`disclose()`)."""
    return HandOver(
        reference=f"{concern.kind}-{concern.pk}", programme_name=concern.programme.name,
        trust_person_id=trust_person_id, kind=concern.get_kind_display(), raised_at=served.get("raised_at"),
        raised_by=raiser_role(concern), lawful_bases=bases.in_words(served.get("lawful_bases") or {}),
        summary=served.get("summary") or "", status=concern.get_status_display(),
        acknowledged_at=served.get("acknowledged_at"), closed_at=served.get("closed_at"),
        closing_note=served.get("closing_note") or "", generated_at=timezone.now())


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(DOCUMENT_CSS.encode()).digest()).decode()
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; script-src 'none'; "
            "base-uri 'none'; form-action 'none'")


def hand_over_document(document: HandOver) -> tuple[str, bytes]:
    """(file name, the HTML document's bytes)."""
    html = render_to_string(DOCUMENT_TEMPLATE, {"doc": document, "css": DOCUMENT_CSS, "csp": _csp()})
    return f"pause-{document.reference}-for-the-trust-case-record.html", html.encode()


def _trust_lead_membership(concern: SafeguardingConcern, by: Person) -> Membership:
    membership = membership_in(by, concern.programme_id)
    if membership is None or not role_has(membership.role, Perm.ANSWER_CONCERNS):
        raise PermissionDenied("Only a Trust lead of the programme files a concern in the Trust's case record.")
    return membership


def mark_filed(concern: SafeguardingConcern, *, by: Person) -> SafeguardingConcern:
    """A Trust lead says the closed concern is filed in the Trust's case record: from now on Pause's
    retention may remove it. Raises PermissionDenied or ValidationError, changing nothing."""
    membership = _trust_lead_membership(concern, by)
    with transaction.atomic():
        concern = SafeguardingConcern.objects.select_for_update().get(pk=concern.pk)
        if concern.status != ConcernStatus.CLOSED:
            raise ValidationError("Close this first: only a closed concern is filed in the Trust's case record")
        if concern.filed_at is not None:
            raise ValidationError("This is already filed in the Trust's case record")
        concern.filed_by, concern.filed_at = by, timezone.now()
        concern.save(update_fields=["filed_by", "filed_at"])
        record_event(Event.CHANGE, actor=by, target=concern,
                     subjects=[concern.released_woman] if concern.released_woman_id else [],
                     programme=Programme.objects.get(pk=concern.programme_id), role=membership.role, action=1,
                     reason=f"{concern.kind} #{concern.pk} filed in the Trust's case record: Pause's retention "
                            "may now remove it")
    return concern
