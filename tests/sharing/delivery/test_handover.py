"""Hand-over when a practitioner leaves (issue 22, point 8). Deactivating her, revoking her
practitioner role or changing it ends her open assignments with the reason, in the same
transaction: each woman goes on the Pause lead's "Women who need a practitioner" list (the lead
still sees her; the practitioner sees nobody), the lead's dashboard says how many wait and nothing
more, and after the commit the programme's active Pause leads — and nobody else — get an email
with no name, identifier, token or number in it. Assigning each woman again takes her off the list
and the prompt away. The list is 404 to every other role.

The world: three released women, the first two in the first practitioner's caseload, the third in
the second's; two Pause leads (all data invented)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry, Event
from eligibility.models import Woman
from pause_portal.tenancy.models import Membership, Person
from pause_portal.tenancy.roles import Role
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.fields import Protector
from sharing import actions, handover, role_changes
from sharing.delivery_access import visible_released_women
from sharing.models_delivery import (
    CaseloadAssignment,
    CaseloadEndReason,
    CaseloadUserObjectPermission,
    ReleasedChild,
)
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db

LIST_URL = "https://portal.example/delivery/women/need-a-practitioner/"


@pytest.fixture
def world():
    world = delivery_world(women=3)
    a, b, c = world.released
    p1, p2 = world.practitioners
    world.assign(a, p1)
    world.assign(b, p1)
    world.assign(c, p2)
    world.second_lead = member(world.programme, Role.PAUSE_LEAD)
    return world


@pytest.fixture
def admin(world):
    return f.person(world.programme.trust, system_admin=True)


def ids_on(response) -> set[int]:
    return {int(pk) for pk in re.findall(r'id="released-(\d+)"', response.content.decode())}


def lead_list(world) -> set[int]:
    response = sign_in_verified(Client(), world.pause_lead).get(reverse("delivery:unassigned"))
    assert response.status_code == 200
    return ids_on(response)


def dashboard(person) -> str:
    response = sign_in_verified(Client(), person).get(reverse("dashboard"))
    assert response.status_code == 200
    return response.content.decode()


def identifiers_of(world, released) -> list[str]:
    """Everything about a woman that must never reach an email or the dashboard prompt."""
    woman = released.woman
    protector = Protector.load(world.programme.pk, Woman.key_phase)
    address = released.reveal(Protector.load(world.programme.pk, released.key_phase), "address")
    tokens = list(ReleasedChild.objects.filter(released_woman=released).values_list("token", flat=True))
    forename, surname = woman.reveal(protector, "forename"), woman.reveal(protector, "surname")
    assert address and tokens and forename and surname
    return [address, *tokens, forename, surname, str(released.row_uid), str(woman.row_uid)]


def seen_by(person: Person, world) -> set[int]:
    """What the one reader gate lets this person see now, under the role they hold now."""
    person = Person.objects.get(pk=person.pk)
    return set(visible_released_women(person, membership_in(person, world.programme.pk)).values_list("pk", flat=True))


def check_handed_over(world, left: Person, reason: CaseloadEndReason, by: Person, *, now_lead: bool = False) -> None:
    """The hand-over of the first practitioner's two women, checked everywhere it must show.
    `now_lead`: she was made a Pause lead (the only other Pause role), so she now sees every woman
    as the lead does, and is told as a lead."""
    a, b, c = world.released
    # her open assignments ended with the reason; the other practitioner's did not
    ended = CaseloadAssignment.objects.filter(practitioner=left).order_by("pk")
    assert [(x.released_woman_id, x.end_reason, x.ended_by_id) for x in ended] == [
        (a.pk, reason, by.pk), (b.pk, reason, by.pk)]
    assert all(x.ended_at is not None for x in ended)
    assert CaseloadAssignment.objects.get(released_woman=c, ended_at__isnull=True).practitioner == world.practitioners[1]
    assert not CaseloadUserObjectPermission.objects.filter(user=left).exists()
    # on the lead's list; still seen by the lead; not by her
    assert lead_list(world) == {a.pk, b.pk}
    assert seen_by(world.pause_lead, world) == {a.pk, b.pk, c.pk}
    assert seen_by(left, world) == ({a.pk, b.pk, c.pk} if now_lead else set())
    assert seen_by(world.practitioners[1], world) == {c.pk}
    # the dashboard prompt: the number, nothing else
    page = dashboard(world.pause_lead)
    assert re.search(r'id="need-practitioner".*?2 women need a practitioner\.', page, re.S)
    leaked = [s for s in identifiers_of(world, a) + identifiers_of(world, b) if s.lower() in page.lower()]
    assert leaked == []
    # one email to each active Pause lead, nobody else, with no identifier and no number
    leads = [world.pause_lead, world.second_lead] + ([left] if now_lead else [])
    emails = [m for m in mail.outbox if "need a practitioner" in m.subject]
    assert sorted(m.to[0] for m in emails) == sorted(p.email for p in leads)
    forbidden = (identifiers_of(world, a) + identifiers_of(world, b)
                 + [left.full_name, left.email, reason.label])  # her id: no digit at all, below
    for message in emails:
        text = f"{message.subject}\n{message.body}\n" + "\n".join(str(v) for v in message.extra_headers.values())
        leaked = [s for s in forbidden if s and s.lower() in text.lower()]
        assert leaked == [], leaked
        assert re.findall(r"https?://\S+", text) == [LIST_URL]
        without = text.replace(LIST_URL, "").replace(world.programme.name, "")
        assert not re.search(r"\d", without), "the email says no number"
        assert world.programme.name in message.body and "need a practitioner" in message.subject
        assert not getattr(message, "alternatives", None) and not message.attachments
    # audited: the hand-over names the two women, the email names whom it told
    entry = AuditEntry.objects.get(event=Event.CHANGE, actor=by, reason__contains="handed over to the Pause lead")
    assert entry.subject_count == 2 and entry.programme == world.programme
    assert CaseloadEndReason(reason).label.lower() in entry.reason
    told = AuditEntry.objects.get(event=Event.CHANGE, reason__contains="Pause lead(s) told by email")
    assert all(f"#{p.pk}" in told.reason for p in leads)


def test_deactivation_hands_the_caseload_over(world, admin, django_capture_on_commit_callbacks):
    p1 = world.practitioners[0]
    with django_capture_on_commit_callbacks(execute=True):
        actions.deactivate_person(person=p1, by=admin, portal_url=LIST_URL)
    check_handed_over(world, p1, CaseloadEndReason.PRACTITIONER_LEFT, admin)
    assert "2 woman/women handed over" in AuditEntry.objects.get(event=Event.PERSON_DEACTIVATED).reason


def test_deactivation_on_the_people_page_hands_over_with_the_list_address(world, admin,
                                                                          django_capture_on_commit_callbacks):
    p1 = world.practitioners[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in_verified(Client(), admin).post(reverse("people:deactivate", args=[p1.pk]))
    assert response.status_code == 302
    assert lead_list(world) == {w.pk for w in world.released[:2]}
    assert all(re.findall(r"https?://\S+", m.body) == ["http://testserver" + reverse("delivery:unassigned")]
               for m in mail.outbox) and len(mail.outbox) == 2


def test_revoking_her_role_hands_the_caseload_over(world, admin, django_capture_on_commit_callbacks):
    p1 = world.practitioners[0]
    membership = Membership.objects.get(person=p1, programme=world.programme)
    with django_capture_on_commit_callbacks(execute=True):
        done = actions.revoke_role(membership=membership, by=admin, portal_url=LIST_URL)
    assert (done.assignments_ended, done.permissions_removed) == (2, 2)
    check_handed_over(world, p1, CaseloadEndReason.ROLE_REVOKED, admin)


def test_revoking_on_the_people_page_hands_over(world, admin, django_capture_on_commit_callbacks):
    membership = Membership.objects.get(person=world.practitioners[0], programme=world.programme)
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in_verified(Client(), admin).post(reverse("people:revoke-role", args=[membership.pk]))
    assert response.status_code == 302
    assert lead_list(world) == {w.pk for w in world.released[:2]} and len(mail.outbox) == 2


def test_changing_her_role_hands_the_caseload_over(world, admin, django_capture_on_commit_callbacks):
    p1 = world.practitioners[0]
    membership = Membership.objects.get(person=p1, programme=world.programme)
    with django_capture_on_commit_callbacks(execute=True):
        done = role_changes.change_role(membership=membership, role=Role.PAUSE_LEAD, by=admin, portal_url=LIST_URL)
    assert done.revocation.assignments_ended == 2 and not done.waits_for_confirmation
    check_handed_over(world, p1, CaseloadEndReason.ROLE_REVOKED, admin, now_lead=True)


def test_changing_on_the_people_page_hands_over(world, admin, django_capture_on_commit_callbacks):
    membership = Membership.objects.get(person=world.practitioners[0], programme=world.programme)
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in_verified(Client(), admin).post(reverse("people:change-role", args=[membership.pk]),
                                                          {"role": Role.PAUSE_LEAD, "confirmed": "yes"})
    assert response.status_code == 302
    assert lead_list(world) == {w.pk for w in world.released[:2]}
    assert len([m for m in mail.outbox if "need a practitioner" in m.subject]) == 3  # she is now a lead too


def test_reassigning_from_the_list_clears_it_and_the_prompt(world, admin):
    a, b, c = world.released
    p1, p2 = world.practitioners
    actions.deactivate_person(person=p1, by=admin)
    assigned = AuditEntry.objects.filter(event=Event.CHANGE, actor=world.pause_lead,
                                         reason__startswith="caseload: assigned")
    before = assigned.count()
    lead = sign_in_verified(Client(), world.pause_lead)
    page = lead.get(reverse("delivery:unassigned")).content.decode()
    assert 'name="practitioner"' in page and f'value="{p2.pk}"' in page and f'value="{p1.pk}"' not in page
    response = lead.post(reverse("delivery:woman", args=[a.pk]),
                         {"action": "assign", "practitioner": p2.pk, "back": "unassigned"})
    assert response.status_code == 302 and response["Location"] == reverse("delivery:unassigned")
    assert lead_list(world) == {b.pk}
    assert "1 woman needs a practitioner." in dashboard(world.pause_lead)
    assert seen_by(p2, world) == {a.pk, c.pk}
    lead.post(reverse("delivery:woman", args=[b.pk]), {"action": "assign", "practitioner": p2.pk, "back": "unassigned"})
    assert lead_list(world) == set()
    assert 'id="no-women"' in lead.get(reverse("delivery:unassigned")).content.decode()
    assert 'id="need-practitioner"' not in dashboard(world.pause_lead)
    assert handover.waiting_count(membership_in(world.pause_lead, world.programme.pk)) == 0
    assert assigned.count() == before + 2


def test_nothing_is_handed_over_or_sent_for_someone_with_no_caseload(world, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as sent:
        actions.revoke_role(membership=Membership.objects.get(person=world.trust_lead, programme=world.programme),
                            by=admin)
    assert sent == [] and mail.outbox == [] and lead_list(world) == set()
    assert 'id="need-practitioner"' not in dashboard(world.pause_lead)


def test_nothing_is_sent_before_the_commit_nor_when_it_rolls_back(world, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as pending:
        actions.deactivate_person(person=world.practitioners[0], by=admin)
    assert len(pending) == 1 and mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            actions.deactivate_person(person=world.practitioners[1], by=admin)
            raise RuntimeError("the request failed after the hand-over was written")
    assert mail.outbox == []
    assert CaseloadAssignment.objects.get(released_woman=world.released[2], ended_at__isnull=True)


def test_the_task_carries_only_the_programme_id_and_the_list_address_and_sends_nothing_once_nobody_waits(
        world, admin, django_capture_on_commit_callbacks, monkeypatch):
    from sharing.tasks_casework import tell_pause_leads_of_handover

    sent = []
    real = tell_pause_leads_of_handover.apply_async

    def spy(args=None, kwargs=None, **options):
        sent.append((args, kwargs))
        return real(args=args, kwargs=kwargs, **options)

    monkeypatch.setattr(tell_pause_leads_of_handover, "apply_async", spy)
    with django_capture_on_commit_callbacks(execute=True):
        actions.deactivate_person(person=world.practitioners[0], by=admin, portal_url=LIST_URL)
    assert sent == [((world.programme.pk, LIST_URL), {})] and len(mail.outbox) == 2
    for released in world.released[:2]:
        world.assign(released, world.practitioners[1])
    assert handover.tell_pause_leads(programme_id=world.programme.pk, portal_url=LIST_URL) == 0
    assert len(mail.outbox) == 2


def test_with_no_active_pause_lead_the_gap_is_recorded(world, admin, django_capture_on_commit_callbacks):
    actions.deactivate_person(person=world.second_lead, by=admin)
    actions.revoke_role(membership=Membership.objects.get(person=world.pause_lead, programme=world.programme), by=admin)
    with django_capture_on_commit_callbacks(execute=True):
        actions.deactivate_person(person=world.practitioners[0], by=admin)
    assert mail.outbox == []
    assert AuditEntry.objects.filter(reason="caseload hand-over: no active Pause lead to tell by email").exists()


def test_the_hand_over_rolls_back_whole_when_its_entry_cannot_be_written(world, admin, monkeypatch):
    p1 = world.practitioners[0]

    def failing(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(handover, "record_event", failing)
    with pytest.raises(RuntimeError):
        actions.deactivate_person(person=p1, by=admin)
    assert Person.objects.get(pk=p1.pk).is_active
    assert seen_by(p1, world) == {w.pk for w in world.released[:2]}
    assert not CaseloadAssignment.objects.exclude(end_reason="").exists()


def test_a_woman_the_trust_no_longer_shares_leaves_the_list_and_the_count(world, admin):
    a, b, _ = world.released
    actions.deactivate_person(person=world.practitioners[0], by=admin)
    response = sign_in_verified(Client(), world.trust_lead).post(reverse("delivery:withdraw"), {"released": a.pk, "confirmed": "yes"})
    assert response.status_code == 302
    assert lead_list(world) == {b.pk}
    assert "1 woman needs a practitioner." in dashboard(world.pause_lead)


# --- denial ------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.TRUST_CASEWORKER, Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN, Role.DPO,
                                  Role.PAUSE_PRACTITIONER])
def test_the_list_is_404_to_every_other_role(world, admin, role):
    actions.deactivate_person(person=world.practitioners[0], by=admin)
    person = world.practitioners[1] if role == Role.PAUSE_PRACTITIONER else member(world.programme, role)
    client = sign_in_verified(Client(), person)
    for method in ("get", "post"):
        response = getattr(client, method)(reverse("delivery:unassigned"))
        assert response.status_code == 404
        assert not re.search(r'id="released-\d+"', response.content.decode())
    assert AuditEntry.objects.filter(event=Event.REFUSED, actor=person, status_code=404).count() == 2


def test_the_list_is_404_to_a_system_administrator_and_sends_anonymous_people_to_sign_in(world, admin):
    assert sign_in_verified(Client(), admin).get(reverse("delivery:unassigned")).status_code == 404
    response = Client().get(reverse("delivery:unassigned"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:sign-in"))


def test_another_programmes_lead_sees_none_of_them(world, admin):
    actions.deactivate_person(person=world.practitioners[0], by=admin)
    other = delivery_world(women=1)
    response = sign_in_verified(Client(), other.pause_lead).get(reverse("delivery:unassigned"))
    assert response.status_code == 200 and ids_on(response) == set()
    assert 'id="need-practitioner"' not in dashboard(other.pause_lead)


def test_the_list_is_served_by_the_disclosure_policy(world, admin):
    actions.deactivate_person(person=world.practitioners[0], by=admin)
    lead_list(world)
    entry = AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=world.pause_lead,
                                      reason__contains="women who need a practitioner").get()
    assert entry.subject_count == 2


def test_the_list_costs_the_same_queries_whatever_the_number_of_women(world, admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for women in (1, 4):
        world = delivery_world(women=women)
        for released in world.released:
            world.assign(released, world.practitioners[0])
        actions.deactivate_person(person=world.practitioners[0], by=admin)
        client = sign_in_verified(Client(), world.pause_lead)
        client.get(reverse("delivery:unassigned"))  # warm the session
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("delivery:unassigned"))
        assert len(ids_on(response)) == women
        counts.append(len(queries))
    assert counts[0] == counts[1]
