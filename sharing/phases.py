"""Phases and the scoping countdown (the term itself is `sharing.scoping_term`). Scoping lasts three calendar months from its start at most,
longer only by the extension recorded in the current (confirmed) data-sharing agreement. The
disclosure policy asks `scoping_is_open` on every request, so scoping data stops being served at
the deadline whether or not any worker runs.

Phase changes go forward only (scoping -> delivery -> closed, or scoping -> closed when the Trust
decides not to work with Pause after scoping, issue 21 point 6): a Trust lead proposes, the Caldicott
Guardian or a second Trust lead confirms (never the proposer, never the DPO). Any move out of
scoping, to delivery or straight to closed, runs the same scoping purge and leaves its certificate. Leaving scoping needs
an approved final report, or the proposer's recorded choice to end scoping with no final report
kept; both proposing and confirming check it against the report as it is then
(`sharing.leaving_scoping`). The people who may confirm are emailed when a change is proposed.
Closing (from either phase) then purges all the programme's case data and destroys its keys
(`sharing.closing`, ADR 39); both proposing and confirming it are refused while a blocker holds.
Reminders go at 30, 7 and 1 days before the deadline, once each (`send_scoping_reminder`, run
daily by Celery beat), and say whether a final report is approved and what the purge keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.queue import send_on_commit
from pause_portal.tenancy.models import MembershipStatus, Person, Phase, Programme
from pause_portal.tenancy.roles import Perm, Role, role_has
from pause_portal.tenancy.selectors import membership_in
from sharing import caldicott_log, lawful_bases
from sharing.closing import close_programme, closing_blockers
from sharing.leaving_scoping import NO_REPORT_CHOICE, leaving_scoping, report_state
from sharing.models_caldicott import Decision, DecisionKind
from sharing.models_scoping import (
    ChangeStatus,
    DeletionCertificate,
    PhaseChange,
    ScopingReminder,
)
from sharing.scoping_purge import end_scoping
from sharing.scoping_term import current_agreement, scoping_deadline


# --- the countdown shown on dashboards and the phase page ----------------------------------------
@dataclass(frozen=True)
class Countdown:
    deadline: datetime
    days_left: int  # calendar days (Europe/London) from today to the deadline's day; 0 on the day
    ended: bool


def scoping_countdown(programme: Programme | None, at: datetime | None = None) -> Countdown | None:
    """Days left before scoping ends, or None outside scoping."""
    deadline = scoping_deadline(programme) if programme is not None else None
    if deadline is None:
        return None
    now = at or timezone.now()
    return Countdown(deadline, (timezone.localdate(deadline) - timezone.localdate(now)).days, now >= deadline)


# --- reminders at 30, 7 and 1 days before the deadline ------------------------------------------
REMINDER_DAYS = (30, 7, 1)


def due_reminder(programme: Programme, at: datetime | None = None) -> int | None:
    """The reminder due now, if any: `t` is due from `t` days before the deadline until the next,
    tighter one is due (so a late first run sends the most urgent one, not a pile of stale ones).
    Whether it was already sent is the caller's question (ScopingReminder rows)."""
    deadline = scoping_deadline(programme)
    now = at or timezone.now()
    if deadline is None or now >= deadline:
        return None
    left = deadline - now
    for days, tighter in zip(REMINDER_DAYS, (*REMINDER_DAYS[1:], 0), strict=True):
        if timedelta(days=tighter) < left <= timedelta(days=days):
            return days
    return None


REMINDER_SUBJECT = "emails/scoping_reminder_subject.txt"
REMINDER_BODY = "emails/scoping_reminder_body.txt"


def reminder_email(programme: Programme, days: int, deadline: datetime) -> tuple[str, str]:
    """The reminder's subject and body: the programme, the date, whether a final report is approved
    and what the purge at the deadline keeps — as they are when it is sent."""
    leaving = leaving_scoping(programme)
    context = {"programme_name": programme.name, "days": days, "when": timezone.localtime(deadline),
               "leaving": leaving}
    return (" ".join(render_to_string(REMINDER_SUBJECT, context).split()),
            render_to_string(REMINDER_BODY, context))


def send_scoping_reminder(*, programme: Programme, at: datetime | None = None) -> int:
    """Email the programme's Trust leads and Pause lead once for the reminder due now; returns how
    many people were told (0 when none is due or it was already sent). The email says that scoping
    ends on a date, whether a final report is approved and what the purge will keep: no personal
    data, no link with an identifier."""
    days = due_reminder(programme, at)
    if days is None:
        return 0
    deadline = scoping_deadline(programme)
    with transaction.atomic():
        if ScopingReminder.objects.filter(programme=programme, deadline=deadline, days_before=days).exists():
            return 0
        try:
            with transaction.atomic():
                reminder = ScopingReminder.objects.create(programme=programme, deadline=deadline, days_before=days)
        except IntegrityError:
            return 0  # another run sent it a moment ago
        recipients = list(
            Person.objects.filter(
                is_active=True, memberships__programme=programme, memberships__status=MembershipStatus.ACTIVE,
                memberships__role__in=[Role.TRUST_LEAD, Role.PAUSE_LEAD],
            ).distinct().values_list("email", flat=True)
        )
        subject, body = reminder_email(programme, days, deadline)
        send_mass_mail([(subject, body, None, [email]) for email in recipients], fail_silently=False)
        record_event(Event.CHANGE, actor=None, target=reminder, programme=programme, action=0,
                     reason=f"scoping deadline reminder ({days} days before) sent to {len(recipients)} people")
    return len(recipients)


# --- phase changes: a Trust lead proposes, a second person confirms ------------------------------
NEXT_PHASE = {Phase.SCOPING: Phase.DELIVERY, Phase.DELIVERY: Phase.CLOSED}
# Where a programme may move from: scoping may also close at once (the Trust decides not to go on).
MOVES = {Phase.SCOPING: (Phase.DELIVERY, Phase.CLOSED), Phase.DELIVERY: (Phase.CLOSED,)}
MOVES_IN_WORDS = "a programme moves forward only: from scoping to delivery or to closed, from delivery to closed"


def open_phase_change(programme: Programme) -> PhaseChange | None:
    return PhaseChange.objects.filter(programme=programme, status=ChangeStatus.PROPOSED).first()


def _role_in(person: Person, programme: Programme) -> Role | None:
    membership = membership_in(person, programme.pk)
    return Role(membership.role) if membership else None


def may_decide_phase_change(change: PhaseChange, person: Person) -> bool:
    """The Caldicott Guardian or a second Trust lead of the programme: never the proposer, never
    the DPO (whose role does not hold the permission)."""
    role = _role_in(person, change.programme)
    return person.pk != change.proposed_by_id and role is not None and role_has(role, Perm.CONFIRM_PHASE_CHANGE)


def _check_leaving_scoping(programme: Programme, no_final_report_kept: bool) -> None:
    """Leaving scoping keeps the approved final report; with none approved, the proposer must say
    on the record that scoping ends with no final report kept. Choosing that while a report is
    approved would put something untrue on the record (the purge keeps the approved one)."""
    approved = report_state(programme).approved
    if not approved and not no_final_report_kept:
        raise ValidationError({"no_final_report_kept": (
            "No final report is approved, so ending scoping now keeps no report of it. Wait until a Trust "
            f"lead approves the final report, or choose \u201c{NO_REPORT_CHOICE}\u201d")})
    if approved and no_final_report_kept:
        raise ValidationError({"no_final_report_kept": (
            "A final report is approved, and ending scoping keeps it. Do not choose "
            f"\u201c{NO_REPORT_CHOICE}\u201d")})


def propose_phase_change(*, programme: Programme, by: Person, reason: str,
                         to_phase: Phase | str | None = None, no_final_report_kept: bool = False,
                         portal_url: str = "") -> PhaseChange:
    """A Trust lead proposes a move forward (`MOVES`: scoping -> delivery or closed, delivery ->
    closed; `to_phase` None means the next phase, `NEXT_PHASE`). Leaving
    scoping with no approved final report needs `no_final_report_kept`, the proposer's recorded
    choice. The people who may confirm it are emailed once the proposal is committed (`portal_url`:
    the phase page's address, the email's one link)."""
    role = _role_in(by, programme)
    if role is None or not role_has(role, Perm.PROPOSE_PHASE_CHANGE):
        raise PermissionDenied("Only a Trust lead of the programme proposes a phase change.")
    if not reason.strip():
        raise ValidationError({"reason": "Enter why the programme should move to the next phase"})
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme.pk)
        moves = MOVES.get(Phase(programme.phase), ())
        if not moves:
            raise ValidationError("The programme is closed: there is no next phase")
        following = NEXT_PHASE[Phase(programme.phase)] if to_phase in (None, "") else to_phase
        if following not in Phase.values or Phase(following) not in moves:
            raise ValidationError({"to_phase": f"Choose a phase it may move to: {MOVES_IN_WORDS}"})
        following = Phase(following)
        if programme.phase == Phase.SCOPING:
            _check_leaving_scoping(programme, no_final_report_kept)
        elif no_final_report_kept:
            raise ValidationError({"no_final_report_kept": "Only a move out of scoping ends scoping: "
                                                           "there is no final report to keep or leave"})
        if following == Phase.CLOSED:
            _check_closing(programme)
        agreement = current_agreement(programme)  # the bases the change relies on: the agreement's now
        cited = lawful_bases.normalised(agreement.lawful_bases) if agreement else {}
        try:
            with transaction.atomic():
                change = PhaseChange.objects.create(programme=programme, from_phase=programme.phase,
                                                    to_phase=following, reason=reason.strip(), proposed_by=by,
                                                    no_final_report_kept=no_final_report_kept, lawful_bases=cited)
        except IntegrityError as exc:
            raise ValidationError("A phase change is already waiting for confirmation: it is confirmed, "
                                  "rejected or withdrawn before another is proposed") from exc
        choice = f" ({NO_REPORT_CHOICE.lower()})" if no_final_report_kept else ""
        record_event(Event.CHANGE, actor=by, target=change, programme=programme, role=role, action=0,
                     reason=f"phase change {change.from_phase} -> {change.to_phase} proposed{choice}, under "
                            f"{lawful_bases.in_words(cited)}: {change.reason}")
        send_on_commit("sharing.tell_deciders_of_phase_change", change.pk, portal_url)
    return change


def _check_closing(programme: Programme) -> None:
    """Closing purges every case record of the programme: refused while a concern or a rights
    request is still open, or a concern awaits hand-over to the Trust (`sharing.closing`)."""
    blockers = closing_blockers(programme)
    if blockers:
        raise ValidationError(["The programme cannot close yet.", *blockers])


def _settle(change: PhaseChange, by: Person, status: ChangeStatus) -> tuple[PhaseChange, Programme]:
    """Lock the programme and the change and check the change still waits (callers check who)."""
    programme = Programme.objects.select_for_update().get(pk=change.programme_id)
    change = PhaseChange.objects.select_for_update().get(pk=change.pk)
    change.programme = programme
    if change.status != ChangeStatus.PROPOSED:
        raise ValidationError(f"This phase change is not waiting for a decision: it is "
                              f"{change.get_status_display().lower()}")
    change.status = status
    change.decided_by = by if status != ChangeStatus.WITHDRAWN else None
    change.decided_at = timezone.now()
    return change, programme


def _logged(change: PhaseChange, programme: Programme, by: Person, decision: Decision, justification: str) -> None:
    """The decision's row in the Caldicott log (ADR 45), whoever of the two kinds of decider made it."""
    caldicott_log.record(programme=programme, kind=DecisionKind.PHASE_CHANGE, subject=_in_words(change),
                         subject_pk=change.pk, decision=decision, justification=justification, by=by)


def _in_words(change: PhaseChange) -> str:
    return f"The move from {Phase(change.from_phase).label.lower()} to {Phase(change.to_phase).label.lower()}"


def confirm_phase_change(*, change: PhaseChange, by: Person, justification: str) -> PhaseChange:
    """The second person's confirmation, with their justification (the Caldicott log, ADR 45): the
    programme moves to the next phase, in the same transaction as the audit entry and the log row;
    leaving scoping ends it (purge, key destruction, certificate)."""
    justification = caldicott_log.justified(justification, decision=Decision.CONFIRM, what="the phase change")
    with transaction.atomic():
        change, programme = _settle(change, by, ChangeStatus.CONFIRMED)
        if not may_decide_phase_change(change, by):
            raise PermissionDenied("A phase change is confirmed by the Caldicott Guardian or a second Trust "
                                   "lead: never by the person who proposed it, never by the DPO.")
        if programme.phase != change.from_phase:
            raise ValidationError("The programme is no longer in the phase this change was proposed from")
        if programme.phase == Phase.SCOPING and leaving_scoping(programme, change).blocked:
            raise ValidationError("No final report is approved, and the proposer did not choose to end scoping "
                                  "with no final report kept: reject this change, or wait until a Trust lead "
                                  "approves the final report")
        if change.to_phase == Phase.CLOSED:
            _check_closing(programme)
        change.save(update_fields=["status", "decided_by", "decided_at"])
        if (programme.phase == Phase.SCOPING
                and not DeletionCertificate.objects.filter(programme=programme).exists()):
            end_scoping(programme, by=by, trigger=f"phase change #{change.pk}")
        programme.phase = change.to_phase
        programme.phase_started_at = change.decided_at
        programme.save(update_fields=["phase", "phase_started_at"])
        if programme.phase == Phase.CLOSED:  # closing purges the case data; no Pause view or caseload remains
            from sharing.caseloads import end_all

            close_programme(programme, by=by, trigger=f"phase change #{change.pk}")
            end_all(programme, by=by, why="programme closed")
        record_event(Event.CHANGE, actor=by, target=change, programme=programme,
                     role=_role_in(by, programme) or "", action=1,
                     reason=f"phase change {change.from_phase} -> {change.to_phase} confirmed")
        _logged(change, programme, by, Decision.CONFIRM, justification)
    return change


def reject_phase_change(*, change: PhaseChange, by: Person, justification: str) -> PhaseChange:
    """The second person's rejection, with their justification (logged, and in the audit entry): the
    programme stays where it is."""
    justification = caldicott_log.justified(justification, decision=Decision.REJECT, what="the phase change")
    with transaction.atomic():
        change, programme = _settle(change, by, ChangeStatus.REJECTED)
        if not may_decide_phase_change(change, by):
            raise PermissionDenied("A phase change is rejected by the Caldicott Guardian or a second Trust "
                                   "lead: never by the person who proposed it, never by the DPO.")
        change.save(update_fields=["status", "decided_by", "decided_at"])
        record_event(Event.CHANGE, actor=by, target=change, programme=programme,
                     role=_role_in(by, programme) or "", action=1,
                     reason=f"phase change {change.from_phase} -> {change.to_phase} rejected: {justification}")
        _logged(change, programme, by, Decision.REJECT, justification)
    return change


def withdraw_phase_change(*, change: PhaseChange, by: Person) -> PhaseChange:
    """Its proposer takes a waiting phase change back."""
    with transaction.atomic():
        change, programme = _settle(change, by, ChangeStatus.WITHDRAWN)
        role = _role_in(by, programme)
        if by.pk != change.proposed_by_id or not role_has(role, Perm.PROPOSE_PHASE_CHANGE):
            raise PermissionDenied("Only the Trust lead who proposed a phase change can withdraw it.")
        change.save(update_fields=["status", "decided_at"])
        record_event(Event.CHANGE, actor=by, target=change, programme=programme, role=role, action=1,
                     reason=f"phase change {change.from_phase} -> {change.to_phase} withdrawn")
    return change
