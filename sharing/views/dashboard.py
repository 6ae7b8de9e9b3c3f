"""Each role's dashboard, and the programme switcher. The people who may decide a waiting phase
change or agreement version see it on theirs, with a link to decide; its proposer sees it waiting."""

from __future__ import annotations

from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from audit.core import reminders
from audit.core.models import AuditEntry, Event
from eligibility.disclosure import record_staff_view
from pause_portal.access import signed_in
from pause_portal.tenancy.models import Person, Programme
from pause_portal.tenancy.roles import ROLE_SPECS, Perm, Role, role_has
from pause_portal.tenancy.selectors import (
    SESSION_PROGRAMME_KEY,
    active_memberships,
    current_membership,
    current_role,
    pending_grants_for,
    programme_members,
)
from sharing import agreements, handover, phases
from sharing.forms import ProgrammeChoiceForm

TEMPLATES = {
    Role.TRUST_CASEWORKER: "dashboards/trust_caseworker.html",
    Role.TRUST_LEAD: "dashboards/trust_lead.html",
    Role.CALDICOTT_GUARDIAN: "dashboards/caldicott_guardian.html",
    Role.DPO: "dashboards/dpo.html",
    Role.PAUSE_LEAD: "dashboards/pause_lead.html",
    Role.PAUSE_PRACTITIONER: "dashboards/pause_practitioner.html",
    Role.SYSTEM_ADMIN: "dashboards/system_admin.html",
}


# Whoever proposes or decides a phase change or an agreement version sees those waiting.
GOVERNANCE_CHANGES = (Perm.PROPOSE_PHASE_CHANGE, Perm.CONFIRM_PHASE_CHANGE, Perm.PROPOSE_AGREEMENT_CHANGE,
                      Perm.CONFIRM_AGREEMENT_CHANGE)


@signed_in
def dashboard(request):
    person: Person = request.user
    role = current_role(request)
    if role is None:
        return render(request, "dashboards/no_role.html")
    membership = current_membership(request)
    programme: Programme | None = membership.programme if membership else None
    context = {
        "role": role,
        "role_spec": ROLE_SPECS[role],
        "permissions": sorted(ROLE_SPECS[role].permissions, key=lambda p: p.label),
        "programme": programme,
        "last_sign_ins": AuditEntry.objects.filter(actor=person, event=Event.SIGN_IN).order_by("-timestamp")[1:4],
        # The reminders sent to this person that still wait (ADR 47): headlines with no identifier.
        "reminders": reminders.shown_to(person, programme_id=programme.pk if programme else None),
    }
    if role_has(role, Perm.CONFIRM_ROLE_GRANT) or person.is_system_admin:
        context["pending_grants"] = list(pending_grants_for(person))
    if programme and role_has(role, Perm.VIEW_PROGRAMME_MEMBERS):
        context["members"] = list(programme_members(programme))
    if programme and any(role_has(role, perm) for perm in GOVERNANCE_CHANGES):
        context["awaiting_decision"], context["awaiting_others"] = _proposals_waiting(person, programme)
    if programme and role_has(role, Perm.ASSIGN_CASELOAD):
        context["need_practitioner"] = handover.waiting_count(membership)  # a number, no names
    if programme and role_has(role, Perm.REVIEW_AUDIT_TRAIL):
        context["refusals_7d"] = _recent_counts(programme)
    if role_has(role, Perm.MANAGE_PEOPLE):
        context["people_count"] = Person.objects.filter(is_active=True).count()
    if role_has(role, Perm.MANAGE_PROGRAMMES):
        context["programmes"] = Programme.objects.select_related("trust", "pause_practice").annotate(
            members=Count("memberships")
        )
    shown = [g.person for g in context.get("pending_grants", [])] + [m.person for m in context.get("members", [])]
    record_staff_view(request, {p.pk: p for p in shown}.values(), membership=membership)
    return render(request, TEMPLATES[role], context)


def _proposals_waiting(person: Person, programme: Programme) -> tuple[list[dict], list[dict]]:
    """The programme's waiting phase change and agreement version: those this person may decide,
    and those they proposed (waiting for someone else). The proposer is named by role only."""
    mine, others = [], []
    change = phases.open_phase_change(programme)
    if change is not None:
        item = {"what": f"Moving from {change.get_from_phase_display().lower()} to "
                        f"{change.get_to_phase_display().lower()}"
                        + (", ending scoping with no final report kept" if change.no_final_report_kept else ""),
                "proposed_at": change.proposed_at, "url": reverse("governance:phase"),
                "link": "Decide the phase change", "testid": "phase-change"}
        if phases.may_decide_phase_change(change, person):
            mine.append(item)
        elif change.proposed_by_id == person.pk:
            others.append(item | {"link": "See the phase change", "waits_for": "the Caldicott Guardian or another "
                                                                                "Trust lead"})
    proposal = agreements.open_proposal(programme)
    if proposal is not None:
        item = {"what": f"Version {proposal.version} of the data-sharing agreement",
                "proposed_at": proposal.proposed_at, "url": reverse("governance:agreement-decide"),
                "link": "Decide the agreement version", "testid": "agreement"}
        if agreements.may_decide(proposal, person):
            mine.append(item)
        elif proposal.proposed_by_id == person.pk:
            others.append(item | {"url": f"{reverse('governance:agreement')}?version={proposal.version}",
                                  "link": "See the agreement version", "waits_for": "the Caldicott Guardian"})
    return mine, others


def _recent_counts(programme: Programme) -> dict[str, int]:
    from datetime import timedelta

    from django.utils import timezone

    since = timezone.now() - timedelta(days=7)
    rows = (
        AuditEntry.objects.filter(programme=programme, timestamp__gte=since)
        .values("event")
        .annotate(n=Count("id"))
    )
    counts = {r["event"]: r["n"] for r in rows}
    return {
        "disclosures": counts.get(Event.DISCLOSURE, 0),
        "refusals": counts.get(Event.REFUSED, 0),
        "changes": counts.get(Event.CHANGE, 0),
    }


@require_POST
@signed_in
def choose_programme(request):
    """The header's switcher: only among the person's own active memberships."""
    form = ProgrammeChoiceForm(request.POST)
    if not form.is_valid():
        raise Http404("No such programme.")
    if not active_memberships(request.user).filter(programme_id=form.cleaned_data["programme"]).exists():
        raise Http404("No such programme.")
    request.session[SESSION_PROGRAMME_KEY] = form.cleaned_data["programme"]
    return redirect("dashboard")

