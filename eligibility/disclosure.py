"""The disclosure policy: the one way identifying data reaches a person.

`disclose(user, records, page=...)` works out programme, phase and role from the records and the
user's own memberships (never from the caller), returns only what that role may see now, and
writes the access entry in the same call — one entry naming every subject shown.

The policy lives here, below sharing, because what it guards first is the Trust's own records
(`Woman`, `Child` and what hangs off them) and every layer that shows them — the Trust's queue
and duplicate pages here, Pause's pages in sharing, the DPO's in the oversight — goes through it.
What Pause may see in each phase is sharing's to say: sharing answers the kernel's
`pause_disclosure` hook (ADR 24) with its phase rules (`sharing.disclosure.PauseDisclosure`), and
this module asks them for every record they govern.

What each role may see:
- Trust caseworker and Trust lead: their own programme's records.
- DPO (issue 9): a woman's records (hers, her children's, and what hangs off her release) only
  while an open rights request about her exists in that programme whose requester's identity is
  verified by structured evidence (method, type of document, who checked: issue 17), and only when
  the request's reference is the disclosure's reason — so every such view's audit entry names the
  request.
- Caldicott Guardian: nothing here (confirms, but does not read casework).
- Pause lead in scoping and Pause lead and practitioner in delivery: what sharing's phase rules
  allow (`sharing.disclosure`).
- System administrator: never case data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import models, transaction

from audit.core.log import record_event
from audit.core.models import AuditEntry, Event
from audit.core.models_rights import RequestStatus, RightsRequest
from eligibility.models import Child, Woman
from pause_portal import hooks
from pause_portal.classification import DataClass, classification_of
from pause_portal.tenancy.models import Membership, MembershipStatus
from pause_portal.tenancy.roles import Perm, Role, role_has

# Which classes of field each role may see, by the model's data classification. Roles not
# listed see no record at all (Pause's roles see what sharing's phase rules serve).
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


def memberships_by_programme(user, programme_ids: set[int]) -> dict[int, Membership]:
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


# --- the DPO (issue 9): casework only through an open rights request about that woman --------
def _dpo_request_women(memberships: dict[int, Membership], reason: str) -> dict[int, int]:
    """Programme id -> the woman whose open rights request has `reason` as its reference, for the
    programmes where the user is the DPO."""
    dpo_in = [pid for pid, m in memberships.items() if Role(m.role) == Role.DPO]
    if not dpo_in or not reason:
        return {}
    # Only once the requester's identity is verified by structured evidence (issue 17): the method,
    # the type of document seen and who checked. Free text alone does not open the gate.
    return dict(RightsRequest.objects.filter(programme_id__in=dpo_in, reference=reason.strip(),
                                             status=RequestStatus.OPEN, woman__isnull=False,
                                             identity_checked_by__isnull=False)
                .exclude(identity_method="").exclude(identity_document="")
                .values_list("programme_id", "woman_id"))


def _woman_of(record: models.Model, phase) -> int | None:
    """The woman a record is about: her own record, her child's, or one hanging off her release
    (which sharing's phase rules know)."""
    if isinstance(record, Woman):
        return record.pk
    if isinstance(record, Child):
        return record.mother_id
    if getattr(record, "woman_id", None) is not None:
        return record.woman_id
    if getattr(record, "child_id", None) is not None:
        return Child.objects.filter(pk=record.child_id).values_list("mother_id", flat=True).first()
    return phase.woman_of(record)


def disclose(user, records: Iterable[models.Model], *, page: str, reason: str = "") -> Disclosure:
    """Return the records this user may see now, and record that they saw them."""
    records = list(records)
    memberships = memberships_by_programme(user, {r.programme_id for r in records})
    phase = hooks.call(hooks.PAUSE_DISCLOSURE, by=user, records=records, memberships=memberships)
    dpo_women = _dpo_request_women(memberships, reason)

    def allowed(r) -> bool:
        membership = memberships.get(r.programme_id)
        if membership is not None and Role(membership.role) == Role.DPO:
            return r.programme_id in dpo_women and _woman_of(r, phase) == dpo_women[r.programme_id]
        ruled = phase.allows(r, membership)
        return _may_see(membership) if ruled is None else ruled

    shown = [r for r in records if allowed(r)]
    result = Disclosure(records=shown, withheld=len(records) - len(shown))
    if not shown:
        return result
    phase.prepare(shown)
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
            else:
                served = phase.fields(model, membership)
                result.fields[programme_id] = (visible_fields(model, membership.role) if served is None
                                               else served)
            result.entry = record_event(
                Event.DISCLOSURE,
                actor=user,
                subjects=subjects,
                also_about=phase.people_behind(subjects),
                programme=membership.programme,
                role=membership.role,
                reason=reason,
                page=page,
            )
    return result
