"""The columns and codes an extract may have, and template CSVs to fill in: rendered from the
reader's own definitions (`eligibility.extract.spec`). Trust caseworkers and leads, who upload."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render

from eligibility.extract import spec
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm


@for_perm(Perm.UPLOAD_EXTRACTS)
def columns(request):
    return render(request, "eligibility/columns.html", {"files": spec.files(), "code_lists": spec.code_lists()})


@for_perm(Perm.UPLOAD_EXTRACTS)
def column_template(request):
    """One file's header row as a CSV (`?file=ssd_person`); no personal data."""
    key = request.GET.get("file", "")
    if key not in spec.FILES:
        raise Http404("No such file in the extract formats.")
    response = HttpResponse(spec.template_csv(key), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{key}.csv"'
    return response
