"""Who at Pause may see which released women in delivery, now: the one predicate the disclosure
policy, the caseload pages and every delivery view ask.

A released woman is in Pause's view only while all of these hold (ADR 29):
- her programme is in delivery (closed programmes show nothing, whatever permission remains);
- the Trust has not withdrawn her release;
- the Trust still shares her (`trust_still_shares`): her latest eligibility decision is eligible
  or at risk, she is not recorded as having died, and no restriction of her is open — each takes
  her out at once; a pending re-review of her latest decision, or her absence from the latest
  extract, takes her out only when the Trust lead has not settled it within the days the
  agreement in force sets (`Agreement.decide_changes_within_days`; `DEFAULT_DECIDE_WITHIN_DAYS`
  without one) (a new decision settles a re-review; confirming her absence
  settles that absence). Once out on a decision or a missed re-review she stays out, whatever is
  decided later, until a Trust lead reinstates her release on a decision that makes her
  releasable (`sharing.delivery_changes.reinstate`; `ReleasedWoman.shared_on_decision`);
- she has not declined or withdrawn more than 30 days ago — unless a safeguarding concern or
  serious incident about her is still open.
An open concern about a woman who left for any other reason keeps that concern alone in view
(`concern_stays_in_view`), never her.
The Pause lead sees every such woman of the programme; a practitioner only those in their
caseload (a django-guardian object permission, never a global one). The clock is read on every
call, so no worker needs to run for a woman to leave the view.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Case, DateTimeField, Exists, OuterRef, Q, QuerySet, Subquery, When
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from eligibility.models import Decision, Extract, ExtractStatus, ReReview, Restriction
from eligibility.release import RELEASABLE_OUTCOMES
from pause_portal.tenancy.models import Membership, Phase
from pause_portal.tenancy.roles import Role
from sharing.models_delivery import (
    LEAVES_VIEW_AFTER_DAYS,
    OPEN_CONCERN_STATUSES,
    WORK_WITH_WOMAN,
    AbsenceConfirmation,
    ReleasedWoman,
    SafeguardingConcern,
)
from sharing.models_scoping import Agreement, ChangeStatus

PAUSE_DELIVERY_ROLES = (Role.PAUSE_LEAD, Role.PAUSE_PRACTITIONER)
PERMISSION = f"sharing.{WORK_WITH_WOMAN}"

# How long the Trust lead has to settle a change since release (a pending re-review, or her absence
# from the latest extract) before she leaves Pause's view, where no agreement is in force: the
# agreement's own field has the same default. Counted from the re-review's `marked_at` and from the
# end of the extract she was missing from, with the period of the agreement in force now (a
# confirmed change applies on the next request, to changes already waiting too).
DEFAULT_DECIDE_WITHIN_DAYS = 14


def decide_within_days(programme_id: int) -> int:
    """The days the agreement in force gives a Trust lead to settle a change since release."""
    days = (Agreement.objects.filter(programme_id=programme_id, status=ChangeStatus.CONFIRMED)
            .order_by("-version").values_list("decide_changes_within_days", flat=True).first())
    return days or DEFAULT_DECIDE_WITHIN_DAYS


def _windows() -> list[tuple[Q, timedelta]]:
    """(which programmes, their period) for each period the agreements in force set, and the default
    for programmes with none. One query over the agreements."""
    latest: dict[int, int] = {}
    for programme_id, days in (Agreement.objects.filter(status=ChangeStatus.CONFIRMED)
                               .order_by("programme_id", "version")
                               .values_list("programme_id", "decide_changes_within_days")):
        latest[programme_id] = days  # the latest version wins
    groups: dict[int, list[int]] = {}
    for programme_id, days in latest.items():
        groups.setdefault(days, []).append(programme_id)
    out = [(Q(programme_id__in=ids), timedelta(days=days)) for days, ids in groups.items()]
    out.append((~Q(programme_id__in=list(latest)) if latest else Q(), timedelta(days=DEFAULT_DECIDE_WITHIN_DAYS)))
    return out


def absent_since():
    """For a queryset of released women: when the first extract she was missing from finished (the
    first imported extract of her programme after the last one she was in); None while she is in."""
    return Subquery(Extract.objects.filter(programme_id=OuterRef("programme_id"), status=ExtractStatus.SUCCEEDED,
                                           pk__gt=OuterRef("woman__last_extract_id"))
                    .order_by("pk").values("finished_at")[:1])


def with_changes(queryset: QuerySet[ReleasedWoman]) -> QuerySet[ReleasedWoman]:
    """Annotate what the Trust may have to settle about each: `_latest_decision`, `_latest_outcome`,
    `_re_review_at` (a pending re-review of her latest decision, when it was marked), `_absent_since`
    (set only when she is missing from the latest extract and that absence is not confirmed)."""
    latest = Decision.objects.filter(woman=OuterRef("woman_id")).order_by("-pk")
    confirmed = AbsenceConfirmation.objects.filter(released_woman=OuterRef("pk"),
                                                   last_extract=OuterRef("woman__last_extract_id"))
    return queryset.annotate(
        _latest_decision=Subquery(latest.values("pk")[:1]),
        _latest_outcome=Subquery(latest.values("outcome")[:1]),
        _absence_confirmed=Exists(confirmed),
    ).annotate(
        _re_review_at=Subquery(ReReview.objects.filter(decision_id=OuterRef("_latest_decision"))
                               .values("marked_at")[:1]),
        _absent_since=Case(When(Q(woman__in_latest_extract=False, _absence_confirmed=False), then=absent_since()),
                           default=None, output_field=DateTimeField()),
    )


def trust_still_shares(queryset: QuerySet[ReleasedWoman], *, now=None) -> QuerySet[ReleasedWoman]:
    """Those of `queryset` the Trust still shares with Pause now, computed from stored data alone:
    latest decision eligible or at risk, not recorded as having died, no open restriction, and no
    re-review or absence left unsettled for longer than the agreement in force allows."""
    now = now or timezone.now()
    open_restriction = Restriction.objects.filter(woman=OuterRef("woman_id"), ended_at__isnull=True)
    # Once out on a decision, out until a Trust lead reinstates her (a new decision alone is not
    # enough): a decision since the one she is shared on that is not eligible or at risk, or a
    # re-review since then that no decision settled within the deadline.
    later_refusal = (Decision.objects.filter(woman=OuterRef("woman_id"), pk__gt=OuterRef("shared_on_decision_id"))
                     .exclude(outcome__in=RELEASABLE_OUTCOMES))
    late = Q(pk__in=[])  # nobody, then each programme's unsettled changes past its own deadline
    for programmes, window in _windows():
        cutoff = now - window
        settled_in_time = Decision.objects.filter(woman=OuterRef("woman_id"), pk__gt=OuterRef("decision_id"),
                                                  decided_at__lt=OuterRef("marked_at") + window)
        missed_re_review = (ReReview.objects.filter(woman=OuterRef("woman_id"),
                                                    decision_id__gte=OuterRef("shared_on_decision_id"),
                                                    marked_at__lte=cutoff)
                            .exclude(Exists(settled_in_time)))
        late |= programmes & (Q(Exists(missed_re_review))
                              | Q(_re_review_at__isnull=False, _re_review_at__lte=cutoff)
                              | Q(_absent_since__isnull=False, _absent_since__lte=cutoff))
    return (
        with_changes(queryset)
        .exclude(Exists(later_refusal))
        .filter(_latest_outcome__in=RELEASABLE_OUTCOMES, woman__died_on__isnull=True)
        .exclude(Exists(open_restriction))
        .exclude(late)
    )


def in_pause_view(queryset: QuerySet[ReleasedWoman], *, now=None) -> QuerySet[ReleasedWoman]:
    """Those of `queryset` that Pause may see at all now (before any caseload rule)."""
    now = now or timezone.now()
    open_concern = SafeguardingConcern.objects.filter(released_woman=OuterRef("pk"),
                                                      status__in=OPEN_CONCERN_STATUSES)
    return (
        trust_still_shares(queryset.filter(programme__phase=Phase.DELIVERY, withdrawn_at__isnull=True), now=now)
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


def concern_stays_in_view(user, membership: Membership | None) -> Q:
    """A Q over `SafeguardingConcern` for the concerns this Pause person may still see although the
    woman they are about has left their view: open ones (open or acknowledged), in a programme in
    delivery, that they raised — or any such, for the Pause lead. The concern alone: never her."""
    if membership is None or membership.person_id != getattr(user, "pk", None) or not user.is_active:
        return Q(pk__in=[])
    role = Role(membership.role)
    if role not in PAUSE_DELIVERY_ROLES:
        return Q(pk__in=[])
    q = Q(programme_id=membership.programme_id, programme__phase=Phase.DELIVERY, status__in=OPEN_CONCERN_STATUSES)
    if role == Role.PAUSE_PRACTITIONER:
        q &= Q(raised_by_id=user.pk)
    return q


def withdrawn_by_trust_count(membership: Membership | None, *, now=None) -> int:
    """For the Pause lead's notice: how many of the programme's released women the Trust no longer
    shares (withdrawn, or out by `trust_still_shares`). A number only, never who or why."""
    if membership is None or Role(membership.role) != Role.PAUSE_LEAD:
        return 0
    released = ReleasedWoman.objects.filter(programme_id=membership.programme_id, programme__phase=Phase.DELIVERY)
    still = trust_still_shares(released.filter(withdrawn_at__isnull=True), now=now).values("pk")
    return released.exclude(pk__in=still).count()


def stop_contact_count(user, membership: Membership | None, *, now=None) -> int:
    """For a practitioner's neutral "stop contact" notice: how many women still assigned to them
    are no longer in Pause's view (for whatever reason: none is given)."""
    if membership is None or Role(membership.role) != Role.PAUSE_PRACTITIONER or not user.is_active:
        return 0
    if membership.person_id != getattr(user, "pk", None):
        return 0
    assigned = ReleasedWoman.objects.filter(programme_id=membership.programme_id, programme__phase=Phase.DELIVERY,
                                            assignments__practitioner_id=user.pk, assignments__ended_at__isnull=True)
    return assigned.exclude(pk__in=in_pause_view(assigned, now=now).values("pk")).distinct().count()
