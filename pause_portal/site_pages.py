"""The footer's pages (issue 24, point 4): the accessibility statement, the cookies page and help,
readable without signing in. They hold no personal data and write nothing to the audit trail.
The cookies page lists the cookies the settings name, so what it says follows the configuration
(a test signs in and compares the cookies set with this list)."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_safe

from pause_portal.access import public


def cookies_set() -> list[dict]:
    """The cookies the portal sets, by the names the settings give them."""
    return [
        {"name": settings.SESSION_COOKIE_NAME, "purpose": "Keeps you signed in, and records when you signed in so "
                                                          "that you are signed out after a time",
         "expires": "When you sign out, close the browser or are signed out for inactivity"},
        {"name": settings.CSRF_COOKIE_NAME, "purpose": "Stops other websites from sending forms in your name",
         "expires": "After a year, or when you sign out"},
    ]


@require_safe
@public
def accessibility(request):
    return render(request, "site/accessibility.html")


@require_safe
@public
def cookies(request):
    return render(request, "site/cookies.html", {"cookies": cookies_set()})


@require_safe
@public
def help_page(request):
    return render(request, "site/help.html")
