"""Where an access pack's history comes from: the audit trail.

- `access_log_entries`: every entry about her — naming her record, her delivery release, her
  scoping row or one of her decisions, corrections, restrictions or requests as a subject or as
  the thing acted on — oldest first. Entries about her children are theirs, not hers.
- `release_events`: what was released to Pause and when, read from the release entries that name
  her (they outlive the scoping purge, which deletes the snapshot and its releases), with the
  agreement version and lawful bases of the release — or, once a scoping release is purged, of
  the agreement that was in force then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from audit.models import AuditEntry, AuditSubject, Event
from audit.models_rights import RightsRequest
from eligibility.models import Correction, Decision, Restriction, Woman
from sharing.models_delivery import DeliveryRelease, ReleasedWoman
from sharing.models_scoping import (
    Agreement,
    ChangeStatus,
    DeletionCertificate,
    ScopingRelease,
    ScopingWomanRow,
)

SCOPING_WHAT = ("Released for scoping: a pseudonymised row (a token, her age band, ethnic group, number of children "
                "removed, removal years and outcomes, generalised until at least 5 women share every combination)")
DELIVERY_WHAT = ("Released for delivery: her name, date of birth and postcode (read from the Trust's record), the "
                 "address to contact her at and her Trust contact; her children as delivery tokens with year of "
                 "birth, removal year and outcome")


def her_records(woman: Woman, released: ReleasedWoman | None) -> dict[type, list[int]]:
    """Her records that audit entries name, by model."""
    records = {
        Woman: [woman.pk],
        ScopingWomanRow: list(ScopingWomanRow.objects.filter(woman=woman).values_list("pk", flat=True)),
        Decision: list(Decision.objects.filter(woman=woman).values_list("pk", flat=True)),
        Correction: list(Correction.objects.filter(woman=woman).values_list("pk", flat=True)),
        Restriction: list(Restriction.objects.filter(woman=woman).values_list("pk", flat=True)),
        RightsRequest: list(RightsRequest.objects.filter(woman=woman).values_list("pk", flat=True)),
    }
    if released is not None:
        records[ReleasedWoman] = [released.pk]
    return {model: ids for model, ids in records.items() if ids}


def access_log_entries(woman: Woman, released: ReleasedWoman | None) -> QuerySet[AuditEntry]:
    records = her_records(woman, released)
    refs = [f"{model._meta.label_lower}:{pk}" for model, ids in records.items() for pk in ids]
    named = AuditSubject.objects.filter(subject__in=refs).values("entry_id")
    # An entry's object_repr is the reference of the thing acted on (its content type is that of
    # its subjects when it names some), so a change to one of her records is found by it.
    acted_on = Q(programme_id=woman.programme_id, object_repr__in=refs)
    return AuditEntry.objects.filter(Q(id__in=named) | acted_on).order_by("timestamp", "id")


@dataclass(frozen=True)
class ReleaseEvent:
    when: datetime
    phase: str
    what: str
    agreement: str
    bases: str
    actor_id: int | None
    role: str


def _bases(codes: list[str]) -> str:
    from sharing.agreements import LAWFUL_BASES

    return "; ".join(LAWFUL_BASES[c].label if c in LAWFUL_BASES else c for c in codes or [])


def _in_force(programme_id: int, when: datetime) -> Agreement | None:
    return (Agreement.objects.filter(programme_id=programme_id, status=ChangeStatus.CONFIRMED, decided_at__lte=when)
            .order_by("-version").first())


def release_events(woman: Woman, released: ReleasedWoman | None) -> list[ReleaseEvent]:
    scoping, delivery = ScopingRelease._meta.label_lower, DeliveryRelease._meta.label_lower
    named = AuditSubject.objects.filter(subject=f"{Woman._meta.label_lower}:{woman.pk}").values("entry_id")
    entries = (AuditEntry.objects.filter(id__in=named, event=Event.CHANGE)
               .filter(Q(object_repr__startswith=f"{scoping}:") | Q(object_repr__startswith=f"{delivery}:"))
               .order_by("timestamp", "id"))
    events = []
    for e in entries:
        if e.object_repr.startswith(f"{delivery}:"):
            release = DeliveryRelease.objects.filter(pk=e.object_id).select_related("agreement").first()
            agreement = release.agreement if release else _in_force(woman.programme_id, e.timestamp)
            bases = release.lawful_bases if release else (agreement.lawful_bases if agreement else [])
            what = DELIVERY_WHAT
        else:
            release = ScopingRelease.objects.filter(pk=e.object_id).select_related("agreement").first()
            agreement = release.agreement if release else _in_force(woman.programme_id, e.timestamp)
            bases = agreement.lawful_bases if agreement else []
            what = SCOPING_WHAT if e.action == 0 else "Removed from the scoping release: Pause no longer sees her row"
        events.append(ReleaseEvent(when=e.timestamp, phase=e.phase, what=what,
                                   agreement=f"Version {agreement.version}" if agreement else "",
                                   bases=_bases(bases), actor_id=e.actor_id, role=e.role))
    if released is not None and released.withdrawn_at is not None:
        events.append(ReleaseEvent(when=released.withdrawn_at, phase="delivery", agreement="", bases="",
                                   what="Delivery release withdrawn: Pause no longer sees her",
                                   actor_id=released.withdrawn_by_id, role=""))
    if any(e.phase == "scoping" for e in events):
        certificate = DeletionCertificate.objects.filter(programme_id=woman.programme_id).first()
        if certificate is not None:
            events.append(ReleaseEvent(when=certificate.purged_at, phase="scoping", agreement="", bases="",
                                       what="Scoping ended: Pause's copy of the scoping release was destroyed",
                                       actor_id=certificate.purged_by_id, role=""))
    return sorted(events, key=lambda e: e.when)
