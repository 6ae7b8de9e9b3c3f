"""The data-sharing agreement: the vocabulary of lawful bases and of the data items each phase may
share, its validation, and the writes — a Trust lead proposes a version, the Caldicott Guardian
(never the proposer) confirms or rejects it.

A confirmed version is never changed: a change is the next version (`based_on` the current one),
and `agreement_difference` says what changed. The current agreement is the latest confirmed
version (`sharing.scoping_term.current_agreement`); `sharing.release_checks` reads it.

Validation messages follow the GOV.UK error message pattern (say what is wrong and how to fix
it); `validate_agreement` raises them keyed by the propose form's field names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal import presenting
from pause_portal.tenancy.models import Person, Phase, Programme
from pause_portal.tenancy.roles import Perm, Role, role_has
from pause_portal.tenancy.selectors import membership_in
from sharing import caldicott_log, data_items
from sharing import lawful_bases as bases
from sharing.audit_retention import audit_trail_problem
from sharing.models_caldicott import Decision, DecisionKind
from sharing.models_scoping import Agreement, ChangeStatus
from sharing.retention import parse_period
from sharing.scoping_recheck import recheck_for_items
from sharing.scoping_release import columns_served_now
from sharing.scoping_term import current_agreement, notice_term

# phase -> item code -> what it is, in plain words (`sharing.data_items` holds the vocabulary and
# what each item serves). Closed shares nothing.
DATA_ITEMS: dict[str, dict[str, str]] = {phase: data_items.labels(phase) for phase in (Phase.SCOPING, Phase.DELIVERY)}
SHARING_PHASES = (Phase.SCOPING, Phase.DELIVERY)

# store -> what it is; each needs a retention period, in words.
RETENTION_STORES: dict[str, str] = {
    "scoping_data": "Pause's scoping data (the release, notes and exports)",
    "final_report": "The approved final scoping report",
    "delivery_records": "Pause's delivery records",
    "trust_records": "The Trust's records in the portal",
    "audit_trail": "The audit trail",
    # how long a woman who declined or withdrew is marked "do not approach" (sharing.do_not_approach)
    "do_not_approach": "The do-not-approach marker left when a woman declines Pause or withdraws",
    # the Trust's copy (sharing.trust_copy_schedule): women no one has acted on, and women decided not eligible
    "untouched_women": "Women in the Trust's copy whom the rules do not propose and no one has acted on",
    "not_eligible_women": "Women in the Trust's copy decided not eligible, from the decision",
}
# The stores the portal itself applies: each period must be one it can apply (sharing.retention.parse_period).
APPLIED_STORES = {"do_not_approach": "The do-not-approach period", "untouched_women": "The untouched women's period",
                  "not_eligible_women": "The not-eligible women's period"}

MAX_EXTENSION_DAYS = 92  # at most another three months, and only through a recorded change
DECIDE_CHANGES_DAYS = (1, 28)  # the least and most days a Trust lead may be given to settle a change

# The fields of a version, in the order pages show them.
FIELD_LABELS: dict[str, str] = {
    "parties": "Parties",
    "purposes": "Purposes",
    "lawful_bases": "Lawful bases",
    "data_items": "Data items",
    "retention": "Retention periods",
    "uk_only_processing": "Processing in the UK only",
    "policy_document_reference": "Appropriate policy document",
    "dpia_reference": "DPIA reference",
    "dpia_signed_off_by": "DPIA signed off by",
    "dpia_signed_off_on": "DPIA signed off on",
    "scoping_extension_days": "Scoping extension",
    "decide_changes_within_days": "Days to decide about a change since release",
    "pause_dpo_email": "Pause's data protection officer (email)",
}
VALUE_FIELDS = tuple(FIELD_LABELS)


def _role_in(person: Person, programme: Programme) -> Role | None:
    membership = membership_in(person, programme.pk)
    return Role(membership.role) if membership else None


def values_of(agreement: Agreement | None) -> dict:
    """A version's values (the starting point of the next one); empty defaults with none."""
    if agreement is None:
        return {"parties": "", "purposes": "", "lawful_bases": {}, "data_items": {}, "retention": {},
                "uk_only_processing": False, "policy_document_reference": "", "dpia_reference": "",
                "dpia_signed_off_by": "", "dpia_signed_off_on": None, "scoping_extension_days": 0,
                "decide_changes_within_days": 14, "pause_dpo_email": ""}
    return {name: getattr(agreement, name) for name in VALUE_FIELDS}


def validate_agreement(values: dict, *, based_on: Agreement | None, change_reason: str,
                       programme_id: int | None = None) -> dict:
    """The values made tidy, or a ValidationError keyed by the propose form's field names."""
    errors: dict[str, str] = {}
    clean = dict(values)
    for name in ("parties", "purposes", "policy_document_reference", "dpia_reference", "dpia_signed_off_by"):
        clean[name] = (values.get(name) or "").strip()
    if not clean["parties"]:
        errors["parties"] = "Enter the parties to the agreement, with each one's role (controller or processor)"
    if not clean["purposes"]:
        errors["purposes"] = "Enter the purposes of the sharing"

    try:  # each controller's three fields (sharing.lawful_bases), keyed as the form's
        clean["lawful_bases"] = bases.validate(values.get("lawful_bases"), programme_id=programme_id)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
        clean["lawful_bases"] = {}
    if (clean["lawful_bases"] and not clean["policy_document_reference"]
            and bases.needs_policy_document(clean["lawful_bases"])):
        errors["policy_document_reference"] = (
            "Enter the reference of the appropriate policy document: a DPA 2018 Schedule 1 Part 2 condition "
            "needs one")

    items = values.get("data_items") or {}
    clean["data_items"] = {}
    for phase in SHARING_PHASES:
        chosen = list(items.get(str(phase)) or [])
        if any(i not in DATA_ITEMS[phase] for i in chosen):
            errors[f"data_items_{phase}"] = "Select data items from the list"
        elif not chosen:
            errors[f"data_items_{phase}"] = f"Select the data items {Phase(phase).label.lower()} may share"
        clean["data_items"][str(phase)] = [i for i in DATA_ITEMS[phase] if i in chosen]
    if set(items) - {str(p) for p in SHARING_PHASES}:
        errors["data_items_scoping"] = "Only scoping and delivery share data items: the closed phase shares nothing"

    retention = values.get("retention") or {}
    clean["retention"] = {}
    for store, label in RETENTION_STORES.items():
        period = (retention.get(store) or "").strip()
        if not period:
            errors[f"retention_{store}"] = f"Enter how long this is kept: {presenting.in_sentence(label)}"
        elif store in APPLIED_STORES:  # applied by the portal, so it must be a period it can apply
            try:
                parse_period(period)
            except ValueError as exc:
                errors[f"retention_{store}"] = f"{APPLIED_STORES[store]}: {exc}"
        elif store == "audit_trail" and (problem := audit_trail_problem(period)):
            errors[f"retention_{store}"] = problem
        clean["retention"][store] = period

    clean["uk_only_processing"] = bool(values.get("uk_only_processing"))

    signed_by, signed_on = clean["dpia_signed_off_by"], values.get("dpia_signed_off_on")
    if signed_by and not signed_on:
        errors["dpia_signed_off_on"] = "Enter the date the DPIA was signed off"
    elif signed_on and not signed_by:
        errors["dpia_signed_off_by"] = "Enter the name and role of the person who signed off the DPIA"
    elif signed_on and signed_on > timezone.localdate():
        errors["dpia_signed_off_on"] = "The date the DPIA was signed off must be today or in the past"
    if (signed_by or signed_on) and not clean["dpia_reference"]:
        errors["dpia_reference"] = "Enter the DPIA's reference: a sign-off is of a named DPIA"
    clean["dpia_signed_off_on"] = signed_on if isinstance(signed_on, date) else None

    extension = values.get("scoping_extension_days") or 0
    if not isinstance(extension, int) or extension < 0:
        errors["scoping_extension_days"] = "The scoping extension must be a whole number of days, like 14"
    elif extension > MAX_EXTENSION_DAYS:
        errors["scoping_extension_days"] = f"The scoping extension must be {MAX_EXTENSION_DAYS} days or fewer"
    clean["scoping_extension_days"] = extension

    days = values.get("decide_changes_within_days")
    least, most = DECIDE_CHANGES_DAYS
    if days is None or days == "":
        errors["decide_changes_within_days"] = ("Enter how many days the Trust has to decide about a change since "
                                                "release, like 14")
    elif not isinstance(days, int) or isinstance(days, bool) or not least <= days <= most:
        errors["decide_changes_within_days"] = f"The days to decide must be a whole number from {least} to {most}"
    clean["decide_changes_within_days"] = days

    pause_dpo = (values.get("pause_dpo_email") or "").strip()
    if pause_dpo:
        try:
            validate_email(pause_dpo)
        except ValidationError:
            errors["pause_dpo_email"] = "Enter Pause's DPO's email address in the right format, like dpo@example.org"
    clean["pause_dpo_email"] = pause_dpo

    previous_extension = based_on.scoping_extension_days if based_on else 0
    if not change_reason.strip():
        if based_on is not None:
            errors["change_reason"] = "Enter why the agreement is changing"
        elif extension != previous_extension:
            errors["change_reason"] = "Enter why scoping needs more time than three months"
    if errors:
        raise ValidationError({k: ValidationError(v, code="invalid") for k, v in errors.items()})
    if based_on is not None and values_of(based_on) == {k: clean[k] for k in VALUE_FIELDS}:
        raise ValidationError(f"Nothing has changed from version {based_on.version}: change something, or cancel")
    return clean


def open_proposal(programme: Programme) -> Agreement | None:
    return Agreement.objects.filter(programme=programme, status=ChangeStatus.PROPOSED).first()


def propose_agreement(*, programme: Programme, by: Person, values: dict, change_reason: str = "") -> Agreement:
    """A Trust lead proposes the next version. It takes effect when the Caldicott Guardian
    confirms it; until then one proposal at a time waits."""
    role = _role_in(by, programme)
    if not role_has(role, Perm.PROPOSE_AGREEMENT_CHANGE):
        raise PermissionDenied("Only a Trust lead of the programme proposes a data-sharing agreement.")
    with transaction.atomic():
        Programme.objects.select_for_update().get(pk=programme.pk)  # one proposer at a time per programme
        if open_proposal(programme) is not None:
            raise ValidationError("A proposed version is already waiting for the Caldicott Guardian: they "
                                  "confirm or reject it, or its proposer withdraws it, before another is proposed")
        based_on = current_agreement(programme)
        clean = validate_agreement(values, based_on=based_on, change_reason=change_reason,
                                   programme_id=programme.pk)
        _, most = notice_term(programme)
        if clean["scoping_extension_days"] > most:
            raise ValidationError({"scoping_extension_days": (
                "The Trust's privacy notice in force allows no extension of scoping: publish a notice version "
                "that says so first" if most == 0 else
                f"The Trust's privacy notice in force allows at most {most} days' extension of scoping: publish "
                f"a notice version that says so first")})
        number = (Agreement.objects.filter(programme=programme).aggregate(n=Max("version"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                agreement = Agreement.objects.create(
                    programme=programme, version=number, based_on=based_on, proposed_by=by,
                    change_reason=change_reason.strip(), **clean,
                )
        except IntegrityError as exc:  # a simultaneous proposal took the number
            raise ValidationError("Someone else proposed a version at the same moment: try again") from exc
        record_event(Event.CHANGE, actor=by, target=agreement, programme=programme, role=role,
                     reason=f"data-sharing agreement version {number} proposed", action=0)
    return agreement


def may_decide(agreement: Agreement, person: Person) -> bool:
    """The programme's Caldicott Guardian, never the proposer."""
    return (person.pk != agreement.proposed_by_id
            and role_has(_role_in(person, agreement.programme), Perm.CONFIRM_AGREEMENT_CHANGE))


def _decide(agreement: Agreement, by: Person, status: ChangeStatus, justification: str) -> Agreement:
    decision = Decision.CONFIRM if status == ChangeStatus.CONFIRMED else Decision.REJECT
    justification = caldicott_log.justified(justification, decision=decision,
                                            what=f"version {agreement.version} of the agreement")
    with transaction.atomic():
        agreement = Agreement.objects.select_for_update().select_related("programme").get(pk=agreement.pk)
        if agreement.status != ChangeStatus.PROPOSED:
            raise ValidationError(f"Version {agreement.version} is not waiting for a decision: it is "
                                  f"{agreement.get_status_display().lower()}")
        if not may_decide(agreement, by):
            raise PermissionDenied("A version is confirmed or rejected by the programme's Caldicott Guardian, "
                                   "never by the person who proposed it.")
        before = current_agreement(agreement.programme)
        served_before = columns_served_now(agreement.programme)
        agreement.status = status
        agreement.decided_by = by
        agreement.decided_at = timezone.now()
        agreement.save(update_fields=["status", "decided_by", "decided_at"])
        what = "confirmed" if status == ChangeStatus.CONFIRMED else "rejected"
        record_event(Event.CHANGE, actor=by, target=agreement, programme=agreement.programme,
                     role=_role_in(by, agreement.programme), action=1,
                     reason=f"data-sharing agreement version {agreement.version} {what}"
                            + (f": {justification}" if decision == Decision.REJECT else ""))
        caldicott_log.record(programme=agreement.programme, kind=DecisionKind.AGREEMENT,
                             subject=f"Version {agreement.version} of the agreement", subject_pk=agreement.pk,
                             decision=decision, justification=justification, by=by)
        if status == ChangeStatus.CONFIRMED and _scoping_items(before) != _scoping_items(agreement):
            # Any change to the scoping items re-runs the check before anything new is served (ADR 28).
            recheck_for_items(agreement.programme, version=agreement.version, served_before=served_before, by=by)
    return agreement


def _scoping_items(agreement: Agreement | None) -> list[str]:
    return data_items.known(Phase.SCOPING, (agreement.data_items or {}).get(str(Phase.SCOPING))) if agreement else []


def confirm_agreement(*, agreement: Agreement, by: Person, justification: str) -> Agreement:
    """The Caldicott Guardian's confirmation, with their justification (logged): the version becomes
    the current agreement."""
    return _decide(agreement, by, ChangeStatus.CONFIRMED, justification)


def reject_agreement(*, agreement: Agreement, by: Person, justification: str) -> Agreement:
    """The Caldicott Guardian's rejection, with their justification (logged; the proposer reads it)."""
    return _decide(agreement, by, ChangeStatus.REJECTED, justification)


def withdraw_agreement(*, agreement: Agreement, by: Person) -> Agreement:
    """Its proposer takes a waiting version back (to propose a corrected one)."""
    with transaction.atomic():
        agreement = Agreement.objects.select_for_update().select_related("programme").get(pk=agreement.pk)
        if agreement.status != ChangeStatus.PROPOSED:
            raise ValidationError(f"Version {agreement.version} is not waiting for a decision")
        role = _role_in(by, agreement.programme)
        if by.pk != agreement.proposed_by_id or not role_has(role, Perm.PROPOSE_AGREEMENT_CHANGE):
            raise PermissionDenied("Only the Trust lead who proposed a version can withdraw it.")
        agreement.status = ChangeStatus.WITHDRAWN
        agreement.save(update_fields=["status"])
        record_event(Event.CHANGE, actor=by, target=agreement, programme=agreement.programme,
                     role=role, action=1,
                     reason=f"data-sharing agreement version {agreement.version} withdrawn")
    return agreement


# --- showing a version, and the difference between two ----------------------------------------
@dataclass(frozen=True)
class Change:
    field: str
    before: list[str]
    after: list[str]


def shown(name: str, value) -> list[str]:
    """A field's value in words, as lines."""
    if name == "lawful_bases":
        return bases.lines(value)
    if name == "data_items":
        lines = []
        for phase in SHARING_PHASES:
            items = [DATA_ITEMS[phase][i] for i in data_items.known(phase, (value or {}).get(str(phase)))]
            lines.append(f"{Phase(phase).label}: {'; '.join(items) if items else 'nothing'}")
        return lines + ["Closed: nothing"]
    if name == "retention":
        return [f"{label}: {(value or {}).get(store) or 'not recorded'}" for store, label in RETENTION_STORES.items()]
    if name == "uk_only_processing":
        return ["Yes" if value else "No"]
    if name == "dpia_signed_off_on":
        return [presenting.day(value)]
    if name == "decide_changes_within_days":
        return [f"{value} day{'s' if value != 1 else ''}"]
    if name == "scoping_extension_days":
        return [f"{value} day{'s' if value != 1 else ''} beyond three months" if value else "None"]
    return [value or "Not recorded"]


def summary(agreement: Agreement) -> list[dict]:
    return [{"label": label, "values": shown(name, getattr(agreement, name))} for name, label in FIELD_LABELS.items()]


def agreement_difference(old: Agreement, new: Agreement) -> list[Change]:
    """What changed from `old` to `new`, field by field in the page's order."""
    return [Change(label, shown(name, getattr(old, name)), shown(name, getattr(new, name)))
            for name, label in FIELD_LABELS.items() if getattr(old, name) != getattr(new, name)]
