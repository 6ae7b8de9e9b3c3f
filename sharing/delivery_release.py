"""The delivery release (issue 7, point 1): a Trust lead releases women for whom
`can_be_released` holds, each with the address to contact her at and a Trust contact. The release
is a live reference (`ReleasedWoman` points at the Trust's record); her removed children (a counted
removal in her latest decision's evidence; never a child who was not removed) are released as
delivery tokens — a key scope of their own, so they cannot be linked to scoping tokens — whose
year of birth, removal year and outcome are read live from the Trust's records when served.

A Trust lead can withdraw a woman's release: she leaves every Pause view at once (the visibility
predicate reads `withdrawn_at`) and her caseload assignment ends. She is not released again: a
Trust lead may reinstate her existing release (`sharing.delivery_changes.reinstate`, ADR 29).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from eligibility.engine import CHILD, DATE, IN_WINDOW, POSITION
from eligibility.models import Child, Decision, Woman
from eligibility.release import can_be_released
from pause_portal.refused import Refused
from pause_portal.tenancy.models import Person, Phase, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.fields import Protector
from pseudonymisation.keys import Keyring, KeyScope
from pseudonymisation.models import Purpose
from pseudonymisation.tokens import TokenKind, TokenMaker
from sharing import lawful_bases as bases
from sharing.caseloads import end_for
from sharing.data_items import agreed_items
from sharing.do_not_approach import in_words, live_markers, set_aside
from sharing.models_delivery import DeliveryRelease, ReleasedChild, ReleasedWoman
from sharing.release_checks import release_blockers
from sharing.scoping_release import _outcome, why_not_releasable
from sharing.scoping_term import current_agreement, current_trust_notice

DELIVERY_KEY_PHASE = "delivery"
CHILD_VALUES = ("token", "birth_year", "removal_year", "outcome")
MAX_ADDRESS_LENGTH = 300
MAX_APPROACH_REASON_LENGTH = 500


class DeliveryReleaseRefused(Refused):
    """A delivery release that cannot go ahead; nothing was written. `problems` says why."""


@dataclass(frozen=True)
class ToRelease:
    woman: Woman
    address: str
    # Only for a woman with a live do-not-approach marker: why the Trust has decided to approach
    # her again (issue 22, point 5). Without it she is refused.
    approach_again_reason: str = ""


def token_scope(programme_id: int) -> KeyScope:
    """The delivery token key: its own scope, so a delivery token and a scoping token of the same
    child cannot be linked."""
    return KeyScope(programme_id, DELIVERY_KEY_PHASE, Purpose.TOKEN)


NO_NOTICE = ("No version of the Trust's privacy notice is in force: a Trust lead publishes one and the Caldicott "
             "Guardian confirms it")


def delivery_blockers(programme: Programme) -> list[str]:
    """Why a delivery release would be refused now: the agreement's blockers, and no Trust privacy
    notice in force (each release cites the version women were told of)."""
    return release_blockers(programme) + ([NO_NOTICE] if current_trust_notice(programme) is None else [])


def asks_address(programme: Programme) -> bool:
    """Whether the agreement in force shares an address to contact her at (the item
    `contact_address`): only then is one asked for, and stored."""
    return "contact_address" in agreed_items(programme, Phase.DELIVERY)


def _marker_problem(c: ToRelease, marker) -> str | None:
    reason = " ".join((c.approach_again_reason or "").split())
    if marker is None:
        return "she has no do-not-approach marker, so give no reason to approach her again" if reason else None
    if not reason:
        return (f"{in_words(marker)}. To release her, confirm that the Trust has decided to approach her again, "
                "and why")
    if len(reason) > MAX_APPROACH_REASON_LENGTH:
        return f"the reason to approach her again must be {MAX_APPROACH_REASON_LENGTH} characters or fewer"
    return None


def _check(programme: Programme, chosen: list[ToRelease], trust_contact: Person | None,
           markers: dict | None = None) -> list[str]:
    problems = []
    markers = markers or {}
    with_address = asks_address(programme)
    already = set(ReleasedWoman.objects.filter(programme=programme, woman__in=[c.woman for c in chosen])
                  .values_list("woman_id", flat=True))
    if len({c.woman.pk for c in chosen}) != len(chosen):
        problems.append("A woman is chosen twice")
    for position, c in enumerate(chosen, start=1):
        label = f"Row {position} (woman #{c.woman.pk})"
        if c.woman.programme_id != programme.pk:
            problems.append(f"{label}: not a woman of this programme")
        elif c.woman.pk in already:
            problems.append(f"{label}: already released for delivery")
        elif not can_be_released(c.woman):
            problems.append(f"{label}: {why_not_releasable(c.woman)}")
        elif problem := _marker_problem(c, markers.get(c.woman.pk)):
            problems.append(f"{label}: {problem}")
        address = (c.address or "").strip()
        if not with_address:
            if address:
                problems.append(f"{label}: the agreement in force does not share an address to contact her at, "
                                "so leave it empty")
        elif not address:
            problems.append(f"{label}: enter the address Pause should contact her at")
        elif len(address) > MAX_ADDRESS_LENGTH:
            problems.append(f"{label}: the address must be {MAX_ADDRESS_LENGTH} characters or fewer")
    contact = membership_in(trust_contact, programme.pk) if trust_contact is not None else None
    if contact is None or contact.person.organisation_id != programme.trust_id:
        problems.append("Choose a Trust contact: a member of the Trust in this programme")
    return problems


def release_for_delivery(programme: Programme, chosen, *, by: Person, trust_contact: Person) -> DeliveryRelease:
    """Release the chosen women (`ToRelease`: woman and address) to Pause for delivery, citing the
    current agreement. Refused, with nothing written, unless `by` is a Trust lead of the programme,
    it is in delivery, nothing blocks a release, and every woman passes `can_be_released`.

    A woman with a live do-not-approach marker (she declined or withdrew before) is refused unless
    her `ToRelease` gives why the Trust has decided to approach her again: the release then sets
    her marker aside, and its audit entry names the marker and the reason (ADR 37)."""
    membership = membership_in(by, programme.pk)
    if membership is None or not role_has(membership.role, Perm.RELEASE_TO_PAUSE):
        raise DeliveryReleaseRefused("Only the programme's Trust leads release women to Pause.")
    programme = membership.programme
    if programme.phase != Phase.DELIVERY:
        raise DeliveryReleaseRefused("Delivery releases are made only while the programme is in delivery.")
    blockers = delivery_blockers(programme)
    if blockers:
        raise DeliveryReleaseRefused("Nothing was released: what a release needs is not on record.", blockers)
    chosen = list(chosen)
    if not chosen:
        raise DeliveryReleaseRefused("Choose at least one woman to release.")
    markers = live_markers(programme.pk, [c.woman for c in chosen])
    problems = _check(programme, chosen, trust_contact, markers)
    if problems:
        raise DeliveryReleaseRefused("Nothing was released: some of what was chosen cannot be released.", problems)
    now = timezone.now()
    with transaction.atomic():
        list(Programme.objects.select_for_update().filter(pk=programme.pk))  # one release at a time
        agreement = current_agreement(programme)
        notice = current_trust_notice(programme)  # the Trust's privacy notice version in force, cited
        if notice is None:
            raise DeliveryReleaseRefused("Nothing was released: the Trust's privacy notice was withdrawn meanwhile.")
        cited = bases.normalised(agreement.lawful_bases)  # both controllers' bases, as they are now
        with_address = asks_address(programme)
        release = DeliveryRelease.objects.create(programme=programme, agreement=agreement,
                                                 lawful_bases=cited, released_by=by,
                                                 released_at=now, women_count=len(chosen), trust_notice=notice)
        protector = Protector.load(programme.pk, ReleasedWoman.key_phase)
        trust_protector = Protector.load(programme.pk, Woman.key_phase)
        tokens = TokenMaker(Keyring.load(token_scope(programme.pk)))
        removed = removal_events([c.woman.pk for c in chosen])  # only removed children are released
        decisions = dict(Decision.objects.filter(woman__in=[c.woman for c in chosen]).order_by("woman_id", "pk")
                         .values_list("woman_id", "pk"))  # the latest of each: she is shared on it
        children = 0
        for c in chosen:
            released = ReleasedWoman(programme=programme, woman=c.woman, release=release, released_at=now,
                                     trust_contact=trust_contact, shared_on_decision_id=decisions[c.woman.pk])
            released.protect(protector, address=c.address.strip() if with_address else "")
            released.save()
            kids = [k for k in Child.objects.filter(mother=c.woman).order_by("pk")
                    if k.pk in removed.get(c.woman.pk, {})]
            ReleasedChild.objects.bulk_create(
                ReleasedChild(programme=programme, released_woman=released, child=k,
                              token=tokens.make(TokenKind.CHILD, k.reveal(trust_protector, "trust_person_id")))
                for k in kids)
            children += len(kids)
        release.children_count = children
        release.save(update_fields=["children_count"])
        again = [(markers[c.woman.pk], " ".join(c.approach_again_reason.split())) for c in chosen
                 if c.woman.pk in markers]
        set_aside([m for m, _ in again], by=by, at=now)
        record_event(
            Event.CHANGE, actor=by, target=release, subjects=[c.woman for c in chosen], subject_model=Woman,
            programme=programme, role=membership.role, action=0,
            reason=f"delivery release #{release.pk}: {len(chosen)} women, {children} children as delivery "
                   f"tokens, under agreement v{agreement.version} ({bases.in_words(cited)}); {notice.label} in force"
                   + "".join(f"; approached again despite do-not-approach marker #{m.pk} ({m.kind} "
                             f"{m.ended_at.date().isoformat()}, until {m.until.date().isoformat()}), set aside: "
                             f"{why}" for m, why in again),
        )
    return release


def withdraw_from_delivery(released: ReleasedWoman, *, by: Person) -> ReleasedWoman:
    """Take a woman's delivery release back: Pause stops seeing her at once, and her practitioner's
    permission ends. Only the programme's Trust leads, only in delivery, only once."""
    membership = membership_in(by, released.programme_id)
    if membership is None or not role_has(membership.role, Perm.RELEASE_TO_PAUSE):
        raise DeliveryReleaseRefused("Only the programme's Trust leads withdraw a release.")
    if membership.programme.phase != Phase.DELIVERY:
        raise DeliveryReleaseRefused("Releases are withdrawn only while the programme is in delivery.")
    with transaction.atomic():
        locked = ReleasedWoman.objects.select_for_update().get(pk=released.pk)
        if locked.withdrawn_at is not None:
            raise DeliveryReleaseRefused("Her release was already withdrawn.")
        locked.withdrawn_at, locked.withdrawn_by = timezone.now(), by
        locked.save(update_fields=["withdrawn_at", "withdrawn_by"])
        record_event(Event.CHANGE, actor=by, target=locked, subject_ids=[locked.woman_id], subject_model=Woman,
                     programme=membership.programme, role=membership.role, action=1,
                     reason=f"delivery release of released woman #{locked.pk} withdrawn (delivery release "
                            f"#{locked.release_id}): out of every Pause view")
        end_for(locked, by=by, why="release withdrawn")
    return locked


@dataclass(frozen=True)
class ChildValues:
    token: str | None
    birth_year: int | None
    removal_year: int | None
    outcome: str | None
    served: frozenset[str] = frozenset(CHILD_VALUES)  # what the agreement's items serve (ADR 28)


def removal_events(woman_ids) -> dict[int, dict[int, list]]:
    """For each woman, her children's counted removals in the window, from her latest decision's
    evidence: {woman id: {child id: [event, ...]}}. One query."""
    evidence = {}
    for d in Decision.objects.filter(woman_id__in=woman_ids).order_by("woman_id", "pk").only("woman_id", "evidence"):
        evidence[d.woman_id] = d.evidence  # the latest wins
    out: dict[int, dict[int, list]] = {}
    for woman_id, found in evidence.items():
        for e in (found or {}).get("events") or []:
            if e[POSITION] == "counted" and e[IN_WINDOW] and e[DATE]:
                out.setdefault(woman_id, {}).setdefault(e[CHILD], []).append(e)
    return out


def removed_released_children(children: list[ReleasedChild]) -> set[int]:
    """The ids of those released children who were removed (a counted removal in the mother's latest
    decision's evidence): the only children Pause is served (issue 21, point 3). Two queries."""
    if not children:
        return set()
    mothers = dict(Child.objects.filter(pk__in=[r.child_id for r in children]).values_list("pk", "mother_id"))
    removed = removal_events(set(mothers.values()))
    return {r.pk for r in children if r.child_id in removed.get(mothers.get(r.child_id), {})}


def child_values(children: list[ReleasedChild], served: frozenset[str] | None = None) -> dict[int, ChildValues]:
    """What Pause is served of each released child, read live: year of birth from the Trust's
    record; removal year (the first counted removal) and outcome from the latest decision's
    evidence about the mother. Two queries whatever the number of children. ("Not removed" is
    never shown to Pause: the disclosure policy serves removed children only.)

    `served` is the set of the child's fields the disclosure policy serves now (a `Served`'s
    `fields`: the agreement's delivery items, ADR 28); a value not served is None and is never read.
    None serves all four (the Trust's own reads)."""
    served = frozenset(CHILD_VALUES) if served is None else frozenset(served) & frozenset(CHILD_VALUES)
    if not children:
        return {}
    kids = {c.pk: c for c in Child.objects.filter(pk__in=[r.child_id for r in children])}
    removed = (removal_events({kids[r.child_id].mother_id for r in children})
               if served & {"removal_year", "outcome"} else {})
    out = {}
    for r in children:
        kid = kids[r.child_id]
        events = removed.get(kid.mother_id, {}).get(kid.pk, [])
        first = min((date.fromisoformat(e[DATE]) for e in events), default=None)
        out[r.pk] = ChildValues(
            token=r.token if "token" in served else None,
            birth_year=kid.birth_year if "birth_year" in served else None,
            removal_year=(first.year if first else None) if "removal_year" in served else None,
            outcome=(_outcome(events) if events else "Not removed") if "outcome" in served else None,
            served=served)
    return out
