"""Contact and participation (issue 7, point 3): a practitioner records each attempt to reach a
woman in their caseload, and what came of it.

The attempt moves her participation on: agreeing starts it (and clears an earlier decline), a
decline or withdrawal ends it and dates the end (the disclosure policy takes her out of Pause's
view 30 days later unless a safeguarding concern about her is open), not reaching her changes
nothing once she has answered. The first time she is reached the practitioner must say which
privacy notices she was given (issue 21, point 5): the Trust's, Pause's own Art. 14 notice, both
or neither; the attempt records the versions in force that day (`ContactAttempt.trust_notice_given`,
`pause_notice_given`). Until she has had one, the portal keeps asking. After a decline or
withdrawal the portal stops prompting contact, and a do-not-approach marker is left
(`sharing.do_not_approach`) that outlives her release. Refusals change nothing and say why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal import presenting
from pause_portal.tenancy.models import Person
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.fields import Protector
from sharing.delivery_access import visible_released_women
from sharing.do_not_approach import mark
from sharing.models_delivery import (
    ENDED_PARTICIPATION,
    ContactAttempt,
    ContactMethod,
    Participation,
    ReleasedWoman,
)
from sharing.models_notices import Controller, PrivacyNotice
from sharing.privacy_notices import notice_in_force

NOTE_MAX = 2000
OUTCOMES = (Participation.AGREED, Participation.DECLINED, Participation.NOT_REACHED, Participation.WITHDREW)
REACHED = (Participation.AGREED, Participation.DECLINED, Participation.WITHDREW)


def _practitioner_membership(released: ReleasedWoman, by: Person):
    """The membership under which `by` may record contact with her: a practitioner of her
    programme with her in their caseload, now. Anyone else is refused."""
    membership = membership_in(by, released.programme_id)
    if membership is None or not role_has(membership.role, Perm.RECORD_CONTACT):
        raise PermissionDenied("Only her practitioner records contact with her.")
    if not visible_released_women(by, membership).filter(pk=released.pk).exists():
        raise PermissionDenied("Only her practitioner records contact with her.")
    return membership


def next_participation(current: str, outcome: str) -> str:
    """Her participation after an attempt with this outcome (the caller has checked the outcome
    makes sense now)."""
    if outcome == Participation.NOT_REACHED:
        return Participation.NOT_REACHED if current in (Participation.NOT_CONTACTED, Participation.NOT_REACHED) \
            else current
    return outcome


def notices_in_force(programme_id: int) -> dict[str, PrivacyNotice]:
    """controller -> the version of its notice in force now (the latest confirmed), for those that have one."""
    notices = {controller.value: notice_in_force(programme_id, controller) for controller in Controller}
    return {controller: notice for controller, notice in notices.items() if notice is not None}


def _notice_problem(notices_given, in_force: dict[str, PrivacyNotice]) -> str | None:
    for controller in notices_given:
        if controller not in Controller.values:
            return "Choose the privacy notices she was given from the list"
        if controller not in in_force:
            return f"No version of {Controller(controller).label} is in force, so she cannot have been given it"
    return None


def _problems(released: ReleasedWoman, *, contacted_on, method, outcome, privacy_information_given, note,
              today: date, notice_problem: str | None = None) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not isinstance(contacted_on, date):
        problems["contacted_on"] = "Enter the date of contact"
    elif contacted_on > today:
        problems["contacted_on"] = "The date of contact must be today or in the past"
    elif contacted_on < timezone.localdate(released.released_at):
        problems["contacted_on"] = (f"The date of contact must be on or after the day she was released to Pause, "
                                    f"{presenting.day(released.released_at)}")
    if method not in ContactMethod.values:
        problems["method"] = "Choose how you tried to contact her"
    if outcome not in OUTCOMES:
        problems["outcome"] = "Choose what came of the attempt"
    elif outcome == Participation.WITHDREW and released.participation != Participation.AGREED:
        problems["outcome"] = "She has not agreed to take part, so she cannot withdraw: choose 'Declined'"
    elif outcome == Participation.DECLINED and released.participation == Participation.AGREED:
        problems["outcome"] = "She had agreed to take part: if she no longer wants to, choose 'Withdrew'"
    if outcome in REACHED and released.privacy_information_given_at is None and privacy_information_given is None:
        problems["privacy_information_given"] = "Say which privacy notices she was given, or Neither"
    elif outcome == Participation.NOT_REACHED and privacy_information_given:
        problems["privacy_information_given"] = (
            "She was not reached, so she cannot have been given the privacy information: choose Neither")
    elif notice_problem:
        problems["privacy_information_given"] = notice_problem
    if len(note or "") > NOTE_MAX:
        problems["note"] = f"The note must be {NOTE_MAX} characters or fewer"
    return problems


def record_contact(released: ReleasedWoman, *, by: Person, contacted_on: date | None, method: str, outcome: str,
                   privacy_information_given: bool | None = None, notices_given=None,
                   note: str = "") -> ContactAttempt:
    """Record one attempt to reach her and move her participation on. `notices_given` names the
    privacy notices she was given ("trust", "pause"; empty: neither; None: not answered); the
    attempt records the version of each in force now. `privacy_information_given=True` without
    `notices_given` means every notice in force. Raises PermissionDenied unless `by` is her
    practitioner now, and ValidationError (field -> message) for bad input; either way nothing is
    written."""
    membership = _practitioner_membership(released, by)
    note = (note or "").strip()
    now = timezone.now()
    with transaction.atomic():
        released = ReleasedWoman.objects.select_for_update().get(pk=released.pk)
        in_force = notices_in_force(released.programme_id)
        if notices_given is None:
            notices_given = list(in_force) if privacy_information_given else []
        else:
            notices_given = list(dict.fromkeys(notices_given))
            privacy_information_given = bool(notices_given)
        problems = _problems(released, contacted_on=contacted_on, method=method, outcome=outcome,
                             privacy_information_given=privacy_information_given, note=note,
                             today=timezone.localdate(now),
                             notice_problem=_notice_problem(notices_given, in_force))
        if problems:
            raise ValidationError(problems)
        before = released.participation
        after = next_participation(before, outcome)
        attempt = ContactAttempt(programme_id=released.programme_id, released_woman=released, recorded_by=by,
                                 recorded_at=now, contacted_on=contacted_on, method=method, outcome=outcome,
                                 privacy_information_given=bool(privacy_information_given),
                                 trust_notice_given=in_force.get("trust") if "trust" in notices_given else None,
                                 pause_notice_given=in_force.get("pause") if "pause" in notices_given else None)
        if note:
            attempt.protect(Protector.load(released.programme_id, ContactAttempt.key_phase), note=note)
        attempt.save()
        changed = ["participation", "participation_ended_at"]
        released.participation = after
        if after in ENDED_PARTICIPATION:
            # A second decline does not restart the 30 days: the first end stands.
            released.participation_ended_at = released.participation_ended_at if before in ENDED_PARTICIPATION \
                else now
        else:
            released.participation_ended_at = None
        # Each new end of her participation leaves a do-not-approach marker (issue 22, point 5).
        marker = mark(released, kind=after, ended_at=now) \
            if after in ENDED_PARTICIPATION and before not in ENDED_PARTICIPATION else None
        privacy_now = bool(privacy_information_given) and released.privacy_information_given_at is None
        if privacy_now:
            released.privacy_information_given_at = now
            changed.append("privacy_information_given_at")
        released.save(update_fields=changed)
        record_event(
            Event.CHANGE, actor=by, target=attempt, subjects=[released], programme=membership.programme,
            role=membership.role, action=0,
            reason=f"contact attempt #{attempt.pk} recorded ({method}, outcome {outcome}); participation "
                   f"{before} -> {after}" + ("; privacy information given" if privacy_now else "")
                   + "".join(f"; given {n.label}" for n in (attempt.trust_notice_given, attempt.pause_notice_given)
                             if n is not None)
                   + (f"; do-not-approach marker #{marker.pk} until {marker.until.date().isoformat()} "
                      f"({marker.period})" if marker else ""),
        )
    return attempt


@dataclass(frozen=True)
class Prompts:
    """What the portal asks of her practitioner now."""

    contact: bool  # not yet reached: try to contact her
    privacy_information: bool  # reached, but not yet given the privacy information


def prompts_for(released: ReleasedWoman) -> Prompts:
    """After a decline or withdrawal the portal prompts nothing."""
    if released.participation in ENDED_PARTICIPATION:
        return Prompts(contact=False, privacy_information=False)
    return Prompts(
        contact=released.participation in (Participation.NOT_CONTACTED, Participation.NOT_REACHED),
        privacy_information=(released.participation == Participation.AGREED
                             and released.privacy_information_given_at is None),
    )


def privacy_question_required(released: ReleasedWoman) -> bool:
    """Whether the contact form must ask about the privacy information (until she has had it)."""
    return released.privacy_information_given_at is None
