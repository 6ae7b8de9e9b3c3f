"""The privacy notices, versioned (issue 21, point 5; ADR 30).

Each programme holds two notices, each as numbered versions (`PrivacyNotice`): the Trust's, which
its Trust lead publishes and its Caldicott Guardian confirms, and Pause's own Art. 14 notice, which
a Pause lead publishes and a second person confirms: another Pause lead, or the Trust's Caldicott
Guardian (ADR 30 says why). Never the publisher, never the DPO. One version of each notice waits at
a time; a confirmed version is never changed, the next one replaces it; the version in force is
the latest confirmed one. Every step is in the audit trail.

The Trust's version in force says how long scoping may last: `scoping_months` (3 by default, never
more) and `scoping_extension_days`, the longest extension it tells women about. The agreement's
extension counts only up to that (`sharing.scoping_term`), and an agreement that asks for more is
refused (`sharing.agreements.propose_agreement`).

What the notices were given to whom: each contact attempt records the versions she was given
(`sharing.contact`), each delivery release the Trust's version in force (`sharing.delivery_release`).
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.tenancy.models import Person, Programme
from pause_portal.tenancy.roles import Perm, Role, role_has
from pause_portal.tenancy.selectors import membership_in
from sharing import caldicott_log
from sharing.agreements import MAX_EXTENSION_DAYS
from sharing.models_caldicott import Decision, DecisionKind
from sharing.models_notices import Controller, PrivacyNotice
from sharing.models_scoping import ChangeStatus
from sharing.scoping_term import SCOPING_MONTHS  # the notice's default, and the most it may say

TEXT_MAX = 50_000

# Who publishes each notice, and who may confirm it (besides holding CONFIRM_PRIVACY_NOTICE).
PUBLISHER = {Controller.TRUST: Role.TRUST_LEAD, Controller.PAUSE: Role.PAUSE_LEAD}
CONFIRMERS = {Controller.TRUST: frozenset({Role.CALDICOTT_GUARDIAN}),
              Controller.PAUSE: frozenset({Role.PAUSE_LEAD, Role.CALDICOTT_GUARDIAN})}
CONFIRMERS_IN_WORDS = {Controller.TRUST: "the programme's Caldicott Guardian",
                       Controller.PAUSE: "another Pause lead or the Trust's Caldicott Guardian"}


def _role_in(person: Person, programme: Programme) -> Role | None:
    membership = membership_in(person, programme.pk)
    return Role(membership.role) if membership else None


def notice_in_force(programme: Programme | int, controller: Controller | str,
                    at: datetime | None = None) -> PrivacyNotice | None:
    """The latest confirmed version of the notice (confirmed by `at`, if given), or None."""
    versions = PrivacyNotice.objects.filter(programme=programme, controller=controller, status=ChangeStatus.CONFIRMED)
    if at is not None:
        versions = versions.filter(decided_at__lte=at)
    return versions.order_by("-version").first()


def waiting_notice(programme: Programme, controller: Controller | str) -> PrivacyNotice | None:
    return PrivacyNotice.objects.filter(programme=programme, controller=controller,
                                        status=ChangeStatus.PROPOSED).first()


def publishable_by(person: Person, programme: Programme) -> Controller | None:
    """The notice `person` publishes in the programme: the Trust's for a Trust lead, Pause's for a
    Pause lead; None for anyone else."""
    role = _role_in(person, programme)
    if not role_has(role, Perm.PUBLISH_PRIVACY_NOTICE):
        return None
    return next((c for c, r in PUBLISHER.items() if r == role), None)


def _check(controller: Controller, text: str, scoping_months, scoping_extension_days) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not text.strip():
        problems["text"] = "Enter the text of the privacy notice"
    elif len(text) > TEXT_MAX:
        problems["text"] = f"The privacy notice must be {TEXT_MAX} characters or fewer"
    if controller == Controller.PAUSE:
        if (scoping_months, scoping_extension_days) != (SCOPING_MONTHS, 0):
            problems["scoping_months"] = "The scoping term is set by the Trust's privacy notice, not by Pause's"
        return problems
    if not isinstance(scoping_months, int) or not 1 <= scoping_months <= SCOPING_MONTHS:
        problems["scoping_months"] = f"Scoping lasts between 1 and {SCOPING_MONTHS} months"
    if not isinstance(scoping_extension_days, int) or scoping_extension_days < 0:
        problems["scoping_extension_days"] = "The extension must be a whole number of days, like 14, or 0"
    elif scoping_extension_days > MAX_EXTENSION_DAYS:
        problems["scoping_extension_days"] = f"The extension must be {MAX_EXTENSION_DAYS} days or fewer"
    return problems


def publish_notice(*, programme: Programme, by: Person, text: str, change_reason: str = "",
                   scoping_months: int = SCOPING_MONTHS, scoping_extension_days: int = 0) -> PrivacyNotice:
    """A lead publishes the next version of their organisation's notice; it is in force once a
    second person confirms it. Refused, with nothing written, for anyone else or bad input."""
    controller = publishable_by(by, programme)
    if controller is None:
        raise PermissionDenied("A privacy notice is published by a Trust lead (the Trust's) or a Pause lead "
                               "(Pause's) of the programme.")
    problems = _check(controller, text, scoping_months, scoping_extension_days)
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        Programme.objects.select_for_update().get(pk=programme.pk)  # one publisher at a time
        if waiting_notice(programme, controller) is not None:
            raise ValidationError(f"A version of {Controller(controller).label} is already waiting for "
                                  "confirmation: it is confirmed, rejected or withdrawn before another is published")
        number = (PrivacyNotice.objects.filter(programme=programme, controller=controller)
                  .aggregate(n=Max("version"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                notice = PrivacyNotice.objects.create(
                    programme=programme, controller=controller, version=number, text=text.strip(),
                    scoping_months=scoping_months, scoping_extension_days=scoping_extension_days,
                    change_reason=change_reason.strip(), proposed_by=by)
        except IntegrityError as exc:
            raise ValidationError("Someone else published a version at the same moment: try again") from exc
        record_event(Event.CHANGE, actor=by, target=notice, programme=programme, role=PUBLISHER[controller],
                     action=0, reason=f"{notice.label} published, waiting for "
                                      f"{CONFIRMERS_IN_WORDS[controller]}")
    return notice


def may_decide(notice: PrivacyNotice, person: Person) -> bool:
    role = _role_in(person, notice.programme)
    return (person.pk != notice.proposed_by_id and role in CONFIRMERS[Controller(notice.controller)]
            and role_has(role, Perm.CONFIRM_PRIVACY_NOTICE))


def _decide(notice: PrivacyNotice, by: Person, status: ChangeStatus, justification: str) -> PrivacyNotice:
    decision = Decision.CONFIRM if status == ChangeStatus.CONFIRMED else Decision.REJECT
    justification = caldicott_log.justified(justification, decision=decision,
                                            what=notice.label[0].lower() + notice.label[1:])
    with transaction.atomic():
        notice = PrivacyNotice.objects.select_for_update().select_related("programme").get(pk=notice.pk)
        if notice.status != ChangeStatus.PROPOSED:
            raise ValidationError(f"{notice.label} is not waiting for a decision: it is "
                                  f"{notice.get_status_display().lower()}")
        if not may_decide(notice, by):
            raise PermissionDenied(f"{notice.label} is confirmed or rejected by "
                                   f"{CONFIRMERS_IN_WORDS[Controller(notice.controller)]}: never by the person who "
                                   "published it.")
        notice.status, notice.decided_by, notice.decided_at = status, by, timezone.now()
        notice.decision_reason = justification
        notice.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
        record_event(Event.CHANGE, actor=by, target=notice, programme=notice.programme,
                     role=_role_in(by, notice.programme) or "", action=1,
                     reason=f"{notice.label} {status.label.lower()}"
                            + (f": {justification}" if decision == Decision.REJECT else ""))
        caldicott_log.record(programme=notice.programme, kind=DecisionKind.PRIVACY_NOTICE, subject=notice.label,
                             subject_pk=notice.pk, decision=decision, justification=justification, by=by)
    return notice


def confirm_notice(*, notice: PrivacyNotice, by: Person, justification: str) -> PrivacyNotice:
    """The second person's confirmation, with their justification (the Caldicott log, ADR 45): the
    version is in force from now."""
    return _decide(notice, by, ChangeStatus.CONFIRMED, justification)


def reject_notice(*, notice: PrivacyNotice, by: Person, justification: str) -> PrivacyNotice:
    """The second person's rejection, with their justification (logged, and kept as the version's
    decision reason)."""
    return _decide(notice, by, ChangeStatus.REJECTED, justification)


def withdraw_notice(*, notice: PrivacyNotice, by: Person) -> PrivacyNotice:
    """Its publisher takes a waiting version back."""
    with transaction.atomic():
        notice = PrivacyNotice.objects.select_for_update().select_related("programme").get(pk=notice.pk)
        if notice.status != ChangeStatus.PROPOSED:
            raise ValidationError(f"{notice.label} is not waiting for a decision")
        if by.pk != notice.proposed_by_id:
            raise PermissionDenied("Only the person who published a version can withdraw it.")
        notice.status = ChangeStatus.WITHDRAWN
        notice.save(update_fields=["status"])
        record_event(Event.CHANGE, actor=by, target=notice, programme=notice.programme,
                     role=_role_in(by, notice.programme) or "", action=1, reason=f"{notice.label} withdrawn")
    return notice
