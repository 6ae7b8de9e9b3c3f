"""Closing straight from scoping (issue 21, point 6): the Trust may decide not to work with Pause.
A two-person phase change from scoping to closed runs the same scoping purge, with its deletion
certificate, as leaving scoping for delivery; afterwards Pause sees nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry, Event
from eligibility.disclosure import disclose
from pause_portal.tenancy.models import Phase
from pause_portal.tenancy.roles import Role
from pseudonymisation import keys
from pseudonymisation.models import Purpose
from sharing.models_scoping import (
    SCOPING_PURGED_MODELS,
    ChangeStatus,
    DeletionCertificate,
    PhaseChange,
    ScopingWomanRow,
)
from sharing.phases import confirm_phase_change, propose_phase_change
from tests.conftest import sign_in_verified
from tests.sharing.test_scoping_pages import released_world
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db


def test_closing_from_scoping_needs_a_second_person(programme, trust_lead, caldicott):
    change = propose_phase_change(programme=programme, by=trust_lead, reason="The Trust will not go on with Pause",
                                  to_phase=Phase.CLOSED, no_final_report_kept=True)
    assert (change.from_phase, change.to_phase) == (Phase.SCOPING, Phase.CLOSED)
    with pytest.raises(PermissionDenied):
        confirm_phase_change(change=change, by=trust_lead, justification="Synthetic justification")
    programme.refresh_from_db()
    assert programme.phase == Phase.SCOPING and not DeletionCertificate.objects.exists()
    assert PhaseChange.objects.get(pk=change.pk).status == ChangeStatus.PROPOSED
    assert AuditEntry.objects.filter(event=Event.CHANGE, reason__startswith="phase change scoping -> closed proposed",
                                     actor_id=trust_lead.pk).exists()


def test_closing_from_scoping_asks_for_the_final_report_choice_like_delivery(programme, trust_lead):
    with pytest.raises(ValidationError, match="No final report is approved"):
        propose_phase_change(programme=programme, by=trust_lead, reason="Not going on", to_phase=Phase.CLOSED)
    with pytest.raises(ValidationError, match="moves forward only"):
        propose_phase_change(programme=programme, by=trust_lead, reason="Nonsense", to_phase="finished",
                             no_final_report_kept=True)
    assert not PhaseChange.objects.exists()


def test_confirmed_closing_purges_scoping_destroys_its_keys_and_pause_sees_nothing(programme):
    cohort, _, _ = released_world(programme)
    lead = member(programme, Role.TRUST_LEAD)
    guardian = member(programme, Role.CALDICOTT_GUARDIAN)
    pause = member(programme, Role.PAUSE_LEAD)
    token = ScopingWomanRow.objects.filter(programme=programme).first().token
    pause_client = sign_in_verified(Client(), pause)
    assert token in pause_client.get(reverse("scoping:rows")).content.decode()  # before: she sees the rows

    change = propose_phase_change(programme=programme, by=lead, reason="The Trust will not go on with Pause",
                                  to_phase=Phase.CLOSED, no_final_report_kept=True)
    confirm_phase_change(change=change, by=guardian, justification="Synthetic justification")

    programme.refresh_from_db()
    assert programme.phase == Phase.CLOSED
    for model in SCOPING_PURGED_MODELS:  # the snapshot and everything Pause wrote in scoping
        assert not model.objects.filter(programme=programme).exists(), model
    certificate = DeletionCertificate.objects.get(programme=programme)
    assert certificate.purged_by == guardian and certificate.trigger == f"phase change #{change.pk}"
    assert {s["store"]: s["rows"] for s in certificate.stores}["Released women (scoping snapshot)"] == 6
    assert [k["scope"] for k in certificate.keys_destroyed] == [f"{programme.pk}/scoping/token"]
    with pytest.raises(keys.KeyDestroyed):  # the snapshot's key is gone
        keys.Keyring.load(keys.KeyScope(programme.pk, "scoping", Purpose.TOKEN))
    assert AuditEntry.objects.filter(event=Event.CHANGE, reason="phase change scoping -> closed confirmed",
                                     actor_id=guardian.pk).exists()
    assert AuditEntry.objects.filter(reason__startswith=f"scoping ended (phase change #{change.pk})").exists()

    pause_client = sign_in_verified(Client(), pause)
    body = pause_client.get(reverse("scoping:rows")).content.decode()
    assert token not in body and 'id="scoping-closed"' in body
    for page in ("scoping:tables", "scoping:notes", "delivery:women", "delivery:caseload"):
        body = pause_client.get(reverse(page)).content.decode()
        assert token not in body and not any(i in body for i in cohort.identifiers), page
        assert "most releases were care orders" not in body, page
    assert list(disclose(pause, ScopingWomanRow.objects.all(), page="test")) == []


def test_closing_from_scoping_through_the_phase_page(programme):
    lead, second = member(programme, Role.TRUST_LEAD), member(programme, Role.TRUST_LEAD)
    client = sign_in_verified(Client(), lead)
    body = client.get(reverse("governance:phase")).content.decode()
    assert "Closed: the Trust has decided not to go on with Pause" in body and 'name="to_phase"' in body
    response = client.post(reverse("governance:phase-propose"),
                           {"to_phase": "scoping", "reason": "Back", "no_final_report_kept": "on"})
    assert response.status_code == 400 and "Choose delivery or closed" in response.content.decode()
    assert client.post(reverse("governance:phase-propose"),
                       {"to_phase": "closed", "reason": "Not going on", "no_final_report_kept": "on"}).status_code == 302
    change = PhaseChange.objects.get()
    assert change.to_phase == Phase.CLOSED
    assert "From scoping to closed" in client.get(reverse("governance:phase")).content.decode()
    assert sign_in_verified(Client(), second).post(
        reverse("governance:phase-decide"), {"proposal": change.pk, "decision": "confirm", "reason": "Synthetic justification"}).status_code == 302
    programme.refresh_from_db()
    assert programme.phase == Phase.CLOSED and DeletionCertificate.objects.filter(programme=programme).exists()
