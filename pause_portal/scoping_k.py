"""The scoping k (ADR 18): at least 5, configurable upward only. Read by settings at start-up, so
a lower or malformed value refuses to start rather than serve less protected data."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

FLOOR = 5


def parse_scoping_k(text: str) -> int:
    """PORTAL_SCOPING_K as given ("" means the floor); refuses a value below the floor or not a
    whole number, naming the setting."""
    text = (text or "").strip()
    if not text:
        return FLOOR
    if not text.isdigit():
        raise ImproperlyConfigured(f"PORTAL_SCOPING_K must be a whole number of at least {FLOOR}; got {text!r}.")
    value = int(text)
    if value < FLOOR:
        raise ImproperlyConfigured(
            f"PORTAL_SCOPING_K may be raised but never set below {FLOOR}; got {value}.")
    return value
