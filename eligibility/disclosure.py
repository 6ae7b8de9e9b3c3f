"""The disclosure policy: the one way identifying data reaches a person.

`disclose(user, records, page=...)` works out programme, phase and role from the records and the
user's own memberships (never from the caller), returns only what that role may see now, and
writes the access entry in the same call — one entry naming every subject shown.

What it returns is served values, not records to read by convention: iterating a `Disclosure`
gives one `Served` per record shown, holding exactly the fields the viewer may see now, encrypted
ones decrypted here (and nowhere else a page reaches: views, forms and template tags may not
import the Protector, a contract in pyproject says so). A field not served cannot be read from it.
`pause_portal.presenting` turns the values into words. The records themselves stay on
`Disclosure.records`, for ids, links and the actions a page offers: their direct identifiers are
ciphertext there.

Reads that serve no record — an aggregate report, a certificate, an incident list, a proposal read
for its confirmation, a pack downloaded — write their entry through `record_disclosure`, so that
every disclosure entry is written in this module.

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
- DPO: the rights requests of the programme themselves (the register they keep: what was asked,
  the identity check, the outcome), whatever their state. Trust caseworkers and leads: what an
  open rectification asks (they make the corrections). Whoever keeps the breach register: its
  entries (what happened, who is affected, what was done).
- Caldicott Guardian: nothing here (confirms, but does not read casework).
- Pause lead in scoping and Pause lead and practitioner in delivery: what sharing's phase rules
  allow (`sharing.disclosure`).
- System administrator: never case data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from django.db import models, transaction

from audit.core.log import record_event
from audit.core.models import AuditEntry, Event
from audit.core.models_rights import (
    Breach,
    RequestKind,
    RequestStatus,
    RightsRequest,
    SuspectedBreach,
)
from eligibility.models import Child, Woman
from pause_portal import hooks, presenting
from pause_portal.classification import DataClass, classification_of
from pause_portal.tenancy.models import Membership, MembershipStatus
from pause_portal.tenancy.roles import Perm, Role, role_has
from pseudonymisation.fields import Protector, encrypted_fields

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


class Served:
    """One record as served to one person now: the values of the fields they may see, and nothing
    else. Encrypted fields are decrypted when first read (once), and only those served; a field
    not served raises AttributeError (a template shows it as nothing). `pk` names the record.
    `get_<field>_display` gives a served code's label, through the presenter, as on the model."""

    __slots__ = ("pk", "label", "_model", "_record", "_fields", "_read", "_cache")

    def __init__(self, record: models.Model, fields: frozenset[str], read):
        self.pk = record.pk
        self.label = record._meta.label_lower
        self._model = type(record)
        self._record, self._fields, self._read, self._cache = record, fields, read, {}

    @property
    def fields(self) -> frozenset[str]:
        return self._fields

    def __getitem__(self, name: str):
        if name not in self._fields:
            raise KeyError(f"{name} is not served")
        if name not in self._cache:
            self._cache[name] = self._read(self._record, name)
        return self._cache[name]

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name.startswith("get_") and name.endswith("_display") and name[4:-8] in self._fields:
            choices = self._model._meta.get_field(name[4:-8]).choices or ()
            return lambda: presenting.code(choices, self[name[4:-8]], missing="")
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{name} is not served") from None

    def __contains__(self, name: str) -> bool:
        return name in self._fields

    def get(self, name: str, default=None):
        return self[name] if name in self._fields else default

    def __repr__(self) -> str:
        return f"<Served {self.label}:{self.pk} ({', '.join(sorted(self._fields))})>"


@dataclass
class Disclosure:
    records: list = field(default_factory=list)  # the model instances shown (ids, links, actions)
    withheld: int = 0
    entry: AuditEntry | None = None
    fields: dict[int, frozenset[str]] = field(default_factory=dict)  # programme id -> visible fields
    served: list[Served] = field(default_factory=list)  # one per record, in the same order

    def __iter__(self):
        return iter(self.served)

    def __len__(self) -> int:
        return len(self.served)

    def pairs(self):
        """(record, served) for each record shown: the record for links and actions, the served
        values for what the page shows."""
        return zip(self.records, self.served, strict=True)


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


# What a Trust caseworker or lead doing a rectification is served of the request: what was asked
# and what was done (never the requester's identity check or the DPO's outcome note).
RECTIFIER_FIELDS = frozenset({"reference", "kind", "status", "details", "rectification_note"})


def _register_fields(request: RightsRequest | type, membership: Membership) -> frozenset[str] | None:
    """The fields of a rights request a person is served: all of them for whoever answers rights
    requests (the register they keep, whatever its state); what was asked, for the Trust's people
    while it is an open rectification (they make the corrections); None for anyone else."""
    if role_has(membership.role, Perm.ANSWER_RIGHTS_REQUESTS):
        return frozenset(classification_of(RightsRequest))
    if role_has(membership.role, Perm.VIEW_OWN_TRUST_RECORDS) and (
            isinstance(request, type) or (request.kind == RequestKind.RECTIFICATION and request.is_open)):
        return RECTIFIER_FIELDS
    return None


class _Reader:
    """Reads served fields for one disclosure: plain fields as the model holds them, encrypted
    ones decrypted with the programme's key for the holder's phase (one key load each). A field
    the record serves through a live reference (Pause's release reads her name from the Trust's
    record) is read from the record the phase rules name."""

    def __init__(self, phase):
        self._phase = phase
        self._keys: dict[tuple[int, str], Protector] = {}

    def __call__(self, record: models.Model, name: str):
        holder = self._phase.holder(record, name) or record
        if name in _encrypted_names(type(holder)):
            scope = (holder.programme_id, holder.key_phase)
            if scope not in self._keys:
                self._keys[scope] = Protector.load(*scope, create=False)
            return holder.reveal(self._keys[scope], name)
        return getattr(holder, name)


@cache
def _encrypted_names(model: type[models.Model]) -> frozenset[str]:
    return frozenset(f.name for f in encrypted_fields(model)) if hasattr(model, "key_phase") else frozenset()


def disclose(user, records: Iterable[models.Model], *, page: str, reason: str = "") -> Disclosure:
    """Return the records this user may see now, and record that they saw them."""
    records = list(records)
    memberships = memberships_by_programme(user, {r.programme_id for r in records})
    phase = hooks.call(hooks.PAUSE_DISCLOSURE, by=user, records=records, memberships=memberships)
    dpo_women = _dpo_request_women(memberships, reason)

    def allowed(r) -> bool:
        membership = memberships.get(r.programme_id)
        if isinstance(r, RightsRequest):
            return membership is not None and _register_fields(r, membership) is not None
        if isinstance(r, (Breach, SuspectedBreach)):
            return membership is not None and role_has(membership.role, Perm.KEEP_BREACH_REGISTER)
        if membership is not None and Role(membership.role) == Role.DPO:
            return r.programme_id in dpo_women and _woman_of(r, phase) == dpo_women[r.programme_id]
        ruled = phase.allows(r, membership)
        return _may_see(membership) if ruled is None else ruled

    shown = [r for r in records if allowed(r)]
    result = Disclosure(records=shown, withheld=len(records) - len(shown))
    if not shown:
        return result
    phase.prepare(shown)
    read = _Reader(phase)

    def served_fields(model: type[models.Model], membership: Membership) -> frozenset[str]:
        if model is RightsRequest:
            return _register_fields(model, membership)
        if model in (Breach, SuspectedBreach):
            return frozenset(classification_of(model))
        if Role(membership.role) == Role.DPO:
            return frozenset(classification_of(model))
        served = phase.fields(model, membership)
        return visible_fields(model, membership.role) if served is None else served

    kinds: dict[tuple[int, type], frozenset[str]] = {}  # (programme, model) -> fields served
    for r in shown:
        if (r.programme_id, type(r)) not in kinds:
            kinds[r.programme_id, type(r)] = served_fields(type(r), memberships[r.programme_id])

    # One programme per disclosure keeps the entry's context exact; a page spanning several
    # programmes gets one entry for each.
    with transaction.atomic():
        for programme_id in sorted({r.programme_id for r in shown}):
            membership = memberships[programme_id]
            subjects = [r for r in shown if r.programme_id == programme_id]
            result.fields[programme_id] = kinds[programme_id, type(subjects[0])]
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
    result.served = [Served(r, kinds[r.programme_id, type(r)], read) for r in shown]
    return result


def record_disclosure(user, *, membership: Membership, page: str, reason: str, target=None,
                      subjects: Iterable = (), subject_ids: Iterable = (), subject_model=None) -> AuditEntry:
    """The entry for a read that serves no record through `disclose()`: an aggregate report, a
    certificate, a list of incidents, a proposal read for its confirmation, an access pack
    downloaded. The caller has authorised the read; this writes what it was, here, beside every
    other disclosure entry."""
    return record_event(Event.DISCLOSURE, actor=user, target=target, subjects=subjects,
                        subject_ids=subject_ids, subject_model=subject_model,
                        programme=membership.programme, role=membership.role, page=page, reason=reason)


def record_staff_view(request, people: Iterable[models.Model], *, membership=None) -> AuditEntry | None:
    """Pages that show staff details (names, emails) record whom they showed, like any disclosure."""
    people = list(people)
    if not people:
        return None
    return record_event(
        Event.DISCLOSURE,
        actor=request.user,
        subjects=people,
        programme=membership.programme if membership else None,
        role=membership.role if membership else ("system_admin" if request.user.is_system_admin else ""),
        reason="staff details",
    )
