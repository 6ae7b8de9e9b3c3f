"""The casework pages: the role x phase x page matrix (every cell asserted, GET and POST), another
practitioner's woman and another programme's records 404, the contact and concern journeys
through the pages, the prompts, and the audit entries each view and write leaves."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, AuditSubject, Event
from eligibility.models import Woman
from pause_portal.tenancy.models import Phase, Programme
from pause_portal.tenancy.roles import OrganisationKind, Role
from pseudonymisation.fields import Protector
from sharing.concerns import raise_concern
from sharing.models_delivery import (
    ConcernStatus,
    ContactAttempt,
    Participation,
    SafeguardingConcern,
)
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db

ROLES = [Role.TRUST_CASEWORKER, Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN, Role.DPO, Role.PAUSE_LEAD,
         Role.PAUSE_PRACTITIONER, Role.SYSTEM_ADMIN]
PHASES = [Phase.DELIVERY, Phase.CLOSED]
PAUSE = {Role.PAUSE_LEAD, Role.PAUSE_PRACTITIONER}
OWNERS = {
    "woman GET": PAUSE, "contact GET": {Role.PAUSE_PRACTITIONER}, "contact POST": {Role.PAUSE_PRACTITIONER},
    "raise GET": PAUSE, "raise POST": PAUSE, "concerns GET": PAUSE | {Role.TRUST_LEAD},
    "concern GET": PAUSE | {Role.TRUST_LEAD}, "acknowledge POST": {Role.TRUST_LEAD},
    "close POST": {Role.TRUST_LEAD}, "acknowledge GET": {Role.TRUST_LEAD}, "close GET": {Role.TRUST_LEAD},
}
SUMMARY = "Synthetic: she was seen with a bruise and would not say how"


def contact_data(**overrides):
    today = timezone.localdate()
    data = {"contacted_day": today.day, "contacted_month": today.month, "contacted_year": today.year,
            "method": "phone", "outcome": "agreed", "notices_given": ["trust", "pause"], "note": "Synthetic note"}
    data.update(overrides)
    return data


def name_of(world, released) -> str:
    protector = Protector.load(world.programme.pk, Woman.key_phase)
    return released.woman.reveal(protector, "surname")


def setup(phase=Phase.DELIVERY):
    """A world with two women (one in each practitioner's caseload) and an open concern about the
    first, then moved to `phase`."""
    world = delivery_world(women=2)
    her, other = world.released
    world.assign(her, world.practitioners[0])
    world.assign(other, world.practitioners[1])
    concern = raise_concern(her, by=world.practitioners[0], kind="safeguarding", summary=SUMMARY)
    if phase != Phase.DELIVERY:
        Programme.objects.filter(pk=world.programme.pk).update(phase=phase)
    return world, her, other, concern


def person_in(world, role):
    if role == Role.SYSTEM_ADMIN:
        return f.person(f.organisation(OrganisationKind.TRUST), system_admin=True)
    if role == Role.PAUSE_PRACTITIONER:
        return world.practitioners[0]
    return {Role.TRUST_LEAD: world.trust_lead, Role.CALDICOTT_GUARDIAN: world.caldicott,
            Role.PAUSE_LEAD: world.pause_lead}.get(role) or member(world.programme, role)


def hit(client, page, her, concern):
    name, method = page.split()
    pk = concern.pk if name in ("concern", "acknowledge", "close") else her.pk
    url = reverse("casework:concerns") if name == "concerns" else reverse(f"casework:{name}", args=[pk])
    if method == "GET":
        return client.get(url)
    data = {"contact": contact_data(), "raise": {"kind": "serious_incident", "pause_article_6": "art6_1_f", "pause_article_9": "art9_2_a",
                                                 "summary": "Synthetic incident"},
            "acknowledge": {}, "close": {"closing_note": "Synthetic: handled"}}[name]
    return client.post(url, data)


def state():
    return (ContactAttempt.objects.count(), SafeguardingConcern.objects.count(),
            sorted(SafeguardingConcern.objects.values_list("status", flat=True)))


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("role", ROLES)
def test_every_role_in_every_phase_on_every_page(role, phase):
    world, her, other, concern = setup(phase)
    client = sign_in_verified(Client(), person_in(world, role))
    surname = name_of(world, her)
    pause_sees = phase == Phase.DELIVERY
    for page in OWNERS:
        before = state()
        response = hit(client, page, her, concern)
        cell = (role.value, phase, page)
        if role not in OWNERS[page]:
            assert response.status_code == 404, cell
            assert state() == before, cell
            continue
        body = response.content.decode()
        if role in PAUSE and not pause_sees and page != "concerns GET":
            assert response.status_code == 404 and state() == before, cell
        elif page in ("woman GET", "contact GET", "raise GET"):
            assert response.status_code == 200 and surname in body, cell
        elif page == "contact POST":
            assert response.status_code == 302 and ContactAttempt.objects.count() == before[0] + 1, cell
        elif page == "raise POST":
            assert response.status_code == 302 and SafeguardingConcern.objects.count() == before[1] + 1, cell
        elif page == "concerns GET":
            link = reverse("casework:concern", args=[concern.pk])
            assert response.status_code == 200 and (link in body) == (role == Role.TRUST_LEAD or pause_sees), cell
        elif page == "concern GET":
            assert response.status_code == 200 and SUMMARY in body and surname in body, cell
        elif page in ("acknowledge GET", "close GET"):
            assert response.status_code == 405 and state() == before, cell
        elif page == "acknowledge POST":
            assert response.status_code == 302, cell
            assert SafeguardingConcern.objects.get(pk=concern.pk).status == ConcernStatus.ACKNOWLEDGED, cell
        elif page == "close POST":
            assert response.status_code == 302, cell
            assert SafeguardingConcern.objects.get(pk=concern.pk).status == ConcernStatus.CLOSED, cell


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_practitioners_woman_and_her_concern_are_404(method):
    world, her, other, concern = setup()
    client = sign_in_verified(Client(), world.practitioners[1])
    for url in (reverse("casework:woman", args=[her.pk]), reverse("casework:contact", args=[her.pk]),
                reverse("casework:raise", args=[her.pk]), reverse("casework:concern", args=[concern.pk])):
        before = state()
        data = contact_data() if "contact" in url else {"kind": "safeguarding", "pause_article_6": "art6_1_f", "pause_article_9": "art9_2_a",
                                                         "summary": "x"}
        response = client.get(url) if method == "get" else client.post(url, data)
        assert response.status_code == 404, url
        assert state() == before
    listing = client.get(reverse("casework:concerns")).content.decode()
    assert reverse("casework:concern", args=[concern.pk]) not in listing
    # Reassigned to them: at once theirs, and at once no longer the first practitioner's.
    world.assign(her, world.practitioners[1])
    assert client.get(reverse("casework:woman", args=[her.pk])).status_code == 200
    first = sign_in_verified(Client(), world.practitioners[0])
    assert first.get(reverse("casework:contact", args=[her.pk])).status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_programmes_records_are_404(method):
    world, her, other, concern = setup()
    elsewhere = delivery_world(women=1)
    outsiders = {Role.PAUSE_LEAD: elsewhere.pause_lead, Role.PAUSE_PRACTITIONER: elsewhere.practitioners[0],
                 Role.TRUST_LEAD: elsewhere.trust_lead}
    elsewhere.assign(elsewhere.released[0], elsewhere.practitioners[0])
    urls = [reverse("casework:woman", args=[her.pk]), reverse("casework:contact", args=[her.pk]),
            reverse("casework:raise", args=[her.pk]), reverse("casework:concern", args=[concern.pk]),
            reverse("casework:acknowledge", args=[concern.pk]), reverse("casework:close", args=[concern.pk])]
    for role, person in outsiders.items():
        client = sign_in_verified(Client(), person)
        for url in urls:
            before = state()
            response = getattr(client, method)(url, {"closing_note": "x"} if method == "post" else None)
            assert response.status_code == 404, (role, url)
            assert state() == before
        assert reverse("casework:concern", args=[concern.pk]) not in client.get(
            reverse("casework:concerns")).content.decode()


def test_the_contact_journey_asks_for_the_privacy_information_and_stops_prompting_after_a_decline():
    world, her, other, concern = setup()
    client = sign_in_verified(Client(), world.practitioners[0])
    page = client.get(reverse("casework:woman", args=[her.pk])).content.decode()
    assert 'id="prompt-contact"' in page and reverse("casework:contact", args=[her.pk]) in page
    form = client.get(reverse("casework:contact", args=[her.pk])).content.decode()
    assert 'name="notices_given"' in form
    # Bad input: the error summary says what is wrong, and nothing is recorded.
    response = client.post(reverse("casework:contact", args=[her.pk]),
                           contact_data(notices_given=[], contacted_year="2999"))
    body = response.content.decode()
    assert response.status_code == 200 and "govuk-error-summary" in body
    assert "The date of contact must be today or in the past" in body and not ContactAttempt.objects.exists()
    response = client.post(reverse("casework:contact", args=[her.pk]), contact_data(notices_given=[]))
    assert "Say which privacy notices she was given, or Neither" in response.content.decode()
    response = client.post(reverse("casework:contact", args=[her.pk]), contact_data(contacted_day="31",
                                                                                    contacted_month="2"))
    assert "must be a real date" in response.content.decode() and not ContactAttempt.objects.exists()
    # She agrees but was not given it: recorded, and the portal keeps asking.
    response = client.post(reverse("casework:contact", args=[her.pk]), contact_data(notices_given=["none"]))
    assert response.status_code == 302 and response["Location"] == reverse("casework:woman", args=[her.pk])
    page = client.get(reverse("casework:woman", args=[her.pk])).content.decode()
    assert 'id="prompt-privacy"' in page and 'id="prompt-contact"' not in page and "Synthetic note" in page
    assert 'name="notices_given"' in client.get(reverse("casework:contact", args=[her.pk])).content.decode()
    client.post(reverse("casework:contact", args=[her.pk]), contact_data(notices_given=["pause"]))
    page = client.get(reverse("casework:woman", args=[her.pk])).content.decode()
    assert 'id="prompt-privacy"' not in page
    assert 'name="notices_given"' not in client.get(
        reverse("casework:contact", args=[her.pk])).content.decode()
    # She withdraws: no more prompts, and the page says when she leaves Pause's view.
    client.post(reverse("casework:contact", args=[her.pk]), contact_data(outcome="withdrew"))
    her.refresh_from_db()
    assert her.participation == Participation.WITHDREW
    page = client.get(reverse("casework:woman", args=[her.pk])).content.decode()
    assert 'id="participation-ended"' in page and 'id="prompt-contact"' not in page and 'id="prompt-privacy"' not in page
    assert "a concern about her is open" in page
    # The other woman, not yet contacted, is still prompted (to her own practitioner).
    other_page = sign_in_verified(Client(), world.practitioners[1]).get(reverse("casework:woman", args=[other.pk]))
    assert 'id="prompt-contact"' in other_page.content.decode()


def test_the_pause_lead_sees_the_history_but_does_not_record_contact():
    world, her, other, concern = setup()
    sign_in_verified(Client(), world.practitioners[0]).post(reverse("casework:contact", args=[her.pk]),
                                                            contact_data(note="Synthetic: first call went well"))
    client = sign_in_verified(Client(), world.pause_lead)
    page = client.get(reverse("casework:woman", args=[her.pk])).content.decode()
    assert "first call went well" in page and 'id="contact-history"' in page
    assert reverse("casework:contact", args=[her.pk]) not in page and reverse("casework:raise", args=[her.pk]) in page
    assert client.post(reverse("casework:contact", args=[her.pk]), contact_data()).status_code == 404


def test_the_concern_journey_from_raising_to_closing():
    world, her, other, _ = setup()
    SafeguardingConcern.objects.all().delete()
    practitioner = sign_in_verified(Client(), world.practitioners[0])
    response = practitioner.post(reverse("casework:raise", args=[her.pk]),
                                 {"kind": "safeguarding", "pause_article_6": "art6_1_f", "summary": "x"})
    body = response.content.decode()
    assert response.status_code == 200 and "Choose Pause&#x27;s Article 9 condition" in body
    assert ('href="#id_pause_article_9_0"' in body and 'id="id_pause_article_9_0"' in body
            and not SafeguardingConcern.objects.exists())
    response = practitioner.post(reverse("casework:raise", args=[her.pk]),
                                 {"kind": "safeguarding", "pause_article_6": "art6_1_f", "pause_article_9": "art9_2_g",
                                  "summary": SUMMARY})
    concern = SafeguardingConcern.objects.get()
    assert response["Location"] == reverse("casework:concern", args=[concern.pk])
    assert "Open: awaiting the Trust" in practitioner.get(response["Location"]).content.decode()
    lead = sign_in_verified(Client(), world.trust_lead)
    dashboard = lead.get(reverse("dashboard")).content.decode()
    assert 'id="open-concerns-waiting"' in dashboard and "1 open concern raised by Pause awaits" in dashboard
    listing = lead.get(reverse("casework:concerns")).content.decode()
    assert reverse("casework:concern", args=[concern.pk]) in listing and SUMMARY not in listing
    page = lead.get(reverse("casework:concern", args=[concern.pk])).content.decode()
    assert SUMMARY in page and name_of(world, her) in page and "Schedule 1 Part 2 paragraph 18" in page
    trust_id = her.woman.reveal(Protector.load(world.programme.pk, Woman.key_phase), "trust_person_id")
    assert f'<dd class="govuk-summary-list__value" id="trust-person-id">{trust_id}</dd>' in page
    pause_page = practitioner.get(reverse("casework:concern", args=[concern.pk])).content.decode()
    assert trust_id not in pause_page and 'id="trust-person-id"' not in pause_page
    assert lead.post(reverse("casework:acknowledge", args=[concern.pk]))["Location"] == reverse(
        "casework:concern", args=[concern.pk])
    assert "Acknowledged by the Trust" in practitioner.get(reverse("casework:concern", args=[concern.pk])).content.decode()
    response = lead.post(reverse("casework:close", args=[concern.pk]), {"closing_note": "  "})
    assert response.status_code == 200 and "Enter a closing note" in response.content.decode()
    assert SafeguardingConcern.objects.get().status == ConcernStatus.ACKNOWLEDGED
    lead.post(reverse("casework:close", args=[concern.pk]), {"closing_note": "Synthetic: a plan is in place"})
    seen = practitioner.get(reverse("casework:concern", args=[concern.pk])).content.decode()
    assert "Closed" in seen and "a plan is in place" in seen
    assert 'id="open-concerns-waiting"' not in lead.get(reverse("dashboard")).content.decode()
    # A second acknowledgement of a closed concern changes nothing and says why.
    response = lead.post(reverse("casework:acknowledge", args=[concern.pk]), follow=True)
    assert "This has been closed" in response.content.decode()


def _entries_since(mark, **filters):
    return AuditEntry.objects.filter(pk__gt=mark, **filters)


def _subjects(entries):
    return set(AuditSubject.objects.filter(entry__in=entries).values_list("subject", flat=True))


def test_every_view_and_write_leaves_its_audit_entries():
    world, her, other, concern = setup()
    practitioner = sign_in_verified(Client(), world.practitioners[0])
    lead = sign_in_verified(Client(), world.trust_lead)
    woman_ref, concern_ref = f"sharing.releasedwoman:{her.pk}", f"sharing.safeguardingconcern:{concern.pk}"

    mark = AuditEntry.objects.order_by("-pk").first().pk
    practitioner.post(reverse("casework:contact", args=[her.pk]), contact_data())
    attempt = ContactAttempt.objects.get()
    assert _entries_since(mark, event=Event.CHANGE, actor=world.practitioners[0],
                          reason__startswith=f"contact attempt #{attempt.pk} ").count() == 1

    for url, expected in [
        (reverse("casework:woman", args=[her.pk]), {woman_ref, f"sharing.contactattempt:{attempt.pk}", concern_ref}),
        (reverse("casework:contact", args=[her.pk]), {woman_ref}),
        (reverse("casework:raise", args=[her.pk]), {woman_ref}),
        (reverse("casework:concerns"), {concern_ref}),
        (reverse("casework:concern", args=[concern.pk]), {woman_ref, concern_ref}),
    ]:
        mark = AuditEntry.objects.order_by("-pk").first().pk
        assert practitioner.get(url).status_code == 200
        entries = _entries_since(mark, event=Event.DISCLOSURE, actor=world.practitioners[0], page=url)
        assert expected <= _subjects(entries), url
        assert all(e.role == Role.PAUSE_PRACTITIONER and e.programme_id == world.programme.pk for e in entries)

    mark = AuditEntry.objects.order_by("-pk").first().pk
    practitioner.post(reverse("casework:raise", args=[her.pk]),
                      {"kind": "serious_incident", "pause_article_6": "art6_1_d", "pause_article_9": "art9_2_c", "summary": "Synthetic"})
    raised = SafeguardingConcern.objects.latest("pk")
    assert _entries_since(mark, event=Event.CHANGE,
                          reason__startswith=f"serious_incident #{raised.pk} raised with the Trust under Pause: To "
                                             "protect someone's life").count() == 1

    url = reverse("casework:concern", args=[concern.pk])
    mark = AuditEntry.objects.order_by("-pk").first().pk
    lead.get(url)
    entries = _entries_since(mark, event=Event.DISCLOSURE, actor=world.trust_lead, page=url)
    assert {concern_ref, f"eligibility.woman:{her.woman_id}"} <= _subjects(entries)
    assert all(e.role == Role.TRUST_LEAD for e in entries)
    mark = AuditEntry.objects.order_by("-pk").first().pk
    lead.get(reverse("casework:concerns"))
    assert {concern_ref, f"sharing.safeguardingconcern:{raised.pk}"} <= _subjects(
        _entries_since(mark, event=Event.DISCLOSURE, actor=world.trust_lead))
    for action, data in (("acknowledge", {}), ("close", {"closing_note": "Synthetic"})):
        mark = AuditEntry.objects.order_by("-pk").first().pk
        lead.post(reverse(f"casework:{action}", args=[concern.pk]), data)
        word = "acknowledged" if action == "acknowledge" else "closed"
        assert _entries_since(mark, event=Event.CHANGE, actor=world.trust_lead,
                              reason=f"safeguarding #{concern.pk} {word} by the Trust").count() == 1
    # No audit entry carries a value that identifies her.
    surname = name_of(world, her)
    assert not AuditEntry.objects.filter(reason__icontains=surname).exists()
    assert not AuditEntry.objects.filter(object_repr__icontains=surname).exists()


def test_the_woman_page_carries_the_casework_panel():
    world, her, other, concern = setup()
    sign_in_verified(Client(), world.practitioners[0]).post(reverse("casework:contact", args=[her.pk]),
                                                            contact_data(note="Synthetic: a good first meeting"))
    url = reverse("delivery:woman", args=[her.pk])
    for person, can_record in ((world.practitioners[0], True), (world.pause_lead, False)):
        mark = AuditEntry.objects.order_by("-pk").first().pk
        page = sign_in_verified(Client(), person).get(url).content.decode()
        assert 'id="casework-panel"' in page and "a good first meeting" in page, person
        assert (reverse("casework:contact", args=[her.pk]) in page) == can_record
        assert reverse("casework:concern", args=[concern.pk]) in page
        attempt = ContactAttempt.objects.get()
        assert {f"sharing.contactattempt:{attempt.pk}", f"sharing.safeguardingconcern:{concern.pk}"} <= _subjects(
            _entries_since(mark, event=Event.DISCLOSURE, actor=person, page=url))


def test_the_list_shows_every_open_concern_and_the_latest_closed_ones(monkeypatch):
    from sharing.concern_hand_over import mark_filed
    from sharing.concerns import close_concern

    monkeypatch.setattr("sharing.views.casework_concerns.CLOSED_SHOWN", 2)
    world, her, other, open_one = setup()
    closed = []
    for i in range(3):
        c = raise_concern(her, by=world.pause_lead, kind="safeguarding", summary=f"Synthetic {i}")
        closed.append(close_concern(c, by=world.trust_lead, closing_note="Synthetic"))
    for c in closed:  # filed in the Trust's case record: one awaiting it is always listed (test_concern_hand_over.py)
        mark_filed(c, by=world.trust_lead)
    url = reverse("casework:concerns")
    mark = AuditEntry.objects.order_by("-pk").first().pk
    page = sign_in_verified(Client(), world.trust_lead).get(url).content.decode()
    listed = {c.pk for c in [open_one, *closed] if reverse("casework:concern", args=[c.pk]) in page}
    assert listed == {open_one.pk, closed[1].pk, closed[2].pk}
    assert _subjects(_entries_since(mark, event=Event.DISCLOSURE, page=url, subject_count__gt=0)) >= {
        f"sharing.safeguardingconcern:{pk}" for pk in listed}
    assert f"sharing.safeguardingconcern:{closed[0].pk}" not in _subjects(_entries_since(mark, page=url))
