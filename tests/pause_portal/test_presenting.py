"""The one presenter (pause_portal.presenting) and its template filters: dates, moments, names, NHS
numbers and codes read the same on every page, export and pack; templates format dates only
through it. Expected strings are written out by hand (and one is checked against Django's own
`date` filter, an independent formatter)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.template import Context, Template
from django.template.defaultfilters import date as django_date

from pause_portal import presenting
from sharing.models_delivery import Participation

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LONDON = ZoneInfo("Europe/London")


def test_dates_and_moments():
    assert presenting.day("1990-03-07") == "7 March 1990" == presenting.day(date(1990, 3, 7))
    assert presenting.day(None) == "Not recorded" and presenting.day("", missing="") == ""
    assert presenting.day("not a date") == "not a date"  # shown as recorded, never dropped
    assert presenting.short_day(date(2026, 11, 6)) == "6 Nov 2026"
    at = datetime(2026, 7, 6, 13, 5, 9, tzinfo=UTC)  # 14:05:09 in London (summer time)
    assert presenting.moment(at) == "6 July 2026, 14:05" and presenting.short_moment(at) == "6 Jul 2026, 14:05"
    assert presenting.exact_moment(at) == "6 July 2026, 14:05:09"
    assert presenting.exact_moment(at, short=True) == "6 Jul 2026, 14:05:09"
    assert presenting.day(datetime(2026, 7, 6, 23, 30, tzinfo=UTC)) == "7 July 2026"  # London's date
    assert presenting.moment(date(2026, 7, 6)) == "6 July 2026"


def test_names_nhs_numbers_and_codes():
    assert presenting.name("Ada", None, "  ") == "Ada" and presenting.name(None, "") == "Name not recorded"
    assert presenting.nhs_number("9434765919") == "943 476 5919" and presenting.nhs_number("12345") == "12345"
    assert presenting.nhs_number(None) == "Not recorded"
    assert presenting.text("  SW1A 1AA ") == "SW1A 1AA" and presenting.text("") == "Not recorded"
    assert presenting.code(Participation, "agreed") == "Agreed to take part"
    assert presenting.code([("a", "Alpha")], "a") == "Alpha"
    assert presenting.code(Participation, "unknown_code") == "unknown_code"
    assert presenting.codes(Participation, ["agreed", "declined"]) == "Agreed to take part, Declined"
    assert presenting.codes(Participation, []) == "Not recorded"


def test_the_filters_are_built_in_and_agree_with_djangos_own_date_filter(settings):
    at = datetime(2026, 1, 6, 9, 5, 1, tzinfo=UTC)
    page = Template("{{ d|day }}|{{ d|short_day }}|{{ t|moment }}|{{ t|short_moment }}|{{ t|exact_moment }}|"
                    "{{ t|short_exact_moment }}|{{ n|nhs_number }}|{{ none|day }}|{{ none|moment }}").render(
        Context({"d": date(2026, 1, 6), "t": at, "n": "9434765919", "none": None}))
    assert page == ("6 January 2026|6 Jan 2026|6 January 2026, 09:05|6 Jan 2026, 09:05|6 January 2026, 09:05:01|"
                    "6 Jan 2026, 09:05:01|943 476 5919||")
    for fmt, ours in (("j F Y", presenting.day), ("j M Y", presenting.short_day)):
        assert django_date(date(2026, 11, 6), fmt) == ours(date(2026, 11, 6))
    from django.utils import timezone

    with timezone.override(LONDON):
        assert django_date(timezone.localtime(at), "j F Y, H:i") == presenting.moment(at)


def test_no_page_template_formats_a_date_itself():
    """Pages use the presenter's filters; only the plain-text emails keep their own sentences."""
    found = []
    for path in TEMPLATES.rglob("*.html"):
        for line_no, line in enumerate(path.read_text().splitlines(), start=1):
            if re.search(r"\|\s*date\s*:", line):
                found.append(f"{path.relative_to(TEMPLATES)}:{line_no}")
    assert found == []
