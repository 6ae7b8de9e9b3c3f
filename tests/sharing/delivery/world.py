"""Helpers for the delivery tests (no tests here): a programme in delivery with a confirmed
agreement, a Trust lead, a Pause lead, two practitioners and released women. All data is
invented (names and identifiers from `tests.sharing.test_scoping_world.Cohort`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from eligibility.models import Woman
from pause_portal.tenancy.models import Person, Programme
from pause_portal.tenancy.roles import Role
from sharing import caseloads
from sharing.delivery_release import ToRelease, release_for_delivery
from sharing.models_delivery import ReleasedWoman
from sharing.privacy_notices import confirm_notice, publish_notice
from tests import factories as f
from tests.sharing.notices import PAUSE_TEXT, trust_notice
from tests.sharing.test_scoping_world import Cohort, agreement, member


@dataclass
class DeliveryWorld:
    programme: Programme
    trust_lead: Person
    caldicott: Person
    pause_lead: Person
    practitioners: list[Person]
    cohort: Cohort
    released: list[ReleasedWoman] = field(default_factory=list)

    def women(self, count: int) -> list[Woman]:
        today = timezone.localdate()
        return [self.cohort.woman(born=date(1990, 1 + i % 12, 1 + i % 28), ethnicity="WBRI",
                                  removals=[today - timedelta(days=400 + 30 * i), today - timedelta(days=90)])
                for i in range(count)]

    def release(self, women: list[Woman]) -> list[ReleasedWoman]:
        chosen = [ToRelease(w, f"{10 + i} Synthetic Row, Invented Town") for i, w in enumerate(women)]
        release = release_for_delivery(self.programme, chosen, by=self.trust_lead, trust_contact=self.trust_lead)
        made = list(ReleasedWoman.objects.filter(release=release).order_by("pk"))
        self.released += made
        return made

    def assign(self, released: ReleasedWoman, practitioner: Person | None = None):
        return caseloads.assign(released, practitioner or self.practitioners[0], by=self.pause_lead)


def delivery_world(*, women: int = 3, phase: str = "delivery", name: str | None = None) -> DeliveryWorld:
    """A programme in delivery with `women` released women (none assigned yet)."""
    programme = f.programme(name=name, phase="delivery")
    trust_lead = member(programme, Role.TRUST_LEAD)
    caldicott = member(programme, Role.CALDICOTT_GUARDIAN)
    agreement(programme, proposed_by=trust_lead, decided_by=caldicott)  # every data item (ADR 28)
    pause_lead = member(programme, Role.PAUSE_LEAD)
    trust_notice(programme, by=trust_lead, confirmed_by=caldicott)  # both notices in force (issue 21)
    confirm_notice(notice=publish_notice(programme=programme, by=pause_lead, text=PAUSE_TEXT), by=caldicott, justification="Synthetic justification")
    world = DeliveryWorld(programme=programme, trust_lead=trust_lead, caldicott=caldicott,
                          pause_lead=pause_lead,
                          practitioners=[member(programme, Role.PAUSE_PRACTITIONER) for _ in range(2)],
                          cohort=Cohort(programme, trust_lead))
    if women:
        world.release(world.women(women))
    if phase != "delivery":
        Programme.objects.filter(pk=programme.pk).update(phase=phase)
        programme.refresh_from_db()
    return world


def person_in(world: DeliveryWorld, role: Role) -> Person:
    """Someone holding `role` in the world's programme (the Pause lead, the first practitioner, the
    Trust lead and the Caldicott Guardian are the world's own; a system administrator holds no
    programme role)."""
    own = {Role.TRUST_LEAD: world.trust_lead, Role.CALDICOTT_GUARDIAN: world.caldicott,
           Role.PAUSE_LEAD: world.pause_lead, Role.PAUSE_PRACTITIONER: world.practitioners[0]}
    if role in own:
        return own[role]
    if role == Role.SYSTEM_ADMIN:
        return f.person(world.programme.trust, system_admin=True)
    return member(world.programme, role)


def one_each_world() -> DeliveryWorld:
    """Two released women, the first in the first practitioner's caseload, the second in the
    second's."""
    world = delivery_world(women=2)
    world.assign(world.released[0], world.practitioners[0])
    world.assign(world.released[1], world.practitioners[1])
    return world
