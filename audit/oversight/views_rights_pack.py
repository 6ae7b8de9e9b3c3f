"""The access pack's pages, for the DPO: the pack as it stands (every section, read through the
disclosure policy under the request's reference), a decision on each third-party item (none
preselected), words withheld from passages of free text with the exemption (previewed as the pack
will show them), and the download — a zip of an HTML document and CSV files, refused until every
item has a decision, and recorded."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from audit.oversight import access_pack, pack_spans
from audit.oversight.forms_rights import RedactionForm, SpanForm
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


def _page(request, rr, *, built=None, form=None, span_form=None, refusal=""):
    """The pack page; a bound form with errors (or a refusal) is shown in its row, status 400."""
    built = built or _pack_or_404(request, rr)
    decisions = []  # each item with its own form, its ids unique by its row
    for n, item in enumerate(built.items, start=1):
        if form is not None and form.data.get("item") == item.ref:
            row_form = form
            form["basis"].label = f"Decision on {item.label}"
        else:  # decided items show their decision; undecided ones the blank option, nothing preselected
            row_form = RedactionForm(about=item.label, initial={"item": item.ref} | (
                {"basis": item.decision.basis} if item.decision else {}))
        row_form.auto_id = f"item-{n}-%s"
        decisions.append((item, row_form))
    passages = []
    for n, passage in enumerate(built.passages, start=1):
        if span_form is not None and span_form.data.get("passage") == passage.ref:
            row_form = span_form
            row_form.fields["words"].label = f"Words to withhold from: {passage.where}"
        else:
            row_form = SpanForm(where=passage.where, initial={"passage": passage.ref})
        row_form.auto_id = f"passage-{n}-%s"
        passages.append((passage, row_form))
    staff = [int(i.ref.split(":")[1]) for i in built.items if i.kind == access_pack.STAFF]
    record_staff_view(request, Person.objects.filter(pk__in=staff), membership=current_membership(request))
    failed = [f for f in (form, span_form) if f is not None and f.errors]
    return render(request, "rights/pack.html", {
        "rr": rr, "pack": built, "decisions": decisions, "passages": passages, "error_forms": failed,
        "refusal": refusal, "exemptions": pack_spans.EXEMPTIONS_IN_WORDS,
    }, status=400 if refusal or failed else 200)


@for_perm(Perm.ANSWER_RIGHTS_REQUESTS)
@require_http_methods(["GET", "HEAD", "POST"])
def pack(request, pk: int):
    rr = request_or_404(request, pk)
    if request.method != "POST":
        return _page(request, rr)
    form, refusal = RedactionForm(request.POST), ""
    if form.is_valid():
        try:
            access_pack.decide_item(rr, item=form.cleaned_data["item"], basis=form.cleaned_data["basis"],
                                    by=request.user)
        except RightsRefused as exc:
            refusal = exc.message
        else:
            messages.success(request, "Decision recorded.")
            return redirect("rights:pack", rr.pk)
    return _page(request, rr, form=form, refusal=refusal)


@for_perm(Perm.ANSWER_RIGHTS_REQUESTS)
def pack_withhold(request, pk: int):
    rr = request_or_404(request, pk)  # another programme's request is 404 whatever the method
    return _withhold(request, rr)


@require_POST
def _withhold(request, rr):
    """Withhold words of a passage (or, with `remove`, show a withheld part again)."""
    built = _pack_or_404(request, rr)
    if "remove" in request.POST:
        try:
            span_id = int(request.POST["remove"])
        except ValueError:
            return _page(request, rr, built=built, refusal="That withheld part is not in her pack.")
        try:
            pack_spans.remove(built, span_id=span_id, by=request.user)
        except RightsRefused as exc:
            return _page(request, rr, built=built, refusal=exc.message)
        messages.success(request, "The words are shown again in her pack.")
        return redirect(reverse("rights:pack", args=[rr.pk]) + "#passages")
    form = SpanForm(request.POST)
    if not form.is_valid():
        return _page(request, rr, built=built, span_form=form)
    try:
        pack_spans.mark(built, passage=form.cleaned_data["passage"], words=form.cleaned_data["words"],
                        occurrence=form.cleaned_data["occurrence"], exemption=form.cleaned_data["exemption"],
                        by=request.user)
    except RightsRefused as exc:
        return _page(request, rr, built=built, span_form=form, refusal=exc.message)
    messages.success(request, "The words are withheld from her pack.")
    return redirect(reverse("rights:pack", args=[rr.pk]) + "#passages")


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
