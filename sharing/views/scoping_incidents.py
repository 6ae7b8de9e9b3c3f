"""The DPO's scoping disclosure incidents (issue 16, point 6): snapshots that had served rows a
later, stricter check found unsafe — which release, how many rows, since when, who viewed them —
and closing each with a note (for example, the breach register's reference once it is assessed)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from audit.core.log import record_event
from audit.core.models import Event
from eligibility.disclosure import record_disclosure
from pause_portal.access import for_perm
from pause_portal.tenancy.models import Person
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership
from sharing.models_scoping_checks import IncidentStatus, ScopingIncident

NOTE_MAX = 2000


class CloseIncidentForm(forms.Form):
    incident = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(max_length=NOTE_MAX, strip=True, error_messages={
        "required": "Enter what was done about this incident",
        "max_length": f"The note must be {NOTE_MAX} characters or fewer"})


@for_perm(Perm.KEEP_BREACH_REGISTER)
@require_http_methods(["GET", "HEAD", "POST"])
def incidents(request):
    membership = current_membership(request)
    programme = membership.programme
    mine = ScopingIncident.objects.filter(programme=programme)
    form = CloseIncidentForm(request.POST if request.method == "POST" else None)
    failed = None
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            incident = mine.select_for_update().filter(pk=form.cleaned_data["incident"],
                                                       status=IncidentStatus.OPEN).first()
            if incident is None:
                raise Http404("No such incident.")
            incident.status, incident.closed_by, incident.closed_at = IncidentStatus.CLOSED, request.user, timezone.now()
            incident.closing_note = form.cleaned_data["note"]
            incident.save(update_fields=["status", "closed_by", "closed_at", "closing_note"])
            record_event(Event.CHANGE, actor=request.user, target=incident, programme=programme,
                         role=membership.role, action=1, reason=f"scoping incident #{incident.pk} closed")
        messages.success(request, f"Incident #{incident.pk} closed")
        return redirect("scoping:incidents")
    if request.method == "POST":
        failed = form.data.get("incident")
    shown = list(mine.select_related("closed_by"))
    people = {p.pk: p for p in Person.objects.filter(pk__in={v["person"] for i in shown for v in i.viewers
                                                               if v.get("person")})}
    for i in shown:
        i.viewer_rows = [{**v, "who": people.get(v.get("person"))} for v in i.viewers]
    record_disclosure(request.user, membership=membership, page=request.path,
                      reason=f"scoping incidents: {len(shown)} listed")
    return render(request, "scoping/incidents.html", {"programme": programme, "incidents": shown, "form": form,
                                                      "failed": failed},
                  status=400 if request.method == "POST" else 200)
