"""Erasure where lawful (issue 9, point 5; UK GDPR Art. 17), with two people (issue 17).

The DPO proposes an erasure (`audit.oversight.proposals.propose_erasure`); it happens only when the
programme's Caldicott Guardian — never the DPO who proposed it — confirms it
(`audit.oversight.proposals.confirm`), which calls `carry_out` here. Both steps check `refusal`: erasure is
refused while a safeguarding concern about her is open (raised and not yet closed by a Trust
lead), while another request about her is open, and where the DPO's assessment says an Art. 17(3)
exemption applies (the refusal names it).

`carry_out` removes her personal data from the portal's records in one transaction:
- the erasure tombstone first (`eligibility.corrections.erase_tombstone`: the blind index of her
  Trust person id, so no later extract brings her back);
- her scoping snapshot rows (`remove_from_scoping`, which re-runs the k-check over what remains);
- then every row that hangs off her record, found by walking the foreign keys that point at it
  (her children and their legal statuses and care episodes, corrections, evaluations, decisions,
  re-reviews, restrictions, duplicate proposals, her delivery release with its children, caseload
  permissions and history, contact attempts — and whatever later work hangs off those), deepest
  first, and finally her record itself. The history models refuse
  to be deleted through their own managers; this is the one deliberate path past that guard.

Erasure never removes a safeguarding concern (issue 22, point 4): it follows the Trust's retention.
A closed one is detached from her record first (`detach_concerns`: her Trust person id is kept on
it, encrypted, so the Trust can still file it against her) and stays until the Trust has filed it
in its case record and Pause's retention period has run (`sharing.retention`). The walk stops,
changing nothing, at any concern still attached.

What stays (`kept`, recorded on the `ErasureRecord` with why): the audit trail, untouched — its
entries hold only references ("eligibility.woman:12") and context, never a value, so the hash
chain still verifies; the tombstone; the requests about her, with the blind index of her Trust
person id instead of the link to her record; and the record itself: the ground, who proposed and
who confirmed, when, and how many rows of each kind were erased. The Trust's own case system is
outside the portal: an erasure here removes the portal's copy only.

A model of the audit app is never deleted here: meeting one (other than through a link that
clears itself) stops the erasure, changing nothing.
"""

from __future__ import annotations

from collections import Counter

from django.db import models
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import AuditSubject, Event
from audit.core.models_rights import (
    ErasureExemption,
    ErasureGround,
    ErasureRecord,
    RequestKind,
    RequestStatus,
    RightsProposal,
    RightsRequest,
)
from audit.oversight.rights import RightsRefused, protector_for
from eligibility.corrections import erase_tombstone
from eligibility.models import Woman
from pause_portal.append_only import delete_tree, reverse_links
from pause_portal.tenancy.models import Membership, Person
from pseudonymisation.fields import Protector
from sharing.models_delivery import OPEN_CONCERN_STATUSES, SafeguardingConcern
from sharing.scoping_release import remove_from_scoping

OUTSIDE_PORTAL = ("The Trust's own case system is outside the portal: this erasure removes the portal's copy "
                  "only. The Trust answers for its own records under its own process.")


def exemptions_applying(exemptions: dict) -> list[ErasureExemption]:
    return [e for e in ErasureExemption if exemptions.get(e.value)]


def refusal(request: RightsRequest, *, exemptions: dict | None = None) -> str:
    """Why her records cannot be erased now, or "" if nothing stands in the way."""
    if request.kind != RequestKind.ERASURE:
        return f"Request {request.reference} is not an erasure request."
    if not request.is_open or request.woman_id is None:
        return f"Request {request.reference} is closed."
    if not request.identity_verified:
        return "Record how the requester's identity was verified first."
    applying = exemptions_applying(exemptions or {})
    if applying:
        return ("Erasure is refused: " + "; ".join(e.label for e in applying)
                + ". Close the request as refused, telling her which exemption applies and why.")
    if SafeguardingConcern.objects.filter(released_woman__woman_id=request.woman_id,
                                          status__in=OPEN_CONCERN_STATUSES).exists():
        return ("Erasure is refused while a safeguarding concern about her is open: a Trust lead must close it "
                "first, so the Trust keeps its copy.")
    others = RightsRequest.objects.filter(woman_id=request.woman_id, status=RequestStatus.OPEN).exclude(pk=request.pk)
    if others.exists():
        return "Close her other open requests first: " + ", ".join(o.reference for o in others) + "."
    return ""


# --- what would go, and what would stay -----------------------------------------------------------
def _find_tree(model: type[models.Model], pks: list[int], found: dict[str, set[int]]) -> None:
    """What `_delete_tree` would delete, found without deleting (a row reached twice counts once)."""
    for rel in reverse_links(model):
        related, field = rel.related_model, rel.field
        if rel.on_delete is models.SET_NULL or related._meta.app_label == "audit" or related is SafeguardingConcern:
            continue  # a concern is detached, never erased
        ids = list(models.QuerySet(model=related).filter(**{f"{field.name}__in": pks}).values_list("pk", flat=True))
        if ids:
            _find_tree(related, ids, found)
    found.setdefault(model._meta.label, set()).update(pks)


def would_erase(woman_id: int) -> dict[str, int]:
    """Rows per kind of record (model label) an erasure of her would delete now."""
    found: dict[str, set[int]] = {}
    _find_tree(Woman, [woman_id], found)
    return dict(sorted((label, len(ids)) for label, ids in found.items() if ids))


def would_keep(request: RightsRequest, *, woman_id: int | None = None) -> list[dict]:
    """What stays after the erasure, and why (no personal data: counts and reasons)."""
    woman_id = woman_id or request.woman_id
    trail = AuditSubject.objects.filter(subject=f"eligibility.woman:{woman_id}").values("entry_id").distinct().count()
    requests = RightsRequest.objects.filter(person_id_index=request.person_id_index,
                                            programme_id=request.programme_id).count()
    concerns = SafeguardingConcern.objects.filter(released_woman__woman_id=woman_id).count()
    kept = [
        {"what": "Entries of the audit trail naming her", "count": trail,
         "why": "The record of who saw or changed her records. They hold references, never her details, and the "
                "trail's hash chain must still verify (accountability, Art. 5(2))."},
        {"what": "Her rights requests, linked by the blind index of her Trust person ID", "count": requests,
         "why": "The record of what she asked and how it was answered, including this erasure."},
        {"what": "An erasure tombstone: the blind index of her Trust person ID", "count": 1,
         "why": "So that no later extract from the Trust brings her records back into the portal."},
    ]
    if concerns:
        kept.append({"what": "Safeguarding concerns and serious incidents about her, with her Trust person ID",
                     "count": concerns,
                     "why": "Erasure never removes a concern: it follows the Trust's social-care retention. Each "
                            "is detached from her record and kept until a Trust lead has filed it in the Trust's "
                            "case record and Pause's retention period has run."})
    kept.append({"what": "The Trust's own case system", "count": None, "why": OUTSIDE_PORTAL})
    return kept


# --- carrying it out (only from a confirmed proposal) ------------------------------------------------
def carry_out(locked: RightsRequest, proposal: RightsProposal, *, confirmer: Person,
              confirmer_membership: Membership) -> ErasureRecord:
    """Erase the woman the (locked, open) erasure request is about, on the proposal's ground, inside
    the confirmation's transaction; complete the request. `audit.oversight.proposals.confirm` calls it."""
    why_not = refusal(locked, exemptions=proposal.exemptions)
    if why_not:
        raise RightsRefused(why_not)
    ground = ErasureGround(proposal.ground)
    proposer = proposal.proposed_by
    woman = Woman.objects.select_for_update().get(pk=locked.woman_id)
    programme = confirmer_membership.programme
    kept = would_keep(locked)
    trust_id = woman.reveal(Protector.load(programme.pk, Woman.key_phase), "trust_person_id") or ""
    tombstone = erase_tombstone(programme, trust_id, by=proposer, reason=f"{ground.value} {locked.reference}")
    remove_from_scoping(woman, "erasure", by=proposer)
    erased = Counter()
    now = timezone.now()
    locked.status, locked.closed_by, locked.closed_at, locked.woman = RequestStatus.COMPLETED, confirmer, now, None
    locked.protect(protector_for(locked), outcome_note=f"Erased on the ground {ground.label}, proposed by the DPO "
                                                       "and confirmed by the Caldicott Guardian")
    locked.save(update_fields=["status", "closed_by", "closed_at", "woman", "outcome_note"])
    RightsRequest.objects.filter(woman=woman).update(woman=None)  # her earlier, closed requests
    detach_concerns(woman, trust_person_id=trust_id)
    _delete_tree(Woman, [woman.pk], erased)
    record = ErasureRecord.objects.create(request=locked, programme=programme, ground=ground,
                                          tombstone=tombstone, erased=dict(sorted(erased.items())), kept=kept,
                                          erased_by=proposer, erased_at=now, proposal=proposal,
                                          confirmed_by=confirmer)
    record_event(Event.CHANGE, actor=confirmer, target=record, subject_ids=[woman.pk], subject_model=Woman,
                 programme=programme, role=confirmer_membership.role, action=2,
                 reason=f"rights request {locked.reference}: erased on the ground {ground.value}, proposed by person "
                        f"#{proposer.pk} (proposal #{proposal.pk}) and confirmed by person #{confirmer.pk}; "
                        f"{sum(erased.values())} rows of {len(erased)} kinds, tombstone #{tombstone.pk}; "
                        "the Trust's own case system is outside the portal")
    return record


def detach_concerns(woman: Woman, *, trust_person_id: str) -> int:
    """Keep every concern about her, unlinked from her release, holding her Trust person id
    (encrypted) instead. Only closed ones can be here: `refusal` refuses while one is open."""
    concerns = list(SafeguardingConcern.objects.select_for_update().filter(released_woman__woman=woman))
    if concerns:
        protector = Protector.load(woman.programme_id, SafeguardingConcern.key_phase)
    for concern in concerns:
        concern.released_woman = None
        concern.protect(protector, trust_person_id=trust_person_id)
        concern.save(update_fields=["released_woman", "trust_person_id"])
    return len(concerns)


def _delete_tree(model: type[models.Model], pks: list[int], erased: Counter) -> None:
    """Delete these rows of `model` and, first, every row that points at them (deepest first), by
    the one path past the history guard (`pause_portal.append_only.delete_tree`). Links that clear
    themselves (SET_NULL) are cleared; reaching rows of an audit model, or any safeguarding concern
    (erasure never removes one: `detach_concerns` unlinks them first), stops everything."""
    delete_tree(model, pks, erased, refuse=_never_erased)


def _never_erased(model: type[models.Model]) -> RightsRefused | None:
    if model is SafeguardingConcern:
        return RightsRefused("Erasure stopped: a safeguarding concern is still linked to her records.")
    if model._meta.app_label == "audit":
        return RightsRefused(f"Erasure stopped: {model._meta.verbose_name_plural} refer to her records.")
    return None
