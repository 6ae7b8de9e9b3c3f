import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import sign_in_verified

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker_without_personal_data(caseworker):
    response = Client().get(reverse("healthz"))
    body = json.loads(response.content)
    assert set(body) == {"status", "database", "broker"}
    assert body["database"] == "ok"
    assert response.status_code == (200 if body["broker"] == "ok" else 503)
    assert caseworker.email not in response.content.decode()


def test_pages_carry_the_security_headers(caseworker):
    response = sign_in_verified(Client(), caseworker).get(reverse("dashboard"))
    assert response["Cache-Control"] == "no-store, max-age=0"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "object-src 'none'" in csp and "unsafe-inline" not in csp
    assert response["X-Request-Id"]


def test_a_refused_request_writes_an_entry(caseworker):
    from audit.core.models import AuditEntry, Event

    client = sign_in_verified(Client(), caseworker)
    assert client.get("/no-such-page/").status_code == 404
    entry = AuditEntry.objects.get(event=Event.REFUSED)
    assert entry.actor == caseworker and entry.page == "/no-such-page/" and entry.status_code == 404
    assert entry.role == "trust_caseworker" and entry.programme is not None
