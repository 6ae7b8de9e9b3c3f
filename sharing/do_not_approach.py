"""Do-not-approach markers (issue 22, point 5; ADR 37): a woman who declined Pause or withdrew
leaves a marker holding only her Trust person id's blind index, with the programme, the kind,
when she ended and until when the Trust must not approach her again.

The period is the agreement's `retention` entry "do_not_approach", in words
(`sharing.retention.parse_period`); an agreement without one (older versions), or with words that
cannot be applied, gets `DEFAULT_PERIOD`, and the marker records which. The marker points at
nothing of hers, so the retention of her release (`sharing.retention`) deletes her release and
leaves the marker; the retention run deletes markers past their date (`sharing.retention`).

A marker is live until its date unless a Trust lead set it aside by releasing her again with a
recorded reason (`sharing.delivery_release`). Matching tries every live key version of the
blind index (as the erasure tombstones do, `eligibility.corrections`): a marker written before a
key rotation still finds her.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from eligibility.models import Woman
from pause_portal import presenting
from pause_portal.tenancy.models import Person, Programme
from pseudonymisation.blind_index import IndexKind
from pseudonymisation.fields import Protector
from sharing.models_delivery import Participation, ReleasedWoman
from sharing.models_markers import DoNotApproachMarker, MarkerKind
from sharing.retention import Period, parse_period
from sharing.scoping_term import add_months, current_agreement

STORE = "do_not_approach"  # its key in the agreement's `retention`
DEFAULT_PERIOD = "2 years"
KINDS = {Participation.DECLINED: MarkerKind.DECLINED, Participation.WITHDREW: MarkerKind.WITHDREW}


def period_for(programme: Programme) -> tuple[Period, str]:
    """The marker period from the current agreement, and where it came from (for the marker)."""
    agreement = current_agreement(programme)
    words = str(((agreement.retention if agreement else None) or {}).get(STORE) or "").strip()
    if words:
        try:
            return parse_period(words), "agreement"
        except ValueError:
            pass  # recording her decline must not fail on the agreement's words: the default holds
    return parse_period(DEFAULT_PERIOD), "default"


def until(ended_at: datetime, period: Period) -> datetime:
    """The moment the marker runs out: calendar months and days on the local clock (a marker of
    6 months from 12 January 10:00 runs to 12 July 10:00, summer time or not)."""
    return add_months(timezone.localtime(ended_at), period.months) + timedelta(days=period.days)


def mark(released: ReleasedWoman, *, kind: str, ended_at: datetime) -> DoNotApproachMarker:
    """Leave her marker (inside the caller's transaction, whose audit entry names it)."""
    period, source = period_for(released.programme)
    index = Woman.objects.filter(pk=released.woman_id).values_list("person_id_index", flat=True).get()
    return DoNotApproachMarker.objects.create(
        programme_id=released.programme_id, person_id_index=index, kind=KINDS[kind], ended_at=ended_at,
        until=until(ended_at, period), period=f"{period.text} ({source})")


def live(programme_id: int, *, now: datetime | None = None) -> QuerySet[DoNotApproachMarker]:
    return DoNotApproachMarker.objects.filter(programme_id=programme_id, until__gt=now or timezone.now(),
                                              set_aside_at__isnull=True)


def _version(index: str) -> str:
    return (index or "").split(":")[0]


def live_markers(programme_id: int, women: list[Woman], *, now: datetime | None = None) \
        -> dict[int, DoNotApproachMarker]:
    """woman id -> her live marker (the one that runs longest), for those of `women` who have one.
    One query when every marker is under the key version of her index; otherwise her Trust person
    id is read (never shown) to index it under every live version."""
    markers = list(live(programme_id, now=now).order_by("until", "pk")) if women else []
    if not markers:
        return {}
    by_index = {m.person_id_index: m for m in markers}  # the longest-running wins
    versions = {_version(i) for i in by_index}
    out: dict[int, DoNotApproachMarker] = {}
    protector = None
    for woman in women:
        hit = by_index.get(woman.person_id_index)
        if hit is None and versions - {_version(woman.person_id_index)}:
            protector = protector or Protector.load(programme_id, Woman.key_phase)
            terms = protector.indexer.search_terms(IndexKind.PERSON_ID, woman.reveal(protector, "trust_person_id"))
            hits = [by_index[t] for t in terms if t in by_index]
            hit = max(hits, key=lambda m: (m.until, m.pk)) if hits else None
        if hit is not None:
            out[woman.pk] = hit
    return out


def in_words(marker: DoNotApproachMarker) -> str:
    """What the Trust lead is told before releasing her again."""
    ended = presenting.day(timezone.localdate(marker.ended_at))
    before = presenting.day(timezone.localdate(marker.until))
    did = "declined Pause" if marker.kind == MarkerKind.DECLINED else "withdrew from Pause"
    return f"She {did} on {ended}: do not approach her again before {before}"


def set_aside(markers: list[DoNotApproachMarker], *, by: Person, at: datetime) -> None:
    """The Trust has decided to approach them again (inside the release's transaction, whose audit
    entry names each marker and the reason)."""
    DoNotApproachMarker.objects.filter(pk__in=[m.pk for m in markers], set_aside_at__isnull=True) \
        .update(set_aside_at=at, set_aside_by=by)

