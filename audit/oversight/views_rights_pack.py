"""The access pack's pages, for the DPO: the pack as it stands (every section, read through the
disclosure policy under the request's reference), a decision on each third-party item, and the
download — a zip of an HTML document and CSV files, refused until every item has a decision, and
recorded."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from audit.oversight import access_pack
from audit.oversight.forms_rights import RedactionForm
from audit.oversight.rights import RightsRefused
from audit.oversight.views_rights import request_or_404
from eligibility.disclosure import record_staff_view
from pause_portal.access import for_perm
from pause_portal.tenancy.models import Person
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership


def _pack_or_404(request, rr):
    try:
        return access_pack.build(rr, by=request.user, page=request.path)
    except RightsRefused as exc:
        raise Http404(exc.message) from exc


@for_perm(Perm.ANSWER_RIGHTS_REQUESTS)
@require_http_methods(["GET", "HEAD", "POST"])
def pack(request, pk: int):
    rr = request_or_404(request, pk)
    form, refusal = RedactionForm(request.POST if request.method == "POST" else None), ""
    if request.method == "POST" and form.is_valid():
        try:
            access_pack.decide_item(rr, item=form.cleaned_data["item"], basis=form.cleaned_data["basis"],
                                    by=request.user)
        except RightsRefused as exc:
            refusal = exc.message
        else:
            messages.success(request, "Decision recorded.")
            return redirect("rights:pack", rr.pk)
    built = _pack_or_404(request, rr)
    staff = [int(i.ref.split(":")[1]) for i in built.items if i.kind == access_pack.STAFF]
    record_staff_view(request, Person.objects.filter(pk__in=staff), membership=current_membership(request))
    return render(request, "rights/pack.html", {
        "rr": rr, "pack": built, "form": form, "refusal": refusal, "bases": form.fields["basis"].choices,
    }, status=400 if refusal or form.errors else 200)


@for_perm(Perm.ANSWER_RIGHTS_REQUESTS)
def pack_download(request, pk: int):
    rr = request_or_404(request, pk)  # another programme's request is 404 whatever the method
    return _download(request, rr)


@require_POST
def _download(request, rr):
    try:
        name, content = access_pack.download(rr, by=request.user, page=request.path)
    except RightsRefused as exc:
        messages.error(request, exc.message)
        return redirect("rights:pack", rr.pk)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
