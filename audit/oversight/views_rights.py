"""The DPO's rights-request pages: the list (what is due), opening a request, and one request's
page, whose forms post back to it with an `action` (extend, give to another DPO, restrict or
lift, record an objection's outcome or propose upholding it, propose an erasure or withdraw the
proposal, record the identity check, close). Thin: parse, authorise, call the action,
render. The woman's name is read through the disclosure policy, which serves the DPO only while
the request is open and the requester's identity is verified by structured evidence, and logs the
view with the request's reference as its reason. The Caldicott Guardian's confirmation pages are in
`audit.oversight.views_rights_confirm`.
"""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from audit.core.models_rights import ObjectionOutcome, RequestKind, RightsRequest
from audit.oversight import erasure, objections, proposals, rights
from audit.oversight.due_dates import days_left
from audit.oversight.forms_rights import (
    CloseForm,
    ExtendForm,
    IdentityForm,
    ObjectionForm,
    OpenRequestForm,
    ProposeErasureForm,
    ReassignForm,
    WithdrawForm,
)
from eligibility.disclosure import disclose, record_staff_view
from eligibility.identifiers import find_woman
from eligibility.models import Woman
from pause_portal import presenting
from pause_portal.access import for_perm
from pause_portal.confirming import confirmation_page, confirmed
from pause_portal.tenancy.models import Membership, MembershipStatus, Person
from pause_portal.tenancy.roles import TRUST_ROLES, Perm, Role
from pause_portal.tenancy.selectors import current_membership
from pseudonymisation.blind_index import IndexKind

NOT_FOUND = {IndexKind.PERSON_ID: "No woman in this programme has that Trust person ID",
             IndexKind.NHS_NUMBER: "No woman in this programme has that NHS number"}


def request_or_404(request, pk: int) -> RightsRequest:
    """Fetch and authorise in one step: a request of the programme the person works in now."""
    membership = current_membership(request)
    found = (RightsRequest.objects.filter(pk=pk, programme_id=membership.programme_id)
             .select_related("owner", "woman", "restriction").first() if membership else None)
    if found is None:
        raise Http404("No such request.")
    return found


@for_perm(Perm.ANSWER_RIGHTS_REQUESTS)
def requests(request):
    programme = current_membership(request).programme
    rows = list(rights.requests_of(programme.pk).order_by("status", "due_on", "pk"))
    return render(request, "rights/requests.html", {
        "programme": programme, "open": [r for r in rows if r.is_open], "closed": [r for r in rows if not r.is_open],
        "today_left": {r.pk: days_left(r.due_on) for r in rows},
    })


@for_perm(Perm.ANSWER_RIGHTS_REQUESTS)
@require_http_methods(["GET", "HEAD", "POST"])
def open_page(request):
    programme = current_membership(request).programme
    checkers = _checkers(programme.pk)
    form = OpenRequestForm(request.POST if request.method == "POST" else None, checkers=checkers,
                           initial={"identity_checked_by": request.user.pk})
    refusal = ""
    if request.method == "POST" and form.is_valid():
        kind = IndexKind(form.cleaned_data["find_by"])
        woman = find_woman(programme, kind, form.cleaned_data["identifier"])  # None for a malformed value too
        if woman is None:
            form.add_error("identifier", NOT_FOUND[kind])
        else:
            try:
                data = form.cleaned_data
                opened = rights.open_request(
                    programme=programme, kind=data["kind"], woman=woman, received_on=data["received_on"],
                    received_via=data["received_via"], identity_method=data["identity_method"],
                    identity_document=data["identity_document"],
                    identity_checked_by=Person.objects.get(pk=data["identity_checked_by"]),
                    identity_check=data["identity_check"], details=data["details"], by=request.user)
            except rights.RightsRefused as exc:
                refusal = exc.message
            else:
                messages.success(request, f"Request {opened.reference} opened: due {presenting.day(opened.due_on)}.")
                return redirect("rights:request", opened.pk)
    record_staff_view(request, Person.objects.filter(pk__in=[pk for pk, _ in checkers]),
                      membership=current_membership(request))
    return render(request, "rights/open.html", {"programme": programme, "form": form, "refusal": refusal},
                  status=400 if (form.errors or refusal) else 200)


def _checkers(programme_id: int) -> list[tuple[int, str]]:
    """Who may have checked a requester's identity: the programme's active Trust staff."""
    rows = Membership.objects.filter(programme_id=programme_id, role__in=list(TRUST_ROLES),
                                     status=MembershipStatus.ACTIVE, person__is_active=True) \
        .select_related("person").order_by("person__full_name", "pk")
    return [(m.person_id, f"{m.person.full_name} ({m.get_role_display()})") for m in rows]


def _owners(programme_id: int) -> list[tuple[int, str]]:
    rows = Membership.objects.filter(programme_id=programme_id, role=Role.DPO, status=MembershipStatus.ACTIVE,
                                     person__is_active=True).select_related("person").order_by("person__full_name")
    return [(m.person_id, m.person.full_name) for m in rows]


ACTIONS = {
    "extend": ExtendForm, "reassign": ReassignForm, "close": CloseForm, "objection": ObjectionForm,
    "propose_erasure": ProposeErasureForm, "withdraw": WithdrawForm, "identity": IdentityForm,
    "restrict": None, "lift": None,
}


def _act(action: str, form, rr: RightsRequest, request) -> str:
    """Call the action for a valid form; returns the success message."""
    by = request.user
    data = form.cleaned_data if form is not None else {}
    confirmations = request.build_absolute_uri(reverse("rights:confirmations"))
    if action == "extend":
        rights.extend(rr, months=data["months"], reason=data["reason"], by=by)
        return f"Request {rr.reference} extended: now due {presenting.day(rr.due_on)}."
    if action == "reassign":
        rights.reassign(rr, owner=Person.objects.get(pk=data["owner"]), by=by)
        return f"Request {rr.reference} has a new owner."
    if action == "close":
        rights.close(rr, status=data["status"], note=data["note"], by=by)
        return f"Request {rr.reference} closed."
    if action == "objection":
        if data["outcome"] == ObjectionOutcome.UPHELD:
            proposals.propose_objection_upheld(rr, note=data["note"], by=by, portal_url=confirmations)
            return (f"Request {rr.reference}: upholding the objection is proposed. It takes effect when the "
                    "Caldicott Guardian confirms it.")
        objections.decide_objection(rr, outcome=data["outcome"], note=data["note"], by=by)
        return f"Request {rr.reference}: the objection's outcome is recorded."
    if action == "propose_erasure":
        proposals.propose_erasure(rr, ground=data["ground"], exemptions=data["exemptions"], by=by,
                                  portal_url=confirmations)
        return (f"Request {rr.reference}: the erasure is proposed. Nothing is erased until the Caldicott Guardian "
                "confirms it; the Trust lead has been told it awaits confirmation.")
    if action == "withdraw":
        pending = rights.pending_proposal(rr)
        if pending is None:
            raise rights.RightsRefused("No decision on this request awaits the Caldicott Guardian.")
        proposals.withdraw(pending, reason=data["withdraw_reason"], by=by)
        return "The proposal is withdrawn. The request stays open."
    if action == "identity":
        rights.record_identity(rr, identity_method=data["identity_method"],
                               identity_document=data["identity_document"],
                               identity_checked_by=Person.objects.get(pk=data["identity_checked_by"]),
                               identity_check=data["identity_check"], by=by)
        return "The identity check is recorded."
    if action == "restrict":
        rights.open_request_restriction(rr, by=by)
        return "Her records are restricted: nothing about her can be released and Pause no longer sees her."
    rights.lift_request_restriction(rr, by=by)
    return "The restriction has ended."


@for_perm(Perm.ANSWER_RIGHTS_REQUESTS)
@require_http_methods(["GET", "HEAD", "POST"])
def request_page(request, pk: int):
    rr = request_or_404(request, pk)
    owners, checkers = _owners(rr.programme_id), _checkers(rr.programme_id)
    forms = {"extend": ExtendForm(), "reassign": ReassignForm(owners=owners, initial={"owner": rr.owner_id}),
             "close": CloseForm(), "objection": ObjectionForm(), "propose_erasure": ProposeErasureForm(),
             "withdraw": WithdrawForm(), "identity": IdentityForm(checkers=checkers,
                                                                   initial={"identity_checked_by": request.user.pk})}
    refusal, failed = "", None
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            raise Http404("No such action.")
        if action == "lift" and not confirmed(request):
            return confirmation_page(
                request, question=f"Are you sure you want to end the restriction of her records (request {rr.reference})?",
                consequences=["Her records are no longer held back: they can be released again. To restrict them "
                              "again, restrict them anew."],
                button="End the restriction", cancel_url=reverse("rights:request", args=[rr.pk]))
        form_class = ACTIONS[action]
        form = None
        if form_class is not None:
            extra = {ReassignForm: {"owners": owners}, IdentityForm: {"checkers": checkers}}.get(form_class, {})
            form = form_class(request.POST, **extra)
            forms[action] = form
        if form is None or form.is_valid():
            try:
                messages.success(request, _act(action, form, rr, request))
            except rights.RightsRefused as exc:
                refusal = exc.message
            else:
                return redirect("rights:request", rr.pk)
        failed = form
        rr = request_or_404(request, pk)
    context = _page_context(request, rr)
    record_staff_view(request, _staff_shown(rr, context, owners, checkers), membership=current_membership(request))
    return render(request, "rights/request.html", {**context, "forms": forms, "refusal": refusal, "failed": failed},
                  status=400 if refusal or (failed is not None and failed.errors) else 200)


def _staff_shown(rr: RightsRequest, context: dict, owners: list[tuple[int, str]],
                 checkers: list[tuple[int, str]]) -> list[Person]:
    ids = {rr.owner_id, rr.opened_by_id, rr.closed_by_id, rr.rectification_done_by_id, rr.identity_checked_by_id,
           *(e.extended_by_id for e in context["extensions"]), *(pk for pk, _ in owners),
           *(pk for pk, _ in checkers), *(p.proposed_by_id for p in context["proposals"]),
           *(p.decided_by_id for p in context["proposals"])}
    return list(Person.objects.filter(pk__in=[i for i in ids if i]))


def _page_context(request, rr: RightsRequest) -> dict:
    her = None
    records = [rr, *([rr.woman] if rr.is_open and rr.woman_id else [])]
    served = {s.label: s for s in disclose(request.user, records, page=request.path, reason=rr.reference)}
    woman = served.get(Woman._meta.label_lower)
    if woman is not None:
        her = {"name": presenting.name(woman.get("forename"), woman.get("surname"), missing=""),
               "born": _as_date(woman.get("date_of_birth"))}
    request_values = served.get(RightsRequest._meta.label_lower)
    if request_values is None:
        raise Http404("No such request.")
    return {
        "rr": rr, "her": her, "days_left": days_left(rr.due_on),
        **{name: request_values.get(name) or "" for name in ("identity_check", "details", "outcome_note",
                                                               "rectification_note")},
        "extensions": list(rr.extensions.select_related("extended_by")),
        "restriction_open": bool(rr.restriction_id and rr.restriction.ended_at is None),
        "kinds": RequestKind, "erasure": getattr(rr, "erasure", None) if not rr.is_open else None,
        "proposals": list(rr.proposals.select_related("proposed_by", "decided_by")),
        "pending": rights.pending_proposal(rr),
        "outside_portal": erasure.OUTSIDE_PORTAL,
    }


def _as_date(value: str | None) -> date | str | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return value
