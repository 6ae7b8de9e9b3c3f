"""Changes since release (issue 21, point 2; ADR 29): what the Trust lead must settle about women
released to Pause for delivery, and by when.

Two changes do not take a woman out of Pause's view at once, but must be settled within the days
the agreement in force sets (`decide_within_days`), or she leaves it on the next request after
(computed in `sharing.delivery_access`, so no job has to run):
- a pending re-review: the evidence of her latest eligibility decision changed in a later rules
  run; a new decision settles it (eligible or at risk keeps her shared; anything else takes her out);
- her absence from the latest extract: the Trust lead confirms she stays shared
  (`confirm_absence`, audited), or withdraws her release.

A woman out of Pause's view on a decision (or a missed re-review), or withdrawn, comes back only
when a new decision makes her releasable and a Trust lead reinstates her existing release
(`reinstate`): one release row per woman, its reinstatements the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from eligibility.models import Decision, Woman
from eligibility.release import can_be_released
from pause_portal.tenancy.models import Person, Phase, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in
from sharing.delivery_access import decide_within_days, trust_still_shares, with_changes
from sharing.delivery_release import DeliveryReleaseRefused
from sharing.models_delivery import AbsenceConfirmation, ReleasedWoman, ReleaseReinstatement
from sharing.scoping_release import why_not_releasable

RE_REVIEW = "re_review"
ABSENT = "absent"
CHANGE_LABELS = {
    RE_REVIEW: "Her latest eligibility decision is waiting for a re-review",
    ABSENT: "She is missing from the latest extract",
}


@dataclass(frozen=True)
class Change:
    released: ReleasedWoman
    kind: str
    since: datetime
    decide_by: datetime
    overdue: bool  # past the deadline: Pause no longer sees her

    @property
    def label(self) -> str:
        return CHANGE_LABELS[self.kind]


def changes_since_release(programme: Programme, *, now: datetime | None = None) -> list[Change]:
    """Every unsettled change about the programme's current (not withdrawn) releases, the most
    urgent first."""
    now = now or timezone.now()
    window = timedelta(days=decide_within_days(programme.pk))
    rows = (with_changes(ReleasedWoman.objects.filter(programme=programme, withdrawn_at__isnull=True))
            .select_related("woman").order_by("pk"))
    out = []
    for r in rows:
        for kind, since in ((RE_REVIEW, r._re_review_at), (ABSENT, r._absent_since)):
            if since is not None:
                out.append(Change(released=r, kind=kind, since=since, decide_by=since + window,
                                  overdue=since + window <= now))
    return sorted(out, key=lambda c: (c.decide_by, c.released.pk, c.kind))


def confirm_absence(released: ReleasedWoman, *, by: Person) -> AbsenceConfirmation:
    """A Trust lead confirms that the woman, missing from the latest extract, stays shared with
    Pause. Settles this absence only (the extract she was last in is kept with it); refused, with
    nothing written, unless she is missing now and the release is current."""
    membership = membership_in(by, released.programme_id)
    if membership is None or not role_has(membership.role, Perm.RELEASE_TO_PAUSE):
        raise DeliveryReleaseRefused("Only the programme's Trust leads confirm that a woman stays shared.")
    if membership.programme.phase != Phase.DELIVERY:
        raise DeliveryReleaseRefused("Absences are confirmed only while the programme is in delivery.")
    with transaction.atomic():
        locked = ReleasedWoman.objects.select_for_update().select_related("woman").get(pk=released.pk)
        if locked.withdrawn_at is not None:
            raise DeliveryReleaseRefused("Her release was withdrawn: there is nothing to confirm.")
        woman = locked.woman
        if woman.in_latest_extract:
            raise DeliveryReleaseRefused("She is in the latest extract: there is nothing to confirm.")
        try:
            with transaction.atomic():
                confirmation = AbsenceConfirmation.objects.create(
                    programme_id=locked.programme_id, released_woman=locked, last_extract_id=woman.last_extract_id,
                    confirmed_by=by, confirmed_at=timezone.now())
        except IntegrityError:
            raise DeliveryReleaseRefused("Her absence from the latest extract is already confirmed.") from None
        record_event(Event.CHANGE, actor=by, target=confirmation, subject_ids=[woman.pk], subject_model=Woman,
                     programme=membership.programme, role=membership.role, action=0,
                     reason=f"released woman #{locked.pk}: absence from the extracts after extract "
                            f"#{woman.last_extract_id} confirmed; she stays shared with Pause")
    return confirmation


def out_of_view(programme: Programme, *, now: datetime | None = None) -> list[ReleasedWoman]:
    """The programme's released women the Trust no longer shares with Pause now (withdrawn, or out
    by `trust_still_shares`), for the Trust lead to reinstate when a new decision allows it."""
    released = ReleasedWoman.objects.filter(programme=programme)
    still = trust_still_shares(released.filter(withdrawn_at__isnull=True), now=now).values("pk")
    return list(released.exclude(pk__in=still).select_related("woman").order_by("pk"))


def reinstate(released: ReleasedWoman, *, by: Person, now: datetime | None = None) -> ReleaseReinstatement:
    """A Trust lead reinstates a woman's existing release after she left Pause's view: on her latest
    decision, which must make her releasable (eligible or at risk, no re-review pending, no open
    restriction), while she is not recorded as having died. A withdrawal is undone too. The release
    row stays the one row for her; the reinstatement keeps the history, and is audited. Refused,
    with nothing written, unless she is then back in Pause's view."""
    membership = membership_in(by, released.programme_id)
    if membership is None or not role_has(membership.role, Perm.RELEASE_TO_PAUSE):
        raise DeliveryReleaseRefused("Only the programme's Trust leads reinstate a release.")
    if membership.programme.phase != Phase.DELIVERY:
        raise DeliveryReleaseRefused("Releases are reinstated only while the programme is in delivery.")
    with transaction.atomic():
        locked = ReleasedWoman.objects.select_for_update().select_related("woman").get(pk=released.pk)
        woman = locked.woman
        mine = ReleasedWoman.objects.filter(pk=locked.pk)
        if locked.withdrawn_at is None and trust_still_shares(mine, now=now).exists():
            raise DeliveryReleaseRefused("Pause still sees her: there is nothing to reinstate.")
        if woman.died_on is not None:
            raise DeliveryReleaseRefused("She is recorded as having died: her release cannot be reinstated.")
        if not can_be_released(woman):
            raise DeliveryReleaseRefused(f"Her release cannot be reinstated: {why_not_releasable(woman)}")
        decision = Decision.objects.filter(woman=woman).order_by("-pk").first()
        reinstatement = ReleaseReinstatement.objects.create(
            programme_id=locked.programme_id, released_woman=locked, decision=decision,
            previous_decision_id=locked.shared_on_decision_id, undid_withdrawal_at=locked.withdrawn_at,
            undid_withdrawal_by_id=locked.withdrawn_by_id, reinstated_by=by, reinstated_at=timezone.now())
        locked.shared_on_decision, locked.withdrawn_at, locked.withdrawn_by = decision, None, None
        locked.save(update_fields=["shared_on_decision", "withdrawn_at", "withdrawn_by"])
        if not trust_still_shares(mine, now=now).exists():
            raise DeliveryReleaseRefused("Her release cannot be reinstated yet: she is missing from the latest "
                                         "extract. Confirm that she stays shared first.")
        record_event(Event.CHANGE, actor=by, target=reinstatement, subject_ids=[woman.pk], subject_model=Woman,
                     programme=membership.programme, role=membership.role, action=0,
                     reason=f"released woman #{locked.pk}: release reinstated on eligibility decision #{decision.pk}"
                            + (" (undoing its withdrawal)" if reinstatement.undid_withdrawal_at else "")
                            + "; back in Pause's view")
    return reinstatement
