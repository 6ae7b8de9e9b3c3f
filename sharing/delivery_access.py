"""Who at Pause may see which released women in delivery, now: the one predicate the disclosure
policy, the caseload pages and every delivery view ask.

A released woman is in Pause's view only while all of these hold:
- her programme is in delivery (closed programmes show nothing, whatever permission remains);
- the Trust has not withdrawn her release;
- no restriction of her is open (a restriction or objection takes her out at once);
- she has not declined or withdrawn more than 30 days ago — unless a safeguarding concern or
  serious incident about her is still open.
The Pause lead sees every such woman of the programme; a practitioner only those in their
caseload (a django-guardian object permission, never a global one). The clock is read on every
call, so no worker needs to run for a woman to leave the view.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from eligibility.models import Restriction
from pause_portal.tenancy.models import Membership, Phase
from pause_portal.tenancy.roles import Role
from sharing.models_delivery import (
    LEAVES_VIEW_AFTER_DAYS,
    OPEN_CONCERN_STATUSES,
    WORK_WITH_WOMAN,
    ReleasedWoman,
    SafeguardingConcern,
)

PAUSE_DELIVERY_ROLES = (Role.PAUSE_LEAD, Role.PAUSE_PRACTITIONER)
PERMISSION = f"sharing.{WORK_WITH_WOMAN}"


def in_pause_view(queryset: QuerySet[ReleasedWoman], *, now=None) -> QuerySet[ReleasedWoman]:
    """Those of `queryset` that Pause may see at all now (before any caseload rule)."""
    now = now or timezone.now()
    open_concern = SafeguardingConcern.objects.filter(released_woman=OuterRef("pk"),
                                                      status__in=OPEN_CONCERN_STATUSES)
    open_restriction = Restriction.objects.filter(woman=OuterRef("woman_id"), ended_at__isnull=True)
    return (
        queryset.filter(programme__phase=Phase.DELIVERY, withdrawn_at__isnull=True)
        .exclude(Exists(open_restriction))
        .filter(Q(participation_ended_at__isnull=True)
                | Q(participation_ended_at__gt=now - timedelta(days=LEAVES_VIEW_AFTER_DAYS))
                | Exists(open_concern))
    )


def visible_released_women(user, membership: Membership | None, *, now=None) -> QuerySet[ReleasedWoman]:
    """The released women this person, in this membership, may see now: every one in view for the
    Pause lead, their own caseload for a practitioner, nobody for anyone else."""
    if membership is None or membership.person_id != getattr(user, "pk", None):
        return ReleasedWoman.objects.none()
    role = Role(membership.role)
    if role not in PAUSE_DELIVERY_ROLES or not user.is_active:
        return ReleasedWoman.objects.none()
    base = in_pause_view(ReleasedWoman.objects.filter(programme_id=membership.programme_id), now=now)
    if role == Role.PAUSE_PRACTITIONER:
        return get_objects_for_user(user, PERMISSION, klass=base, use_groups=False, with_superuser=False,
                                    accept_global_perms=False)
    return base


def visible_ids(user, membership: Membership | None, ids: set[int], *, now=None) -> set[int]:
    """Which of these released women's ids the person may see now (one query)."""
    if not ids:
        return set()
    return set(visible_released_women(user, membership, now=now).filter(pk__in=ids).values_list("pk", flat=True))
