"""`{% scoping_countdown programme %}`: the scoping deadline's countdown, for the dashboards; and
`|bases_lines`: a record's lawful bases in plain words."""

from __future__ import annotations

from django import template

from sharing import lawful_bases
from sharing.phases import scoping_countdown as countdown_of

register = template.Library()


@register.inclusion_tag("governance/_countdown.html")
def scoping_countdown(programme):
    return {"countdown": countdown_of(programme)}


@register.filter
def bases_lines(value) -> list[str]:
    """A record's lawful bases in plain words, one line per controller (`sharing.lawful_bases`)."""
    return lawful_bases.lines(value)
