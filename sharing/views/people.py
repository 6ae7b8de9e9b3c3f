"""People, for system administrators: the list, a person's page, adding a person (their one-time
link goes to them by email only), deactivating, resets; and role grants awaiting confirmation
(also for Caldicott Guardians). Granting, changing and revoking roles: `sharing.views.roles`."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from eligibility.disclosure import record_staff_view
from pause_portal.access import for_perm
from pause_portal.tenancy.models import (
    AccountLinkPurpose,
    Membership,
    MembershipStatus,
    Organisation,
    Person,
)
from pause_portal.tenancy.roles import Perm
from pause_portal.tenancy.selectors import current_membership, pending_grants_for
from sharing import actions
from sharing.forms_lists import (
    ACTIVE,
    DEACTIVATED,
    SYSTEM_ADMIN,
    NameSearchForm,
    PeopleFilterForm,
    matches,
)
from sharing.forms_people import AddPersonForm, GrantConfirmForm
from sharing.set_up_links import add_person_and_email_link, email_new_link_on_commit


def _message(exc: Exception) -> str:
    return "; ".join(getattr(exc, "messages", None) or [str(exc.args[0] if exc.args else exc)])


LIVE_STATUSES = [s for s in MembershipStatus.values if s != MembershipStatus.REVOKED]


def _current_roles():
    return Membership.objects.exclude(status=MembershipStatus.REVOKED).select_related("programme")


def _filtered_people(rows, chosen: dict):
    if chosen.get("organisation"):
        rows = rows.filter(organisation_id=int(chosen["organisation"]))
    role = chosen.get("role")
    if role == SYSTEM_ADMIN:
        rows = rows.filter(Q(is_system_admin=True) | Q(memberships__role=role,
                                                        memberships__status__in=LIVE_STATUSES)).distinct()
    elif role:
        rows = rows.filter(memberships__role=role, memberships__status__in=LIVE_STATUSES).distinct()
    if chosen.get("status") == ACTIVE:
        rows = rows.filter(is_active=True)
    elif chosen.get("status") == DEACTIVATED:
        rows = rows.filter(is_active=False)
    return rows


@for_perm(Perm.MANAGE_PEOPLE)
@require_http_methods(["GET", "HEAD", "POST"])
def people(request):
    """GET lists everyone by organisation, role and status; POST searches by name or email too
    (never in the address or the audit trail). Only the people listed are recorded as shown."""
    organisations = Organisation.objects.order_by("name").values_list("pk", "name")
    filter_form = PeopleFilterForm(request.GET or None, organisations=list(organisations))
    search_form = NameSearchForm(request.POST if request.method == "POST" else None,
                                 label="Search by name or email", hint="Part of the name or address is enough")
    rows = (
        _filtered_people(Person.objects.all(), filter_form.chosen())
        .select_related("organisation")
        .prefetch_related(Prefetch("memberships", queryset=_current_roles()))
        .order_by("organisation__name", "full_name", "pk")
    )
    search = search_form.search
    rows = [p for p in rows if not search or matches(f"{p.full_name} {p.email}", search)]
    record_staff_view(request, rows)
    kept = {k: v for k, v in request.GET.items() if k in filter_form.fields and v} if filter_form.is_valid() else {}
    form_list = [f for f in (search_form, filter_form) if f.errors]
    return render(request, "people/people.html", {
        "people": rows, "filter_form": filter_form, "search_form": search_form, "filter_query": urlencode(kept),
        "searched": search, "shown_count": len(rows), "form_list": form_list,
    }, status=400 if form_list else 200)


def _person_or_404(pk: int) -> Person:
    return get_object_or_404(Person, pk=pk)


@for_perm(Perm.MANAGE_PEOPLE)
def person(request, pk: int):
    shown = get_object_or_404(
        Person.objects.select_related("organisation").prefetch_related(
            Prefetch("memberships", queryset=_current_roles())), pk=pk)
    record_staff_view(request, [shown])
    return render(request, "people/person.html", {
        "person": shown, "memberships": list(shown.memberships.all()),
        "awaits_set_up": shown.is_active and not shown.has_usable_password(),
    })


def handover_url(request) -> str:
    """The Pause lead's list of women who need a practitioner: the hand-over email's one link."""
    return request.build_absolute_uri(reverse("delivery:unassigned"))


def _portal_url(request) -> str:
    # The host is one ALLOWED_HOSTS let through: the link in the email points at this portal.
    return request.build_absolute_uri("/")


@for_perm(Perm.MANAGE_PEOPLE)
def add(request):
    form = AddPersonForm(request.POST if request.method == "POST" else None)
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            added = add_person_and_email_link(**form.cleaned_data, by=request.user, portal_url=_portal_url(request))
        except (PermissionDenied, ValidationError) as exc:
            refusal = _message(exc)
        else:
            messages.success(request, f"{added.full_name} is added. We are emailing them a one-time link to set up "
                                      "their account; it is not shown to you. Now give them a role.")
            return redirect("people:person", added.pk)
    return render(request, "people/add.html", {"form": form, "refusal": refusal})


@for_perm(Perm.MANAGE_PEOPLE)
@require_POST
def send_set_up_link(request, pk: int):
    shown = _person_or_404(pk)
    if shown.is_active and not shown.has_usable_password() and shown.pk != request.user.pk:
        email_new_link_on_commit(person=shown, by=request.user, portal_url=_portal_url(request))
        messages.success(request, f"We are emailing {shown.full_name} a new one-time link to set up their account. "
                                  "Any earlier link stops working.")
    else:
        messages.error(request, f"{shown.full_name} has already set up their account: reset their two-step "
                                "sign-in instead if they have lost their phone.")
    return redirect("people:person", shown.pk)


@for_perm(Perm.MANAGE_PEOPLE)
def deactivate(request, pk: int):
    """A confirmation page, then deactivation (`actions.deactivate_person`, the one place it happens)."""
    shown = _person_or_404(pk)
    if not shown.is_active:
        messages.error(request, f"{shown.full_name} is already deactivated.")
        return redirect("people:person", shown.pk)
    refusal = None
    if request.method == "POST":
        try:
            actions.deactivate_person(person=shown, by=request.user, portal_url=handover_url(request))
        except (PermissionDenied, ValidationError) as exc:
            refusal = _message(exc)
        else:
            messages.success(request, f"{shown.full_name} is deactivated and signed out everywhere.")
            return redirect("people:person", shown.pk)
    record_staff_view(request, [shown])
    return render(request, "people/deactivate.html", {"person": shown, "refusal": refusal})


@for_perm(Perm.MANAGE_PEOPLE)
@require_POST
def issue_mfa_reset(request, pk: int):
    shown = _person_or_404(pk)
    try:
        token = actions.issue_account_link(person=shown, purpose=AccountLinkPurpose.MFA_RESET, by=request.user)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, _message(exc))
        return redirect("people:list")
    link = request.build_absolute_uri(reverse("accounts:account-link", args=[token]))
    # Shown once, to be passed on by a trusted channel; only its hash is stored.
    return render(request, "people/reset_link.html", {"person": shown, "link": link})


@for_perm(Perm.CONFIRM_ROLE_GRANT)
def grants(request):
    grants = list(pending_grants_for(request.user))
    record_staff_view(request, [g.person for g in grants], membership=current_membership(request))
    return render(request, "people/grants.html", {"grants": grants})


@for_perm(Perm.CONFIRM_ROLE_GRANT)
def confirm_grant(request, pk: int):
    # Fetch-and-authorise in one step, before anything else: a grant this person may not confirm
    # looks exactly like no grant, whatever the method.
    membership = pending_grants_for(request.user).filter(pk=pk).first()
    if membership is None:
        raise Http404("No such grant.")
    return _confirm(request, membership)


@require_http_methods(["GET", "HEAD", "POST"])
def _confirm(request, membership):
    """The grant and the justification field (it goes into the Caldicott log, ADR 45); confirming
    needs one."""
    form = GrantConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.confirm_role(membership=membership, by=request.user,
                                 justification=form.cleaned_data["justification"])
        except (PermissionDenied, ValidationError) as exc:
            form.add_error(None, _message(exc))
        else:
            messages.success(request, "Role confirmed.")
            return redirect("people:grants")
    record_staff_view(request, [membership.person], membership=current_membership(request))
    return render(request, "people/confirm_grant.html", {"grant": membership, "form": form},
                  status=400 if form.errors else 200)
