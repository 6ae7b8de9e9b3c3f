"""The delivery pages' behaviour: the release page and its refusals, withdrawal, restrictions (the
DPO by reference only), the Pause lead's list (order, pages, assignment, the target group), the
practitioner's caseload (prompts, the logged CSV export), the woman page, and who gets 404."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, AuditSubject, Event
from eligibility.models import Restriction, Woman
from eligibility.restrictions import open_restriction
from pause_portal.tenancy.models import Programme
from pause_portal.tenancy.roles import Role
from pseudonymisation.fields import Protector
from sharing.models_delivery import (
    CaseloadAssignment,
    CaseloadUserObjectPermission,
    Participation,
    ReleasedWoman,
)
from sharing.models_scoping import Agreement
from sharing.phases import confirm_phase_change, propose_phase_change
from sharing.views import delivery_pause
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world, person_in
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db


def as_(person):
    return sign_in_verified(Client(), person)


def reveal(woman: Woman, field: str) -> str:
    return woman.reveal(Protector.load(woman.programme_id, Woman.key_phase), field)


def body(response) -> str:
    return response.content.decode()


def entries(actor, reason_part: str):
    return AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=actor, reason__contains=reason_part)


# --- the Trust lead's release page ---------------------------------------------------------------
def test_release_page_names_releasable_women_through_the_policy_and_lists_past_releases():
    world = delivery_world(women=1)
    [extra] = world.women(1)
    page = body(as_(world.trust_lead).get(reverse("delivery:release")))
    assert reveal(extra, "surname") in page and reveal(extra, "nhs_number") not in page
    assert "Version 1" in page and "The Trust: A task in the public interest" in page  # the release cites the agreement
    entry = entries(world.trust_lead, "women who can be released").get()
    assert entry.subject_count == 1 and reveal(extra, "surname") not in entry.reason


def test_release_posts_addresses_and_a_trust_contact():
    world = delivery_world(women=0)
    women = world.women(2)
    caseworker = member(world.programme, Role.TRUST_CASEWORKER)
    response = as_(world.trust_lead).post(reverse("delivery:release"), {
        "women": [w.pk for w in women], f"address_{women[0].pk}": "1 Made-up Lane",
        f"address_{women[1].pk}": "2 Made-up Lane", "trust_contact": caseworker.pk})
    assert response.status_code == 302
    released = ReleasedWoman.objects.filter(programme=world.programme).order_by("woman_id")
    assert [r.trust_contact_id for r in released] == [caseworker.pk, caseworker.pk]
    keys = Protector.load(world.programme.pk, ReleasedWoman.key_phase)
    assert [r.reveal(keys, "address") for r in released] == ["1 Made-up Lane", "2 Made-up Lane"]
    assert b"Made-up Lane" not in bytes(released[0].address)  # stored encrypted


@pytest.mark.parametrize("data, message", [
    ({}, "Choose at least one woman to release"),
    ({"women": ["W"], "trust_contact": "LEAD"}, "Enter the address Pause should contact"),
    ({"women": ["W"], "address": "x" * 301, "trust_contact": "LEAD"}, "The address must be 300 characters or fewer"),
    ({"women": ["W"], "address": "1 Lane"}, "Choose the Trust contact Pause should talk to"),
    ({"women": ["W"], "address": "1 Lane", "trust_contact": "PAUSE"}, "Choose the Trust contact Pause should talk to"),
    ({"women": ["999999"], "trust_contact": "LEAD"}, "A woman chosen can no longer be released"),
])
def test_release_bad_input_says_what_is_wrong_and_writes_nothing(data, message):
    world = delivery_world(women=0)
    [w] = world.women(1)
    values = {"LEAD": world.trust_lead.pk, "PAUSE": world.pause_lead.pk, "W": w.pk}
    posted = {"women": [values.get(v, v) for v in data.get("women", [])]}
    if "address" in data:
        posted[f"address_{w.pk}"] = data["address"]
    if "trust_contact" in data:
        posted["trust_contact"] = values[data["trust_contact"]]
    before = AuditEntry.objects.filter(event=Event.CHANGE).count()
    response = as_(world.trust_lead).post(reverse("delivery:release"), posted)
    assert response.status_code == 400 and message in body(response)
    assert "govuk-error-summary" in body(response)
    assert not ReleasedWoman.objects.exists() and AuditEntry.objects.filter(event=Event.CHANGE).count() == before


def test_release_refused_by_the_action_is_shown_in_the_error_summary():
    world = delivery_world(women=0)
    [w] = world.women(1)
    Agreement.objects.filter(programme=world.programme).update(uk_only_processing=False)
    response = as_(world.trust_lead).post(reverse("delivery:release"), {
        "women": [w.pk], f"address_{w.pk}": "1 Lane", "trust_contact": world.trust_lead.pk})
    assert response.status_code == 400
    assert "what a release needs is not on record" in body(response) and "UK only" in body(response)
    assert not ReleasedWoman.objects.exists()


# --- withdrawal ----------------------------------------------------------------------------------
def test_withdrawing_a_release_takes_her_out_of_every_pause_view_at_once():
    world = delivery_world(women=2)
    a, b = world.released
    world.assign(a)
    practitioner, lead = as_(world.practitioners[0]), as_(world.pause_lead)
    name = reveal(a.woman, "surname")
    assert name in body(practitioner.get(reverse("delivery:caseload")))
    response = as_(world.trust_lead).post(reverse("delivery:withdraw"), {"released": a.pk, "confirmed": "yes"})
    assert response.status_code == 302
    assert name not in body(practitioner.get(reverse("delivery:caseload")))
    assert name not in body(lead.get(reverse("delivery:women")))
    assert practitioner.get(reverse("delivery:woman", args=[a.pk])).status_code == 404
    assert lead.get(reverse("delivery:woman", args=[a.pk])).status_code == 404
    assert not CaseloadUserObjectPermission.objects.filter(content_object=a).exists()
    entry = AuditEntry.objects.filter(event=Event.CHANGE, actor=world.trust_lead, reason__contains="withdrawn (delivery release").get()
    assert name not in entry.reason
    assert AuditSubject.objects.filter(entry=entry, subject=f"eligibility.woman:{a.woman_id}").exists()
    # once withdrawn: not again, and not released again
    assert as_(world.trust_lead).post(reverse("delivery:withdraw"), {"released": a.pk}).status_code == 404
    assert as_(world.trust_lead).post(reverse("delivery:withdraw"),
                                      {"released": a.pk, "confirmed": "yes"}).status_code == 404
    assert f'value="{a.woman_id}"' not in body(as_(world.trust_lead).get(reverse("delivery:release")))


def test_a_trust_lead_of_another_programme_cannot_withdraw():
    world = delivery_world(women=1)
    other = delivery_world(women=0)
    for data in ({"released": world.released[0].pk}, {"released": world.released[0].pk, "confirmed": "yes"}):
        response = as_(other.trust_lead).post(reverse("delivery:withdraw"), data)
        assert response.status_code == 404 and ReleasedWoman.objects.get().withdrawn_at is None


def test_withdraw_first_asks_are_you_sure_naming_her_and_changes_nothing():
    world = delivery_world(women=1)
    a = world.released[0]
    world.assign(a)
    client = as_(world.trust_lead)
    release_page = body(client.get(reverse("delivery:release")))
    assert 'name="confirmed"' not in release_page  # the release page's button only asks
    changes_before = AuditEntry.objects.filter(event=Event.CHANGE).count()
    response = client.post(reverse("delivery:withdraw"), {"released": a.pk})
    page = body(response)
    assert response.status_code == 200
    assert "Are you sure you want to withdraw the release of" in page and reveal(a.woman, "surname") in page
    assert "She leaves every Pause view at once" in page
    assert f'href="{reverse("delivery:release")}"' in page and "Cancel" in page
    assert f'name="released" value="{a.pk}"' in page and 'name="confirmed" value="yes"' in page
    a.refresh_from_db()
    assert a.withdrawn_at is None
    assert CaseloadAssignment.objects.filter(released_woman=a, ended_at__isnull=True).exists()
    assert AuditEntry.objects.filter(event=Event.CHANGE).count() == changes_before
    # confirming acts
    assert client.post(reverse("delivery:withdraw"), {"released": a.pk, "confirmed": "yes"}).status_code == 302
    a.refresh_from_db()
    assert a.withdrawn_at is not None


def test_only_confirmed_yes_confirms_a_withdrawal():
    world = delivery_world(women=1)
    a = world.released[0]
    response = as_(world.trust_lead).post(reverse("delivery:withdraw"), {"released": a.pk, "confirmed": "no"})
    assert response.status_code == 200 and "Are you sure" in body(response)
    a.refresh_from_db()
    assert a.withdrawn_at is None


# --- restrictions --------------------------------------------------------------------------------
def test_the_dpo_restricts_by_nhs_number_and_sees_references_only():
    world = delivery_world(women=2)
    a, b = world.released
    dpo = person_in(world, Role.DPO)
    client = as_(dpo)
    nhs = reveal(a.woman, "nhs_number")
    response = client.post(reverse("delivery:restrictions"), {
        "kind": "nhs_number", "q": f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}", "reason": "objection"})
    assert response.status_code == 302
    restriction = Restriction.objects.get(woman=a.woman, ended_at__isnull=True)
    page = body(client.get(reverse("delivery:restrictions")))
    assert f"woman #{a.woman_id}" in page and reveal(a.woman, "surname") not in page and nhs not in page
    assert "She objected to processing" in page
    entry = AuditEntry.objects.get(event=Event.CHANGE, actor=dpo)
    assert entry.reason == f"restriction #{restriction.pk} opened"
    # the Trust lead sees her name beside the reference
    assert reveal(a.woman, "surname") in body(as_(world.trust_lead).get(reverse("delivery:restrictions")))


def test_a_restriction_hides_her_from_every_pause_page_at_once_and_ending_it_brings_her_back():
    world = delivery_world(women=2)
    a, b = world.released
    world.assign(a)
    name = reveal(a.woman, "surname")
    lead, practitioner = as_(world.pause_lead), as_(world.practitioners[0])

    def pause_sees() -> list[bool]:
        export = practitioner.post(reverse("delivery:caseload-export"))
        return [name in body(lead.get(reverse("delivery:women"))),
                name in body(practitioner.get(reverse("delivery:caseload"))),
                lead.get(reverse("delivery:woman", args=[a.pk])).status_code == 200,
                practitioner.get(reverse("delivery:woman", args=[a.pk])).status_code == 200,
                export.status_code == 200 and name in body(export)]

    assert pause_sees() == [True] * 5
    trust = as_(world.trust_lead)
    assert trust.post(reverse("delivery:restrictions"), {
        "kind": "person_id", "q": reveal(a.woman, "trust_person_id"), "reason": "restriction_request"}
    ).status_code == 302
    assert pause_sees() == [False] * 5
    restriction = Restriction.objects.get(woman=a.woman)
    asked = trust.post(reverse("delivery:end-restriction"), {"restriction": restriction.pk})
    assert asked.status_code == 200 and f"Are you sure you want to end restriction #{restriction.pk}?" in body(asked)
    assert f'href="{reverse("delivery:restrictions")}"' in body(asked)
    assert pause_sees() == [False] * 5  # asking changes nothing
    assert trust.post(reverse("delivery:end-restriction"),
                      {"restriction": restriction.pk, "confirmed": "yes"}).status_code == 302
    assert pause_sees() == [True] * 5
    ended = AuditEntry.objects.get(event=Event.CHANGE, actor=world.trust_lead, reason__contains="ended")
    assert ended.reason == f"restriction #{restriction.pk} ended"


@pytest.mark.parametrize("data, message", [
    ({"kind": "person_id", "q": "NOPE-0000", "reason": "objection"}, "No woman in this programme has that Trust person ID"),
    ({"kind": "nhs_number", "q": "123", "reason": "objection"}, "Enter an NHS number of 10 digits"),
    ({"kind": "nhs_number", "q": "9999999999", "reason": "objection"}, "No woman in this programme has that NHS number"),
    ({"kind": "person_id", "q": "", "reason": "objection"}, "Enter her Trust person ID or NHS number"),
    ({"kind": "person_id", "q": "A_ID"}, "Select why her records are restricted"),
    ({"kind": "person_id", "q": "A_ID", "reason": "whim"}, "Select why her records are restricted"),
    ({"kind": "surname", "q": "A_ID", "reason": "objection"}, "Select what to find her by"),
    ({"kind": "person_id", "q": "OTHER_ID", "reason": "objection"}, "No woman in this programme has that Trust person ID"),
    ({"kind": "person_id", "q": "C_ID", "reason": "objection"}, "Her records are already restricted"),
])
def test_restriction_bad_input_says_what_is_wrong_and_opens_nothing(data, message):
    world = delivery_world(women=3)
    other = delivery_world(women=1)
    a, _, c = world.released
    open_restriction(woman=c.woman, reason="accuracy", by=world.trust_lead)
    ids = {"A_ID": reveal(a.woman, "trust_person_id"), "C_ID": reveal(c.woman, "trust_person_id"),
           "OTHER_ID": reveal(other.released[0].woman, "trust_person_id")}
    posted = {k: ids.get(v, v) for k, v in data.items()}
    before = Restriction.objects.count()
    response = as_(person_in(world, Role.DPO)).post(reverse("delivery:restrictions"), posted)
    assert response.status_code == 400 and message in body(response)
    assert Restriction.objects.count() == before
    assert ids["A_ID"] not in body(response)  # the identifier searched for is not echoed back


def test_ending_a_restriction_of_another_programme_or_an_ended_one_is_404():
    world = delivery_world(women=1)
    other = delivery_world(women=1)
    restriction = open_restriction(woman=world.released[0].woman, reason="objection", by=world.trust_lead)
    assert as_(other.trust_lead).post(reverse("delivery:end-restriction"),
                                      {"restriction": restriction.pk, "confirmed": "yes"}).status_code == 404
    client = as_(world.trust_lead)
    assert client.post(reverse("delivery:end-restriction"),
                       {"restriction": restriction.pk, "confirmed": "yes"}).status_code == 302
    assert client.post(reverse("delivery:end-restriction"), {"restriction": restriction.pk}).status_code == 404
    assert client.post(reverse("delivery:end-restriction"), {"restriction": "abc"}).status_code == 404


# --- the Pause lead's list: order, pages, assignment, target group ------------------------------
def test_the_lead_list_is_in_target_order_and_paginated(monkeypatch):
    monkeypatch.setattr(delivery_pause, "PER_PAGE", 2)
    world = delivery_world(women=3)
    a, b, c = world.released
    ReleasedWoman.objects.filter(pk=c.pk).update(target_position=1)
    ReleasedWoman.objects.filter(pk=a.pk).update(target_position=2)
    client = as_(world.pause_lead)
    first, second = body(client.get(reverse("delivery:women"))), body(client.get(reverse("delivery:women") + "?page=2"))
    names = [reveal(r.woman, "surname") for r in (a, b, c)]
    assert first.index(names[2]) < first.index(names[0]) and names[1] not in first
    assert names[1] in second and names[0] not in second and "Page 2 of 2" in second
    assert [e.subject_count for e in entries(world.pause_lead, "released women list").order_by("pk")] == [2, 1]


def test_assignment_from_the_list_moves_access_at_once():
    world = delivery_world(women=2)
    a, _ = world.released
    p1, p2 = world.practitioners
    world.assign(a, p1)
    lead, first, second = as_(world.pause_lead), as_(p1), as_(p2)
    assert first.get(reverse("delivery:woman", args=[a.pk])).status_code == 200
    response = lead.post(reverse("delivery:woman", args=[a.pk]),
                         {"action": "assign", "practitioner": p2.pk, "back": "list", "page": "1"})
    assert response.status_code == 302 and response["Location"] == reverse("delivery:women") + "?page=1"
    assert first.get(reverse("delivery:woman", args=[a.pk])).status_code == 404
    assert reveal(a.woman, "surname") not in body(first.get(reverse("delivery:caseload")))
    assert second.get(reverse("delivery:woman", args=[a.pk])).status_code == 200
    assert lead.post(reverse("delivery:woman", args=[a.pk]), {"action": "assign", "practitioner": ""}).status_code == 302
    assert second.get(reverse("delivery:woman", args=[a.pk])).status_code == 404
    assert not CaseloadAssignment.objects.filter(ended_at__isnull=True).exists()


@pytest.mark.parametrize("practitioner", ["LEAD", "OTHER", "abc"])
def test_assigning_to_someone_not_a_practitioner_of_the_programme_is_refused(practitioner):
    world = delivery_world(women=1)
    other = delivery_world(women=0)
    choice = {"LEAD": world.pause_lead.pk, "OTHER": other.practitioners[0].pk}.get(practitioner, practitioner)
    response = as_(world.pause_lead).post(reverse("delivery:woman", args=[world.released[0].pk]),
                                          {"action": "assign", "practitioner": choice})
    assert response.status_code == 400 and "Choose a practitioner of this programme" in body(response)
    assert not CaseloadAssignment.objects.exists()


def test_the_target_group_place_needs_a_reason_kept_encrypted_and_shifts_the_others():
    world = delivery_world(women=3)
    a, b, c = world.released
    lead = as_(world.pause_lead)
    url = reverse("delivery:woman", args=[a.pk])
    assert lead.post(url, {"action": "target", "position": "1", "reason": "Due to give birth soon"}).status_code == 302
    assert lead.post(reverse("delivery:woman", args=[b.pk]),
                     {"action": "target", "position": "1", "reason": "Asked for support"}).status_code == 302
    a.refresh_from_db()
    b.refresh_from_db()
    assert (b.target_position, a.target_position) == (1, 2)
    assert b"Due to give birth" not in bytes(a.target_reason)
    assert "Due to give birth soon" in body(lead.get(url))
    changes = AuditEntry.objects.filter(event=Event.CHANGE, actor=world.pause_lead, reason__startswith="target group")
    assert [e.reason for e in changes.order_by("pk")] == [
        f"target group: released woman #{a.pk} placed at 1",
        f"target group: released woman #{b.pk} placed at 1; 1 moved down one place"]
    # the practitioner sees the place and its reason too
    world.assign(a)
    assert "Due to give birth soon" in body(as_(world.practitioners[0]).get(url))


@pytest.mark.parametrize("data, message", [
    ({"action": "target", "position": "1", "reason": " "}, "Enter the reason for her place in the target group"),
    ({"action": "target", "position": "first", "reason": "x"}, "Enter her place in the target group as a whole number"),
    ({"action": "target", "position": "0", "reason": "x"}, "Enter a place in the target group of 1 or more"),
    ({"action": "target", "position": "1", "reason": "x" * 1001}, "The reason must be 1000 characters or fewer"),
])
def test_target_group_bad_input_changes_nothing(data, message):
    world = delivery_world(women=1)
    [a] = world.released
    response = as_(world.pause_lead).post(reverse("delivery:woman", args=[a.pk]), data)
    assert response.status_code == 400 and message in body(response) and "govuk-error-summary" in body(response)
    a.refresh_from_db()
    assert a.target_position is None and a.target_reason is None


def test_an_unknown_action_is_a_bad_request():
    world = delivery_world(women=1)
    response = as_(world.pause_lead).post(reverse("delivery:woman", args=[world.released[0].pk]), {"action": "x"})
    assert response.status_code == 400


# --- the practitioner's caseload -----------------------------------------------------------------
def test_the_caseload_prompts_contact_until_a_decline_or_withdrawal():
    world = delivery_world(women=4)
    for r in world.released:
        world.assign(r)
    a, b, c, d = world.released
    now = timezone.now()
    ReleasedWoman.objects.filter(pk=b.pk).update(participation=Participation.DECLINED,
                                                 participation_ended_at=now - timedelta(days=2))
    ReleasedWoman.objects.filter(pk=c.pk).update(participation=Participation.NOT_REACHED)
    ReleasedWoman.objects.filter(pk=d.pk).update(participation=Participation.AGREED)
    page = body(as_(world.practitioners[0]).get(reverse("delivery:caseload")))
    rows = {r.pk: page[page.index(f'id="released-{r.pk}"'):].split("</tr>")[0] for r in (a, b, c, d)}
    assert "Make contact" in rows[a.pk] and "Make contact" in rows[c.pk]
    assert "Make contact" not in rows[b.pk] and "Make contact" not in rows[d.pk]
    assert "Leaves your caseload on" in rows[b.pk]
    assert "Give the privacy information" in rows[d.pk]
    assert "2</strong> women still to contact" in page


def test_the_caseload_export_is_logged_and_safe_against_formulas():
    world = delivery_world(women=0)
    [w] = world.women(1)
    from sharing.delivery_release import ToRelease, release_for_delivery

    release_for_delivery(world.programme, [ToRelease(w, '=HYPERLINK("http://example.invalid","x")')],
                         by=world.trust_lead, trust_contact=world.trust_lead)
    released = ReleasedWoman.objects.get()
    world.assign(released)
    practitioner = world.practitioners[0]
    response = as_(practitioner).post(reverse("delivery:caseload-export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body(response))))
    assert rows[0][0] == "Name" and rows[1][3] == "'=HYPERLINK(\"http://example.invalid\",\"x\")"
    entry = entries(practitioner, "caseload list export (CSV)").get()
    assert entry.subject_count == 1
    assert AuditSubject.objects.filter(entry=entry, subject=f"sharing.releasedwoman:{released.pk}").exists()
    assert as_(practitioner).get(reverse("delivery:caseload-export")).status_code == 405


def test_an_empty_caseload_has_nothing_to_export():
    world = delivery_world(women=1)
    assert as_(world.practitioners[0]).post(reverse("delivery:caseload-export")).status_code == 404


def test_the_export_quotes_through_the_kernels_csv_guard():
    from pause_portal.csv_safe import safe_cell

    assert delivery_pause.safe_cell is safe_cell


# --- the woman page and who gets 404 -------------------------------------------------------------
def test_the_woman_page_shows_her_live_details_and_children_as_delivery_tokens_only():
    world = delivery_world(women=1)
    [a] = world.released
    world.assign(a)
    page = body(as_(world.practitioners[0]).get(reverse("delivery:woman", args=[a.pk])))
    assert reveal(a.woman, "surname") in page and reveal(a.woman, "postcode") in page
    assert reveal(a.woman, "nhs_number") not in page and reveal(a.woman, "trust_person_id") not in page
    assert all(c.token in page for c in a.children.all())
    assert 'id="casework"' in page
    # live: a correction in the Trust's record shows at once
    woman = a.woman
    woman.protect(Protector.load(woman.programme_id, Woman.key_phase), surname="Renamedsynthetic")
    woman.save()
    assert "Renamedsynthetic" in body(as_(world.practitioners[0]).get(reverse("delivery:woman", args=[a.pk])))
    kinds = sorted(e.reason for e in AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=world.practitioners[0]))
    assert kinds[:2] == ["woman page", "woman page"] and "woman page: her children" in kinds


def test_another_practitioners_or_another_programmes_woman_is_404():
    world = delivery_world(women=2)
    other = delivery_world(women=1)
    a, b = world.released
    world.assign(a, world.practitioners[0])
    world.assign(b, world.practitioners[1])
    client = as_(world.practitioners[0])
    assert client.get(reverse("delivery:woman", args=[a.pk])).status_code == 200
    assert client.get(reverse("delivery:woman", args=[b.pk])).status_code == 404
    assert client.get(reverse("delivery:woman", args=[other.released[0].pk])).status_code == 404
    assert as_(other.pause_lead).get(reverse("delivery:woman", args=[a.pk])).status_code == 404
    assert as_(world.pause_lead).get(reverse("delivery:woman", args=[other.released[0].pk])).status_code == 404


def test_a_woman_who_left_the_view_after_a_decline_is_404_whatever_permission_remains():
    world = delivery_world(women=1)
    [a] = world.released
    world.assign(a)
    ReleasedWoman.objects.filter(pk=a.pk).update(participation=Participation.DECLINED,
                                                 participation_ended_at=timezone.now() - timedelta(days=31))
    assert CaseloadUserObjectPermission.objects.filter(content_object=a).exists()
    assert as_(world.practitioners[0]).get(reverse("delivery:woman", args=[a.pk])).status_code == 404


def test_closing_the_programme_ends_every_pause_view_and_permission():
    world = delivery_world(women=2)
    a, b = world.released
    world.assign(a)
    surname = reveal(a.woman, "surname")  # read while the programme's keys live: closing destroys them
    change = propose_phase_change(programme=world.programme, by=world.trust_lead, reason="The programme ends")
    confirm_phase_change(change=change, by=world.caldicott, justification="Synthetic justification")
    assert Programme.objects.get(pk=world.programme.pk).phase == "closed"
    assert not CaseloadUserObjectPermission.objects.exists()
    assert not CaseloadAssignment.objects.exists()  # closing purges the caseloads with the rest (ADR 39)
    assert AuditEntry.objects.filter(event=Event.CHANGE, reason__startswith="Programme closed: purge certificate",
                                     programme=world.programme).exists()
    client = as_(world.practitioners[0])
    assert client.get(reverse("delivery:woman", args=[a.pk])).status_code == 404
    assert surname not in body(client.get(reverse("delivery:caseload")))


def test_a_trust_lead_of_another_programme_cannot_release_its_women():
    world = delivery_world(women=0)
    [w] = world.women(1)
    other = delivery_world(women=0)
    response = as_(other.trust_lead).post(reverse("delivery:release"), {
        "women": [w.pk], f"address_{w.pk}": "1 Lane", "trust_contact": other.trust_lead.pk})
    assert response.status_code == 400 and "can no longer be released" in body(response)
    assert not ReleasedWoman.objects.exists()


def test_the_dpo_restrictions_page_asks_the_policy_for_no_names():
    world = delivery_world(women=1)
    open_restriction(woman=world.released[0].woman, reason="objection", by=world.trust_lead)
    dpo = person_in(world, Role.DPO)
    assert "woman #" in body(as_(dpo).get(reverse("delivery:restrictions")))
    assert not AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=dpo).exists()
    as_(world.trust_lead).get(reverse("delivery:restrictions"))
    assert entries(world.trust_lead, "restrictions: open").get().subject_count == 1


@pytest.mark.parametrize("phase", ["scoping", "delivery", "closed"])
def test_dashboards_link_the_delivery_pages_in_delivery_only(phase):
    world = delivery_world(women=0)
    Programme.objects.filter(pk=world.programme.pk).update(phase=phase)
    links = {Role.TRUST_LEAD: ["delivery:release", "delivery:restrictions"], Role.DPO: ["delivery:restrictions"],
             Role.PAUSE_LEAD: ["delivery:women"], Role.PAUSE_PRACTITIONER: ["delivery:caseload"],
             Role.TRUST_CASEWORKER: [], Role.CALDICOTT_GUARDIAN: []}
    every = {reverse(n) for names in links.values() for n in names}
    for role, names in links.items():
        page = body(as_(person_in(world, role)).get(reverse("dashboard")))
        shown = {url for url in every if f'href="{url}"' in page}
        expected = {reverse(n) for n in names}
        if phase != "delivery":  # restrictions stay reachable in every phase; the rest is delivery only
            expected = {u for u in expected if u == reverse("delivery:restrictions")}
        assert shown == expected, (role, phase, shown)


# --- the actions roll back when their audit entry cannot be written ------------------------------
def _audit_fails(*args, **kwargs):
    raise RuntimeError("audit store unavailable")


def test_withdrawal_target_and_restrictions_roll_back_when_the_audit_write_fails(monkeypatch):
    from eligibility import restrictions
    from sharing import caseloads, delivery_release, scoping_release

    world = delivery_world(women=2)
    a, b = world.released
    world.assign(a)
    restriction = open_restriction(woman=b.woman, reason="objection", by=world.trust_lead)
    for module in (caseloads, delivery_release, restrictions, scoping_release):
        monkeypatch.setattr(module, "record_event", _audit_fails)
    with pytest.raises(RuntimeError):
        delivery_release.withdraw_from_delivery(a, by=world.trust_lead)
    with pytest.raises(RuntimeError):
        caseloads.set_target_position(a, position=1, reason="Synthetic reason", by=world.pause_lead)
    with pytest.raises(RuntimeError):
        restrictions.end_restriction(restriction, by=world.trust_lead)
    with pytest.raises(RuntimeError):
        restrictions.restrict(woman=a.woman, reason="objection", by=person_in(world, Role.DPO))
    a.refresh_from_db()
    restriction.refresh_from_db()
    assert a.withdrawn_at is None and a.target_position is None and a.target_reason is None
    assert CaseloadUserObjectPermission.objects.filter(content_object=a).exists()
    assert restriction.ended_at is None and not Restriction.objects.filter(woman=a.woman).exists()


def test_the_actions_refuse_the_wrong_people():
    from eligibility.restrictions import RestrictionRefused, end_restriction, restrict
    from sharing.caseloads import CaseloadRefused, set_target_position
    from sharing.delivery_release import DeliveryReleaseRefused, withdraw_from_delivery

    world = delivery_world(women=1)
    [a] = world.released
    restriction = open_restriction(woman=a.woman, reason="objection", by=world.trust_lead)
    with pytest.raises(DeliveryReleaseRefused):
        withdraw_from_delivery(a, by=world.pause_lead)
    with pytest.raises(CaseloadRefused):
        set_target_position(a, position=1, reason="x", by=world.practitioners[0])
    for person in (world.pause_lead, world.caldicott, member(world.programme, Role.TRUST_CASEWORKER)):
        with pytest.raises(RestrictionRefused):
            end_restriction(restriction, by=person)
        with pytest.raises(RestrictionRefused):
            restrict(woman=a.woman, reason="objection", by=person)


def test_release_page_warns_what_blocks_a_release():
    world = delivery_world(women=0)
    world.women(1)
    ok = body(as_(world.trust_lead).get(reverse("delivery:release")))
    assert 'id="blockers"' not in ok
    Agreement.objects.filter(programme=world.programme).update(uk_only_processing=False)
    blocked = body(as_(world.trust_lead).get(reverse("delivery:release")))
    assert 'id="blockers"' in blocked and "Nothing can be released until these are recorded" in blocked
