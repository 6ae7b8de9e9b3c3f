"""People and roles on the portal (issue 24, point 1): a system administrator adds a person (whose
one-time link is emailed to them and never shown to the administrator), grants, changes and
revokes roles, and deactivates people; every irreversible step has a confirmation page, every write
an audit entry, and every other role gets 404."""

from __future__ import annotations

import re
import smtplib

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry, Event
from pause_portal.tenancy.models import (
    AccountLink,
    AccountLinkPurpose,
    Membership,
    MembershipStatus,
    Person,
    SignedInSession,
)
from pause_portal.tenancy.roles import Role
from sharing import actions, role_changes, set_up_links
from sharing.models_delivery import CaseloadUserObjectPermission
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.delivery.world import delivery_world

pytestmark = pytest.mark.django_db
LINK = re.compile(r"https?://[^\s]+/account/link/([A-Za-z0-9_\-]+)/")
DJANGO_DEFAULT = "This field is required."


@pytest.fixture
def admin_client(system_admin):
    return sign_in_verified(Client(), system_admin)


@pytest.fixture
def second_admin(programme):
    return f.person(programme.trust, system_admin=True)


def _page(response) -> str:
    return response.content.decode()


# --- adding a person: the link goes to them, and only to them ---------------------------------
def test_adding_a_person_emails_the_link_to_them_and_never_shows_it_to_the_administrator(
        admin_client, system_admin, programme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("people:add"), {
            "full_name": "Ada Synthetic", "email": " Ada.Synthetic@Test.invalid ", "organisation": programme.trust.pk})
    person = Person.objects.get(email="ada.synthetic@test.invalid")
    assert response.status_code == 302 and response["Location"] == reverse("people:person", args=[person.pk])
    assert not person.has_usable_password() and person.organisation == programme.trust

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [person.email] and message.cc == [] and message.bcc == []
    token = LINK.search(message.body).group(1)
    assert message.body.count("/account/link/") == 1

    # Neither the answer to the post nor the page it leads to (nor the list) carries the link.
    followed = admin_client.get(response["Location"])
    listed = admin_client.get(reverse("people:list"))
    for shown in (response, followed, listed):
        assert token not in _page(shown) and "/account/link/" not in _page(shown)
    assert "not shown to you" in _page(followed)

    link = AccountLink.objects.get(person=person, purpose=AccountLinkPurpose.SET_PASSWORD)
    assert link.issued_by == system_admin and token not in link.token_hash
    assert Client().get(reverse("accounts:account-link", args=[token])).status_code == 200
    events = set(AuditEntry.objects.filter(actor=system_admin).values_list("event", flat=True))
    assert {Event.PERSON_ADDED, Event.ACCOUNT_LINK_ISSUED} <= events
    emailed = AuditEntry.objects.get(event=Event.CHANGE, actor=system_admin, reason__contains="emailed")
    assert token not in emailed.reason


def test_the_link_is_not_kept_when_the_mail_server_refuses_it(system_admin, programme, monkeypatch):
    person = actions.add_person(email="late@test.invalid", full_name="Late Synthetic", organisation=programme.trust,
                                by=system_admin)

    def refused(*args, **kwargs):
        raise smtplib.SMTPException("mail server down")

    monkeypatch.setattr(set_up_links, "send_mail", refused)
    with pytest.raises(smtplib.SMTPException):
        set_up_links.email_set_up_link(person_id=person.pk, issued_by_id=system_admin.pk,
                                       portal_url="https://portal.test.invalid/")
    assert not AccountLink.objects.filter(person=person).exists()
    assert not AuditEntry.objects.filter(event=Event.ACCOUNT_LINK_ISSUED).exists()


def _failing(*args, **kwargs):
    raise RuntimeError("audit store unavailable")


def test_nobody_is_added_and_nothing_is_sent_when_the_entry_cannot_be_written(
        system_admin, programme, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(actions, "record_event", _failing)
    with django_capture_on_commit_callbacks(execute=True) as queued, pytest.raises(RuntimeError):
        set_up_links.add_person_and_email_link(email="lost@test.invalid", full_name="Lost Synthetic",
                                               organisation=programme.trust, by=system_admin,
                                               portal_url="https://portal.test.invalid/")
    assert queued == [] and mail.outbox == [] and not Person.objects.filter(email="lost@test.invalid").exists()


def test_no_email_goes_without_its_entry(system_admin, programme, monkeypatch):
    person = actions.add_person(email="quiet@test.invalid", full_name="Quiet Synthetic", organisation=programme.trust,
                                by=system_admin)
    monkeypatch.setattr(set_up_links, "record_event", _failing)
    with pytest.raises(RuntimeError):
        set_up_links.email_set_up_link(person_id=person.pk, issued_by_id=system_admin.pk,
                                       portal_url="https://portal.test.invalid/")
    assert mail.outbox == [] and not AccountLink.objects.filter(person=person).exists()


def test_nothing_is_sent_once_the_administrator_no_longer_is_one(system_admin, second_admin, programme):
    person = actions.add_person(email="new@test.invalid", full_name="New Synthetic", organisation=programme.trust,
                                by=system_admin)
    actions.deactivate_person(person=system_admin, by=second_admin)
    assert set_up_links.email_set_up_link(person_id=person.pk, issued_by_id=system_admin.pk,
                                          portal_url="https://portal.test.invalid/") == 0
    assert mail.outbox == [] and not AccountLink.objects.filter(person=person).exists()


def test_the_add_form_says_what_is_wrong_in_its_own_words(admin_client, programme, caseworker):
    page = _page(admin_client.post(reverse("people:add"), {}))
    for said in ("Enter their full name", "Enter their email address", "Select their organisation"):
        assert said in page
    assert DJANGO_DEFAULT not in page and "There is a problem" in page
    page = _page(admin_client.post(reverse("people:add"), {
        "full_name": "X", "email": caseworker.email.upper(), "organisation": programme.trust.pk}))
    assert "Someone with this email address already has an account" in page
    page = _page(admin_client.post(reverse("people:add"), {
        "full_name": "X", "email": "not-an-address", "organisation": programme.trust.pk}))
    assert "Enter an email address in the correct format" in page
    assert Person.objects.filter(full_name="X").count() == 0


def test_a_new_set_up_link_is_emailed_and_the_earlier_one_stops_working(
        admin_client, system_admin, programme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        person = set_up_links.add_person_and_email_link(
            email="slow@test.invalid", full_name="Slow Synthetic", organisation=programme.trust, by=system_admin,
            portal_url="http://testserver/")
    first = LINK.search(mail.outbox[0].body).group(1)
    assert "Email a new set-up link" in _page(admin_client.get(reverse("people:person", args=[person.pk])))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("people:send-set-up-link", args=[person.pk]))
    assert response.status_code == 302 and len(mail.outbox) == 2 and mail.outbox[1].to == [person.email]
    second = LINK.search(mail.outbox[1].body).group(1)
    assert second != first and second not in _page(admin_client.get(response["Location"]))
    assert actions.find_account_link(first) is None and actions.find_account_link(second) is not None


def test_no_set_up_link_for_someone_already_set_up(admin_client, caseworker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("people:send-set-up-link", args=[caseworker.pk]))
    assert mail.outbox == [] and not AccountLink.objects.filter(person=caseworker).exists()


# --- granting -------------------------------------------------------------------------------
def test_granting_a_role_that_starts_at_once(admin_client, system_admin, programme):
    person = f.person(programme.trust)
    page = _page(admin_client.get(reverse("people:grant", args=[person.pk])))
    assert "Trust lead (starts when a second person confirms it)" in page and "Pause lead" not in page
    response = admin_client.post(reverse("people:grant", args=[person.pk]),
                                 {"programme": programme.pk, "role": Role.TRUST_CASEWORKER})
    assert response.status_code == 302
    membership = Membership.objects.get(person=person, programme=programme)
    assert membership.status == MembershipStatus.ACTIVE and membership.requested_by == system_admin
    assert AuditEntry.objects.filter(event=Event.ROLE_CONFIRMED, actor=system_admin, object_id=str(membership.pk)).exists()


def test_a_lead_grant_waits_for_a_second_administrator(admin_client, system_admin, second_admin, programme):
    person = f.person(programme.trust)
    response = admin_client.post(reverse("people:grant", args=[person.pk]),
                                 {"programme": programme.pk, "role": Role.TRUST_LEAD}, follow=True)
    assert "is waiting for confirmation" in _page(response)
    membership = Membership.objects.get(person=person, programme=programme)
    assert membership.status == MembershipStatus.PENDING
    # Not by the one who asked; by a second administrator, on the grants page.
    justified = {"justification": "Synthetic justification"}
    assert admin_client.post(reverse("people:confirm-grant", args=[membership.pk]), justified).status_code == 404
    sign_in_verified(Client(), second_admin).post(reverse("people:confirm-grant", args=[membership.pk]), justified)
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE and membership.confirmed_by == second_admin


def test_the_grant_form_says_what_is_wrong_and_nobody_grants_themselves(admin_client, system_admin, programme):
    page = _page(admin_client.post(reverse("people:grant", args=[f.person(programme.trust).pk]), {}))
    assert "Select a programme" in page and "Select a role" in page and DJANGO_DEFAULT not in page
    own_side = f.programme(name="Admin's own programme", trust=system_admin.organisation)
    page = _page(admin_client.post(reverse("people:grant", args=[system_admin.pk]),
                                   {"programme": own_side.pk, "role": Role.TRUST_CASEWORKER}))
    assert "Nobody can grant themselves a role" in page
    assert not Membership.objects.filter(person=system_admin).exists()


def test_a_programme_where_they_hold_a_role_is_not_offered(admin_client, caseworker, programme):
    page = _page(admin_client.get(reverse("people:grant", args=[caseworker.pk])))
    assert "already holds a role in every programme" in page
    admin_client.post(reverse("people:grant", args=[caseworker.pk]), {"programme": programme.pk, "role": "trust_lead"})
    assert caseworker.memberships.get().role == Role.TRUST_CASEWORKER


# --- changing: one confirmed step, no "revoke it first" -----------------------------------------
def test_changing_a_role_is_confirmed_on_its_own_page_then_done_in_one_step(
        admin_client, system_admin, caseworker, programme):
    old = caseworker.memberships.get()
    worker = sign_in_verified(Client(), caseworker)
    url = reverse("people:change-role", args=[old.pk])
    page = _page(admin_client.get(url))
    assert 'value="trust_lead"' in page and 'value="trust_caseworker"' not in page  # not their current role
    checking = admin_client.post(url, {"role": Role.TRUST_LEAD})
    assert checking.status_code == 200 and "Check the change before you confirm it" in _page(checking)
    assert "cannot be restored" in _page(checking) and "until then they hold no role" in _page(checking)
    old.refresh_from_db()
    assert old.status == MembershipStatus.ACTIVE  # nothing changed before the confirmation

    response = admin_client.post(url, {"role": Role.TRUST_LEAD, "confirmed": "yes"})
    assert response.status_code == 302
    old.refresh_from_db()
    new = Membership.objects.get(person=caseworker, programme=programme, status=MembershipStatus.PENDING)
    assert old.status == MembershipStatus.REVOKED and new.role == Role.TRUST_LEAD
    assert not SignedInSession.objects.filter(person=caseworker).exists()
    assert worker.get(reverse("dashboard")).status_code == 302
    change = AuditEntry.objects.get(event=Event.CHANGE, actor=system_admin, reason__startswith="role changed")
    assert f"membership #{old.pk}" in change.reason and f"membership #{new.pk}" in change.reason
    assert AuditEntry.objects.filter(event=Event.ROLE_REVOKED, object_id=str(old.pk)).exists()
    assert AuditEntry.objects.filter(event=Event.ROLE_REQUESTED, object_id=str(new.pk)).exists()


def test_a_change_to_a_role_that_starts_at_once(system_admin, trust_lead, programme):
    done = role_changes.change_role(membership=trust_lead.memberships.get(), role=Role.TRUST_CASEWORKER,
                                    by=system_admin)
    assert not done.waits_for_confirmation and done.granted.status == MembershipStatus.ACTIVE


def test_a_change_ends_the_caseload_as_revocation_does(system_admin):
    world = delivery_world(women=1)
    practitioner = world.practitioners[0]
    world.assign(world.released[0], practitioner)
    assert CaseloadUserObjectPermission.objects.filter(user=practitioner).exists()
    done = role_changes.change_role(membership=practitioner.memberships.get(programme=world.programme),
                                    role=Role.PAUSE_LEAD, by=system_admin)
    assert done.revocation.permissions_removed == 1 and done.granted.role == Role.PAUSE_LEAD
    assert not CaseloadUserObjectPermission.objects.filter(user=practitioner).exists()


def test_a_change_rolls_back_whole_when_its_entry_cannot_be_written(system_admin, caseworker, monkeypatch):
    old = caseworker.memberships.get()

    def failing(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(role_changes, "record_event", failing)
    with pytest.raises(RuntimeError):
        role_changes.change_role(membership=old, role=Role.TRUST_LEAD, by=system_admin)
    assert list(Membership.objects.filter(person=caseworker).values_list("role", "status")) == [
        (Role.TRUST_CASEWORKER, MembershipStatus.ACTIVE)]


def test_a_refused_change_changes_nothing(programme, system_admin, caseworker):
    # The new role is of the other side: request_role refuses after the revocation, and both roll back.
    with pytest.raises(Exception, match="Pause practice"):
        role_changes.change_role(membership=caseworker.memberships.get(), role=Role.PAUSE_LEAD, by=system_admin)
    assert caseworker.memberships.get().status == MembershipStatus.ACTIVE
    assert not AuditEntry.objects.filter(event=Event.ROLE_REVOKED).exists()


# --- add_user: a change instead of "revoke it first" ----------------------------------------------
def test_add_user_changes_a_role_with_change_and_says_how_without_it(programme, system_admin, caseworker, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    args = [caseworker.email, "--organisation", programme.trust.name, "--programme", programme.name,
            "--role", "dpo", "--by", system_admin.email]
    with pytest.raises(CommandError, match="run this again with --change") as refused:
        call_command("add_user", *args)
    assert "revoke it first" not in str(refused.value)
    assert caseworker.memberships.get().status == MembershipStatus.ACTIVE
    call_command("add_user", *args, "--change")
    out = capsys.readouterr().out
    assert "Ended: Trust caseworker" in out and "awaiting confirmation" in out
    assert set(Membership.objects.filter(person=caseworker).values_list("role", "status")) == {
        (Role.TRUST_CASEWORKER, MembershipStatus.REVOKED), (Role.DPO, MembershipStatus.PENDING)}
    assert AuditEntry.objects.filter(event=Event.CHANGE, reason__startswith="role changed from Trust caseworker").exists()
    with pytest.raises(CommandError, match="never by the person who asked"):
        call_command("add_user", *args, "--justification", "Synthetic")  # the same administrator cannot confirm it


def test_add_user_says_when_the_role_is_already_held(programme, system_admin, caseworker, capsys):
    from django.core.management import call_command

    call_command("add_user", caseworker.email, "--organisation", programme.trust.name, "--programme", programme.name,
                 "--role", "trust_caseworker", "--by", system_admin.email)
    assert "already holds Trust caseworker" in capsys.readouterr().out
    assert caseworker.memberships.count() == 1


# --- revoking and deactivating: a confirmation page first ---------------------------------------
def test_revoking_a_role_is_confirmed_first_and_ends_their_sessions(admin_client, system_admin, caseworker):
    membership = caseworker.memberships.get()
    sign_in_verified(Client(), caseworker)
    url = reverse("people:revoke-role", args=[membership.pk])
    page = _page(admin_client.get(url))
    assert "Revoke Trust caseworker?" in page and "signed out everywhere" in page
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE
    response = admin_client.post(url, follow=True)
    assert "no longer holds Trust caseworker" in _page(response) and "1 session(s) ended" in _page(response)
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.REVOKED and membership.revoked_by == system_admin
    assert not SignedInSession.objects.filter(person=caseworker).exists()
    assert AuditEntry.objects.filter(event=Event.ROLE_REVOKED, actor=system_admin).exists()
    assert admin_client.get(url).status_code == 404  # an ended role is no longer there to end


def test_withdrawing_a_pending_grant(admin_client, system_admin, programme):
    grant = actions.request_role(person=f.person(programme.trust), programme=programme, role=Role.DPO, by=system_admin)
    url = reverse("people:revoke-role", args=[grant.pk])
    assert "Withdraw the grant of Data protection officer?" in _page(admin_client.get(url))
    admin_client.post(url)
    assert Membership.objects.get(pk=grant.pk).status == MembershipStatus.REVOKED


def test_deactivating_is_confirmed_first(admin_client, system_admin, caseworker):
    url = reverse("people:deactivate", args=[caseworker.pk])
    assert f"Deactivate {caseworker.full_name}?" in _page(admin_client.get(url))
    caseworker.refresh_from_db()
    assert caseworker.is_active
    response = admin_client.post(url)
    assert response["Location"] == reverse("people:person", args=[caseworker.pk])
    caseworker.refresh_from_db()
    assert not caseworker.is_active and caseworker.deactivated_by == system_admin
    assert AuditEntry.objects.filter(event=Event.PERSON_DEACTIVATED, actor=system_admin).exists()


def test_nobody_deactivates_themselves_on_the_page(admin_client, system_admin):
    page = _page(admin_client.post(reverse("people:deactivate", args=[system_admin.pk])))
    assert "Nobody can deactivate themselves" in page
    system_admin.refresh_from_db()
    assert system_admin.is_active


def test_the_person_page_shows_their_roles_and_is_audited(admin_client, system_admin, caseworker, programme):
    page = _page(admin_client.get(reverse("people:person", args=[caseworker.pk])))
    assert caseworker.email in page and "Trust caseworker" in page and programme.name in page
    entry = AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=system_admin).latest("pk")
    assert entry.reason == "staff details" and entry.subject_count == 1


def test_the_admin_sends_grants_to_the_people_page(admin_client):
    response = admin_client.get(reverse("admin:sharing_membership_add"))
    assert response.status_code == 302 and response["Location"] == reverse("people:list")
    assert "Grant roles on the People page" in _page(admin_client.get(response["Location"]))


def test_the_people_page_no_longer_sends_anyone_to_the_command(admin_client):
    page = _page(admin_client.get(reverse("people:list")))
    assert "manage.py" not in page and reverse("people:add") in page


# --- denial: every other role gets 404, and nothing changes --------------------------------------
NOT_ADMINS = ["caseworker", "trust_lead", "caldicott", "dpo", "pause_lead", "practitioner", "other_programme_person"]


@pytest.mark.parametrize("actor", NOT_ADMINS)
def test_every_people_page_is_404_to_every_other_role_and_changes_nothing(actor, actors, programme, system_admin):
    target = f.person(programme.trust, with_device=False)
    held = f.person(programme.trust)
    f.membership(held, programme, Role.TRUST_CASEWORKER)
    membership = held.memberships.get()
    urls = {
        "people:add": reverse("people:add"),
        "people:person": reverse("people:person", args=[target.pk]),
        "people:send-set-up-link": reverse("people:send-set-up-link", args=[target.pk]),
        "people:grant": reverse("people:grant", args=[target.pk]),
        "people:change-role": reverse("people:change-role", args=[membership.pk]),
        "people:revoke-role": reverse("people:revoke-role", args=[membership.pk]),
        "people:deactivate": reverse("people:deactivate", args=[target.pk]),
    }
    client = sign_in_verified(Client(), actors[actor])
    posted = {"full_name": "Y", "email": "y@test.invalid", "organisation": programme.trust.pk,
              "programme": programme.pk, "role": Role.TRUST_LEAD, "confirmed": "yes"}
    for name, url in urls.items():
        assert client.get(url).status_code == 404, name
        assert client.post(url, posted).status_code == 404, name
    assert not Person.objects.filter(email="y@test.invalid").exists()
    assert target.memberships.count() == 0 and Person.objects.get(pk=target.pk).is_active
    assert Membership.objects.get(pk=membership.pk).status == MembershipStatus.ACTIVE
    assert mail.outbox == [] and not AccountLink.objects.filter(person=target).exists()
