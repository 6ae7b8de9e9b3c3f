"""Confirmation before an irreversible action (issue 24): a one-click POST form first answers with
a GOV.UK confirmation page ("Are you sure...", what happens, a button and Cancel) that posts the
same fields again with `confirmed=yes`; only that second POST acts.

    if not confirmed(request):
        return confirmation_page(request, question=..., consequences=[...], button=..., cancel_url=...)

The page carries back exactly the fields the first POST sent (hidden, escaped), so it shows and
sends nothing the page the person came from did not already hold.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

CONFIRMED = "confirmed"
NOT_CARRIED = ("csrfmiddlewaretoken", CONFIRMED)


def confirmed(request) -> bool:
    """Whether this POST comes from the confirmation page."""
    return request.method == "POST" and request.POST.get(CONFIRMED) == "yes"


def confirmation_page(request, *, question: str, consequences: list[str], button: str, cancel_url: str,
                      caption: str = "", status: int = 200) -> HttpResponse:
    """The confirmation step: nothing has changed yet."""
    carried = [(name, value) for name, values in request.POST.lists() if name not in NOT_CARRIED
               for value in values]
    return render(request, "includes/confirm.html", {
        "question": question, "consequences": consequences, "button": button, "cancel_url": cancel_url,
        "caption": caption, "carried": carried, "action": request.path,
    }, status=status)
