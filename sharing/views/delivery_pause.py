"""The Pause lead's released women list (every woman in Pause's view, 50 a page, in target-group
order, with each one's practitioner) and the practitioner's own caseload, with its logged CSV
export. Both read through `delivery_rows`: one disclosure entry per page, the same number of
queries whatever the number of women."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from pause_portal.access import for_perm
from pause_portal.csv_safe import safe_cell
from pause_portal.tenancy.models import Membership, MembershipStatus, Phase, Programme
from pause_portal.tenancy.roles import Perm, Role
from pause_portal.tenancy.selectors import current_membership
from sharing.delivery_access import stop_contact_count, withdrawn_by_trust_count
from sharing.forms_delivery import AssignForm
from sharing.forms_lists import UNASSIGNED, NameSearchForm, WomenFilterForm, matches
from sharing.views.delivery_rows import ShownWoman, in_view, shown_women

PER_PAGE = 50
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


def _list_context(request, filter_form, search_form, shown_count: int) -> dict:
    kept = {k: v for k, v in request.GET.items() if k in filter_form.fields and v} if filter_form.is_valid() else {}
    return {"filter_form": filter_form, "search_form": search_form, "filter_query": urlencode(kept),
            "searched": search_form.search, "shown_count": shown_count,
            "form_list": [f for f in (search_form, filter_form) if f.errors]}


def _search_form(request) -> NameSearchForm:
    return NameSearchForm(request.POST if request.method == "POST" else None)


def filtered(rows, chosen: dict):
    """The rows by the filters chosen (none names anyone, so they filter in SQL)."""
    if chosen.get("participation"):
        rows = rows.filter(participation=chosen["participation"])
    practitioner = chosen.get("practitioner")
    if practitioner == UNASSIGNED:
        rows = rows.filter(practitioner_now__isnull=True)
    elif practitioner:
        rows = rows.filter(practitioner_now=int(practitioner))
    return rows


def searched(shown: list[ShownWoman], search: str) -> list[ShownWoman]:
    """The women whose name, as served, has every word searched for (forms_lists.matches)."""
    return [w for w in shown if matches(w.name, search)] if search else shown


@for_perm(Perm.VIEW_RELEASED_DATA)
@require_http_methods(["GET", "HEAD", "POST"])
def women(request):
    """GET lists Pause's view by the filters, 50 a page; POST searches it by name too. A search reads
    every name in view through the disclosure policy (its entry names each of them: their names
    were served to match against) and shows the first 50 matches; the name is in neither the
    address nor the entry."""
    state = _state(request)
    choices = practitioners(state["programme"])
    filter_form = WomenFilterForm(request.GET or None, practitioners=choices)
    search_form = _search_form(request)
    rows = filtered(in_view(request), filter_form.chosen())
    search = search_form.search
    if search:
        shown = searched(shown_women(request, rows, reason="released women list, searched by name"), search)
        page = Paginator(shown, PER_PAGE).get_page(1)
        shown = list(page.object_list)
    elif search_form.is_bound and search_form.errors:
        page, shown = Paginator([], PER_PAGE).get_page(1), []
    else:
        page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
        shown = shown_women(request, page.object_list, reason="released women list")
    for w in shown:
        w.assign_form = AssignForm(practitioners=choices, initial={"practitioner": w.practitioner_id},
                                   auto_id=f"assign-{w.pk}-%s", in_row_of=w.name)
    context = _list_context(request, filter_form, search_form, page.paginator.count)
    return render(request, "delivery/women.html", {
        **state, **context, "page": page, "women": shown,
        "withdrawn": withdrawn_by_trust_count(current_membership(request))},
        status=400 if context["form_list"] else 200)


@for_perm(Perm.VIEW_OWN_CASELOAD)
@require_http_methods(["GET", "HEAD", "POST"])
def caseload(request):
    """GET lists the caseload by participation; POST searches it by name too (in the served names
    of the women the page lists anyway)."""
    state = _state(request)
    filter_form = WomenFilterForm(request.GET or None)
    search_form = _search_form(request)
    everyone = shown_women(request, in_view(request), reason="my caseload")
    chosen = filter_form.chosen()
    rows = [w for w in everyone if not chosen.get("participation") or w.participation == chosen["participation"]]
    shown = searched(rows, search_form.search)
    context = _list_context(request, filter_form, search_form, len(shown))
    return render(request, "delivery/caseload.html", {
        **state, **context, "women": shown, "any_women": bool(everyone),
        "to_contact": sum(w.prompt_contact for w in everyone),
        "stop_contact": stop_contact_count(request.user, current_membership(request))},
        status=400 if context["form_list"] else 200)


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
