"""Helper for the tests (no tests here): a confirmed version of the Trust's privacy notice, as a
Trust lead publishes it and the Caldicott Guardian confirms it. All text invented."""

from __future__ import annotations

from sharing.privacy_notices import confirm_notice, publish_notice

TRUST_TEXT = "How the Trust shares information with Pause (synthetic notice text)."
PAUSE_TEXT = "How Pause uses the information the Trust shares (synthetic Art. 14 notice text)."


def trust_notice(programme, *, by, confirmed_by, extension_days: int = 0, months: int = 3, text: str = TRUST_TEXT):
    notice = publish_notice(programme=programme, by=by, text=text, scoping_months=months,
                            scoping_extension_days=extension_days)
    return confirm_notice(notice=notice, by=confirmed_by, justification="Synthetic justification")
