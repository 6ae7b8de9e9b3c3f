"""The disclosure policy: the one way identifying data reaches a person.

`disclose(user, records, page=...)` works out programme, phase and role from the records and the
user's own memberships (never from the caller), returns only what that role may see now, and
writes the access entry in the same call — one entry naming every subject shown.

What each role may see (this grows with each phase as later work lands):
- Trust caseworker and Trust lead: their own programme's records.
- DPO (issue 9): a woman's records (hers, her children's, and what hangs off her release) only
  while an open rights request about her exists in that programme whose requester's identity is
  verified by structured evidence (method, type of document, who checked: issue 17), and only when
  the request's reference is the disclosure's reason — so every such view's audit entry names the
  request.
- Caldicott Guardian: nothing here (confirms, but does not read casework).
- Pause lead in scoping (issue 6): while `scoping_is_open`, the scoping snapshot's rows that are
  not withheld (`ScopingWomanRow`, and `ScopingChildRow` of served women) with their served values
  only, and the programme's scoping notes — nothing else, never `eligibility.Woman`/`Child`. After
  the deadline nothing, with no worker needed: the check runs on every call. A child's year band is
  served at the level the women's removal years are served at (set on the returned instance, never
  saved). Nobody else sees scoping rows (the Trust lead sees the release's counts instead).
- Pause lead and practitioner in delivery (issue 7): released women (`ReleasedWoman`, a live
  reference to the Trust's record) and what hangs off them (`ReleasedChild`, `ContactAttempt`,
  `SafeguardingConcern`) for women `sharing.delivery_access` puts in their view now — every one
  in view for the lead, their own caseload for a practitioner, nothing once the programme closes.
  Served: her name, date of birth, postcode (read live from the Trust's record), the address the
  Trust gave and her Trust contact; children as delivery tokens with year of birth, removal year
  and outcome. Never her NHS number or Trust id.
- System administrator: never case data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import models, transaction

from audit.core.log import record_event
from audit.core.models import AuditEntry, Event
from pause_portal.classification import DataClass, classification_of
from pause_portal.tenancy.models import Membership, MembershipStatus
from pause_portal.tenancy.roles import Perm, Role, role_has

# Which classes of field each role may see, by the model's data classification. Roles not
# listed see no record at all (later phases add Pause's rules here).
VISIBLE_CLASSES: dict[Role, frozenset[DataClass]] = {
    Role.TRUST_CASEWORKER: frozenset(DataClass),
    Role.TRUST_LEAD: frozenset(DataClass),
}


def visible_fields(model: type[models.Model], role: Role | str) -> frozenset[str]:
    """The fields of `model` that `role` may see, read from the model's data classification
    (an unclassified field is never visible)."""
    allowed = VISIBLE_CLASSES.get(Role(role), frozenset())
    return frozenset(name for name, cls in classification_of(model).items() if cls in allowed)


@dataclass
class Disclosure:
    records: list = field(default_factory=list)
    withheld: int = 0
    entry: AuditEntry | None = None
    fields: dict[int, frozenset[str]] = field(default_factory=dict)  # programme id -> visible fields

    def __iter__(self):
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)


def _memberships_by_programme(user, programme_ids: set[int]) -> dict[int, Membership]:
    if not getattr(user, "is_authenticated", False) or not user.is_active or not programme_ids:
        return {}
    rows = Membership.objects.filter(
        person=user, programme_id__in=programme_ids, status=MembershipStatus.ACTIVE
    ).select_related("programme")
    return {m.programme_id: m for m in rows}


def _may_see(membership: Membership | None) -> bool:
    if membership is None:
        return False
    return role_has(membership.role, Perm.VIEW_OWN_TRUST_RECORDS) and Role(membership.role) in VISIBLE_CLASSES


# --- scoping (issue 6): the snapshot, served to the Pause lead only while scoping is open --------
# What Pause is served of a scoping row, in the order pages show it. Every field but the token is
# a quasi-identifier of the k-check (`sharing.scoping_release.served_columns` reads this tuple),
# so a field added here is checked without anyone remembering to add it there (issue 16).
SCOPING_WOMAN_SERVED = ("token", "age_band", "ethnic_group", "children_removed", "removal_years",
                        "outcome_types", "age_at_first_removal")
# A child is never listed: its year band and outcome only feed the children's summary table.
SCOPING_CHILD_SERVED = ("year_band", "outcome")


def _scoping_models() -> dict[type[models.Model], frozenset[str]]:
    from sharing.models_scoping import ScopingChildRow, ScopingNote, ScopingWomanRow

    return {
        ScopingWomanRow: frozenset(SCOPING_WOMAN_SERVED),
        ScopingChildRow: frozenset(SCOPING_CHILD_SERVED),
        ScopingNote: frozenset({"written_by", "written_at", "text"}),
    }


def _scoping_open(programme_id: int, membership: Membership, cache: dict[int, bool]) -> bool:
    if programme_id not in cache:
        from sharing.phases import scoping_is_open

        cache[programme_id] = (Role(membership.role) == Role.PAUSE_LEAD and scoping_is_open(membership.programme))
    return cache[programme_id]


def _scoping_served(record: models.Model) -> bool:
    from sharing.models_scoping import ScopingChildRow, ScopingWomanRow

    if isinstance(record, ScopingWomanRow):
        return not record.withheld
    if isinstance(record, ScopingChildRow):
        return not record.mother_row.withheld
    return True


# --- delivery (issue 7): released women, to the Pause lead and each woman's practitioner -------
def _delivery_models() -> dict[type[models.Model], frozenset[str]]:
    from sharing.models_delivery import (
        ContactAttempt,
        ReleasedChild,
        ReleasedWoman,
        SafeguardingConcern,
    )

    return {
        ReleasedWoman: DELIVERY_WOMAN_FIELDS,
        ReleasedChild: frozenset({"token", "birth_year", "removal_year", "outcome"}),
        ContactAttempt: frozenset({"recorded_by", "recorded_at", "contacted_on", "method", "outcome",
                                   "privacy_information_given", "note"}),
        SafeguardingConcern: frozenset({"kind", "lawful_basis", "raised_by", "raised_at", "summary", "status",
                                        "acknowledged_at", "closed_at", "closing_note"}),
    }


# What Pause is served of a released woman: her live details from the Trust's record (through
# the `woman` reference) and the release's own fields. Never her NHS number or Trust id.
DELIVERY_WOMAN_FIELDS = frozenset({
    "forename", "surname", "date_of_birth", "postcode", "address", "trust_contact", "released_at",
    "target_position", "target_reason", "participation", "participation_ended_at",
    "privacy_information_given_at",
})


def _released_woman_id(record: models.Model) -> int:
    from sharing.models_delivery import ReleasedWoman

    return record.pk if isinstance(record, ReleasedWoman) else record.released_woman_id


def _delivery_visible(user, records: list, memberships: dict[int, Membership], delivery: dict) -> set[int]:
    """The ids of released women (among those the records hang off) Pause may see now: one
    query per programme."""
    from sharing.delivery_access import PAUSE_DELIVERY_ROLES, visible_ids

    wanted: dict[int, set[int]] = {}
    for r in records:
        membership = memberships.get(r.programme_id)
        if type(r) in delivery and membership is not None and Role(membership.role) in PAUSE_DELIVERY_ROLES:
            wanted.setdefault(r.programme_id, set()).add(_released_woman_id(r))
    seen: set[int] = set()
    for programme_id, ids in wanted.items():
        seen |= visible_ids(user, memberships[programme_id], ids)
    return seen


# --- the DPO (issue 9): casework only through an open rights request about that woman --------
def _dpo_request_women(memberships: dict[int, Membership], reason: str) -> dict[int, int]:
    """Programme id -> the woman whose open rights request has `reason` as its reference, for the
    programmes where the user is the DPO."""
    dpo_in = [pid for pid, m in memberships.items() if Role(m.role) == Role.DPO]
    if not dpo_in or not reason:
        return {}
    from audit.core.models_rights import RequestStatus, RightsRequest

    # Only once the requester's identity is verified by structured evidence (issue 17): the method,
    # the type of document seen and who checked. Free text alone does not open the gate.
    return dict(RightsRequest.objects.filter(programme_id__in=dpo_in, reference=reason.strip(),
                                             status=RequestStatus.OPEN, woman__isnull=False,
                                             identity_checked_by__isnull=False)
                .exclude(identity_method="").exclude(identity_document="")
                .values_list("programme_id", "woman_id"))


def _woman_of(record: models.Model) -> int | None:
    """The woman a record is about: her own record, her child's, or one hanging off her release."""
    from eligibility.models import Child, Woman

    if isinstance(record, Woman):
        return record.pk
    if isinstance(record, Child):
        return record.mother_id
    if getattr(record, "woman_id", None) is not None:
        return record.woman_id
    if getattr(record, "child_id", None) is not None:
        return Child.objects.filter(pk=record.child_id).values_list("mother_id", flat=True).first()
    if getattr(record, "released_woman_id", None) is not None:
        from sharing.models_delivery import ReleasedWoman

        return ReleasedWoman.objects.filter(pk=record.released_woman_id).values_list("woman_id", flat=True).first()
    return None


def disclose(user, records: Iterable[models.Model], *, page: str, reason: str = "") -> Disclosure:
    """Return the records this user may see now, and record that they saw them."""
    records = list(records)
    memberships = _memberships_by_programme(user, {r.programme_id for r in records})
    scoping = _scoping_models()
    delivery = _delivery_models()
    open_cache: dict[int, bool] = {}
    delivery_seen = _delivery_visible(user, records, memberships, delivery)
    dpo_women = _dpo_request_women(memberships, reason)

    def allowed(r) -> bool:
        membership = memberships.get(r.programme_id)
        if membership is not None and Role(membership.role) == Role.DPO:
            return r.programme_id in dpo_women and _woman_of(r) == dpo_women[r.programme_id]
        if type(r) in scoping:
            return (membership is not None and _scoping_open(r.programme_id, membership, open_cache)
                    and _scoping_served(r))
        if type(r) in delivery and membership is not None and Role(membership.role) in (
                Role.PAUSE_LEAD, Role.PAUSE_PRACTITIONER):
            return _released_woman_id(r) in delivery_seen
        return _may_see(membership)

    shown = [r for r in records if allowed(r)]
    result = Disclosure(records=shown, withheld=len(records) - len(shown))
    if not shown:
        return result
    serve_child_year_bands(shown)
    programmes = {r.programme_id for r in shown}
    # One programme per disclosure keeps the entry's context exact; a page spanning several
    # programmes gets one entry for each.
    with transaction.atomic():
        for programme_id in sorted(programmes):
            membership = memberships[programme_id]
            subjects = [r for r in shown if r.programme_id == programme_id]
            model = type(subjects[0])
            if Role(membership.role) == Role.DPO:
                result.fields[programme_id] = frozenset(classification_of(model))
            elif model in scoping:
                result.fields[programme_id] = scoping[model]
            elif model in delivery and Role(membership.role) in (Role.PAUSE_LEAD, Role.PAUSE_PRACTITIONER):
                result.fields[programme_id] = delivery[model]
            else:
                result.fields[programme_id] = visible_fields(model, membership.role)
            result.entry = record_event(
                Event.DISCLOSURE,
                actor=user,
                subjects=subjects,
                also_about=_people_behind(subjects),
                programme=membership.programme,
                role=membership.role,
                reason=reason,
                page=page,
            )
    return result


def _people_behind(subjects: list) -> list[str]:
    """The Trust's references of the women that scoping rows were made from: the rows are purged
    (with their key) when scoping ends, and the entry must still say whose data was seen. The
    references never leave the audit trail (only the DPO reads it)."""
    from sharing.models_scoping import ScopingWomanRow

    return [f"eligibility.woman:{r.woman_id}" for r in subjects if isinstance(r, ScopingWomanRow)]


def serve_child_year_bands(shown: list) -> None:
    """Set each scoping child row's year band (on the instance, never saved) to the level the
    women's removal years are served at now."""
    from sharing.models_scoping import ScopingChildRow
    from sharing.scoping_release import served_child_year_band, served_levels

    levels: dict[int, dict | None] = {}
    for r in shown:
        if isinstance(r, ScopingChildRow):
            if r.programme_id not in levels:
                levels[r.programme_id] = served_levels(r.programme_id)
            level = (levels[r.programme_id] or {}).get("removal_years")
            r.year_band = served_child_year_band(r.year_band, level)
