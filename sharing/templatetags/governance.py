"""`{% scoping_countdown programme %}`: the scoping deadline's countdown, for the dashboards."""

from __future__ import annotations

from django import template

from sharing.phases import scoping_countdown as countdown_of

register = template.Library()


@register.inclusion_tag("governance/_countdown.html")
def scoping_countdown(programme):
    return {"countdown": countdown_of(programme)}
