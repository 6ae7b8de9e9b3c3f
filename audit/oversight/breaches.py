"""The breach register (issue 9, point 6; UK GDPR Art. 33(5)): every personal data breach, whether
or not it is reported — what happened, when it was found, when the controller became aware of it,
who is affected, the risk, whether and when the ICO was told (within 72 hours of becoming aware,
`audit.oversight.due_dates.ico_clock`; after them, only with the reason for the delay) and whether
the people affected were told (Art. 34): each woman affected, by reference, told on a date or under
which Art. 34(3) exception she was not (issue 23, point 4; ADR 49). Kept by the programme's DPO.

The descriptions may say who was affected: they are encrypted. Audit reasons carry only the
breach's reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from audit.core.models_rights import AffectedWoman, Art34Exception, Breach, BreachRisk, BreachStatus
from audit.oversight.due_dates import IcoClock, ico_clock, ico_deadline
from eligibility.disclosure import disclose
from pause_portal.refused import Refused
from pause_portal.tenancy.models import Membership, Person, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.fields import Protector

TEXT_MAX = 5000
REASON_MAX = 1000


class BreachRefused(Refused):
    """A change to the breach register that cannot go ahead; nothing was written."""


def _keeper(by: Person, programme_id: int) -> Membership:
    membership = membership_in(by, programme_id)
    if membership is None or not role_has(membership.role, Perm.KEEP_BREACH_REGISTER):
        raise BreachRefused("Only the programme's data protection officer keeps the breach register.")
    return membership


def _text(value: str, what: str, *, required: bool = True, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if required and not value:
        raise BreachRefused(f"Enter {what}.")
    if len(value) > limit:
        raise BreachRefused(f"{what[0].upper()}{what[1:]} must be {limit} characters or fewer.")
    return value


def _not_future(moment: datetime | None, what: str) -> None:
    if moment is not None and moment > timezone.now():
        raise BreachRefused(f"{what} must be now or in the past.")


def protector_for(breach_or_programme_id) -> Protector:
    programme_id = getattr(breach_or_programme_id, "programme_id", breach_or_programme_id)
    return Protector.load(programme_id, Breach.key_phase)


@dataclass(frozen=True)
class BreachView:
    """A breach with its descriptions decrypted and its clock, for the DPO's pages."""

    breach: Breach
    what_happened: str
    people_affected: str
    actions_taken: str
    clock: IcoClock

    @property
    def ico_needed(self) -> bool:
        return self.breach.risk != BreachRisk.UNLIKELY


def views_of(breaches: list[Breach], *, by: Person, page: str) -> list[BreachView]:
    """The breaches as the disclosure policy serves them to the register's keeper (one entry)."""
    shown = disclose(by, breaches, page=page, reason="breach register")
    return [BreachView(breach=b, what_happened=s.get("what_happened") or "",
                       people_affected=s.get("people_affected") or "", actions_taken=s.get("actions_taken") or "",
                       clock=ico_clock(b.aware_at, b.ico_told_at))
            for b, s in shown.pairs()]


def register_of(programme_id: int) -> QuerySet[Breach]:
    return Breach.objects.filter(programme_id=programme_id)


def record_breach(*, programme: Programme, what_happened: str, found_at: datetime, people_affected: str,
                  risk: BreachRisk | str, by: Person, happened_at: datetime | None = None,
                  affected_count: int | None = None, actions_taken: str = "", aware_at: datetime | None = None,
                  aware_default: datetime | None = None, aware_reason: str = "", pause_side: bool = False,
                  flag_reference: str = "") -> Breach:
    """Record a breach. `aware_at`, when the controller became aware of it (the 72 hours run from
    it), is `aware_default` unless given (the moment a report was filed; for a breach the DPO
    records directly, when it was found); another moment needs `aware_reason`, and is never later
    than now."""
    membership = _keeper(by, programme.pk)
    what_happened = _text(what_happened, "what happened")
    people_affected = _text(people_affected, "who is affected")
    actions_taken = _text(actions_taken, "what has been done", required=False)
    try:
        risk = BreachRisk(risk)
    except ValueError:
        raise BreachRefused("Choose the risk to the people affected.") from None
    if found_at is None:
        raise BreachRefused("Enter when the breach was found.")
    _not_future(found_at, "When it was found")
    _not_future(happened_at, "When it happened")
    if happened_at is not None and happened_at > found_at:
        raise BreachRefused("It cannot have happened after it was found.")
    default = aware_default or found_at
    aware_at = aware_at or default
    aware_reason = _text(aware_reason, "why the controller became aware at another moment", required=False,
                         limit=REASON_MAX)
    _not_future(aware_at, "When the controller became aware")
    if aware_at != default and not aware_reason:
        raise BreachRefused("Enter why the controller became aware at another moment than "
                            + ("the report was filed." if aware_default else "the breach was found."))
    if happened_at is not None and happened_at > aware_at:
        raise BreachRefused("The controller cannot have become aware of it before it happened.")
    if affected_count is not None and affected_count < 0:
        raise BreachRefused("The number of people affected cannot be negative.")
    for attempt in range(3):
        try:
            with transaction.atomic():
                year = timezone.localdate(found_at).year
                taken = Breach.objects.filter(reference__startswith=f"BR-{year}-").count()
                breach = Breach(programme=programme, reference=f"BR-{year}-{taken + 1:03d}", found_at=found_at,
                                aware_at=aware_at, aware_reason=aware_reason if aware_at != default else "",
                                pause_side=bool(pause_side), flag_reference=flag_reference,
                                happened_at=happened_at, affected_count=affected_count, risk=risk, recorded_by=by)
                breach.protect(protector_for(programme.pk), what_happened=what_happened,
                               people_affected=people_affected, actions_taken=actions_taken)
                breach.save()
                record_event(Event.CHANGE, actor=by, target=breach, programme=programme, role=membership.role,
                             action=0, reason=f"breach {breach.reference} recorded"
                                            + (f" from {flag_reference}" if flag_reference else ""))
            return breach
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _locked(breach: Breach) -> Breach:
    locked = Breach.objects.select_for_update().get(pk=breach.pk)
    if locked.status != BreachStatus.OPEN:
        raise BreachRefused(f"Breach {locked.reference} is closed.")
    return locked


def record_ico(breach: Breach, *, told_at: datetime | None, reference: str = "", not_told_reason: str = "",
               late_reason: str = "", by: Person) -> Breach:
    """Record that the ICO was told (when, and its reference), or why it was not. Told (or the
    decision recorded) more than 72 hours after the controller became aware: only with the reason
    for the delay (Art. 33(1))."""
    membership = _keeper(by, breach.programme_id)
    late_reason = _text(late_reason, "why it was later than 72 hours", required=False, limit=REASON_MAX)
    reference = _text(reference, "the ICO's reference", required=False, limit=40)
    not_told_reason = _text(not_told_reason, "why the ICO was not told", required=told_at is None, limit=REASON_MAX)
    if told_at is not None and not_told_reason:
        raise BreachRefused("Say when the ICO was told, or why it was not: not both.")
    _not_future(told_at, "When the ICO was told")
    with transaction.atomic():
        locked = _locked(breach)
        if told_at is not None and told_at < locked.found_at:
            raise BreachRefused("The ICO cannot have been told before the breach was found.")
        late = (told_at or timezone.now()) > ico_deadline(locked.aware_at)
        if late and not late_reason:
            raise BreachRefused("More than 72 hours passed since the controller became aware of the breach: enter "
                                "the reason for the delay.")
        locked.ico_told_at, locked.ico_reference, locked.ico_not_told_reason = told_at, reference, not_told_reason
        locked.late_reason = late_reason if late else ""
        locked.save(update_fields=["ico_told_at", "ico_reference", "ico_not_told_reason", "late_reason"])
        record_event(Event.CHANGE, actor=by, target=locked, programme=membership.programme, role=membership.role,
                     action=1, reason=f"breach {locked.reference}: ICO notification recorded")
    return locked


def record_people_told(breach: Breach, *, told_at: datetime | None, not_told_reason: str = "",
                       by: Person) -> Breach:
    """Record that the people affected were told (when), or why they were not."""
    membership = _keeper(by, breach.programme_id)
    not_told_reason = _text(not_told_reason, "why the people affected were not told", required=told_at is None,
                            limit=REASON_MAX)
    if told_at is not None and not_told_reason:
        raise BreachRefused("Say when the people were told, or why they were not: not both.")
    _not_future(told_at, "When the people were told")
    with transaction.atomic():
        locked = _locked(breach)
        locked.people_told_at, locked.people_not_told_reason = told_at, not_told_reason
        locked.save(update_fields=["people_told_at", "people_not_told_reason"])
        record_event(Event.CHANGE, actor=by, target=locked, programme=membership.programme, role=membership.role,
                     action=1, reason=f"breach {locked.reference}: telling the people affected recorded")
    return locked


def close_breach(breach: Breach, *, by: Person) -> Breach:
    """Close a breach once the ICO and the people affected are dealt with (told, or why not)."""
    membership = _keeper(by, breach.programme_id)
    with transaction.atomic():
        locked = _locked(breach)
        if locked.ico_told_at is None and not locked.ico_not_told_reason:
            raise BreachRefused("Record whether the ICO was told before closing it.")
        if locked.people_told_at is None and not locked.people_not_told_reason:
            raise BreachRefused("Record whether the people affected were told before closing it.")
        if locked.affected_women.filter(told_on__isnull=True, exception="").exists():
            raise BreachRefused("Record, for each woman affected, when she was told or which exception applies, "
                                "before closing it.")
        locked.status, locked.closed_by, locked.closed_at = BreachStatus.CLOSED, by, timezone.now()
        locked.save(update_fields=["status", "closed_by", "closed_at"])
        record_event(Event.CHANGE, actor=by, target=locked, programme=membership.programme, role=membership.role,
                     action=1, reason=f"breach {locked.reference} closed")
    return locked


# --- the women affected (Art. 34) ---------------------------------------------------------------
WOMAN_LABEL = "eligibility.woman"


def _woman_pks(references: list[str], programme_id: int) -> list[str]:
    """The references, checked: each a woman's reference ("eligibility.woman:12") of this programme."""
    from django.apps import apps

    woman_model = apps.get_model(WOMAN_LABEL)
    pks: dict[str, int] = {}
    for ref in references:
        label, _, pk = ref.partition(":")
        if label.lower() != WOMAN_LABEL or not pk.isdigit():
            raise BreachRefused(f"{ref!r} is not a woman's reference: enter references like {WOMAN_LABEL}:12, "
                                "as the access review shows them. Never a name.")
        pks[f"{WOMAN_LABEL}:{int(pk)}"] = int(pk)
    found = set(woman_model.objects.filter(programme_id=programme_id, pk__in=pks.values())
                .values_list("pk", flat=True))
    missing = [ref for ref, pk in pks.items() if pk not in found]
    if missing:
        raise BreachRefused(f"No woman of this programme has the reference {', '.join(missing)}.")
    return list(pks)


def add_affected_women(breach: Breach, *, references: str | list[str], by: Person) -> list[AffectedWoman]:
    """Link the women affected to the breach, by reference (never by name): every reference must
    be a woman of the breach's programme, or nothing is linked."""
    membership = _keeper(by, breach.programme_id)
    if isinstance(references, str):
        references = [r for r in references.replace(",", " ").split() if r]
    if not references:
        raise BreachRefused("Enter the reference of at least one woman affected.")
    if len(references) > 500:
        raise BreachRefused("Enter at most 500 references at a time.")
    refs = _woman_pks([r.strip() for r in references], breach.programme_id)
    with transaction.atomic():
        locked = _locked(breach)
        already = set(locked.affected_women.values_list("woman_reference", flat=True))
        new = [AffectedWoman(breach=locked, woman_reference=ref, added_by=by) for ref in refs if ref not in already]
        if not new:
            raise BreachRefused("Those women are already linked to this breach.")
        AffectedWoman.objects.bulk_create(new)
        record_event(Event.CHANGE, actor=by, target=locked, programme=membership.programme, role=membership.role,
                     action=1, also_about=[a.woman_reference for a in new],
                     reason=f"breach {locked.reference}: {len(new)} women affected linked")
    return new


def record_woman_told(affected: AffectedWoman, *, told_on=None, exception: str = "", by: Person) -> AffectedWoman:
    """For one woman affected: the day she was told, or which Art. 34(3) exception applies."""
    membership = _keeper(by, affected.breach.programme_id)
    if (told_on is None) == (not exception):
        raise BreachRefused("Say the day she was told, or which exception applies: one of the two.")
    if exception:
        try:
            exception = Art34Exception(exception)
        except ValueError:
            raise BreachRefused("Select one of the Article 34(3) exceptions.") from None
    if told_on is not None and told_on > timezone.localdate():
        raise BreachRefused("The day she was told must be today or in the past.")
    with transaction.atomic():
        locked_breach = _locked(affected.breach)
        if told_on is not None and told_on < timezone.localdate(locked_breach.found_at):
            raise BreachRefused("She cannot have been told before the breach was found.")
        row = AffectedWoman.objects.select_for_update().get(pk=affected.pk, breach=locked_breach)
        row.told_on, row.exception, row.decided_by, row.decided_at = told_on, exception or "", by, timezone.now()
        row.save(update_fields=["told_on", "exception", "decided_by", "decided_at"])
        record_event(Event.CHANGE, actor=by, target=locked_breach, programme=membership.programme,
                     role=membership.role, action=1, also_about=[row.woman_reference],
                     reason=f"breach {locked_breach.reference}: telling a woman affected recorded")
    return row
