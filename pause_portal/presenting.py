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


def _on(value, fmt: str, *, missing: str) -> str:
    """A date as its day of the month then `fmt`. Text that is not a date is shown as it was
    recorded, never dropped."""
    try:
        d = as_date(value)
    except ValueError:
        return str(value)
    return missing if d is None else f"{d.day} {d:{fmt}}"


def day(value: str | date | None, *, missing: str = NOT_RECORDED) -> str:
    """"6 November 2026"."""
    return _on(value, "%B %Y", missing=missing)


def short_day(value: str | date | None, *, missing: str = NOT_RECORDED) -> str:
    """"6 Nov 2026", for tables."""
    return _on(value, "%b %Y", missing=missing)


def _at(value, fmt: str, *, missing: str, on_a_day) -> str:
    """A moment in the portal's time zone as `fmt` (after the day of the month); a bare date as
    `on_a_day` shows it."""
    if value is None:
        return missing
    if not isinstance(value, datetime):
        return on_a_day(value, missing=missing)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{local.day} {local:{fmt}}"


def moment(value: datetime | None, *, missing: str = NOT_RECORDED) -> str:
    """"6 November 2026, 14:05", in the portal's time zone."""
    return _at(value, "%B %Y, %H:%M", missing=missing, on_a_day=day)


def short_moment(value: datetime | None, *, missing: str = NOT_RECORDED) -> str:
    """"6 Nov 2026, 14:05", for tables."""
    return _at(value, "%b %Y, %H:%M", missing=missing, on_a_day=short_day)


def exact_moment(value: datetime | None, *, missing: str = NOT_RECORDED, short: bool = False) -> str:
    """"6 November 2026, 14:05:09": to the second, for the audit trail and certificates."""
    return _at(value, f"{'%b' if short else '%B'} %Y, %H:%M:%S", missing=missing,
               on_a_day=short_day if short else day)


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



# Words that keep their capital inside a sentence: the names of the parties and of the law.
PROPER = ("Pause", "Trust", "Caldicott", "DPIA", "UK", "DPA", "Article", "Children")


def in_sentence(label: str) -> str:
    """A label that starts a line ("The approved final scoping report", "Pause's scoping data"),
    as it reads inside a sentence: the first letter lowered unless the first word is a name
    ("Pause's", "Trust"), never the whole label (that made "pause's" and "the trust's")."""
    if not label:
        return label
    first = label.split(" ", 1)[0]
    if first.startswith(PROPER) or first.isupper():
        return label
    return label[0].lower() + label[1:]
