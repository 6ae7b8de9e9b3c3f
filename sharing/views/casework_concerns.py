"""Safeguarding concerns and serious incidents: raised by Pause (her practitioner, or the Pause
lead), read, acknowledged and closed by the programme's Trust leads. Lists and the concern page
go through the disclosure policy (one audit entry each); writes are `sharing.concerns` actions."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from eligibility.disclosure import disclose, record_staff_view
from pause_portal.access import for_perm
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import current_membership
from sharing.concerns import acknowledge_concern, close_concern, raise_concern
from sharing.delivery_access import visible_released_women
from sharing.forms_casework import CloseConcernForm, ConcernForm
from sharing.forms_lists import ConcernFilterForm, NameSearchForm, matches
from sharing.models_delivery import OPEN_CONCERN_STATUSES, ConcernStatus, SafeguardingConcern
from sharing.views.casework_common import concern_or_404, served_woman, visible_woman_or_404

CLOSED_SHOWN = 50  # the latest closed ones; every open one is always listed


def _errors_to_form(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@for_perm(Perm.RAISE_SAFEGUARDING)
def raise_page(request, pk: int):
    released, membership = visible_woman_or_404(request, pk)
    return _raise(request, released)


@require_http_methods(["GET", "HEAD", "POST"])
def _raise(request, released):
    form = ConcernForm(request.POST if request.method == "POST" else None, programme_id=released.programme_id)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            concern = raise_concern(released, by=request.user, kind=data["kind"], lawful_bases=form.lawful_bases(),
                                    summary=data["summary"],
                                    portal_url=request.build_absolute_uri(reverse("casework:concerns")))
        except PermissionDenied:
            raise Http404("No such woman.") from None
        except ValidationError as e:
            _errors_to_form(form, e)
        else:
            messages.success(request, f"{concern.get_kind_display()} raised: the Trust leads have been told that "
                                      "something awaits them")
            return redirect("casework:concern", pk=concern.pk)
    served = served_woman(request, released, reason="casework: raise a concern")
    return render(request, "casework/raise.html", {"released": released, "woman": served, "form": form})


@for_perm(Perm.VIEW_CONCERNS)
@require_http_methods(["GET", "HEAD", "POST"])
def concerns(request):
    """The programme's concerns this person may see: all of them for a Trust lead; those about
    the women in their view for Pause. Open ones first. GET filters by status and kind; POST
    searches by the name of who raised it, as served (never in the address or the audit trail)."""
    membership = current_membership(request)
    filter_form = ConcernFilterForm(request.GET or None)
    search_form = NameSearchForm(request.POST if request.method == "POST" else None,
                                 label="Search by who raised it", hint="Part of their name is enough")
    chosen = filter_form.chosen()
    rows = (SafeguardingConcern.objects.filter(programme_id=membership.programme_id)
            .select_related("raised_by").order_by("-raised_at", "-pk"))
    if chosen.get("status"):
        rows = rows.filter(status=chosen["status"])
    if chosen.get("kind"):
        rows = rows.filter(kind=chosen["kind"])
    answers = role_has(membership.role, Perm.ANSWER_CONCERNS)
    closed = list(rows.exclude(status__in=OPEN_CONCERN_STATUSES)[:CLOSED_SHOWN])
    # Every one awaiting hand-over to the Trust's case record is listed, however old (issue 22, point 4).
    awaiting = list(rows.filter(status=ConcernStatus.CLOSED, filed_at__isnull=True).exclude(
        pk__in=[c.pk for c in closed])) if answers else []
    candidates = list(rows.filter(status__in=OPEN_CONCERN_STATUSES)) + closed + awaiting
    disclosed = disclose(request.user, candidates, page=request.path, reason="casework: concerns list")
    search = search_form.search
    shown = [c for c in disclosed if not search or matches(getattr(c.get("raised_by"), "full_name", ""), search)]
    record_staff_view(request, {c.raised_by.pk: c.raised_by for c in shown if c.get("raised_by") is not None}.values(),
                      membership=membership)
    unfiled = {c.pk for c in disclosed.records if c.status == ConcernStatus.CLOSED and c.filed_at is None}
    kept = {k: v for k, v in request.GET.items() if k in filter_form.fields and v} if filter_form.is_valid() else {}
    form_list = [f for f in (search_form, filter_form) if f.errors]
    return render(request, "casework/concerns.html", {
        "open": [c for c in shown if c.status in OPEN_CONCERN_STATUSES],
        "closed": [c for c in shown if c.status not in OPEN_CONCERN_STATUSES and not (answers and c.pk in unfiled)],
        "awaiting": [c for c in shown if answers and c.pk in unfiled],
        "answers": answers, "closed_shown": CLOSED_SHOWN,
        "filter_form": filter_form, "search_form": search_form, "filter_query": urlencode(kept), "searched": search,
        "shown_count": len(shown), "form_list": form_list,
    }, status=400 if form_list else 200)


def _concern_page(request, concern, membership, *, close_form=None):
    shown = list(disclose(request.user, [concern], page=request.path, reason="casework: a concern"))
    if not shown:
        raise Http404("No such concern.")
    served = shown[0]
    fields = served.fields
    answers = role_has(membership.role, Perm.ANSWER_CONCERNS)
    she_is_in_view = (answers and concern.released_woman_id is not None) or visible_released_women(request.user, membership).filter(
        pk=concern.released_woman_id).exists()
    # A concern kept in view after she left Pause's view (ADR 29) is shown alone: nothing about her.
    woman = (served_woman(request, concern.released_woman, reason="casework: whom a concern is about")
             if she_is_in_view else None)
    text = {name: served[name] or "" for name in ("summary", "closing_note") if name in fields}
    if concern.released_woman_id is None and "trust_person_id" in fields:  # kept after an erasure
        text["trust_person_id"] = served["trust_person_id"] or ""
    people = {}
    for name in ("raised_by", "acknowledged_by", "closed_by"):
        person = served.get(name)
        if person is not None:
            people[person.pk] = person
    record_staff_view(request, people.values(), membership=membership)
    return render(request, "casework/concern.html", {
        "concern": served, "released_woman_id": concern.released_woman_id, "woman": woman, "fields": fields,
        "text": text, "answers": answers, "she_is_in_view": she_is_in_view,
        "is_open": concern.status in OPEN_CONCERN_STATUSES,
        "awaits_hand_over": answers and concern.status == ConcernStatus.CLOSED and concern.filed_at is None,
        "close_form": close_form or CloseConcernForm(),
    })


@for_perm(Perm.VIEW_CONCERNS)
def concern(request, pk: int):
    concern, membership = concern_or_404(request, pk)
    return _concern_page(request, concern, membership)


@for_perm(Perm.ANSWER_CONCERNS)
def acknowledge(request, pk: int):
    concern, membership = concern_or_404(request, pk)  # first: not yours is 404 whatever the method
    return _acknowledge(request, concern)


@require_POST
def _acknowledge(request, concern):
    try:
        acknowledge_concern(concern, by=request.user)
    except PermissionDenied:
        raise Http404("No such concern.") from None
    except ValidationError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, "Acknowledged: Pause can see that the Trust has it in hand")
    return redirect("casework:concern", pk=concern.pk)


@for_perm(Perm.ANSWER_CONCERNS)
def close(request, pk: int):
    concern, membership = concern_or_404(request, pk)
    return _close(request, concern, membership)


@require_POST
def _close(request, concern, membership):
    form = CloseConcernForm(request.POST)
    if form.is_valid():
        try:
            close_concern(concern, by=request.user, closing_note=form.cleaned_data["closing_note"])
        except PermissionDenied:
            raise Http404("No such concern.") from None
        except ValidationError as e:
            _errors_to_form(form, e)
        else:
            messages.success(request, "Closed")
            return redirect("casework:concern", pk=concern.pk)
    return _concern_page(request, concern, membership, close_form=form)
