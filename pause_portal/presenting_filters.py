"""The presenter as template filters, built in to every template (settings TEMPLATES "builtins"):
`{{ x|day }}`, `{{ x|moment }}`, `{{ x|short_day }}`, `{{ x|short_moment }}`, `{{ x|exact_moment }}`,
`{{ x|short_exact_moment }}`, `{{ x|nhs_number }}`.
Nothing shows as nothing, as Django's `date` filter did (a page says "Not recorded" where it means
to)."""

from __future__ import annotations

from django import template

from pause_portal import presenting

register = template.Library()


@register.filter
def day(value) -> str:
    return presenting.day(value, missing="")


@register.filter
def short_day(value) -> str:
    return presenting.short_day(value, missing="")


@register.filter
def moment(value) -> str:
    return presenting.moment(value, missing="") if value not in (None, "") else ""


@register.filter
def short_moment(value) -> str:
    return presenting.short_moment(value, missing="") if value not in (None, "") else ""


@register.filter
def nhs_number(value) -> str:
    return presenting.nhs_number(value, missing="")


@register.filter
def exact_moment(value) -> str:
    return presenting.exact_moment(value, missing="")


@register.filter
def short_exact_moment(value) -> str:
    return presenting.exact_moment(value, missing="", short=True)
