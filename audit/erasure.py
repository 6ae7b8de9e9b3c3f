"""Erasure where lawful (issue 9, point 5; UK GDPR Art. 17).

`erase` removes a woman's personal data from the portal's records in one transaction:
- the erasure tombstone first (`eligibility.corrections.erase_tombstone`: the blind index of her
  Trust person id, so no later extract brings her back);
- her scoping snapshot rows (`remove_from_scoping`, which re-runs the k-check over what remains);
- then every row that hangs off her record, found by walking the foreign keys that point at it
  (her children and their legal statuses and care episodes, corrections, evaluations, decisions,
  re-reviews, restrictions, duplicate proposals, her delivery release with its children, caseload
  permissions and history, contact attempts and safeguarding concerns — and whatever later work
  hangs off those), deepest first, and finally her record itself. The history models refuse to
  be deleted through their own managers; this is the one deliberate path past that guard.

What stays: the audit trail, untouched — its entries hold only references ("eligibility.woman:12")
and context, never a value, so the hash chain still verifies; the tombstone; the requests about
her, with the blind index of her Trust person id instead of the link to her record; and the
`ErasureRecord`: the ground, who, when, and how many rows of each kind were erased.

A model of the audit app is never deleted here: meeting one (other than through a link that
clears itself) stops the erasure, changing nothing.
"""

from __future__ import annotations

from collections import Counter

from django.db import models, transaction
from django.utils import timezone

from audit.log import record_event
from audit.models import Event
from audit.models_rights import (
    ErasureGround,
    ErasureRecord,
    RequestKind,
    RequestStatus,
    RightsRequest,
)
from audit.rights import RightsRefused, _locked, dpo_membership, protector_for
from eligibility.models import Woman
from pseudonymisation.fields import Protector
from sharing.models import Person


def erase(request: RightsRequest, *, ground: ErasureGround | str, by: Person) -> ErasureRecord:
    """Erase the woman the erasure request is about, on `ground`, and complete the request."""
    from eligibility.corrections import erase_tombstone
    from sharing.scoping_release import remove_from_scoping

    membership = dpo_membership(by, request.programme_id)
    try:
        ground = ErasureGround(ground)
    except ValueError:
        raise RightsRefused("Choose the ground on which her records are erased.") from None
    with transaction.atomic():
        locked = _locked(request)
        if locked.kind != RequestKind.ERASURE:
            raise RightsRefused(f"Request {locked.reference} is not an erasure request.")
        others = RightsRequest.objects.filter(woman_id=locked.woman_id, status=RequestStatus.OPEN).exclude(pk=locked.pk)
        if others.exists():
            raise RightsRefused("Close her other open requests first: " + ", ".join(o.reference for o in others) + ".")
        woman = Woman.objects.select_for_update().get(pk=locked.woman_id)
        programme = membership.programme
        trust_id = woman.reveal(Protector.load(programme.pk, Woman.key_phase), "trust_person_id") or ""
        tombstone = erase_tombstone(programme, trust_id, by=by, reason=f"{ground.value} {locked.reference}")
        remove_from_scoping(woman, "erasure", by=by)
        erased = Counter()
        now = timezone.now()
        locked.status, locked.closed_by, locked.closed_at, locked.woman = RequestStatus.COMPLETED, by, now, None
        locked.protect(protector_for(locked), outcome_note=f"Erased on the ground {ground.label}")
        locked.save(update_fields=["status", "closed_by", "closed_at", "woman", "outcome_note"])
        RightsRequest.objects.filter(woman=woman).update(woman=None)  # her earlier, closed requests
        _delete_tree(Woman, [woman.pk], erased)
        record = ErasureRecord.objects.create(request=locked, programme=programme, ground=ground,
                                              tombstone=tombstone, erased=dict(sorted(erased.items())),
                                              erased_by=by, erased_at=now)
        record_event(Event.CHANGE, actor=by, target=record, subject_ids=[woman.pk], subject_model=Woman,
                     programme=programme, role=membership.role, action=2,
                     reason=f"rights request {locked.reference}: erased on the ground {ground.value}; "
                            f"{sum(erased.values())} rows of {len(erased)} kinds, tombstone #{tombstone.pk}")
    return record


def _reverse_links(model: type[models.Model]):
    for rel in model._meta.get_fields(include_hidden=True):
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one):
            yield rel


def _delete_tree(model: type[models.Model], pks: list[int], erased: Counter) -> None:
    """Delete these rows of `model` and, first, every row that points at them (deepest first).
    Links that clear themselves (SET_NULL) are cleared; reaching an audit model stops everything."""
    for rel in _reverse_links(model):
        related, field = rel.related_model, rel.field
        linked = models.QuerySet(model=related).filter(**{f"{field.name}__in": pks})
        if rel.on_delete is models.SET_NULL:
            linked.update(**{field.name: None})
            continue
        if related._meta.app_label == "audit":
            if linked.exists():
                raise RightsRefused(f"Erasure stopped: {related._meta.verbose_name_plural} refer to her records.")
            continue
        ids = list(linked.values_list("pk", flat=True))
        if ids:
            _delete_tree(related, ids, erased)
    _deleted, per_label = models.QuerySet(model=model).filter(pk__in=pks).delete()
    erased.update({label: n for label, n in per_label.items() if n})
