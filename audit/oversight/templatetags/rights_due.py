"""The DPO dashboard's list of rights requests due, and how a due date reads ("Due in 3 days")."""

from __future__ import annotations

from django import template

from audit.oversight.due_dates import days_left
from pause_portal.tenancy.roles import Perm, role_has

register = template.Library()
DASHBOARD_ROWS = 10


@register.filter
def days_until(due) -> int:
    return days_left(due)


@register.filter
def abs_days(n: int) -> str:
    n = abs(n)
    return "today" if n == 0 else f"{n} day{'s' if n != 1 else ''}"


@register.inclusion_tag("rights/_dashboard_due.html", takes_context=True)
def rights_due_list(context):
    """The open requests of the DPO's programme, soonest due first (references only)."""
    from audit.oversight.rights import due_list, rectifications_for_caseworkers

    programme, role = context.get("programme"), context.get("role")
    user = context.get("user")
    if programme is None:
        return {"show": False}
    if role_has(role, Perm.RECTIFY_RECORDS):
        waiting = list(rectifications_for_caseworkers(programme.pk)[:DASHBOARD_ROWS])
        return {"show": True, "caseworker": True, "waiting": waiting}
    if not role_has(role, Perm.ANSWER_RIGHTS_REQUESTS):
        return {"show": False}
    due = list(due_list(programme.pk))
    return {"show": True, "caseworker": False, "due": due[:DASHBOARD_ROWS], "more": max(0, len(due) - DASHBOARD_ROWS),
            "user": user}
