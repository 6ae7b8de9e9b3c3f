"""The one presenter: how names, dates, NHS numbers and codes read on every page, export and pack.

Values come in as the disclosure policy serves them (text for what was encrypted, dates as ISO
text) or as the models hold them; out comes what a person reads. GOV.UK style: "6 November 2026",
"6 November 2026, 14:05" (in tables "6 Nov 2026" and "6 Nov 2026, 14:05"), NHS numbers in 3-3-4
groups, a code by its label, never the code. Templates use the same functions as filters
(`pause_portal.presenting_filters`, built in to every template: `{{ x|day }}`, `{{ x|moment }}`,
`{{ x|short_day }}`, `{{ x|short_moment }}`), never a `date:` format of their own.
Something not recorded says so ("Not recorded"), rather than leaving a blank a reader could take
for a value withheld.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.utils import timezone

NOT_RECORDED = "Not recorded"
NAME_NOT_RECORDED = "Name not recorded"


def as_date(value: str | date | None) -> date | None:
    """A date from a served value (ISO text once decrypted) or a model's date; None if there is
    none. A datetime becomes its local date."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def day(value: str | date | None, *, missing: str = NOT_RECORDED) -> str:
    """"6 November 2026". Text that is not a date is shown as it was recorded, never dropped."""
    try:
        d = as_date(value)
    except ValueError:
        return str(value)
    return missing if d is None else f"{d.day} {d:%B %Y}"


def short_day(value: str | date | None, *, missing: str = NOT_RECORDED) -> str:
    """"6 Nov 2026", for tables."""
    try:
        d = as_date(value)
    except ValueError:
        return str(value)
    return missing if d is None else f"{d.day} {d:%b %Y}"


def _local(value: datetime) -> datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def moment(value: datetime | None, *, missing: str = NOT_RECORDED) -> str:
    """"6 November 2026, 14:05", in the portal's time zone."""
    if value is None:
        return missing
    if not isinstance(value, datetime):
        return day(value, missing=missing)
    local = _local(value)
    return f"{local.day} {local:%B %Y, %H:%M}"


def short_moment(value: datetime | None, *, missing: str = NOT_RECORDED) -> str:
    """"6 Nov 2026, 14:05", for tables."""
    if value is None:
        return missing
    if not isinstance(value, datetime):
        return short_day(value, missing=missing)
    local = _local(value)
    return f"{local.day} {local:%b %Y, %H:%M}"


def name(*parts: str | None, missing: str = NAME_NOT_RECORDED) -> str:
    """A person's name from its served parts (forename, surname), skipping the parts not served."""
    return " ".join(p.strip() for p in parts if p and p.strip()) or missing


def nhs_number(value: str | None, *, missing: str = NOT_RECORDED) -> str:
    """"943 476 5919": ten digits in the NHS's 3-3-4 groups; anything else as it was recorded."""
    if not value:
        return missing
    return f"{value[:3]} {value[3:6]} {value[6:]}" if len(value) == 10 and value.isdigit() else value


def text(value: str | None, *, missing: str = NOT_RECORDED) -> str:
    """Served free text (a postcode, an address, a note), or that it is not recorded."""
    return value.strip() if value and value.strip() else missing


def code(choices, value: str | None, *, missing: str = NOT_RECORDED) -> str:
    """A code by its label from `choices` (a TextChoices class or a list of pairs); an unknown code
    reads as itself rather than vanishing."""
    if value in (None, ""):
        return missing
    labels = dict(choices.choices if hasattr(choices, "choices") else choices)
    return str(labels.get(value, value))


def codes(choices, values: Iterable[str] | None, *, missing: str = NOT_RECORDED) -> str:
    """Several codes by their labels, joined: "Public task, Health or social care"."""
    shown = [code(choices, v) for v in (values or ()) if v]
    return ", ".join(shown) or missing


def exact_moment(value: datetime | None, *, missing: str = NOT_RECORDED, short: bool = False) -> str:
    """"6 November 2026, 14:05:09": to the second, for the audit trail and certificates."""
    if value is None:
        return missing
    local = _local(value)
    return f"{local.day} {local:{'%b' if short else '%B'} %Y, %H:%M:%S}"
