"""The writes of the access review and monitoring: each keyword-only with an explicit actor
(`by=`), one transaction, its audit entry inside it.

- `record_review`: a search, report or export of the trail by the DPO — a `ReviewSearch` row (what
  the Caldicott Guardian's report reads) and an audit entry naming, for a person search, the person
  found (so the DPO's own look at her is in her report too). A person search is made either for an
  open rights request of the programme — then it must have found exactly the woman the request is
  about, and the entry's reason names the request's reference — or for a free-text reason (an
  investigation: a monitoring flag, a breach). ADR 16.
- `close_flag`: a monitoring flag reviewed and closed with a note.
- `declare_conflict` / `withdraw_conflict`: the declared-conflicts register (blind indexes only).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from audit.core.models_review import (
    ConflictDeclaration,
    ConflictKind,
    FlagStatus,
    MonitoringFlag,
    Relationship,
    ReviewKind,
    ReviewSearch,
)
from audit.core.models_rights import RequestStatus, RightsRequest
from eligibility.models import Woman
from pause_portal.refused import Refused
from pause_portal.tenancy.roles import Perm, Role, role_has
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.blind_index import IndexKind
from pseudonymisation.fields import Protector

REASON_MAX = 500
NOTE_MAX = 2000


class ReviewRefused(Refused):
    """The request was understood and refused; the message says why (shown to the person)."""


def _role_in(by, programme, perm: Perm) -> Role:
    membership = membership_in(by, programme.pk)
    if membership is None or not role_has(membership.role, perm):
        raise PermissionDenied("Only the programme's DPO reviews the audit trail.")
    return Role(membership.role)


def record_review(*, by, programme, kind: ReviewKind, reason: str, criteria: dict, subjects: list[str] = (),
                  named: list[str] = (), result_count: int = 0, page: str | None = None,
                  rights_request=None) -> ReviewSearch:
    """Record one search, report or export. `subjects` are the references a person search resolved
    to (kept so the report can be paged); `named` the person's own references, named as subjects of
    the audit entry. The reason is the DPO's, checked by the form to carry no identifier; a person
    search for a rights request may leave it empty (the request is its reason)."""
    role = _role_in(by, programme, Perm.REVIEW_AUDIT_TRAIL)
    reason = reason.strip()
    if rights_request is not None and kind != ReviewKind.PERSON_SEARCH:
        raise ReviewRefused("Only a search by person is made for a rights request.")
    if kind == ReviewKind.PERSON_SEARCH and not reason and rights_request is None:
        raise ReviewRefused("Enter your reason, or choose the rights request this search is for")
    if kind == ReviewKind.EXPORT and not reason:
        raise ReviewRefused("An export needs a reason.")
    event = Event.REVIEW_EXPORT if kind == ReviewKind.EXPORT else Event.REVIEW_SEARCH
    with transaction.atomic():
        if rights_request is not None:
            rights_request = _request_matching(rights_request, programme=programme, named=named)
        why = "; ".join(part for part in (rights_request and f"rights request {rights_request.reference}", reason)
                        if part)
        entry_reason = f"{ReviewKind(kind).label}: {why}" if why else ReviewKind(kind).label
        entry = _review_entry(event, by=by, programme=programme, role=role, reason=entry_reason, named=named,
                              page=page)
        return ReviewSearch.objects.create(programme=programme, by=by, kind=kind, reason=reason,
                                           criteria=criteria, subjects=list(subjects), result_count=result_count,
                                           entry=entry, rights_request=rights_request)


def _request_matching(rights_request, *, programme, named: list[str]):
    """The request, locked, if it is an open request of the programme and the search found exactly
    the woman it is about (her own record, nobody else). The refusal never says who she is."""
    locked = RightsRequest.objects.select_for_update().filter(pk=rights_request.pk, programme=programme).first()
    if locked is None:
        raise PermissionDenied("That rights request is not in this programme.")
    if locked.status != RequestStatus.OPEN or locked.woman_id is None:
        raise ReviewRefused(f"Request {locked.reference} is closed: choose an open request, or give another reason")
    if list(named) != [f"eligibility.woman:{locked.woman_id}"]:
        raise ReviewRefused(f"This search does not match the person request {locked.reference} is about")
    return locked


def _review_entry(event: Event, *, by, programme, role, reason: str, named, page):
    """The review's audit entry, naming the person's own references (e.g. "eligibility.woman:12")
    as its subjects: one person is one model, so one entry."""
    from django.apps import apps

    by_model: dict[str, list[int]] = {}
    for ref in named:
        label, _, pk = ref.partition(":")
        by_model.setdefault(label, []).append(int(pk))
    if not by_model:
        return record_event(event, actor=by, programme=programme, role=role, page=page, reason=reason)
    entry = None
    for label, pks in by_model.items():
        entry = record_event(event, actor=by, subject_model=apps.get_model(label), subject_ids=pks,
                             programme=programme, role=role, page=page, reason=reason)
    return entry


def close_flag(flag: MonitoringFlag, *, by, programme, note: str) -> MonitoringFlag:
    """Close a flag in the programme's scope with the DPO's note. Not one about the DPO's own access."""
    from audit.oversight.review import flags_in_scope

    note = note.strip()
    if not note:
        raise ReviewRefused("Enter a note saying what you found")
    if len(note) > NOTE_MAX:
        raise ReviewRefused(f"The note must be {NOTE_MAX} characters or fewer")
    role = _role_in(by, programme, Perm.REVIEW_AUDIT_TRAIL)
    with transaction.atomic():
        locked = flags_in_scope(programme).select_for_update().filter(pk=flag.pk).first()
        if locked is None:
            raise PermissionDenied("That flag is not in this programme.")
        if locked.status == FlagStatus.CLOSED:
            raise ReviewRefused("This flag has already been closed")
        if locked.actor_id == by.pk:
            raise ReviewRefused("A flag about your own access is closed by another DPO of the programme, not by you")
        locked.status, locked.closed_by, locked.closed_at, locked.closing_note = (
            FlagStatus.CLOSED, by, timezone.now(), note)
        locked.save(update_fields=["status", "closed_by", "closed_at", "closing_note"])
        record_event(Event.CHANGE, actor=by, target=locked, programme=programme, role=role, action=1,
                     reason=f"monitoring flag #{locked.pk} ({locked.get_rule_display()}) reviewed and closed")
    return locked


def declare_conflict(*, by, programme, kind: ConflictKind, value: str, relationship: Relationship) -> ConflictDeclaration:
    """Keep the blind indexes of the identifier (under every live key version of the programme's
    index key), never the identifier. Raises ValueError for an identifier that cannot be indexed."""
    membership = membership_in(by, programme.pk)
    if membership is None:
        raise PermissionDenied("Only a member of the programme declares a conflict in it.")
    indexer = Protector.load(programme.pk, Woman.key_phase).indexer
    terms = indexer.search_terms(IndexKind(kind), value)
    with transaction.atomic():
        declaration = ConflictDeclaration.objects.create(programme=programme, declared_by=by, kind=kind,
                                                         relationship=relationship, index_terms=terms)
        record_event(Event.CHANGE, actor=by, target=declaration, programme=programme, role=membership.role,
                     action=0, reason=f"conflict declared (#{declaration.pk})")
    return declaration


def withdraw_conflict(declaration: ConflictDeclaration, *, by) -> ConflictDeclaration:
    if declaration.declared_by_id != by.pk:
        raise PermissionDenied("Only the person who declared a conflict withdraws it.")
    membership = membership_in(by, declaration.programme_id)
    with transaction.atomic():
        locked = ConflictDeclaration.objects.select_for_update().get(pk=declaration.pk)
        if locked.withdrawn_at is not None:
            return locked
        locked.withdrawn_at = timezone.now()
        locked.save(update_fields=["withdrawn_at"])
        record_event(Event.CHANGE, actor=by, target=locked, programme=locked.programme,
                     role=membership.role if membership else "", action=1,
                     reason=f"conflict declaration #{locked.pk} withdrawn")
    return locked
