"""The caseload pages cost the same number of queries whatever the number of women (2 or 30)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.core.models import AuditEntry, Event
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world

pytestmark = pytest.mark.django_db


def queries(client, method: str, url: str) -> int:
    getattr(client, method)(url)  # warm: sessions, content types, keys
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def costs(women: int) -> dict[str, int]:
    world = delivery_world(women=women)
    for r in world.released:
        world.assign(r)
    world.released[0].__class__.objects.filter(pk=world.released[0].pk).update(target_position=1)
    practitioner = sign_in_verified(Client(), world.practitioners[0])
    lead = sign_in_verified(Client(), world.pause_lead)
    out = {
        "caseload": queries(practitioner, "get", reverse("delivery:caseload")),
        "export": queries(practitioner, "post", reverse("delivery:caseload-export")),
        "women": queries(lead, "get", reverse("delivery:women")),
    }
    entry = AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=world.practitioners[0],
                                      reason="my caseload").latest("pk")
    assert entry.subject_count == women  # one entry naming every woman on the page
    return out


def test_caseload_pages_query_count_is_constant_in_the_number_of_women():
    small, large = costs(2), costs(30)
    assert small == large, (small, large)
    assert all(n > 0 for n in small.values())
