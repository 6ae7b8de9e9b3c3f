"""Helpers for the rights tests (no tests here): a programme in delivery with released women
(`tests.delivery.world`), its DPO and a Trust caseworker, and requests opened by the DPO. All data
is invented."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from audit import rights
from audit.models_rights import RightsRequest
from sharing.models import Person
from sharing.roles import Role
from tests.delivery.world import DeliveryWorld, delivery_world
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
                                   identity_check="Passport and a council tax bill seen in person",
                                   details="Synthetic request", received_on=received_on or timezone.localdate(),
                                   by=self.dpo)


def rights_world(*, women: int = 2, name: str | None = None) -> RightsWorld:
    world = delivery_world(women=women, name=name)
    return RightsWorld(delivery=world, dpo=member(world.programme, Role.DPO),
                       caseworker=member(world.programme, Role.TRUST_CASEWORKER))
