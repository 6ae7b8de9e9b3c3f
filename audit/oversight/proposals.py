"""Two people for the DPO's irreversible powers (issue 17, point 1).

An erasure, and an upheld objection that ends processing for good, are proposed by a DPO of the
programme and take effect only when the programme's Caldicott Guardian confirms them — never the
DPO who proposed (the database refuses that too: `rights_proposal_second_person`). The Caldicott
Guardian decides on a page that shows what she needs and no case record (`proposal_summary`): the
request's reference, the ground, the DPO's assessment of the Art. 17(3) exemptions, what would be
erased (rows by kind of record) and what would be kept and why.

- `propose_erasure`: the ground (Art. 17(1) as it can apply here), and the DPO's answer for each
  Art. 17(3) exemption; refused naming the exemption where one applies, while a safeguarding
  concern about her is open, and while another request about her is open (`audit.oversight.erasure.refusal`).
  The Trust leads and the Caldicott Guardian are told by an email with no identifier.
- `propose_objection_upheld`: the answer to give her (kept encrypted); the Caldicott Guardian is told.
- `confirm` (the Caldicott Guardian, with a justification): re-checks everything, then carries it
  out in the same transaction (`audit.oversight.erasure.carry_out`, `audit.oversight.objections.carry_out_upheld`).
- `decline` (the Caldicott Guardian, with a justification) and `withdraw` (a DPO): the request stays open.

Both of the Caldicott Guardian's decisions go into the programme's Caldicott log (`sharing.caldicott_log`,
ADR 45) with the justification, in the decision's transaction. The log names the proposal by its kind
and the request's reference (`in_words`), the reference the DPO already uses: never her name.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from audit.core.models_rights import (
    ErasureExemption,
    ErasureGround,
    ProposalKind,
    ProposalStatus,
    RequestKind,
    RightsProposal,
    RightsRequest,
)
from audit.oversight import erasure
from audit.oversight.rights import (
    RightsRefused,
    _locked,
    _text,
    dpo_membership,
    pending_proposal,
    protector_for,
)
from pause_portal.queue import send_on_commit
from pause_portal.tenancy.models import Membership, MembershipStatus, Person, Programme
from pause_portal.tenancy.roles import Perm, Role, role_has
from pause_portal.tenancy.selectors import membership_in
from sharing import caldicott_log
from sharing.models_caldicott import Decision, DecisionKind

logger = logging.getLogger(__name__)

REASON_MAX = 1000
EMAIL_SUBJECT = "emails/rights_proposal_subject.txt"
EMAIL_BODY = "emails/rights_proposal_body.txt"


def caldicott_membership(by: Person, programme_id: int) -> Membership:
    membership = membership_in(by, programme_id)
    if membership is None or not role_has(membership.role, Perm.CONFIRM_RIGHTS_DECISIONS):
        raise RightsRefused("Only the programme's Caldicott Guardian confirms an erasure or an upheld objection.")
    return membership


def _assessment(exemptions: dict) -> dict[str, bool]:
    """The DPO's answer for each Art. 17(3) exemption: every one answered, yes or no."""
    answers = {}
    for exemption in ErasureExemption:
        value = (exemptions or {}).get(exemption.value)
        if not isinstance(value, bool):
            raise RightsRefused(f"Say whether {exemption.label.split(':')[0]} applies.")
        answers[exemption.value] = value
    unknown = set(exemptions or {}) - set(answers)
    if unknown:
        raise RightsRefused("Only the exemptions of Art. 17(3) are assessed.")
    return answers


def _create(locked: RightsRequest, *, kind: ProposalKind, by: Person, membership: Membership, ground: str = "",
            exemptions: dict | None = None, counts: dict | None = None, note: str = "") -> RightsProposal:
    if pending_proposal(locked) is not None:
        raise RightsRefused(f"A decision on request {locked.reference} already awaits the Caldicott Guardian.")
    proposal = RightsProposal(programme_id=locked.programme_id, request=locked, kind=kind, ground=ground,
                              exemptions=exemptions or {}, counts=counts or {}, proposed_by=by)
    if note:
        proposal.protect(protector_for(locked), note=note)
    try:
        with transaction.atomic():
            proposal.save()
    except IntegrityError:  # another proposal was made at the same moment
        raise RightsRefused(f"A decision on request {locked.reference} already awaits the Caldicott Guardian.") \
            from None
    record_event(Event.CHANGE, actor=by, target=proposal, programme=membership.programme, role=membership.role,
                 action=0, reason=f"rights request {locked.reference}: {kind.value} proposed (proposal "
                                  f"#{proposal.pk}), awaiting the Caldicott Guardian's confirmation")
    return proposal


def propose_erasure(request: RightsRequest, *, ground: ErasureGround | str, exemptions: dict, by: Person,
                    portal_url: str = "") -> RightsProposal:
    """Propose erasing her records on `ground`, with the DPO's answer (True/False) for each Art.
    17(3) exemption. `portal_url` is the confirmation list's absolute address (the email's link)."""
    membership = dpo_membership(by, request.programme_id)
    try:
        ground = ErasureGround(ground)
    except ValueError:
        raise RightsRefused("Choose the ground on which her records are to be erased.") from None
    answers = _assessment(exemptions)
    with transaction.atomic():
        locked = _locked(request)
        why_not = erasure.refusal(locked, exemptions=answers)
        if why_not:
            raise RightsRefused(why_not)
        proposal = _create(locked, kind=ProposalKind.ERASURE, by=by, membership=membership, ground=ground.value,
                           exemptions=answers, counts=erasure.would_erase(locked.woman_id))
        _tell_on_commit(proposal, portal_url)
    return proposal


def propose_objection_upheld(request: RightsRequest, *, note: str, by: Person, portal_url: str = "") -> RightsProposal:
    """Propose upholding the objection (processing ends for good), with the answer to give her."""
    membership = dpo_membership(by, request.programme_id)
    note = _text(note, "the answer given to her")
    with transaction.atomic():
        locked = _locked(request)
        if locked.kind != RequestKind.OBJECTION:
            raise RightsRefused(f"Request {locked.reference} is not an objection.")
        proposal = _create(locked, kind=ProposalKind.OBJECTION_UPHELD, by=by, membership=membership, note=note)
        _tell_on_commit(proposal, portal_url)
    return proposal


def _locked_pending(proposal: RightsProposal) -> RightsProposal:
    locked = RightsProposal.objects.select_for_update().select_related("proposed_by").get(pk=proposal.pk)
    if locked.status != ProposalStatus.PENDING:
        raise RightsRefused(f"This proposal is already {locked.get_status_display().lower()}.")
    return locked


def in_words(proposal: RightsProposal) -> str:
    """How the Caldicott log names the decision: its kind and the request's reference (`DPO-2026-004`),
    which the DPO's and the Guardian's pages already show; never her name or anything about her."""
    what = "Erasure" if proposal.kind == ProposalKind.ERASURE else "Upheld objection"
    return f"{what} proposed on rights request {proposal.request.reference}"


def _justified(justification: str, decision: Decision) -> str:
    """The justification checked before anything changes; a refusal like every other of this module."""
    try:
        return caldicott_log.justified(justification, decision=decision, what="the DPO's proposal")
    except ValidationError as exc:
        raise RightsRefused(exc.messages[0]) from None


def _logged(locked: RightsProposal, membership: Membership, by: Person, decision: Decision, justification: str) -> None:
    caldicott_log.record(programme=membership.programme, kind=DecisionKind.RIGHTS_DECISION, subject=in_words(locked),
                         subject_pk=locked.pk, decision=decision, justification=justification, by=by)


def confirm(proposal: RightsProposal, *, by: Person, justification: str):
    """The Caldicott Guardian confirms, with their justification (the Caldicott log): the erasure or
    the upheld objection is carried out now. Returns the ErasureRecord, or the completed objection
    request."""
    from audit.oversight.objections import carry_out_upheld

    membership = caldicott_membership(by, proposal.programme_id)
    justification = _justified(justification, Decision.CONFIRM)
    with transaction.atomic():
        locked = _locked_pending(proposal)
        if locked.proposed_by_id == by.pk:
            raise RightsRefused("You proposed this: someone else confirms it.")
        request = _locked(locked.request)
        locked.status, locked.decided_by, locked.decided_at = ProposalStatus.CONFIRMED, by, timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at"])
        record_event(Event.CHANGE, actor=by, target=locked, programme=membership.programme, role=membership.role,
                     action=1, reason=f"rights request {request.reference}: proposal #{locked.pk} confirmed by "
                                      "the Caldicott Guardian")
        _logged(locked, membership, by, Decision.CONFIRM, justification)
        if locked.kind == ProposalKind.ERASURE:
            return erasure.carry_out(request, locked, confirmer=by, confirmer_membership=membership)
        return carry_out_upheld(request, locked, confirmer=by, confirmer_membership=membership)


def decline(proposal: RightsProposal, *, justification: str, by: Person) -> RightsProposal:
    """The Caldicott Guardian declines, with their justification (no personal data: the DPO reads it
    here and in the Caldicott log). The request stays open."""
    membership = caldicott_membership(by, proposal.programme_id)
    justification = _justified(justification, Decision.REJECT)
    with transaction.atomic():
        locked = _locked_pending(proposal)
        if locked.proposed_by_id == by.pk:
            raise RightsRefused("You proposed this: someone else decides on it.")
        locked.status, locked.decided_by, locked.decided_at = ProposalStatus.DECLINED, by, timezone.now()
        locked.decision_note = justification
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        record_event(Event.CHANGE, actor=by, target=locked, programme=membership.programme, role=membership.role,
                     action=1, reason=f"rights request {locked.request.reference}: proposal #{locked.pk} declined "
                                      "by the Caldicott Guardian")
        _logged(locked, membership, by, Decision.REJECT, justification)
    return locked


def withdraw(proposal: RightsProposal, *, reason: str, by: Person) -> RightsProposal:
    """A DPO of the programme withdraws the proposal (the request stays open)."""
    membership = dpo_membership(by, proposal.programme_id)
    reason = _text(reason, "why it is withdrawn", limit=REASON_MAX)
    with transaction.atomic():
        locked = _locked_pending(proposal)
        locked.status, locked.decided_by, locked.decided_at = ProposalStatus.WITHDRAWN, by, timezone.now()
        locked.decision_note = reason
        locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        record_event(Event.CHANGE, actor=by, target=locked, programme=membership.programme, role=membership.role,
                     action=1, reason=f"rights request {locked.request.reference}: proposal #{locked.pk} withdrawn")
    return locked


# --- what the Caldicott Guardian reads --------------------------------------------------------------
def pending_in(programme_id: int) -> QuerySet[RightsProposal]:
    return (RightsProposal.objects.filter(programme_id=programme_id, status=ProposalStatus.PENDING)
            .select_related("request", "proposed_by").order_by("proposed_at", "pk"))


STORE_NAMES = {
    "eligibility.Woman": "Her Trust record", "eligibility.Child": "Her children's records",
    "eligibility.LegalStatus": "Her children's legal statuses", "eligibility.CareEpisode": "Her children's care episodes",
    "sharing.ReleasedWoman": "Her delivery release to Pause", "sharing.ReleasedChild": "Her children in that release",
}


def _store_name(label: str) -> str:
    if label in STORE_NAMES:
        return STORE_NAMES[label]
    try:
        return str(apps.get_model(label)._meta.verbose_name_plural).capitalize()
    except LookupError:
        return label


def proposal_summary(proposal: RightsProposal) -> dict:
    """What the confirmer needs, and no case record: reference, ground, exemptions assessed, what
    would be erased now (rows by kind of record) and what would be kept and why."""
    request = proposal.request
    summary = {"reference": request.reference, "kind": proposal.get_kind_display(),
               "received_on": request.received_on, "received_via": request.get_received_via_display(),
               "identity": (request.get_identity_method_display(), request.get_identity_document_display()),
               "ground": proposal.get_ground_display() if proposal.ground else "",
               "exemptions": [(e.label, bool(proposal.exemptions.get(e.value))) for e in ErasureExemption]
               if proposal.kind == ProposalKind.ERASURE else [],
               "erased": [], "kept": [], "refusal": ""}
    if proposal.kind == ProposalKind.ERASURE and request.woman_id:
        summary["erased"] = [(f"{_store_name(label)} ({label})", n)
                             for label, n in erasure.would_erase(request.woman_id).items()]
        summary["kept"] = erasure.would_keep(request)
        summary["refusal"] = erasure.refusal(request, exemptions=proposal.exemptions)
    return summary


# --- telling people -----------------------------------------------------------------------------------
def _tell_on_commit(proposal: RightsProposal, portal_url: str) -> None:
    send_on_commit("audit.tell_of_rights_proposal", proposal.pk, portal_url)


def _people(programme: Programme, role: Role) -> list[Person]:
    return list(Person.objects.filter(is_active=True, memberships__programme=programme,
                                      memberships__status=MembershipStatus.ACTIVE, memberships__role=role)
                .distinct().order_by("pk"))


def proposal_email(programme: Programme, kind: str, portal_url: str, *, confirmer: bool) -> tuple[str, str]:
    """Subject and body: the programme's name, what kind of decision awaits, and (for the Caldicott
    Guardian) the confirmation list's address — nothing about the woman or the request."""
    context = {"programme_name": programme.name, "erasure": kind == ProposalKind.ERASURE,
               "portal_url": portal_url if confirmer else "", "confirmer": confirmer}
    return (" ".join(render_to_string(EMAIL_SUBJECT, context).split()), render_to_string(EMAIL_BODY, context))


def tell_of_proposal(*, proposal_id: int, portal_url: str = "") -> int:
    """Email the programme's Caldicott Guardians (and, for an erasure, its Trust leads) that a
    decision awaits confirmation (after the proposal is committed; nothing once it is decided).
    Returns how many people were told."""
    proposal = RightsProposal.objects.select_related("programme").filter(pk=proposal_id).first()
    if proposal is None or proposal.status != ProposalStatus.PENDING:
        return 0
    programme = proposal.programme
    confirmers = _people(programme, Role.CALDICOTT_GUARDIAN)
    leads = _people(programme, Role.TRUST_LEAD) if proposal.kind == ProposalKind.ERASURE else []
    messages = []
    for people, confirmer in ((confirmers, True), (leads, False)):
        if people:
            subject, body = proposal_email(programme, proposal.kind, portal_url, confirmer=confirmer)
            messages += [(subject, body, settings.DEFAULT_FROM_EMAIL, [p.email]) for p in people]
    if not confirmers:
        logger.warning("rights proposal #%s: no active Caldicott Guardian in programme #%s to confirm it",
                       proposal.pk, programme.pk)
    if messages:
        send_mass_mail(messages, fail_silently=False)
    told = [*confirmers, *leads]
    record_event(Event.CHANGE, target=proposal, programme=programme, action=1,
                 reason=f"proposal #{proposal.pk}: {len(told)} people told by email that a decision awaits "
                        f"confirmation (people #{', #'.join(str(p.pk) for p in told) or 'none'})")
    return len(told)
