"""Restrictions, for the Trust lead and the DPO: find a woman by an exact Trust person id or NHS
number (posted, blind index only), restrict her records, list the open restrictions and end one.

The DPO sees women only as references ("woman #12"): their names are asked of the disclosure
policy for the Trust lead only (the DPO reaches casework only through a rights request's pages).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from eligibility.identifiers import find_woman
from eligibility.models import Restriction, RestrictionReason
from eligibility.restrictions import (
    RestrictionRefused,
    end_restriction,
    restrict,
)
from pause_portal.access import for_perm
from pause_portal.confirming import confirmation_page, confirmed
from pause_portal.tenancy.roles import Perm, Role
from pause_portal.tenancy.selectors import current_membership
from pseudonymisation.blind_index import IndexKind
from sharing.forms_delivery import EndRestrictionForm, RestrictForm
from sharing.views.delivery_trust import named_women

NOT_FOUND = {IndexKind.PERSON_ID: "No woman in this programme has that Trust person ID",
             IndexKind.NHS_NUMBER: "No woman in this programme has that NHS number"}


@for_perm(Perm.RESTRICT_PROCESSING)
@require_http_methods(["GET", "HEAD", "POST"])
def restrictions(request):
    membership = current_membership(request)
    programme = membership.programme
    form = RestrictForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        kind = IndexKind(form.cleaned_data["kind"])
        woman = find_woman(programme, kind, form.cleaned_data["q"])
        if woman is None:
            form.add_error("q", NOT_FOUND[kind])
        else:
            try:
                restriction = restrict(woman=woman, reason=form.cleaned_data["reason"], by=request.user)
            except RestrictionRefused as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Restriction #{restriction.pk} opened for woman #{woman.pk}. Nothing "
                                          "about her can be released, and Pause no longer sees her.")
                return redirect("delivery:restrictions")
    open_ones = list(Restriction.objects.filter(programme=programme, ended_at__isnull=True)
                     .select_related("woman", "recorded_by").order_by("-started_at", "-pk"))
    is_dpo = Role(membership.role) == Role.DPO
    # Names for the Trust lead only (through the policy); the DPO works from references.
    named = {} if is_dpo else named_women(request, list({r.woman_id: r.woman for r in open_ones}.values()),
                                          "restrictions: open")
    reasons = dict(RestrictionReason.choices)
    rows = [{"restriction": r, "reference": f"woman #{r.woman_id}", "name": named.get(r.woman_id, {}).get("name"),
             "reason": reasons.get(r.reason, r.reason)} for r in open_ones]
    return render(request, "delivery/restrictions.html", {
        "programme": programme, "form": form, "form_list": [form], "rows": rows, "is_dpo": is_dpo,
    }, status=400 if form.errors else 200)


@for_perm(Perm.RESTRICT_PROCESSING)
@require_POST
def end(request):
    programme = current_membership(request).programme
    form = EndRestrictionForm(request.POST)
    if not form.is_valid():
        raise Http404("No such restriction.")
    restriction = Restriction.objects.filter(pk=form.cleaned_data["restriction"], programme=programme,
                                             ended_at__isnull=True).first()
    if restriction is None:
        raise Http404("No such restriction.")
    if not confirmed(request):
        return confirmation_page(
            request, question=f"Are you sure you want to end restriction #{restriction.pk}?",
            consequences=["Her records are no longer held back: they can be released again. To restrict them "
                          "again, make a new restriction."],
            button="End the restriction", cancel_url=reverse("delivery:restrictions"))
    try:
        end_restriction(restriction, by=request.user)
    except RestrictionRefused as exc:
        raise Http404(exc.message) from exc
    messages.success(request, f"Restriction #{restriction.pk} ended for woman #{restriction.woman_id}.")
    return redirect("delivery:restrictions")
