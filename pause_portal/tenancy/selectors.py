"""Reads about people, programmes and memberships that views, tasks and the policy share."""

from __future__ import annotations

from django.db.models import QuerySet

from pause_portal.tenancy.models import Membership, MembershipStatus, Person, Programme
from pause_portal.tenancy.roles import Perm, Role, roles_with

SESSION_PROGRAMME_KEY = "portal_programme_id"


def active_memberships(person: Person) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(person=person, status=MembershipStatus.ACTIVE, person__is_active=True)
        .select_related("programme", "programme__trust", "programme__pause_practice")
        .order_by("programme__name")
    )


def membership_in(person: Person, programme_id: int) -> Membership | None:
    """The person's active role in that programme, or None. Never trusts a caller's claim."""
    if not getattr(person, "is_authenticated", False) or not person.is_active:
        return None
    return active_memberships(person).filter(programme_id=programme_id).first()


def current_membership(request) -> Membership | None:
    """The membership the person is working under now: the programme chosen in the switcher."""
    person = request.user
    if not getattr(person, "is_authenticated", False):
        return None
    cached = getattr(request, "_portal_membership", False)
    if cached is not False:
        return cached
    memberships = list(active_memberships(person))
    chosen = request.session.get(SESSION_PROGRAMME_KEY)
    membership = next((m for m in memberships if m.programme_id == chosen), None)
    if membership is None and memberships:
        membership = memberships[0]
    request._portal_membership = membership
    return membership


def current_role(request) -> Role | None:
    if getattr(request.user, "is_authenticated", False) and request.user.is_system_admin:
        membership = current_membership(request)
        return Role(membership.role) if membership else Role.SYSTEM_ADMIN
    membership = current_membership(request)
    return Role(membership.role) if membership else None


def pending_grants_for(confirmer: Person) -> QuerySet[Membership]:
    """Grants this person may confirm: any, for a system administrator; their programme's, for
    a Caldicott Guardian. Never their own requests, never grants to themselves."""
    qs = Membership.objects.filter(status=MembershipStatus.PENDING).exclude(requested_by=confirmer).exclude(
        person=confirmer
    )
    if confirmer.is_system_admin:
        return qs.select_related("person", "programme")
    guardian_of = Membership.objects.filter(
        person=confirmer, role=Role.CALDICOTT_GUARDIAN, status=MembershipStatus.ACTIVE
    ).values("programme_id")
    return qs.filter(programme_id__in=guardian_of).select_related("person", "programme")


def programme_members(programme: Programme) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(programme=programme, status__in=[MembershipStatus.ACTIVE, MembershipStatus.PENDING])
        .select_related("person")
        .order_by("role", "person__full_name")
    )


def people_with(programme: Programme | int, perm: Perm) -> QuerySet[Person]:
    """The programme's active people whose active role holds `perm`, by primary key: whoever the
    action behind `perm` lets act, and so whom a reminder or notice about it goes to."""
    programme_id = programme if isinstance(programme, int) else programme.pk
    return Person.objects.filter(
        is_active=True, memberships__programme_id=programme_id, memberships__status=MembershipStatus.ACTIVE,
        memberships__role__in=list(roles_with(perm))).distinct().order_by("pk")
