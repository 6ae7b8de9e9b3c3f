"""The role x phase x page matrix of the delivery pages: every role, in every phase, on every page,
GET and POST — every cell asserted (status, what is shown, what was written or not)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from eligibility.models import Restriction, Woman
from eligibility.restrictions import open_restriction
from pause_portal.tenancy.models import Programme
from pause_portal.tenancy.roles import Role
from pseudonymisation.fields import Protector
from sharing.models_delivery import CaseloadAssignment, ReleasedWoman
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world, person_in

pytestmark = pytest.mark.django_db

ROLES = [Role.TRUST_CASEWORKER, Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN, Role.DPO, Role.PAUSE_LEAD,
         Role.PAUSE_PRACTITIONER, Role.SYSTEM_ADMIN]
PHASES = ["scoping", "delivery", "closed"]
# In this order: reads first, then writes (the last ones take women out of view).
PAGES = ["release GET", "restrictions GET", "women GET", "caseload GET", "woman GET", "woman POST",
         "caseload-export POST", "restrictions POST", "end-restriction POST", "withdraw POST", "release POST"]
OWNERS = {
    "release": {Role.TRUST_LEAD}, "withdraw": {Role.TRUST_LEAD},
    "restrictions": {Role.TRUST_LEAD, Role.DPO}, "end-restriction": {Role.TRUST_LEAD, Role.DPO},
    "women": {Role.PAUSE_LEAD}, "caseload": {Role.PAUSE_PRACTITIONER}, "caseload-export": {Role.PAUSE_PRACTITIONER},
    "woman": {Role.PAUSE_LEAD, Role.PAUSE_PRACTITIONER},
}


class Setting:
    """A delivery programme moved to `phase`: woman a released and in the first practitioner's
    caseload, b released, c released and restricted, and one more woman who can be released."""

    def __init__(self, phase: str):
        self.world = delivery_world(women=3)
        self.a, self.b, self.c = self.world.released
        self.world.assign(self.a)
        [self.extra] = self.world.women(1)
        self.restriction = open_restriction(woman=self.c.woman, reason="objection", by=self.world.trust_lead)
        keys = Protector.load(self.world.programme.pk, Woman.key_phase)
        self.b_person_id = self.b.woman.reveal(keys, "trust_person_id")
        self.a_name = self.a.woman.reveal(keys, "surname")
        Programme.objects.filter(pk=self.world.programme.pk).update(phase=phase)

    def state(self) -> tuple:
        a = ReleasedWoman.objects.get(pk=self.a.pk)
        return (ReleasedWoman.objects.count(), a.withdrawn_at, a.target_position,
                Restriction.objects.filter(ended_at__isnull=True).count(), Restriction.objects.count(),
                CaseloadAssignment.objects.filter(ended_at__isnull=True).count())

    def request(self, client, page: str):
        name, method = page.split()
        url = reverse(f"delivery:{name}", args=[self.a.pk] if name == "woman" else [])
        if method == "GET":
            return client.get(url)
        data = {
            "release": {"women": [self.extra.pk], f"address_{self.extra.pk}": "3 Invented Close",
                        "trust_contact": self.world.trust_lead.pk},
            "withdraw": {"released": self.a.pk, "confirmed": "yes"},
            "restrictions": {"kind": "person_id", "q": self.b_person_id, "reason": "restriction_request"},
            "end-restriction": {"restriction": self.restriction.pk, "confirmed": "yes"},
            "woman": {"action": "target", "position": "1", "reason": "First to contact: synthetic reason"},
            "caseload-export": {},
        }[name]
        return client.post(url, data)


def check_owner(s: Setting, role: Role, phase: str, page: str, response, cell) -> None:
    delivery = phase == "delivery"
    body = response.content.decode() if response.get("Content-Type", "").startswith("text/html") else ""
    if page == "release GET":
        assert response.status_code == 200, cell
        assert ("Release to Pause" in body) == delivery and ('id="not-delivery"' in body) != delivery, cell
        assert "Past releases" in body, cell
    elif page == "release POST":
        assert response.status_code == (302 if delivery else 400), cell
        assert ReleasedWoman.objects.filter(woman=s.extra).exists() == delivery, cell
    elif page == "withdraw POST":
        assert response.status_code == (302 if delivery else 404), cell
        assert (ReleasedWoman.objects.get(pk=s.a.pk).withdrawn_at is not None) == delivery, cell
    elif page == "restrictions GET":
        assert response.status_code == 200 and f"woman #{s.c.woman_id}" in body, cell
        assert "Restrict her records" in body, cell
    elif page == "restrictions POST":
        assert response.status_code == 302, cell
        assert Restriction.objects.filter(woman=s.b.woman, ended_at__isnull=True).exists(), cell
    elif page == "end-restriction POST":
        assert response.status_code == 302, cell
        assert Restriction.objects.get(pk=s.restriction.pk).ended_at is not None, cell
    elif page in ("women GET", "caseload GET"):
        assert response.status_code == 200, cell
        assert (s.a_name in body) == delivery and ('id="not-delivery"' in body) != delivery, cell
    elif page == "woman GET":
        assert response.status_code == (200 if delivery else 404), cell
        assert (s.a_name in body) == delivery, cell
    elif page == "woman POST":
        lead = role == Role.PAUSE_LEAD
        assert response.status_code == (302 if delivery and lead else 404), cell
        assert (ReleasedWoman.objects.get(pk=s.a.pk).target_position == 1) == (delivery and lead), cell
    elif page == "caseload-export POST":
        assert response.status_code == (200 if delivery else 404), cell
        assert (s.a_name in response.content.decode()) == delivery, cell
    else:  # pragma: no cover - every page is listed above
        raise AssertionError(cell)


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_every_role_in_every_phase_on_every_delivery_page(role, phase):
    s = Setting(phase)
    client = sign_in_verified(Client(), person_in(s.world, role))
    for page in PAGES:
        cell = (role.value, phase, page)
        before = s.state()
        response = s.request(client, page)
        if role not in OWNERS[page.split()[0]]:
            assert response.status_code == 404, cell
            assert s.state() == before, cell
            continue
        check_owner(s, role, phase, page, response, cell)
