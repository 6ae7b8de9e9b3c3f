"""Rights requests (issue 9, point 1): the DPO opens one for a woman, recording how and when it was
received and the structured evidence of the identity check (method, type of document, who checked:
issue 17 — the disclosure gate to her records opens only on it); it is due one calendar month after it was received (`audit.oversight.due_dates`),
may be extended with a reason, has an owner (a DPO of the programme) and a status.

Every write here is an action: keyword-only, an explicit `by=`, one transaction, its audit entry
inside it. Audit reasons carry the request's reference and never anything about her (not even
which right she asked for: the reference leads there for those who may know).

Rectification (point 3) is a caseworker's step: `rectify` corrects one field of her record (or
her child's) through `eligibility.corrections.correct` — the history stays encrypted, later
extracts show the difference instead of overwriting — and `finish_rectification` records what was
checked. Restriction (point 4) uses the delivery issue's restriction: she leaves every Pause view
at once. Objections are in `audit.oversight.objections`, erasure in `audit.oversight.erasure`.
"""

from __future__ import annotations

import re
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from audit.core.models_rights import (
    IdentityDocument,
    IdentityMethod,
    ProposalStatus,
    ReceiptChannel,
    RequestExtension,
    RequestKind,
    RequestStatus,
    RightsRequest,
)
from audit.oversight.due_dates import MAX_EXTENSION_MONTHS, due_on
from audit.oversight.request_restrictions import restrict_for_request
from eligibility.corrections import OpenRectification, correct
from eligibility.models import Child, Restriction, RestrictionReason, Woman
from eligibility.restrictions import RestrictionRefused, end_restriction
from pause_portal.refused import Refused
from pause_portal.tenancy.models import Membership, Person, Programme
from pause_portal.tenancy.roles import TRUST_ROLES, Perm, Role, role_has
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.fields import Protector

TEXT_MAX = 5000
EXTENSION_REASON_MAX = 1000


class RightsRefused(Refused):
    """A rights action that cannot go ahead; nothing was written. `message` says why."""


def dpo_membership(by: Person, programme_id: int) -> Membership:
    membership = membership_in(by, programme_id)
    if membership is None or not role_has(membership.role, Perm.ANSWER_RIGHTS_REQUESTS):
        raise RightsRefused("Only the programme's data protection officer answers rights requests.")
    return membership


def _text(value: str, what: str, *, required: bool = True, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if required and not value:
        raise RightsRefused(f"Enter {what}.")
    if len(value) > limit:
        raise RightsRefused(f"{what[0].upper()}{what[1:]} must be {limit} characters or fewer.")
    return value


def _next_reference(received_on: date) -> str:
    prefix = f"DPO-{received_on.year}-"
    taken = RightsRequest.objects.filter(reference__startswith=prefix).count()
    return f"{prefix}{taken + 1:03d}"


def _locked(request: RightsRequest) -> RightsRequest:
    locked = RightsRequest.objects.select_for_update().get(pk=request.pk)
    if not locked.is_open:
        raise RightsRefused(f"Request {locked.reference} is closed.")
    return locked


def protector_for(request: RightsRequest) -> Protector:
    return Protector.load(request.programme_id, RightsRequest.key_phase)


def reveal(request: RightsRequest, field: str, protector: Protector | None = None) -> str:
    return request.reveal(protector or protector_for(request), field) or ""


# --- opening, extending, owning, closing -------------------------------------------------------
_DOCUMENT_NUMBER = re.compile(r"\d(?:[\s-]?\d){5,}")  # six or more digits, however spaced: a number


def _identity_evidence(programme: Programme, *, method: str, document: str, checked_by: Person | None,
                       note: str) -> tuple[IdentityMethod, IdentityDocument, Person, str]:
    """The structured evidence of an identity check (issue 17): the method, the type of document
    seen (never its number) and who checked — a Trust member of the programme. The note is optional
    and may not hold a document's number."""
    try:
        method = IdentityMethod(method)
    except ValueError:
        raise RightsRefused("Choose how the requester's identity was verified.") from None
    try:
        document = IdentityDocument(document)
    except ValueError:
        raise RightsRefused("Choose the type of document seen.") from None
    if document == IdentityDocument.NONE and method != IdentityMethod.TRUST_KNOWN:
        raise RightsRefused("A check without a document is only one made by her Trust worker, who knows her.")
    checker = membership_in(checked_by, programme.pk) if checked_by is not None else None
    if checker is None or Role(checker.role) not in TRUST_ROLES:
        raise RightsRefused("Choose who checked her identity: a member of the Trust's staff in this programme.")
    note = _text(note, "the note on the identity check", required=False)
    if _DOCUMENT_NUMBER.search(note):
        raise RightsRefused("Do not record a document's number: record only the type of document seen.")
    return method, document, checked_by, note


def open_request(*, programme: Programme, kind: RequestKind | str, woman: Woman, received_on: date,
                 received_via: ReceiptChannel | str, identity_method: IdentityMethod | str,
                 identity_document: IdentityDocument | str, identity_checked_by: Person | None, by: Person,
                 identity_check: str = "", details: str = "", owner: Person | None = None) -> RightsRequest:
    """Open a request about `woman` received on `received_on` through `received_via`, due one
    calendar month later, with the structured evidence of the identity check (the disclosure gate
    opens only on it). An objection restricts her at once, while it is considered
    (`audit.oversight.objections`)."""
    membership = dpo_membership(by, programme.pk)
    try:
        kind = RequestKind(kind)
    except ValueError:
        raise RightsRefused("Choose which right she is asking to exercise.") from None
    if woman is None or woman.programme_id != programme.pk:
        raise RightsRefused("Find the woman the request is about: no woman of this programme has that identifier.")
    try:
        received_via = ReceiptChannel(received_via)
    except ValueError:
        raise RightsRefused("Choose how the request was received.") from None
    method, document, checker, identity_check = _identity_evidence(
        programme, method=identity_method, document=identity_document, checked_by=identity_checked_by,
        note=identity_check)
    details = _text(details, "what she is asking for", required=False)
    if received_on > timezone.localdate():
        raise RightsRefused("The date received must be today or in the past.")
    owner = owner or by
    dpo_membership(owner, programme.pk)
    for attempt in range(3):
        try:
            with transaction.atomic():
                request = RightsRequest(programme=programme, reference=_next_reference(received_on), kind=kind,
                                        woman=woman, person_id_index=woman.person_id_index, received_on=received_on,
                                        received_via=received_via, due_on=due_on(received_on), owner=owner,
                                        opened_by=by, identity_method=method, identity_document=document,
                                        identity_checked_by=checker, identity_recorded_at=timezone.now())
                request.protect(Protector.load(programme.pk, RightsRequest.key_phase),
                                identity_check=identity_check, details=details)
                request.save()
                record_event(Event.CHANGE, actor=by, target=request, subjects=[woman], programme=programme,
                             role=membership.role, action=0, reason=f"rights request {request.reference} opened")
                if kind == RequestKind.OBJECTION:  # restricted while it is considered
                    restrict_for_request(request, reason=RestrictionReason.OBJECTION, by=by)
            return request
        except IntegrityError:  # two requests took the same reference at once: take the next
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def record_identity(request: RightsRequest, *, identity_method: IdentityMethod | str,
                    identity_document: IdentityDocument | str, identity_checked_by: Person | None, by: Person,
                    identity_check: str = "") -> RightsRequest:
    """Record the structured evidence of the identity check on an open request that has none (one
    opened before issue 17, with free text only): until then the gate to her records stays shut."""
    membership = dpo_membership(by, request.programme_id)
    method, document, checker, note = _identity_evidence(
        membership.programme, method=identity_method, document=identity_document,
        checked_by=identity_checked_by, note=identity_check)
    with transaction.atomic():
        locked = _locked(request)
        if locked.identity_verified:
            raise RightsRefused(f"The identity check of request {locked.reference} is already recorded.")
        locked.identity_method, locked.identity_document, locked.identity_checked_by = method, document, checker
        locked.identity_recorded_at = timezone.now()
        fields = ["identity_method", "identity_document", "identity_checked_by", "identity_recorded_at"]
        if note:
            locked.protect(protector_for(locked), identity_check=note)
            fields.append("identity_check")
        locked.save(update_fields=fields)
        record_event(Event.CHANGE, actor=by, target=locked, programme=membership.programme, role=membership.role,
                     action=1, reason=f"rights request {locked.reference}: identity check recorded "
                                      f"({method.value}, {document.value}, checked by person #{checker.pk})")
    return locked


def pending_proposal(request: RightsRequest):
    return request.proposals.filter(status=ProposalStatus.PENDING).first()


def extension_months(request: RightsRequest) -> int:
    return request.extensions.aggregate(n=Sum("months"))["n"] or 0


def extend(request: RightsRequest, *, months: int, reason: str, by: Person) -> RequestExtension:
    """Move the due date by one or two months (at most two in all), with the reason she is told."""
    membership = dpo_membership(by, request.programme_id)
    reason = _text(reason, "the reason for the extension", limit=EXTENSION_REASON_MAX)
    if months not in (1, 2):
        raise RightsRefused("An extension is of one or two months.")
    with transaction.atomic():
        locked = _locked(request)
        already = extension_months(locked)
        if already + months > MAX_EXTENSION_MONTHS:
            raise RightsRefused(f"A request can be extended by at most {MAX_EXTENSION_MONTHS} months in all "
                                f"({already} already).")
        before, after = locked.due_on, due_on(locked.received_on, already + months)
        extension = RequestExtension.objects.create(request=locked, months=months, reason=reason,
                                                    due_before=before, due_after=after, extended_by=by)
        locked.due_on = after
        locked.save(update_fields=["due_on"])
        record_event(Event.CHANGE, actor=by, target=locked, programme=membership.programme, role=membership.role,
                     action=1, reason=f"rights request {locked.reference} extended by {months} month(s) "
                                      f"to {after.isoformat()}")
    request.due_on = after
    return extension


def reassign(request: RightsRequest, *, owner: Person, by: Person) -> RightsRequest:
    membership = dpo_membership(by, request.programme_id)
    try:
        dpo_membership(owner, request.programme_id)
    except RightsRefused:
        raise RightsRefused("The owner must be a data protection officer of the programme.") from None
    with transaction.atomic():
        locked = _locked(request)
        locked.owner = owner
        locked.save(update_fields=["owner"])
        record_event(Event.CHANGE, actor=by, target=locked, programme=membership.programme, role=membership.role,
                     action=1, reason=f"rights request {locked.reference} given to person #{owner.pk}")
    return locked


def close(request: RightsRequest, *, status: RequestStatus | str, note: str, by: Person) -> RightsRequest:
    """Complete or refuse a request, with the answer or the refusal's reason (kept encrypted). An
    objection is closed by its outcome (`audit.oversight.objections`), an erasure by the erasure itself once
    the Caldicott Guardian confirms it (`audit.oversight.proposals`), and a rectification once the
    caseworker's step is done. Refused while a decision awaits the Caldicott Guardian."""
    membership = dpo_membership(by, request.programme_id)
    status = RequestStatus(status)
    if status == RequestStatus.OPEN:
        raise RightsRefused("Choose whether the request was completed or refused.")
    note = _text(note, "the answer given" if status == RequestStatus.COMPLETED else "why it was refused")
    with transaction.atomic():
        locked = _locked(request)
        if pending_proposal(locked) is not None:
            raise RightsRefused("A decision on this request awaits the Caldicott Guardian: withdraw it first.")
        if status == RequestStatus.COMPLETED:
            if locked.kind == RequestKind.OBJECTION:
                raise RightsRefused("An objection ends upheld or not upheld: record its outcome.")
            if locked.kind == RequestKind.ERASURE:
                raise RightsRefused("An erasure request is completed by erasing her records.")
            if locked.kind == RequestKind.RECTIFICATION and locked.rectification_done_at is None:
                raise RightsRefused("A caseworker has not yet finished checking and correcting her records.")
        elif locked.kind == RequestKind.OBJECTION and locked.restriction_id:
            raise RightsRefused("An objection ends upheld or not upheld: record its outcome.")
        _finish(locked, status=status, note=note, by=by, membership=membership)
    return locked


def _finish(locked: RightsRequest, *, status: RequestStatus, note: str, by: Person, membership: Membership) -> None:
    locked.status, locked.closed_by, locked.closed_at = status, by, timezone.now()
    locked.protect(protector_for(locked), outcome_note=note)
    locked.save(update_fields=["status", "closed_by", "closed_at", "outcome_note"])
    record_event(Event.CHANGE, actor=by, target=locked, programme=membership.programme, role=membership.role,
                 action=1, reason=f"rights request {locked.reference} {status.label.lower()}")


# --- restriction (Art. 18) ---------------------------------------------------------------------
def open_request_restriction(request: RightsRequest, *, by: Person,
                             reason: RestrictionReason = RestrictionReason.RESTRICTION_REQUEST) -> Restriction:
    """Restrict her records for this request: nothing about her can be released, she leaves the
    scoping snapshot and every Pause view in delivery at once."""
    dpo_membership(by, request.programme_id)
    with transaction.atomic():
        locked = _locked(request)
        if locked.kind not in (RequestKind.RESTRICTION, RequestKind.OBJECTION):
            raise RightsRefused("Only a restriction request or an objection restricts her records.")
        if locked.restriction_id and locked.restriction.ended_at is None:
            raise RightsRefused(f"Her records are already restricted for request {locked.reference}.")
        restriction = restrict_for_request(locked, reason=reason, by=by)
    request.restriction = restriction
    return restriction


def lift_request_restriction(request: RightsRequest, *, by: Person) -> Restriction:
    """End the restriction this request opened (her restriction request was settled)."""
    dpo_membership(by, request.programme_id)
    with transaction.atomic():
        locked = _locked(request)
        if locked.kind != RequestKind.RESTRICTION:
            raise RightsRefused("An objection's restriction ends with its outcome.")
        if not locked.restriction_id or locked.restriction.ended_at is not None:
            raise RightsRefused("No restriction is open for this request.")
        try:
            return end_restriction(locked.restriction, by=by, for_request=locked)
        except RestrictionRefused as exc:
            raise RightsRefused(exc.message) from None


# --- rectification (Art. 16): the caseworker's step ----------------------------------------------
def _caseworker(by: Person, request: RightsRequest) -> Membership:
    membership = membership_in(by, request.programme_id)
    if membership is None or not role_has(membership.role, Perm.RECTIFY_RECORDS):
        raise RightsRefused("Only the programme's Trust caseworkers correct records from a request.")
    if request.kind != RequestKind.RECTIFICATION or not request.is_open:
        raise RightsRefused(f"Request {request.reference} is not an open rectification request.")
    return membership


def rectify(request: RightsRequest, record: Woman | Child, field: str, value, *, reason: str, by: Person):
    """Correct one field of her record or her child's from the request (a Correction: previous and
    corrected values kept encrypted; the import then keeps the corrected value and reports an
    extract's different one)."""
    _caseworker(by, request)
    woman_id = record.pk if isinstance(record, Woman) else getattr(record, "mother_id", None)
    if woman_id != request.woman_id:
        raise RightsRefused("Only her own record, or her child's, is corrected from her request.")
    reason = _text(reason, "the reason for the correction", limit=TEXT_MAX - 30)
    try:
        return correct(record, field, value, by=by, reason=f"{request.reference}: {reason}",
                       rights_request=open_rectification(request))
    except ValueError as exc:
        raise RightsRefused(str(exc)) from None


def open_rectification(request: RightsRequest) -> OpenRectification | None:
    """The request as `eligibility.corrections.correct` takes it from a caseworker: checked here,
    where rights requests are owned, as it stands in the database now (a rectification request,
    still open, about a woman). None if it is not (or no longer) one: the correction is then
    refused as one from a caseworker with no request."""
    found = (RightsRequest.objects.filter(pk=request.pk, kind=RequestKind.RECTIFICATION, status=RequestStatus.OPEN,
                                          woman__isnull=False)
             .values_list("reference", "programme_id", "woman_id").first())
    return OpenRectification(*found) if found is not None else None


def finish_rectification(request: RightsRequest, *, note: str, by: Person) -> RightsRequest:
    """The caseworker's account of what was checked and corrected (or why nothing needed to be)."""
    membership = _caseworker(by, request)
    note = _text(note, "what you checked and corrected")
    with transaction.atomic():
        locked = _locked(request)
        if locked.rectification_done_at is not None:
            raise RightsRefused("The rectification step of this request is already finished.")
        locked.rectification_done_by, locked.rectification_done_at = by, timezone.now()
        locked.protect(protector_for(locked), rectification_note=note)
        locked.save(update_fields=["rectification_done_by", "rectification_done_at", "rectification_note"])
        record_event(Event.CHANGE, actor=by, target=locked, programme=membership.programme, role=membership.role,
                     action=1, reason=f"rights request {locked.reference}: rectification step finished")
    return locked


# --- reads the pages share -----------------------------------------------------------------------
def requests_of(programme_id: int) -> QuerySet[RightsRequest]:
    return RightsRequest.objects.filter(programme_id=programme_id).select_related("owner")


def due_list(programme_id: int) -> QuerySet[RightsRequest]:
    """The programme's open requests, soonest due first (the DPO dashboard's list)."""
    return requests_of(programme_id).filter(status=RequestStatus.OPEN).order_by("due_on", "pk")


def rectifications_for_caseworkers(programme_id: int) -> QuerySet[RightsRequest]:
    """Open rectification requests whose caseworker step is not finished."""
    return requests_of(programme_id).filter(status=RequestStatus.OPEN, kind=RequestKind.RECTIFICATION,
                                            rectification_done_at__isnull=True).order_by("due_on", "pk")
