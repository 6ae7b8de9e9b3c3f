"""The caseworker's step of a rectification request: the open requests waiting for a caseworker,
and one request's page — what she asks, her record's current values (read through the disclosure
policy, with the request's reference as the reason), a correction form (each correction kept with
its history, encrypted) and the form that finishes the step."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit.core.models_rights import RequestKind, RequestStatus, RightsRequest
from audit.oversight import rights
from audit.oversight.forms_rights import FinishRectificationForm, RectifyForm
from eligibility.disclosure import disclose
from eligibility.models import CORRECTABLE_FIELDS, Child, Correction, Woman
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership

FIELD_LABELS = {"forename": "Forename", "surname": "Surname", "date_of_birth": "Date of birth",
                "nhs_number": "NHS number", "postcode": "Postcode", "ethnicity": "Ethnicity code",
                "expected_child_due": "Expected child due", "died_on": "Date of death", "sex": "Sex"}


def _open_rectification_or_404(request, pk: int) -> RightsRequest:
    membership = current_membership(request)
    found = RightsRequest.objects.filter(pk=pk, programme_id=membership.programme_id, kind=RequestKind.RECTIFICATION,
                                         status=RequestStatus.OPEN).select_related("woman").first()
    if found is None:
        raise Http404("No such request.")
    return found


@for_perm(Perm.RECTIFY_RECORDS)
def rectifications(request):
    programme = current_membership(request).programme
    return render(request, "rights/rectifications.html", {
        "programme": programme, "waiting": list(rights.rectifications_for_caseworkers(programme.pk))})


def _values(served, fields: tuple[str, ...]) -> list[tuple[str, str]]:
    """A record's correctable fields as the disclosure policy served them."""
    out = []
    for name in fields:
        value = served.get(name)
        out.append((FIELD_LABELS[name], "" if value in (None, "") else str(value)))
    return out


@for_perm(Perm.RECTIFY_RECORDS)
@require_http_methods(["GET", "HEAD", "POST"])
def rectification(request, pk: int):
    rr = _open_rectification_or_404(request, pk)
    woman = rr.woman
    children = list(Child.objects.filter(mother=woman).order_by("pk"))
    shown = disclose(request.user, [rr, woman, *children], page=request.path, reason=rr.reference)
    served = {(s.label, s.pk): s for s in shown}
    if (Woman._meta.label_lower, woman.pk) not in served or (RightsRequest._meta.label_lower, rr.pk) not in served:
        raise Http404("No such request.")
    records = [("woman", "Her record")] + [(f"child:{c.pk}", f"Child {n} (born {c.birth_year or 'year not known'})")
                                          for n, c in enumerate(children, start=1)]
    fields = sorted({*CORRECTABLE_FIELDS["woman"], *CORRECTABLE_FIELDS["child"]}, key=list(FIELD_LABELS).index)
    correct_form = RectifyForm(records=records, fields=[(f, FIELD_LABELS[f]) for f in fields])
    finish_form, refusal, failed = FinishRectificationForm(), "", None
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in ("correct", "finish"):
            raise Http404("No such action.")
        if action == "correct":
            failed = correct_form = RectifyForm(request.POST, records=records,
                                                fields=[(f, FIELD_LABELS[f]) for f in fields])
        else:
            failed = finish_form = FinishRectificationForm(request.POST)
        if failed.is_valid():
            try:
                message = _act(rr, action, failed.cleaned_data, woman, children, request.user)
            except rights.RightsRefused as exc:
                refusal = exc.message
            else:
                messages.success(request, message)
                return redirect("rights:rectifications") if action == "finish" else redirect(
                    "rights:rectification", rr.pk)
    child = Child._meta.label_lower
    return render(request, "rights/rectification.html", {
        "rr": rr, "details": served[RightsRequest._meta.label_lower, rr.pk].get("details") or "",
        "refusal": refusal, "failed": failed, "correct_form": correct_form, "finish_form": finish_form,
        "her_values": _values(served[Woman._meta.label_lower, woman.pk], CORRECTABLE_FIELDS["woman"]),
        "children": [(label, _values(served[child, c.pk], CORRECTABLE_FIELDS["child"]))
                     for (_, label), c in zip(records[1:], children, strict=True)],
        "corrections": list(Correction.objects.filter(woman=woman, recorded_at__gte=rr.opened_at).order_by("pk"))
        + list(Correction.objects.filter(child__in=children, recorded_at__gte=rr.opened_at).order_by("pk")),
    }, status=400 if refusal or (failed is not None and failed.errors) else 200)


def _act(rr: RightsRequest, action: str, data: dict, woman: Woman, children: list[Child], by) -> str:
    if action == "finish":
        rights.finish_rectification(rr, note=data["note"], by=by)
        return f"Request {rr.reference}: your step is finished. The DPO will answer her."
    record = woman if data["record"] == "woman" else next(
        (c for c in children if f"child:{c.pk}" == data["record"]), None)
    if record is None:
        raise rights.RightsRefused("Select whose record to correct.")
    rights.rectify(rr, record, data["field"], data["value"], reason=data["reason"], by=by)
    return f"{FIELD_LABELS[data['field']]} corrected. The previous value is kept in the record's history."
