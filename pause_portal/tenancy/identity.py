"""One identity for a person's email address, wherever it is typed: sign-in, the lockout count,
`add_user` and sign-in links (ADR 21).

An address is stored lower-case and in plain ASCII (a database constraint holds the first rule,
`add_person` the second). What someone types is normalised the same way and then matched
exactly, never case-insensitively in SQL: PostgreSQL's `UPPER()` folds some non-ASCII letters
onto ASCII ones (the dotless `ı` onto `I`), so an `iexact` match could let a string sign in as a
person while django-axes counted its failures under a different name. Here the string that
signs a person in is, character for character, their stored address, and that is the name
django-axes counts failures under (`AXES_USERNAME_CALLABLE`).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError


def normalise_email(value: object) -> str:
    """The one form of an email address: surrounding spaces removed, lower-case."""
    return str(value or "").strip().lower()


def require_plain_email(email: str) -> str:
    """A new person's address: normalised, and refused unless plain ASCII (so that lower-casing
    means the same in Python and in the database)."""
    email = normalise_email(email)
    if not email.isascii():
        raise ValidationError(
            "Enter an email address made only of plain letters, digits and punctuation (no accented or "
            "non-Latin letters)."
        )
    return email


def lockout_username(request, credentials: dict | None = None) -> str:
    """django-axes's name for an attempt (`AXES_USERNAME_CALLABLE`): the normalised address, so
    failures are counted per person, whatever the letter case or spaces typed."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        raw = credentials.get(field)
    else:
        raw = getattr(request, "POST", {}).get(field) if request is not None else None
    return normalise_email(raw)
