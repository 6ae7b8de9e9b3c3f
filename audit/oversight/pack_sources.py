"""Where an access pack's history comes from: the audit trail.

- `access_log_entries`: every entry about her (the access review's references about a person,
  `audit.oversight.person_subjects`), oldest first.
- `release_events`: what was released to Pause and when, read from the release entries that name
  her (they outlive the scoping purge, which deletes the snapshot and its releases), with the
  agreement version and lawful bases of the release — or, once a scoping release is purged, of
  the agreement that was in force then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from audit.core.models import AuditEntry, AuditSubject, Event
from audit.oversight.person_subjects import pages_about, references_about_woman
from eligibility.models import Woman
from pause_portal.tenancy.models import Phase
from sharing import data_items
from sharing import lawful_bases as bases
from sharing.models_delivery import DeliveryRelease, ReleasedWoman
from sharing.models_scoping import Agreement, ChangeStatus, DeletionCertificate, ScopingRelease


def _items(agreement: Agreement | None, phase: str) -> str:
    """The data items `agreement` let `phase` share, in its words (lower case), joined."""
    codes = data_items.known(phase, (agreement.data_items or {}).get(str(phase)) if agreement else ())
    words = [data_items.ITEMS[phase][c].label for c in codes]
    return "; ".join(w[0].lower() + w[1:] for w in words) if words else "nothing"


def scoping_what(agreement: Agreement | None) -> str:
    """What a scoping release served about her: the scoping items of the agreement it was under."""
    return ("Released for scoping: a pseudonymised row, generalised until at least 5 women share every "
            f"combination of everything served, with the items the agreement allowed: {_items(agreement, Phase.SCOPING)}")


def delivery_what(agreement: Agreement | None) -> str:
    """What a delivery release served about her: the delivery items of the agreement it was under
    (her name, date of birth and postcode are read from the Trust's record while she is released)."""
    return f"Released for delivery, with the items the agreement allowed: {_items(agreement, Phase.DELIVERY)}"


def access_log_entries(woman: Woman) -> QuerySet[AuditEntry]:
    """Every entry about her, oldest first: naming one of the references about her
    (`audit.oversight.person_subjects`: her record, her children's, her decisions, corrections, restrictions,
    scoping and delivery rows, her requests) as a subject, acting on one of them, or refused for
    one of her pages.

    The thing acted on is matched by the entry's `object_repr` — always the target's reference —
    not by its content type: `record_event` stores the subjects' model there when an entry has both
    a target and subjects, with the target's id, so a content-type match could take another
    woman's entry for hers."""
    references = references_about_woman(woman.pk)
    named = AuditSubject.objects.filter(subject__in=references).values("entry_id")
    about = Q(id__in=named) | Q(programme_id=woman.programme_id, object_repr__in=references)
    pages = pages_about(references)
    if pages:
        about |= Q(event=Event.REFUSED, page__in=pages)
    return AuditEntry.objects.filter(about).order_by("timestamp", "id")


@dataclass(frozen=True)
class ReleaseEvent:
    when: datetime
    phase: str
    what: str
    agreement: str
    bases: str
    actor_id: int | None
    role: str


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
            cited = release.lawful_bases if release else (agreement.lawful_bases if agreement else {})
            what = delivery_what(agreement)
        else:
            release = ScopingRelease.objects.filter(pk=e.object_id).select_related("agreement").first()
            agreement = release.agreement if release else _in_force(woman.programme_id, e.timestamp)
            cited = agreement.lawful_bases if agreement else {}
            what = (scoping_what(agreement) if e.action == 0
                    else "Removed from the scoping release: Pause no longer sees her row")
        events.append(ReleaseEvent(when=e.timestamp, phase=e.phase, what=what,
                                   agreement=f"Version {agreement.version}" if agreement else "",
                                   bases=bases.in_words(cited) if cited else "", actor_id=e.actor_id,
                                   role=e.role))
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
