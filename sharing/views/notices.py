"""The public privacy notice page (issue 21, point 5): for each programme, the Trust's privacy
notice and Pause's own Art. 14 notice in the versions in force, readable without signing in (a
woman given a notice can read it again here). It shows the programme's name, each notice's text,
its version and the day it came into force: no person's name, no role holder, nothing about any
woman. Nothing is recorded in the audit trail: nothing personal is disclosed."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from pause_portal.access import public
from pause_portal.tenancy.models import Programme
from sharing.models_notices import Controller
from sharing.privacy_notices import notice_in_force


@require_safe
@public
def privacy_notice(request, pk: int):
    programme = get_object_or_404(Programme.objects.only("pk", "name"), pk=pk)
    notices = [(controller, notice_in_force(programme, controller)) for controller in Controller]
    return render(request, "notices/privacy_notice.html", {"programme_name": programme.name, "notices": notices})


@require_safe
@public
def privacy_notices(request):
    """The programmes with a privacy notice in force, each linking to its public page (the footer's
    "Privacy notice" for someone not signed in to a programme)."""
    programmes = [p for p in Programme.objects.only("pk", "name").order_by("name", "pk")
                  if any(notice_in_force(p, c) for c in Controller)]
    return render(request, "notices/privacy_notices.html", {"programmes": programmes})
