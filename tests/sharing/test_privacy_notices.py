"""The privacy notices, versioned (issue 21, point 5): two people publish and confirm each version,
audited; the version in force is the latest confirmed; each contact attempt records the versions
she was given and each delivery release the Trust's version in force; the scoping term never
exceeds what the Trust's notice in force says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from pause_portal.tenancy.models import Programme
from pause_portal.tenancy.roles import Role
from sharing.agreements import confirm_agreement, propose_agreement
from sharing.contact import record_contact
from sharing.models_delivery import ContactAttempt, DeliveryRelease
from sharing.models_notices import Controller, PrivacyNotice
from sharing.models_scoping import ChangeStatus
from sharing.privacy_notices import (
    confirm_notice,
    notice_in_force,
    publish_notice,
    reject_notice,
    withdraw_notice,
)
from sharing.scoping_term import scoping_deadline
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import one_each_world
from tests.sharing.notices import trust_notice
from tests.sharing.test_governance_agreements import valid_values
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db


def changes() -> int:
    return AuditEntry.objects.filter(event=Event.CHANGE).count()


# --- two people, audited ---------------------------------------------------------------------
def test_the_trust_lead_publishes_and_the_caldicott_guardian_confirms(programme, trust_lead, caldicott):
    notice = publish_notice(programme=programme, by=trust_lead, text="  Version one of the Trust's notice.  ")
    assert (notice.controller, notice.version, notice.status) == (Controller.TRUST, 1, ChangeStatus.PROPOSED)
    assert notice.text == "Version one of the Trust's notice."
    assert notice_in_force(programme, Controller.TRUST) is None  # not until confirmed
    with pytest.raises(PermissionDenied, match="Caldicott Guardian"):
        confirm_notice(notice=notice, by=trust_lead, justification="Synthetic justification")  # never the publisher
    confirm_notice(notice=notice, by=caldicott, justification="Synthetic justification")
    assert notice_in_force(programme, Controller.TRUST) == notice
    reasons = list(AuditEntry.objects.filter(event=Event.CHANGE, programme_id=programme.pk)
                   .values_list("actor_id", "reason"))
    assert (trust_lead.pk, "The Trust's privacy notice, version 1 published, waiting for the programme's "
                           "Caldicott Guardian") in reasons
    assert (caldicott.pk, "The Trust's privacy notice, version 1 confirmed") in reasons


@pytest.mark.parametrize("who", ["pause_lead", "second_trust_lead", "dpo", "practitioner"])
def test_no_one_else_confirms_the_trusts_notice(who, programme, trust_lead, pause_lead, dpo, practitioner):
    person = {"pause_lead": pause_lead, "second_trust_lead": member(programme, Role.TRUST_LEAD), "dpo": dpo,
              "practitioner": practitioner}[who]
    notice = publish_notice(programme=programme, by=trust_lead, text="Notice")
    before = changes()
    with pytest.raises(PermissionDenied):
        confirm_notice(notice=notice, by=person, justification="Synthetic justification")
    with pytest.raises(PermissionDenied):
        reject_notice(notice=notice, by=person, justification="No")
    assert PrivacyNotice.objects.get().status == ChangeStatus.PROPOSED and changes() == before


@pytest.mark.parametrize("confirmer", ["second_pause_lead", "caldicott"])
def test_pauses_notice_is_published_by_a_pause_lead_and_confirmed_by_another_or_the_caldicott_guardian(
        confirmer, programme, pause_lead, caldicott):
    person = caldicott if confirmer == "caldicott" else member(programme, Role.PAUSE_LEAD)
    notice = publish_notice(programme=programme, by=pause_lead, text="Pause's Art. 14 notice")
    assert notice.controller == Controller.PAUSE
    with pytest.raises(PermissionDenied, match="another Pause lead or the Trust's Caldicott Guardian"):
        confirm_notice(notice=notice, by=pause_lead, justification="Synthetic justification")
    confirm_notice(notice=notice, by=person, justification="Synthetic justification")
    assert notice_in_force(programme, Controller.PAUSE) == notice
    assert notice_in_force(programme, Controller.TRUST) is None  # the two notices are apart


@pytest.mark.parametrize("who", ["trust_lead", "dpo", "practitioner"])
def test_no_one_else_confirms_pauses_notice(who, programme, pause_lead, trust_lead, dpo, practitioner):
    person = {"trust_lead": trust_lead, "dpo": dpo, "practitioner": practitioner}[who]
    notice = publish_notice(programme=programme, by=pause_lead, text="Pause's notice")
    with pytest.raises(PermissionDenied):
        confirm_notice(notice=notice, by=person, justification="Synthetic justification")
    assert notice_in_force(programme, Controller.PAUSE) is None


@pytest.mark.parametrize("who", ["caldicott", "dpo", "practitioner", "caseworker", "other_programme_person"])
def test_only_leads_publish(who, programme, caldicott, dpo, practitioner, caseworker, other_programme_person):
    person = {"caldicott": caldicott, "dpo": dpo, "practitioner": practitioner, "caseworker": caseworker,
              "other_programme_person": other_programme_person}[who]
    with pytest.raises(PermissionDenied):
        publish_notice(programme=programme, by=person, text="Notice")
    assert not PrivacyNotice.objects.exists()


@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"text": "   "}, "text", "Enter the text of the privacy notice"),
    ({"text": "x" * 50_001}, "text", "50000 characters or fewer"),
    ({"scoping_months": 4}, "scoping_months", "between 1 and 3 months"),
    ({"scoping_months": 0}, "scoping_months", "between 1 and 3 months"),
    ({"scoping_extension_days": 93}, "scoping_extension_days", "92 days or fewer"),
    ({"scoping_extension_days": -1}, "scoping_extension_days", "whole number of days"),
])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(kwargs, field, message, programme,
                                                                       trust_lead):
    values = {"text": "Notice"} | kwargs
    before = changes()
    with pytest.raises(ValidationError) as e:
        publish_notice(programme=programme, by=trust_lead, **values)
    assert message in e.value.message_dict[field][0]
    assert not PrivacyNotice.objects.exists() and changes() == before


def test_pause_cannot_set_the_scoping_term(programme, pause_lead):
    with pytest.raises(ValidationError, match="set by the Trust's privacy notice"):
        publish_notice(programme=programme, by=pause_lead, text="Notice", scoping_extension_days=30)


def test_one_waiting_version_at_a_time_and_the_latest_confirmed_is_in_force(programme, trust_lead, caldicott):
    v1 = trust_notice(programme, by=trust_lead, confirmed_by=caldicott)
    v2 = publish_notice(programme=programme, by=trust_lead, text="Version two")
    with pytest.raises(ValidationError, match="already waiting"):
        publish_notice(programme=programme, by=member(programme, Role.TRUST_LEAD), text="Version three")
    with pytest.raises(ValidationError, match="Enter your justification for rejecting the Trust's privacy notice, version 2"):
        reject_notice(notice=v2, by=caldicott, justification=" ")
    reject_notice(notice=v2, by=caldicott, justification="Names the wrong retention period")
    assert notice_in_force(programme, Controller.TRUST) == v1
    v3 = publish_notice(programme=programme, by=trust_lead, text="Version three")
    with pytest.raises(PermissionDenied):
        withdraw_notice(notice=v3, by=member(programme, Role.TRUST_LEAD))  # only its publisher
    withdraw_notice(notice=v3, by=trust_lead)
    v4 = trust_notice(programme, by=trust_lead, confirmed_by=caldicott, text="Version four")
    assert v4.version == 4 and notice_in_force(programme, Controller.TRUST) == v4
    v1.refresh_from_db()
    assert v1.text == "How the Trust shares information with Pause (synthetic notice text)."  # never changed
    assert AuditEntry.objects.filter(reason="The Trust's privacy notice, version 2 rejected: Names the wrong "
                                            "retention period").exists()
    assert AuditEntry.objects.filter(reason="The Trust's privacy notice, version 3 withdrawn").exists()


# --- the scoping term ------------------------------------------------------------------------
def started(programme):
    Programme.objects.filter(pk=programme.pk).update(phase_started_at=datetime(2026, 11, 30, 10, tzinfo=UTC))
    programme.refresh_from_db()
    return programme


def test_an_extension_needs_a_notice_version_that_says_so(programme, trust_lead, caldicott):
    started(programme)
    with pytest.raises(ValidationError, match="allows no extension of scoping"):
        propose_agreement(programme=programme, by=trust_lead, change_reason="More time",
                          values=valid_values(scoping_extension_days=14))
    trust_notice(programme, by=trust_lead, confirmed_by=caldicott, extension_days=10)
    with pytest.raises(ValidationError, match="at most 10 days"):
        propose_agreement(programme=programme, by=trust_lead, change_reason="More time",
                          values=valid_values(scoping_extension_days=14))
    confirm_agreement(agreement=propose_agreement(programme=programme, by=trust_lead, change_reason="More time",
                                                  values=valid_values(scoping_extension_days=10)), by=caldicott,
                      justification="The notice allows it")
    assert scoping_deadline(programme) == datetime(2027, 3, 10, 10, tzinfo=UTC)
    # a later notice that allows less cuts the term at once: the agreement never counts for more
    trust_notice(programme, by=trust_lead, confirmed_by=caldicott, extension_days=3)
    assert scoping_deadline(programme) == datetime(2027, 3, 3, 10, tzinfo=UTC)


def test_a_notice_that_promises_a_shorter_term_shortens_scoping(programme, trust_lead, caldicott):
    started(programme)
    assert scoping_deadline(programme) == datetime(2027, 2, 28, 10, tzinfo=UTC)  # 3 months by default
    trust_notice(programme, by=trust_lead, confirmed_by=caldicott, months=2)
    assert scoping_deadline(programme) == datetime(2027, 1, 30, 10, tzinfo=UTC)


# --- what each contact and each release records ------------------------------------------------
def test_each_contact_attempt_records_the_versions_she_was_given():
    world = one_each_world()
    her, practitioner = world.released[0], world.practitioners[0]
    trust_v1 = notice_in_force(world.programme, Controller.TRUST)
    pause_v1 = notice_in_force(world.programme, Controller.PAUSE)
    first = record_contact(her, by=practitioner, contacted_on=timezone.localdate(), method="phone",
                           outcome="not_reached", notices_given=[])
    assert (first.trust_notice_given, first.pause_notice_given, first.privacy_information_given) == (None, None, False)
    second = record_contact(her, by=practitioner, contacted_on=timezone.localdate(), method="visit",
                            outcome="agreed", notices_given=["pause"])
    assert (second.trust_notice_given, second.pause_notice_given) == (None, pause_v1)
    assert second.privacy_information_given
    pause_v2 = publish_notice(programme=world.programme, by=world.pause_lead, text="Pause's notice, updated")
    confirm_notice(notice=pause_v2, by=world.caldicott, justification="Synthetic justification")
    third = record_contact(her, by=practitioner, contacted_on=timezone.localdate(), method="visit",
                           outcome="agreed", notices_given=["trust", "pause"])
    assert (third.trust_notice_given, third.pause_notice_given) == (trust_v1, pause_v2)
    assert ContactAttempt.objects.get(pk=second.pk).pause_notice_given == pause_v1  # the old record stands
    entry = AuditEntry.objects.filter(reason__startswith=f"contact attempt #{third.pk} recorded").get()
    assert "given The Trust's privacy notice, version 1" in entry.reason
    assert "given Pause's privacy notice (Art. 14), version 2" in entry.reason


def test_a_notice_with_no_version_in_force_cannot_have_been_given():
    world = one_each_world()
    PrivacyNotice.objects.filter(programme=world.programme, controller=Controller.TRUST).update(
        status=ChangeStatus.WITHDRAWN)
    before = (ContactAttempt.objects.count(), changes())
    with pytest.raises(ValidationError) as e:
        record_contact(world.released[0], by=world.practitioners[0], contacted_on=timezone.localdate(),
                       method="phone", outcome="agreed", notices_given=["trust"])
    assert e.value.message_dict["privacy_information_given"] == [
        "No version of The Trust's privacy notice is in force, so she cannot have been given it"]
    with pytest.raises(ValidationError, match="from the list"):
        record_contact(world.released[0], by=world.practitioners[0], contacted_on=timezone.localdate(),
                       method="phone", outcome="agreed", notices_given=["council"])
    assert (ContactAttempt.objects.count(), changes()) == before


def test_the_contact_form_offers_the_versions_in_force_and_records_them():
    world = one_each_world()
    her = world.released[0]
    client = sign_in_verified(Client(), world.practitioners[0])
    page = client.get(reverse("casework:contact", args=[her.pk])).content.decode()
    assert "The Trust&#x27;s privacy notice, version 1" in page and "Pause&#x27;s privacy notice (Art. 14), version 1" in page
    today = timezone.localdate()
    data = {"contacted_day": today.day, "contacted_month": today.month, "contacted_year": today.year,
            "method": "phone", "outcome": "agreed"}
    response = client.post(reverse("casework:contact", args=[her.pk]), data | {"notices_given": ["trust", "none"]})
    assert "Choose the notices she was given, or Neither, not both" in response.content.decode()
    assert not ContactAttempt.objects.exists()
    assert client.post(reverse("casework:contact", args=[her.pk]),
                       data | {"notices_given": ["trust", "pause"]}).status_code == 302
    attempt = ContactAttempt.objects.get()
    assert attempt.trust_notice_given == notice_in_force(world.programme, Controller.TRUST)
    assert attempt.pause_notice_given == notice_in_force(world.programme, Controller.PAUSE)


def test_each_delivery_release_cites_the_trust_notice_version_in_force():
    world = one_each_world()
    first = DeliveryRelease.objects.get(programme=world.programme)
    v1 = notice_in_force(world.programme, Controller.TRUST)
    assert first.trust_notice == v1 and v1.version == 1
    v2 = trust_notice(world.programme, by=world.trust_lead, confirmed_by=world.caldicott, text="Version two")
    world.release(world.women(1))
    second = DeliveryRelease.objects.exclude(pk=first.pk).get(programme=world.programme)
    assert second.trust_notice == v2
    first.refresh_from_db()
    assert first.trust_notice == v1
    entry = AuditEntry.objects.filter(reason__startswith=f"delivery release #{second.pk}:").get()
    assert entry.reason.endswith("; The Trust's privacy notice, version 2 in force")


# --- the public page ---------------------------------------------------------------------------
def test_the_public_page_shows_the_versions_in_force_without_sign_in_and_no_personal_data():
    world = one_each_world()
    programme = world.programme
    trust_notice(programme, by=world.trust_lead, confirmed_by=world.caldicott,
                 text="Version two of the Trust's notice.\n\nIt says <b>more</b>.")
    publish_notice(programme=programme, by=world.pause_lead, text="A Pause draft not yet confirmed")
    record_contact(world.released[0], by=world.practitioners[0], contacted_on=timezone.localdate(), method="phone",
                   outcome="agreed", notices_given=["trust", "pause"], note="Synthetic contact note")
    before = AuditEntry.objects.count()
    response = Client().get(reverse("privacy-notice", args=[programme.pk]))  # nobody signed in
    assert response.status_code == 200
    body = response.content.decode()
    assert "Version two of the Trust&#x27;s notice." in body and "It says &lt;b&gt;more&lt;/b&gt;." in body
    assert "Version 2, in force since" in body
    assert "How Pause uses the information the Trust shares (synthetic Art. 14 notice text)." in body
    assert "A Pause draft not yet confirmed" not in body and "How the Trust shares information" not in body
    people = [world.trust_lead, world.caldicott, world.pause_lead, *world.practitioners]
    assert not any(p.full_name in body or p.email in body for p in people)
    assert not any(i in body for i in world.cohort.identifiers)  # no woman's name, NHS number, postcode...
    assert "Synthetic contact note" not in body and "Synthetic Row" not in body
    assert AuditEntry.objects.count() == before  # nothing personal was disclosed
    assert Client().post(reverse("privacy-notice", args=[programme.pk])).status_code == 405
    assert Client().get(reverse("privacy-notice", args=[999999])).status_code == 404


def test_the_public_page_says_when_no_version_is_in_force(programme, trust_lead):
    publish_notice(programme=programme, by=trust_lead, text="Waiting for the Caldicott Guardian")
    body = Client().get(reverse("privacy-notice", args=[programme.pk])).content.decode()
    assert body.count("No version of this notice has been published yet.") == 2
    assert "Waiting for the Caldicott Guardian" not in body


# --- the governance page -------------------------------------------------------------------------
def test_publishing_and_confirming_through_the_notices_page(programme, trust_lead, caldicott, pause_lead, dpo):
    lead = sign_in_verified(Client(), trust_lead)
    url, publish, decide = (reverse(f"governance:{n}") for n in ("notices", "notice-publish", "notice-decide"))
    response = lead.post(publish, {"text": " ", "scoping_months": "4"})
    body = response.content.decode()
    assert response.status_code == 400 and "Enter the text of the privacy notice" in body
    assert not PrivacyNotice.objects.exists()
    response = lead.post(publish, {"text": "The Trust's notice", "scoping_months": "4"})
    assert response.status_code == 400 and "Scoping lasts between 1 and 3 months" in response.content.decode()
    assert lead.post(publish, {"text": "The Trust's notice", "scoping_months": "3", "scoping_extension_days": "14",
                               "change_reason": "First version"}).status_code == 302
    notice = PrivacyNotice.objects.get()
    assert (notice.controller, notice.scoping_extension_days, notice.proposed_by) == ("trust", 14, trust_lead)
    # the publisher cannot confirm, on the page either; the DPO cannot reach the decision at all
    response = lead.post(decide, {"proposal": notice.pk, "decision": "confirm", "reason": "Synthetic justification"})
    assert response.status_code == 404  # a Trust lead holds no confirm_privacy_notice
    assert sign_in_verified(Client(), dpo).post(decide, {"proposal": notice.pk, "decision": "confirm", "reason": "Synthetic justification"}).status_code == 404
    guardian = sign_in_verified(Client(), caldicott)
    assert "Record the decision" in guardian.get(url).content.decode()
    assert guardian.post(decide, {"proposal": notice.pk + 1, "decision": "confirm", "reason": "Synthetic justification"}).status_code == 404
    assert guardian.post(decide, {"proposal": notice.pk, "decision": "confirm", "reason": "Synthetic justification"}).status_code == 302
    assert notice_in_force(programme, Controller.TRUST) == notice
    assert "Version 1 in force since" in lead.get(url).content.decode()
    # Pause's lead publishes Pause's notice (no scoping term asked); the Pause lead cannot confirm her own
    pause = sign_in_verified(Client(), pause_lead)
    page = pause.get(url).content.decode()
    assert 'name="text"' in page and 'name="scoping_months"' not in page
    assert pause.post(publish, {"text": "Pause's Art. 14 notice"}).status_code == 302
    pause_notice = PrivacyNotice.objects.get(controller="pause")
    response = pause.post(decide, {"proposal": pause_notice.pk, "decision": "confirm", "reason": "Synthetic justification"})
    assert response.status_code == 400 and "never by the person who published it" in response.content.decode()
    response = guardian.post(decide, {"proposal": pause_notice.pk, "decision": "reject"})
    assert response.status_code == 400 and "Enter your justification for confirming or rejecting" in response.content.decode()
    assert guardian.post(decide, {"proposal": pause_notice.pk, "decision": "confirm", "reason": "Synthetic justification"}).status_code == 302
    assert notice_in_force(programme, Controller.PAUSE) == pause_notice


def test_another_programmes_waiting_notice_answers_404(programme, other_programme, trust_lead):
    from tests.conftest import _member

    notice = publish_notice(programme=programme, by=trust_lead, text="Ours")
    outsider = sign_in_verified(Client(), _member(other_programme, Role.CALDICOTT_GUARDIAN))
    assert outsider.post(reverse("governance:notice-decide"),
                         {"proposal": notice.pk, "decision": "confirm", "reason": "Synthetic justification"}).status_code == 404
    assert PrivacyNotice.objects.get().status == ChangeStatus.PROPOSED


@pytest.mark.parametrize("who", ["trust_lead", "caldicott", "dpo", "pause_lead"])
def test_the_dashboard_links_to_the_notices_page(who, programme, trust_lead, caldicott, dpo, pause_lead):
    person = {"trust_lead": trust_lead, "caldicott": caldicott, "dpo": dpo, "pause_lead": pause_lead}[who]
    body = sign_in_verified(Client(), person).get(reverse("dashboard")).content.decode()
    assert reverse("governance:notices") in body
