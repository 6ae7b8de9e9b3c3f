"""Caseloads (issue 7, point 2): the Pause lead assigns released women to practitioners.

The permission is a django-guardian object permission (`sharing.work_with_woman` on the
`ReleasedWoman`, a direct foreign-key table); `CaseloadAssignment` keeps its history. A woman has
at most one practitioner at a time: reassigning removes the previous practitioner's permission in
the same transaction, so their access ends at once. Closing a programme ends every assignment;
revoking a practitioner's role or deactivating her ends hers and hands the women to the Pause lead
(`sharing.handover`). Each ended assignment records why (`CaseloadAssignment.end_reason`).

One gate (issue 19, point 6): `_open` and `_close` below are the only writes of the permission and
of its history, each writing both in one transaction, so the people with the permission are always
exactly those with an open assignment. Readers ask `delivery_access.visible_released_women` (the
guardian permission), never the history. `tests/sharing/delivery/test_caseload_gate.py` checks
both, and that no other module writes either.

The Pause lead also orders the target group: a woman's place in it, always with a reason (stored
encrypted: it may say something about her).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from guardian.shortcuts import assign_perm

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.refused import Refused
from pause_portal.tenancy.models import Person, Programme
from pause_portal.tenancy.roles import Perm, Role, role_has
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.fields import Protector
from sharing.delivery_access import PERMISSION, in_pause_view
from sharing.models_delivery import (
    CaseloadAssignment,
    CaseloadEndReason,
    CaseloadUserObjectPermission,
    ReleasedWoman,
)

TARGET_REASON_MAX = 1000


class CaseloadRefused(Refused):
    """A caseload change that cannot go ahead; nothing was written."""


def _lead(programme_id: int, by: Person):
    membership = membership_in(by, programme_id)
    if membership is None or not role_has(membership.role, Perm.ASSIGN_CASELOAD):
        raise CaseloadRefused("Only the programme's Pause lead assigns caseloads.")
    return membership


# --- the one pair of writes: the guardian permission and its history, always together -------------
def _open(released: ReleasedWoman, practitioner: Person, *, by: Person, now) -> CaseloadAssignment:
    """Put her in this practitioner's caseload: the permission (what every reader asks) and the open
    history row, in one transaction. Already theirs: the open row stays, and nothing new is written
    (the permission is made sure of)."""
    with transaction.atomic():
        assign_perm(PERMISSION, practitioner, released)
        current = CaseloadAssignment.objects.filter(released_woman=released, practitioner=practitioner,
                                                    ended_at__isnull=True).first()
        if current is not None:
            return current
        return CaseloadAssignment.objects.create(programme_id=released.programme_id, released_woman=released,
                                                 practitioner=practitioner, assigned_by=by, assigned_at=now)


def _close(*, programme_id: int, by: Person | None, now, reason: CaseloadEndReason,
           released: ReleasedWoman | None = None,
           practitioner: Person | None = None) -> tuple[list[CaseloadAssignment], int]:
    """Take caseloads away in one scope — one woman, one practitioner, or the whole programme: end
    the open history rows, with why, and remove the permissions, in one transaction. Returns the
    assignments ended and how many permission rows were removed."""
    rows, perms = {"programme_id": programme_id}, {"content_object__programme_id": programme_id}
    if released is not None:
        rows["released_woman"], perms["content_object"] = released, released
    if practitioner is not None:
        rows["practitioner"], perms["user"] = practitioner, practitioner
    with transaction.atomic():
        ended = list(CaseloadAssignment.objects.select_for_update().filter(ended_at__isnull=True, **rows))
        if ended:
            CaseloadAssignment.objects.filter(pk__in=[a.pk for a in ended]).update(ended_at=now, ended_by=by,
                                                                                  end_reason=reason)
        for assignment in ended:
            assignment.ended_at, assignment.ended_by, assignment.end_reason = now, by, reason
        removed, _ = CaseloadUserObjectPermission.objects.filter(**perms).delete()
    return ended, removed


def _end_current(released: ReleasedWoman, *, by: Person | None, now,
                 reason: CaseloadEndReason) -> CaseloadAssignment | None:
    ended, _ = _close(programme_id=released.programme_id, released=released, by=by, now=now, reason=reason)
    return ended[0] if ended else None


# --- the actions --------------------------------------------------------------------------------
def assign(released: ReleasedWoman, practitioner: Person, *, by: Person) -> CaseloadAssignment:
    """Put the woman in this practitioner's caseload (out of anyone else's, at once)."""
    membership = _lead(released.programme_id, by)
    target = membership_in(practitioner, released.programme_id)
    if target is None or Role(target.role) != Role.PAUSE_PRACTITIONER:
        raise CaseloadRefused("Choose a practitioner of this programme.")
    if not in_pause_view(ReleasedWoman.objects.filter(pk=released.pk)).exists():
        raise CaseloadRefused("She is not in Pause's view, so she cannot be assigned.")
    now = timezone.now()
    with transaction.atomic():
        current = CaseloadAssignment.objects.select_for_update().filter(released_woman=released,
                                                                        ended_at__isnull=True).first()
        if current is not None and current.practitioner_id == practitioner.pk:
            return _open(released, practitioner, by=by, now=now)  # already theirs: nothing changes
        previous = _end_current(released, by=by, now=now, reason=CaseloadEndReason.REASSIGNED)
        assignment = _open(released, practitioner, by=by, now=now)
        moved = f", moved from person #{previous.practitioner_id}" if previous else ""
        record_event(Event.CHANGE, actor=by, target=assignment, subjects=[released], programme=membership.programme,
                     role=membership.role, action=0,
                     reason=f"caseload: assigned to person #{practitioner.pk}{moved}")
    return assignment


def unassign(released: ReleasedWoman, *, by: Person) -> CaseloadAssignment | None:
    """Take the woman out of her practitioner's caseload (nobody's, until assigned again)."""
    membership = _lead(released.programme_id, by)
    with transaction.atomic():
        ended = _end_current(released, by=by, now=timezone.now(), reason=CaseloadEndReason.UNASSIGNED)
        if ended is not None:
            record_event(Event.CHANGE, actor=by, target=ended, subjects=[released], programme=membership.programme,
                         role=membership.role, action=1,
                         reason=f"caseload: taken out of person #{ended.practitioner_id}'s caseload")
    return ended


def end_for(released: ReleasedWoman, *, by: Person, why: str) -> CaseloadAssignment | None:
    """End her current assignment whoever asks (the Trust withdrawing her release): the caller
    has checked who may. Audited; returns the assignment ended, if any."""
    with transaction.atomic():
        ended = _end_current(released, by=by, now=timezone.now(), reason=CaseloadEndReason.TRUST_ENDED)
        if ended is not None:
            record_event(Event.CHANGE, actor=by, target=ended, subjects=[released],
                         programme=released.programme, action=1,
                         reason=f"caseload: taken out of person #{ended.practitioner_id}'s caseload ({why})")
    return ended


def end_for_practitioner(practitioner: Person, programme: Programme, *, by: Person, now,
                         reason: CaseloadEndReason = CaseloadEndReason.ROLE_REVOKED
                         ) -> tuple[int, int, list[ReleasedWoman]]:
    """End this person's caseload in the programme — every open assignment and every caseload
    permission they hold there — when their role is revoked or they leave. The caller has checked
    who may and writes the audit entries (`sharing.handover.hand_over`). Returns (assignments
    ended, permissions removed, the women concerned, in id order)."""
    with transaction.atomic():
        held = set(CaseloadUserObjectPermission.objects.filter(user=practitioner, content_object__programme=programme)
                   .values_list("content_object_id", flat=True))
        ended, removed = _close(programme_id=programme.pk, practitioner=practitioner, by=by, now=now, reason=reason)
        ids = held | {a.released_woman_id for a in ended}
        women = list(ReleasedWoman.objects.filter(pk__in=ids).order_by("pk"))
    return len(ended), removed, women


def set_target_position(released: ReleasedWoman, *, position: int | None, reason: str,
                        by: Person) -> ReleasedWoman:
    """Place the woman at `position` in the target group (1 is first; None takes her out of it),
    with the reason, kept encrypted. Anyone already at that place, and everyone after them, moves
    down one place, so no two women share a place."""
    membership = _lead(released.programme_id, by)
    reason = (reason or "").strip()
    if not reason:
        raise CaseloadRefused("Enter the reason for her place in the target group.")
    if len(reason) > TARGET_REASON_MAX:
        raise CaseloadRefused(f"The reason must be {TARGET_REASON_MAX} characters or fewer.")
    if position is not None and position < 1:
        raise CaseloadRefused("Enter a place in the target group of 1 or more.")
    with transaction.atomic():
        locked = in_pause_view(ReleasedWoman.objects.filter(pk=released.pk)).select_for_update(of=("self",)).first()
        if locked is None:
            raise CaseloadRefused("She is not in Pause's view, so she cannot be placed in the target group.")
        moved = 0
        if position is not None:
            others = ReleasedWoman.objects.filter(programme_id=locked.programme_id).exclude(pk=locked.pk)
            if others.filter(target_position=position).exists():
                moved = others.filter(target_position__gte=position).update(target_position=F("target_position") + 1)
        locked.target_position = position
        locked.protect(Protector.load(locked.programme_id, ReleasedWoman.key_phase), target_reason=reason)
        locked.save(update_fields=["target_position", "target_reason"])
        placed = f"placed at {position}" if position is not None else "taken out of the target group"
        record_event(Event.CHANGE, actor=by, target=locked, subjects=[locked], programme=membership.programme,
                     role=membership.role, action=1,
                     reason=f"target group: released woman #{locked.pk} {placed}"
                            + (f"; {moved} moved down one place" if moved else ""))
    return locked


def end_all(programme: Programme, *, by: Person | None, why: str) -> int:
    """End every caseload assignment and object permission of the programme (closing it). Returns
    how many assignments ended."""
    with transaction.atomic():
        ended, removed = _close(programme_id=programme.pk, by=by, now=timezone.now(),
                                reason=CaseloadEndReason.PROGRAMME_CLOSED)
        if ended or removed:
            record_event(Event.CHANGE, actor=by, target=programme, programme=programme, action=2,
                         reason=f"caseloads ended ({why}): {len(ended)} assignments, {removed} permissions removed")
    return len(ended)
