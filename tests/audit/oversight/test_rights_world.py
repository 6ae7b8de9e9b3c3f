"""Helpers for the rights tests (no tests here): a programme in delivery with released women
(`tests.sharing.delivery.world`), its DPO and a Trust caseworker, and requests opened by the DPO. All data
is invented."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from audit.core.models_rights import ErasureExemption, RightsRequest
from audit.oversight import rights
from pause_portal.tenancy.models import Person
from pause_portal.tenancy.roles import Role
from tests.sharing.delivery.world import DeliveryWorld, delivery_world
from tests.sharing.test_scoping_world import member


@dataclass
class RightsWorld:
    delivery: DeliveryWorld
    dpo: Person
    caseworker: Person

    @property
    def programme(self):
        return self.delivery.programme

    def request(self, kind: str, released_index: int = 0, *, received_on: date | None = None) -> RightsRequest:
        woman = self.delivery.released[released_index].woman
        return rights.open_request(programme=self.programme, kind=kind, woman=woman,
                                   received_on=received_on or timezone.localdate(), received_via="letter",
                                   identity_method="in_person", identity_document="passport",
                                   identity_checked_by=self.dpo,
                                   identity_check="Passport and a council tax bill seen in person",
                                   details="Synthetic request", by=self.dpo)

    @property
    def caldicott(self) -> Person:
        return self.delivery.caldicott

    def erase(self, request: RightsRequest, ground: str = "art17_1_a"):
        """Erase through both people: the DPO proposes (no exemption applies), the Caldicott
        Guardian confirms. Returns the ErasureRecord."""
        from audit.oversight import proposals

        proposal = proposals.propose_erasure(request, ground=ground, exemptions=NO_EXEMPTION, by=self.dpo)
        return proposals.confirm(proposal, by=self.caldicott, justification="Synthetic justification")

    def uphold(self, request: RightsRequest, note: str = "Upheld: we will not share her data with Pause"):
        """Uphold an objection through both people. Returns the completed request."""
        from audit.oversight import proposals

        proposal = proposals.propose_objection_upheld(request, note=note, by=self.dpo)
        return proposals.confirm(proposal, by=self.caldicott, justification="Synthetic justification")


NO_EXEMPTION = {e.value: False for e in ErasureExemption}


def rights_world(*, women: int = 2, name: str | None = None) -> RightsWorld:
    world = delivery_world(women=women, name=name)
    return RightsWorld(delivery=world, dpo=member(world.programme, Role.DPO),
                       caseworker=member(world.programme, Role.TRUST_CASEWORKER))
