"""Casework on a released woman's page: `{% woman_casework released %}` shows her contact
history, the open concerns about her, what the portal asks of her practitioner now, and links to
the casework pages. Everything shown goes through the disclosure policy (an audit entry for the
contacts, one for the concerns), so a person sees here exactly what the policy serves them.

`{% open_concern_count programme %}` is the number of open concerns for the Trust lead's
dashboard (a count, no record)."""

from __future__ import annotations

from datetime import timedelta

from django import template

from eligibility.disclosure import disclose, record_staff_view
from pause_portal.tenancy.roles import Perm, Role, role_has
from pause_portal.tenancy.selectors import current_membership
from sharing.contact import prompts_for
from sharing.models_delivery import (
    LEAVES_VIEW_AFTER_DAYS,
    OPEN_CONCERN_STATUSES,
    ContactAttempt,
    SafeguardingConcern,
)

register = template.Library()


@register.inclusion_tag("casework/_panel.html", takes_context=True)
def woman_casework(context, released):
    request = context["request"]
    membership = current_membership(request)
    role = Role(membership.role) if membership else None
    attempts = disclose(
        request.user, ContactAttempt.objects.filter(released_woman=released).select_related("recorded_by")
        .order_by("-contacted_on", "-pk"), page=request.path, reason="casework: contact history")
    concerns = list(disclose(
        request.user, SafeguardingConcern.objects.filter(released_woman=released, status__in=OPEN_CONCERN_STATUSES)
        .order_by("-raised_at", "-pk"), page=request.path, reason="casework: open concerns about her"))
    record_staff_view(request, {a.recorded_by_id: a.recorded_by for a in attempts.records}.values(),
                      membership=membership)
    ended_at = released.participation_ended_at
    return {
        "released": released, "attempts": list(attempts), "concerns": concerns, "prompts": prompts_for(released),
        "leaves_view_on": ended_at + timedelta(days=LEAVES_VIEW_AFTER_DAYS) if ended_at else None,
        "can_record_contact": role_has(role, Perm.RECORD_CONTACT),
        "can_raise": role_has(role, Perm.RAISE_SAFEGUARDING),
    }


@register.simple_tag
def open_concern_count(programme) -> int:
    return SafeguardingConcern.objects.filter(programme=programme, status__in=OPEN_CONCERN_STATUSES).count()
