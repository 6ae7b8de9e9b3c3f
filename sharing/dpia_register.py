"""The DPIA register (issue 23, point 2; ADR 48): the risks of the programme's DPIA and its reviews.

A Trust lead or the DPO adds and edits risks and records reviews (`Perm.KEEP_DPIA_REGISTER`); the
Caldicott Guardian reads them too (`Perm.VIEW_DPIA_REGISTER`). Each risk's overall risk is
computed from the ICO's matrix (`sharing.models_dpia.MATRIX`), never entered. Every change is one
transaction with its audit entry; bad input is refused (`DpiaRefused`) with nothing written.

The latest review's next review date gates releases (`release_blocker`, read by
`sharing.release_checks`): none recorded, or the date has passed, and nothing is released until a
review is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal import presenting
from pause_portal.refused import Refused
from pause_portal.tenancy.models import Membership, MembershipStatus, Person, Phase, Programme
from pause_portal.tenancy.roles import Perm, role_has, roles_with
from pause_portal.tenancy.selectors import membership_in
from sharing.models_dpia import (
    DESCRIPTION_MAX,
    LEVEL_ORDER,
    MITIGATIONS_MAX,
    REVIEW_NOTES_MAX,
    DpiaReview,
    DpiaRisk,
    Likelihood,
    RiskLevel,
    RiskStatus,
    Severity,
    overall_risk,
)

# The next review is due within a year of this one: a DPIA is kept under review, not filed.
LONGEST_BETWEEN_REVIEWS = timedelta(days=366)
RISK_FIELDS = ("description", "likelihood", "severity", "mitigations", "residual_risk", "owner", "status")


class DpiaRefused(Refused):
    """A change to the DPIA register that cannot be made; nothing was written. `problems` says why."""


# --- reading ----------------------------------------------------------------------------------
def risks_of(programme: Programme):
    return DpiaRisk.objects.filter(programme=programme).select_related("owner").order_by("pk")


def latest_review(programme: Programme) -> DpiaReview | None:
    return (DpiaReview.objects.filter(programme=programme).select_related("reviewed_by")
            .order_by("-recorded_at", "-pk").first())


def open_high_risks(programme: Programme) -> int:
    """Risks still open whose overall risk is high."""
    return DpiaRisk.objects.filter(programme=programme, status=RiskStatus.OPEN, overall_risk=RiskLevel.HIGH).count()


def possible_owners(programme: Programme) -> list[Membership]:
    """The programme's active members, who may own a risk: shown as name and role."""
    return list(Membership.objects.filter(programme=programme, status=MembershipStatus.ACTIVE, person__is_active=True)
                .select_related("person").order_by("person__full_name", "role"))


def owner_label(membership: Membership) -> str:
    return f"{membership.person.full_name}, {membership.get_role_display()}"


def owners_shown(programme: Programme, risks) -> dict[int, str]:
    """Each risk owner's name and role in the programme (their role now, or that they left)."""
    roles = {m.person_id: m.get_role_display() for m in possible_owners(programme)}
    return {r.owner_id: f"{r.owner.full_name}, {roles.get(r.owner_id, 'no longer in the programme')}" for r in risks}


def editors(programme: Programme) -> list[int]:
    """Who keeps the register (and is reminded of its review): the programme's active members
    whose role holds `KEEP_DPIA_REGISTER` (its Trust leads and its DPO)."""
    return list(Membership.objects.filter(programme=programme, status=MembershipStatus.ACTIVE,
                                          role__in=[str(r) for r in roles_with(Perm.KEEP_DPIA_REGISTER)],
                                          person__is_active=True)
                .order_by("person_id").values_list("person_id", flat=True))


# --- the release gate --------------------------------------------------------------------------
NO_REVIEW = ("No review of the DPIA is recorded: a Trust lead or the DPO records one, with the next review date, "
             "before releasing")


def review_passed(next_review_on: date) -> str:
    return (f"The DPIA's review date has passed (on {presenting.day(next_review_on)}): record a review before "
            "releasing")


def release_blocker(programme: Programme, *, today: date | None = None) -> str | None:
    """Why the DPIA stops a release now, or None: no review recorded, or its next review date has
    passed (the date itself still counts as in time)."""
    review = latest_review(programme)
    if review is None:
        return NO_REVIEW
    if (today or timezone.localdate()) > review.next_review_on:
        return review_passed(review.next_review_on)
    return None


# --- checking ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RiskValues:
    description: str
    likelihood: str
    severity: str
    mitigations: str
    residual_risk: str
    owner: Person | None
    status: str


def _editor_role(person: Person, programme: Programme):
    membership = membership_in(person, programme.pk)
    if membership is None or not role_has(membership.role, Perm.KEEP_DPIA_REGISTER):
        raise DpiaRefused("Only the programme's Trust leads and DPO keep the DPIA register.")
    return membership.role


def risk_problems(programme: Programme, values: RiskValues) -> dict[str, str]:
    """What is wrong with a risk's values, by field (empty when nothing is)."""
    problems = {}
    if not values.description.strip():
        problems["description"] = "Describe the risk to people"
    elif len(values.description) > DESCRIPTION_MAX:
        problems["description"] = f"The description must be {DESCRIPTION_MAX} characters or fewer"
    if values.likelihood not in Likelihood.values:
        problems["likelihood"] = "Select how likely the harm is: remote, possible or probable"
    if values.severity not in Severity.values:
        problems["severity"] = "Select how severe the harm would be: minimal, significant or severe"
    if len(values.mitigations) > MITIGATIONS_MAX:
        problems["mitigations"] = f"The mitigations must be {MITIGATIONS_MAX} characters or fewer"
    if values.residual_risk not in RiskLevel.values:
        problems["residual_risk"] = "Select the risk that remains after the mitigations: low, medium or high"
    elif "likelihood" not in problems and "severity" not in problems:
        overall = overall_risk(values.likelihood, values.severity)
        if LEVEL_ORDER[RiskLevel(values.residual_risk)] > LEVEL_ORDER[RiskLevel(overall)]:
            problems["residual_risk"] = (f"The risk that remains cannot be higher than the overall risk "
                                         f"({RiskLevel(overall).label.lower()}): mitigations do not raise a risk")
        elif values.residual_risk != overall and not values.mitigations.strip():
            problems["mitigations"] = "Enter the mitigations that lower the risk"
    if values.status not in RiskStatus.values:
        problems["status"] = "Select the risk's status: open, accepted or closed"
    if values.owner is None or membership_in(values.owner, programme.pk) is None:
        problems["owner"] = "Choose the risk's owner: a member of this programme"
    return problems


def _checked(programme: Programme, values: RiskValues) -> RiskValues:
    values = RiskValues(**{**values.__dict__, "description": values.description.strip(),
                           "mitigations": values.mitigations.strip()})
    problems = risk_problems(programme, values)
    if problems:
        raise DpiaRefused("Nothing was saved: the risk is not complete.", list(problems.values()))
    return values


# --- the actions -------------------------------------------------------------------------------
def add_risk(*, programme: Programme, by: Person, values: RiskValues) -> DpiaRisk:
    """Add a risk to the programme's register, its overall risk computed from the matrix."""
    role = _editor_role(by, programme)
    values = _checked(programme, values)
    now = timezone.now()
    with transaction.atomic():
        risk = DpiaRisk.objects.create(
            programme=programme, description=values.description, likelihood=values.likelihood,
            severity=values.severity, overall_risk=overall_risk(values.likelihood, values.severity),
            mitigations=values.mitigations, residual_risk=values.residual_risk, owner=values.owner,
            status=values.status, recorded_by=by, recorded_at=now, changed_by=by, changed_at=now)
        record_event(Event.CHANGE, actor=by, target=risk, programme=programme, role=role, action=0,
                     reason=f"DPIA risk added: overall risk {risk.overall_risk}, residual {risk.residual_risk}, "
                            f"{risk.status}")
    return risk


def edit_risk(*, risk: DpiaRisk, by: Person, values: RiskValues) -> DpiaRisk:
    """Change a risk of the register; the audit entry names the fields changed (not their text)."""
    programme = risk.programme
    role = _editor_role(by, programme)
    values = _checked(programme, values)
    with transaction.atomic():
        risk = DpiaRisk.objects.select_for_update().get(pk=risk.pk, programme=programme)
        new = {"description": values.description, "likelihood": values.likelihood, "severity": values.severity,
               "mitigations": values.mitigations, "residual_risk": values.residual_risk,
               "owner_id": values.owner.pk, "status": values.status}
        changed = [name.removesuffix("_id") for name, value in new.items() if getattr(risk, name) != value]
        if not changed:
            raise DpiaRefused("Nothing was saved: nothing was changed.")
        for name, value in new.items():
            setattr(risk, name, value)
        risk.overall_risk = overall_risk(risk.likelihood, risk.severity)
        risk.changed_by, risk.changed_at = by, timezone.now()
        risk.save()
        record_event(Event.CHANGE, actor=by, target=risk, programme=programme, role=role, action=1,
                     reason=f"DPIA risk changed ({', '.join(changed)}): overall risk {risk.overall_risk}, "
                            f"residual {risk.residual_risk}, {risk.status}")
    return risk


def record_review(*, programme: Programme, by: Person, reviewed_on: date | None, next_review_on: date | None,
                  notes: str = "") -> DpiaReview:
    """Record a review of the programme's DPIA and the date the next is due: after today, and
    within a year of this review. Moves the release gate and the reminders on."""
    role = _editor_role(by, programme)
    if programme.phase == Phase.CLOSED:
        raise DpiaRefused("The programme is closed: its DPIA is no longer reviewed.")
    today = timezone.localdate()
    notes = (notes or "").strip()
    problems = review_problems(programme, reviewed_on, next_review_on, notes, today=today)
    if problems:
        raise DpiaRefused("Nothing was saved: the review is not complete.", list(problems.values()))
    with transaction.atomic():
        review = DpiaReview.objects.create(programme=programme, reviewed_on=reviewed_on, next_review_on=next_review_on,
                                           reviewed_by=by, notes=notes)
        record_event(Event.CHANGE, actor=by, target=review, programme=programme, role=role, action=0,
                     reason=f"DPIA review recorded: reviewed on {reviewed_on.isoformat()}, next review due "
                            f"{next_review_on.isoformat()}")
    return review


def review_problems(programme: Programme, reviewed_on, next_review_on, notes: str, *, today: date) -> dict[str, str]:
    problems = {}
    previous = latest_review(programme)
    if not isinstance(reviewed_on, date):
        problems["reviewed_on"] = "Enter the date the DPIA was reviewed"
    elif reviewed_on > today:
        problems["reviewed_on"] = "The date the DPIA was reviewed must be today or in the past"
    elif previous is not None and reviewed_on < previous.reviewed_on:
        problems["reviewed_on"] = (f"The date the DPIA was reviewed cannot be before its last review "
                                   f"({presenting.day(previous.reviewed_on)})")
    if not isinstance(next_review_on, date):
        problems["next_review_on"] = "Enter the date the next review is due"
    elif next_review_on <= today:
        problems["next_review_on"] = "The date the next review is due must be in the future"
    elif isinstance(reviewed_on, date) and next_review_on > reviewed_on + LONGEST_BETWEEN_REVIEWS:
        problems["next_review_on"] = "The next review must be due within a year of this review"
    if len(notes) > REVIEW_NOTES_MAX:
        problems["notes"] = f"The notes must be {REVIEW_NOTES_MAX} characters or fewer"
    return problems
