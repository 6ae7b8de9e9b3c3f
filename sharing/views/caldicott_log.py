"""The Caldicott log page and its CSV export (issue 23, point 3; ADR 45): every confirmation or
rejection by the programme's Caldicott Guardian, newest first, with the justification, filtered by
kind, 50 a page. The Caldicott Guardian and the DPO see it; anyone else gets 404 (the permission
mark). Both record, like other pages showing staff details, whose names they showed."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from eligibility.disclosure import record_staff_view
from pause_portal import presenting
from pause_portal.access import for_perm
from pause_portal.csv_safe import as_csv
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership
from sharing.caldicott_log import log_of
from sharing.forms_lists import CaldicottLogFilterForm

PER_PAGE = 50
CSV_HEADER = ["When", "What was decided", "Kind", "Decision", "Justification", "Decided by"]


def _kind(request) -> str:
    return CaldicottLogFilterForm(request.GET or None).chosen_kind()


@for_perm(Perm.VIEW_CALDICOTT_LOG)
def caldicott_log(request):
    membership = current_membership(request)
    filter_form = CaldicottLogFilterForm(request.GET or None)
    kind = filter_form.chosen_kind()
    page = Paginator(log_of(membership.programme, kind=kind), PER_PAGE).get_page(request.GET.get("page"))
    record_staff_view(request, {e.decided_by_id: e.decided_by for e in page}.values(), membership=membership)
    return render(request, "governance/caldicott_log.html", {
        "programme": membership.programme, "page": page, "kind": kind, "filter_form": filter_form,
    })


@for_perm(Perm.VIEW_CALDICOTT_LOG)
def caldicott_log_export(request):
    membership = current_membership(request)
    entries = list(log_of(membership.programme, kind=_kind(request)))
    record_staff_view(request, {e.decided_by_id: e.decided_by for e in entries}.values(), membership=membership)
    rows = [[presenting.exact_moment(e.decided_at), e.subject, e.get_kind_display(), e.get_decision_display(),
             e.justification, e.decided_by.full_name] for e in entries]
    response = HttpResponse("\ufeff" + as_csv(CSV_HEADER, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="caldicott-log.csv"'
    return response
