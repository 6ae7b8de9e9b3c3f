"""The presenter as template filters, built in to every template (settings TEMPLATES "builtins"):
`{{ x|day }}`, `{{ x|moment }}`, `{{ x|short_day }}`, `{{ x|short_moment }}`, `{{ x|exact_moment }}`,
`{{ x|short_exact_moment }}`, `{{ x|nhs_number }}`.
Nothing shows as nothing, as Django's `date` filter did (a page says "Not recorded" where it means
to)."""

from __future__ import annotations

from django import template

from pause_portal import presenting

register = template.Library()


def _filter(present, **options):
    """A presenter function as a filter that shows nothing for nothing."""
    return lambda value: present(value, missing="", **options) if value not in (None, "") else ""


for _name, _present, _options in (
    ("day", presenting.day, {}),
    ("short_day", presenting.short_day, {}),
    ("moment", presenting.moment, {}),
    ("short_moment", presenting.short_moment, {}),
    ("exact_moment", presenting.exact_moment, {}),
    ("short_exact_moment", presenting.exact_moment, {"short": True}),
    ("nhs_number", presenting.nhs_number, {}),
):
    register.filter(_name, _filter(_present, **_options))
