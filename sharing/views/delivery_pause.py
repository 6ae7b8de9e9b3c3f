"""The Pause lead's released women list (every woman in Pause's view, 50 a page, in target-group
order, with each one's practitioner) and the practitioner's own caseload, with its logged CSV
export. Both read through `delivery_rows`: one disclosure entry per page, the same number of
queries whatever the number of women."""

from __future__ import annotations

import csv
import io

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from pause_portal.access import for_perm
from pause_portal.tenancy.models import Membership, MembershipStatus, Phase, Programme
from pause_portal.tenancy.roles import Perm, Role
from pause_portal.tenancy.selectors import current_membership
from sharing.delivery_access import stop_contact_count, withdrawn_by_trust_count
from sharing.forms_delivery import AssignForm
from sharing.views.delivery_rows import in_view, shown_women

PER_PAGE = 50
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ["Name", "Date of birth", "Postcode", "Address", "Trust contact", "Participation",
               "Place in target group"]


def practitioners(programme: Programme) -> list[tuple[int, str]]:
    """The programme's active practitioners, to choose from."""
    rows = (Membership.objects.filter(programme=programme, role=Role.PAUSE_PRACTITIONER,
                                      status=MembershipStatus.ACTIVE, person__is_active=True)
            .select_related("person").order_by("person__full_name", "pk"))
    return [(m.person_id, m.person.full_name) for m in rows]


def _state(request) -> dict:
    programme = current_membership(request).programme
    return {"programme": programme, "in_delivery": programme.phase == Phase.DELIVERY}


@for_perm(Perm.VIEW_RELEASED_DATA)
def women(request):
    state = _state(request)
    page = Paginator(in_view(request), PER_PAGE).get_page(request.GET.get("page"))
    shown = shown_women(request, page.object_list, reason="released women list")
    choices = practitioners(state["programme"])
    for w in shown:
        w.assign_form = AssignForm(practitioners=choices, initial={"practitioner": w.practitioner_id},
                                   auto_id=f"assign-{w.pk}-%s", in_row_of=w.name)
    return render(request, "delivery/women.html", {
        **state, "page": page, "women": shown, "withdrawn": withdrawn_by_trust_count(current_membership(request))})


@for_perm(Perm.VIEW_OWN_CASELOAD)
def caseload(request):
    state = _state(request)
    shown = shown_women(request, in_view(request), reason="my caseload")
    return render(request, "delivery/caseload.html", {
        **state, "women": shown, "to_contact": sum(w.prompt_contact for w in shown),
        "stop_contact": stop_contact_count(request.user, current_membership(request))})


def safe_cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@for_perm(Perm.VIEW_OWN_CASELOAD)
@require_POST
def caseload_export(request):
    """The caseload list as CSV: one disclosure entry names every woman in it."""
    if not _state(request)["in_delivery"]:
        raise Http404("There is no caseload to export.")
    shown = shown_women(request, in_view(request), reason="caseload list export (CSV)")
    if not shown:
        raise Http404("There is no caseload to export.")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for w in shown:
        writer.writerow([safe_cell(v) for v in (w.name, w.date_of_birth, w.postcode, w.address, w.trust_contact,
                                                w.participation_label, w.target_position or "")])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="my-caseload.csv"'
    return response
