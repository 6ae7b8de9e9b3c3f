"""Rule sets: which codes count as a removal, which are for review, and the thresholds — as
versioned data a Trust lead edits.

A programme's first version copies the specification's defaults (`codes.DEFAULT_POSITION`,
two children within ten years, at risk on a pregnancy or open proceedings, from 16) and is made
when first needed, so nothing waits for a Trust lead. A version is never changed: `edit_rule_set`
writes the next one, so every proposal and decision keeps naming the rules it was made under;
`rule_set_difference` says what changed between two versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from audit.core.log import record_event
from audit.core.models import Event
from eligibility.extract import codes
from eligibility.extract.codes import CodeList, Position
from eligibility.models import RuleSet
from pause_portal.tenancy.models import Person, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in

CODE_LISTS = (CodeList.LEGAL_STATUS, CodeList.EPISODE_CEASED)
# Criminal-offence data no rule uses: never imported, always "not counted", not offered for editing.
YOUTH_JUSTICE = {
    CodeList.LEGAL_STATUS: codes.YOUTH_JUSTICE_LEGAL_STATUS,
    CodeList.EPISODE_CEASED: codes.YOUTH_JUSTICE_CEASED,
}


class Signal(StrEnum):
    """What, with exactly one child removed, makes a woman at risk."""

    PREGNANCY = "pregnancy"  # an expected date of birth after the reference date
    OPEN_PROCEEDINGS = "open_proceedings"  # one of the open-proceedings LS codes with no end date


SIGNAL_LABELS = {Signal.PREGNANCY: "A current pregnancy", Signal.OPEN_PROCEEDINGS: "Open care proceedings"}
POSITION_LABELS = {Position.COUNTED: "counted", Position.REVIEW: "for review", Position.NOT_COUNTED: "not counted"}


def default_values() -> dict:
    """The specification's default rules, as the fields of a RuleSet."""
    return {
        "positions": {str(cl): {c: str(p) for c, p in codes.DEFAULT_POSITION[cl].items()} for cl in CODE_LISTS},
        "eligible_threshold": 2,
        "at_risk_signals": [str(Signal.PREGNANCY), str(Signal.OPEN_PROCEEDINGS)],
        "open_proceedings_codes": ["C1", "L2"],
        "look_back_years": 10,
        "minimum_age": 16,
    }


VALUE_FIELDS = tuple(default_values())


def values_of(rule_set: RuleSet) -> dict:
    return {name: getattr(rule_set, name) for name in VALUE_FIELDS}


def checked_values(values: dict) -> dict:
    """The values in their stored shape; raises ValueError when a code would have no position or
    two, or a youth-justice code would be used (the form gives people the same rules as messages)."""
    positions = values["positions"]
    out = {}
    for code_list in CODE_LISTS:
        given = dict(positions.get(str(code_list), {}))
        known = codes.CODE_LISTS[code_list]
        if set(given) != set(known):
            raise ValueError(f"Every {code_list} code needs exactly one position.")
        for code, position in given.items():
            Position(position)  # ValueError for anything else
            if code in YOUTH_JUSTICE[code_list] and position != Position.NOT_COUNTED:
                raise ValueError("Youth-justice codes are never used by the rules.")
        out[str(code_list)] = {code: str(given[code]) for code in known}  # the code list's order
    signals = [str(Signal(s)) for s in values["at_risk_signals"]]
    proceedings = sorted(set(values["open_proceedings_codes"]))
    if not set(proceedings) <= set(codes.LEGAL_STATUS) - codes.YOUTH_JUSTICE_LEGAL_STATUS:
        raise ValueError("Open proceedings are legal status codes.")
    threshold, years, age = (int(values[k]) for k in ("eligible_threshold", "look_back_years", "minimum_age"))
    if threshold < 1 or years < 1 or age < 1:
        raise ValueError("The threshold, the window and the minimum age are positive.")
    return {
        "positions": out,
        "eligible_threshold": threshold,
        "at_risk_signals": sorted(signals),
        "open_proceedings_codes": proceedings,
        "look_back_years": years,
        "minimum_age": age,
    }


def current_rule_set(programme: Programme) -> RuleSet:
    """The programme's latest version; the first time, version 1 from the defaults."""
    latest = RuleSet.objects.filter(programme=programme).order_by("-version").first()
    if latest is not None:
        return latest
    try:
        with transaction.atomic():
            return RuleSet.objects.create(programme=programme, version=1, **checked_values(default_values()))
    except IntegrityError:  # made by someone else in the meantime
        return RuleSet.objects.filter(programme=programme).order_by("-version").first()


def may_edit_rules(person: Person, programme_id: int) -> str | None:
    """The person's role if they may edit the programme's rule set, else None."""
    membership = membership_in(person, programme_id)
    if membership is None or not role_has(membership.role, Perm.EDIT_RULE_SET):
        return None
    return membership.role


def edit_rule_set(*, programme: Programme, by: Person, values: dict) -> RuleSet:
    """Write the next version of the programme's rules (the current one is never changed).
    Returns the current version unchanged when the values are the same as its own."""
    role = may_edit_rules(by, programme.pk)
    if role is None:
        raise PermissionDenied("Only the programme's Trust lead edits the rule set.")
    values = checked_values(values)
    with transaction.atomic():
        current = current_rule_set(programme)
        current = RuleSet.objects.select_for_update().get(pk=current.pk)  # one editor at a time
        if values_of(current) == values:
            return current
        new = RuleSet.objects.create(
            programme=programme, version=current.version + 1, based_on=current, created_by=by, **values
        )
        changed = sorted({change.field for change in rule_set_difference(current, new)})
        record_event(
            Event.CHANGE, actor=by, target=new, programme=programme, role=role, action=0,
            reason=f"rule set version {new.version} made from version {current.version}; changed: {', '.join(changed)}",
        )
    return new


# --- the difference between two versions ----------------------------------------------------
@dataclass(frozen=True)
class Change:
    field: str  # what changed, for people
    before: str
    after: str


FIELD_LABELS = {
    "eligible_threshold": "Children removed for a woman to be eligible",
    "at_risk_signals": "What makes a woman with one child removed at risk",
    "open_proceedings_codes": "Legal statuses that, with no end date, are open proceedings",
    "look_back_years": "Look-back window (years)",
    "minimum_age": "Minimum age",
}
CODE_LIST_LABELS = {CodeList.LEGAL_STATUS: "Legal status", CodeList.EPISODE_CEASED: "Episode ceased reason"}


def _shown(name: str, value) -> str:
    if name == "at_risk_signals":
        return "; ".join(SIGNAL_LABELS[Signal(s)] for s in value) or "none"
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return str(value)


def rule_set_difference(old: RuleSet, new: RuleSet) -> list[Change]:
    """What changed from `old` to `new`: each code whose position moved ("Legal status C1
    (Interim care order)": counted -> for review), then each other rule, in a fixed order."""
    changes = []
    for code_list in CODE_LISTS:
        before, after = old.positions.get(str(code_list), {}), new.positions.get(str(code_list), {})
        for code in [*before, *(c for c in after if c not in before)]:
            if before.get(code) != after.get(code):
                label = f"{CODE_LIST_LABELS[code_list]} {code} ({codes.meaning(code_list, code) or 'unknown code'})"
                changes.append(Change(label, _position_label(before.get(code)), _position_label(after.get(code))))
    for name, label in FIELD_LABELS.items():
        if getattr(old, name) != getattr(new, name):
            changes.append(Change(label, _shown(name, getattr(old, name)), _shown(name, getattr(new, name))))
    return changes


def _position_label(position: str | None) -> str:
    return POSITION_LABELS[Position(position)] if position else "not listed (for review)"
