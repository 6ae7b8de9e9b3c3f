"""Lead, DPO and Caldicott grants wait for a second person: a system administrator or the
programme's Caldicott Guardian, never the one who asked, never the one receiving it."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry, Event
from pause_portal.tenancy.models import AccountLink, Membership, MembershipStatus, Person
from pause_portal.tenancy.roles import Role
from sharing import actions
from sharing.models_caldicott import CaldicottDecision
from tests import factories as f
from tests.conftest import sign_in_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_admin(programme):
    return f.person(programme.trust, system_admin=True)


@pytest.mark.parametrize("role", [Role.TRUST_LEAD, Role.DPO, Role.CALDICOTT_GUARDIAN])
def test_sensitive_roles_stay_pending_until_a_second_person_confirms(role, programme, system_admin, second_admin):
    person = f.person(programme.trust)
    membership = actions.request_role(person=person, programme=programme, role=role, by=system_admin)
    assert membership.status == MembershipStatus.PENDING
    with pytest.raises(PermissionDenied):
        actions.confirm_role(membership=membership, by=system_admin, justification="Synthetic justification")  # the one who asked
    actions.confirm_role(membership=membership, by=second_admin, justification="Synthetic justification")
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE and membership.confirmed_by == second_admin
    assert AuditEntry.objects.filter(event=Event.ROLE_CONFIRMED, actor=second_admin).exists()


@pytest.mark.parametrize("role", [Role.TRUST_CASEWORKER, Role.PAUSE_LEAD, Role.PAUSE_PRACTITIONER])
def test_other_roles_start_at_once(role, programme, system_admin):
    org = programme.trust if role == Role.TRUST_CASEWORKER else programme.pause_practice
    membership = actions.request_role(person=f.person(org), programme=programme, role=role, by=system_admin)
    assert membership.status == MembershipStatus.ACTIVE


def test_the_caldicott_guardian_may_confirm_but_not_a_grant_to_themselves(programme, system_admin, caldicott, dpo):
    lead = actions.request_role(person=f.person(programme.trust), programme=programme, role=Role.TRUST_LEAD, by=system_admin)
    with pytest.raises(PermissionDenied):
        actions.confirm_role(membership=lead, by=dpo, justification="Synthetic justification")  # never the DPO
    actions.confirm_role(membership=lead, by=caldicott, justification="Synthetic justification")
    assert Membership.objects.get(pk=lead.pk).status == MembershipStatus.ACTIVE


def test_a_caldicott_guardian_of_another_programme_cannot_confirm(programme, other_programme, system_admin):
    outsider = f.person(other_programme.trust)
    f.membership(outsider, other_programme, Role.CALDICOTT_GUARDIAN)
    grant = actions.request_role(person=f.person(programme.trust), programme=programme, role=Role.DPO, by=system_admin)
    with pytest.raises(PermissionDenied):
        actions.confirm_role(membership=grant, by=outsider, justification="Synthetic justification")


def test_the_database_refuses_a_self_confirmed_sensitive_grant(programme, system_admin):
    from django.utils import timezone

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(person=f.person(programme.trust), programme=programme, role=Role.TRUST_LEAD,
                                  status=MembershipStatus.ACTIVE, requested_by=system_admin,
                                  confirmed_by=system_admin, confirmed_at=timezone.now())


def test_roles_match_the_organisation_side(programme, system_admin):
    with pytest.raises(ValidationError, match="Pause practice"):
        actions.request_role(person=f.person(programme.trust), programme=programme, role=Role.PAUSE_LEAD, by=system_admin)
    with pytest.raises(ValidationError, match="the Trust"):
        actions.request_role(person=f.person(programme.pause_practice), programme=programme, role=Role.DPO, by=system_admin)


def test_only_system_admins_grant(programme, trust_lead):
    with pytest.raises(PermissionDenied):
        actions.request_role(person=f.person(programme.trust), programme=programme, role=Role.TRUST_CASEWORKER, by=trust_lead)


def test_the_grant_rolls_back_when_its_audit_entry_cannot_be_written(programme, system_admin, second_admin, monkeypatch):
    grant = actions.request_role(person=f.person(programme.trust), programme=programme, role=Role.DPO, by=system_admin)

    def failing(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(actions, "record_event", failing)
    with pytest.raises(RuntimeError):
        actions.confirm_role(membership=grant, by=second_admin, justification="Synthetic justification")
    assert Membership.objects.get(pk=grant.pk).status == MembershipStatus.PENDING


def test_confirming_on_the_grants_page_needs_a_justification(programme, caldicott, system_admin):
    grant = actions.request_role(person=f.person(programme.trust), programme=programme, role=Role.TRUST_LEAD, by=system_admin)
    client = sign_in_verified(Client(), caldicott)
    page = client.get(reverse("people:grants")).content.decode()
    assert grant.person.full_name in page and reverse("people:confirm-grant", args=[grant.pk]) in page
    url = reverse("people:confirm-grant", args=[grant.pk])
    form = client.get(url).content.decode()
    assert "Your justification" in form and "do not name or describe any woman or child" in form
    refused = client.post(url, {"justification": "  "})
    assert refused.status_code == 400 and "Enter your justification for confirming the grant" in refused.content.decode()
    assert Membership.objects.get(pk=grant.pk).status == MembershipStatus.PENDING
    assert not CaldicottDecision.objects.exists()
    assert client.post(url, {"justification": "The Trust board appointed them"}).status_code == 302
    assert Membership.objects.get(pk=grant.pk).status == MembershipStatus.ACTIVE
    entry = CaldicottDecision.objects.get()
    assert (entry.kind, entry.decided_by, entry.justification) == ("role_grant", caldicott,
                                                                   "The Trust board appointed them")


def test_the_admin_lists_grants_but_cannot_confirm_one(programme, system_admin, second_admin):
    """Confirming needs a justification for the Caldicott log, which the admin's actions cannot ask."""
    grant = actions.request_role(person=f.person(programme.trust), programme=programme, role=Role.TRUST_LEAD, by=system_admin)
    client = sign_in_verified(Client(), second_admin)
    assert client.get(reverse("admin:sharing_membership_changelist")).status_code == 200
    client.post(reverse("admin:sharing_membership_changelist"),
                {"action": "confirm_selected", "_selected_action": [grant.pk]})
    assert Membership.objects.get(pk=grant.pk).status == MembershipStatus.PENDING
    assert not CaldicottDecision.objects.exists()


def test_a_pending_grant_notifies_the_confirmers_without_identifiers(programme, system_admin, second_admin, caldicott, mailoutbox, django_capture_on_commit_callbacks):
    person = f.person(programme.trust)
    with django_capture_on_commit_callbacks(execute=True):
        actions.request_role(person=person, programme=programme, role=Role.DPO, by=system_admin)
    recipients = {addr for m in mailoutbox for addr in m.to}
    assert recipients == {second_admin.email, caldicott.email}
    for message in mailoutbox:
        assert person.full_name not in message.body and person.email not in message.body


# --- add_user ---------------------------------------------------------------------------------
def test_add_user_bootstraps_the_first_admin_and_prints_a_one_time_link(programme, capsys):
    call_command("add_user", "first@test.invalid", "--organisation", programme.trust.name, "--name", "First Admin",
                 "--role", "system_admin")
    out = capsys.readouterr().out
    assert "/account/link/" in out
    person = Person.objects.get(email="first@test.invalid")
    assert person.is_system_admin and not person.has_usable_password()
    assert AccountLink.objects.filter(person=person, used_at__isnull=True).count() == 1
    token = out.strip().splitlines()[-1].rsplit("/link/", 1)[1].strip("/")
    assert Client().get(reverse("accounts:account-link", args=[token])).status_code == 200
    with pytest.raises(CommandError, match="system administrator"):
        call_command("add_user", "second@test.invalid", "--organisation", programme.trust.name, "--name", "X",
                     "--role", "system_admin")


def test_add_user_grants_and_a_second_admin_confirms_through_add_user(programme, system_admin, second_admin, capsys):
    args = ["lead@test.invalid", "--organisation", programme.trust.name, "--programme", programme.name, "--role", "trust_lead"]
    call_command("add_user", *args, "--name", "New Lead", "--by", system_admin.email)
    assert "awaiting confirmation" in capsys.readouterr().out
    membership = Membership.objects.get(person__email="lead@test.invalid")
    assert membership.status == MembershipStatus.PENDING
    with pytest.raises(CommandError, match="never by the person who asked"):  # the same person cannot confirm
        call_command("add_user", *args, "--by", system_admin.email, "--justification", "Synthetic")
    with pytest.raises(CommandError, match="Enter your justification for confirming the grant of the Trust lead "
                                           f"role to person #{membership.person_id}"):
        call_command("add_user", *args, "--by", second_admin.email)
    assert Membership.objects.get(pk=membership.pk).status == MembershipStatus.PENDING
    call_command("add_user", *args, "--by", second_admin.email, "--justification", "Appointed by the Trust board")
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE and membership.confirmed_by == second_admin
    entry = CaldicottDecision.objects.get()
    assert (entry.kind, entry.decided_by, entry.justification) == ("role_grant", second_admin,
                                                                   "Appointed by the Trust board")


def test_add_user_explains_bad_input_and_changes_nothing(programme, system_admin):
    before = Person.objects.count()
    with pytest.raises(CommandError, match="No organisation called"):
        call_command("add_user", "x@test.invalid", "--organisation", "Nowhere", "--name", "X", "--by", system_admin.email)
    with pytest.raises(CommandError, match="Pause practice"):
        call_command("add_user", "x@test.invalid", "--organisation", programme.trust.name, "--name", "X",
                     "--programme", programme.name, "--role", "pause_lead", "--by", system_admin.email)
    assert Person.objects.count() == before


def test_organisations_and_programmes_are_added_by_command(capsys):
    call_command("add_organisation", "Synthetic Trust", "--kind", "trust")
    call_command("add_organisation", "Synthetic Pause", "--kind", "pause")
    call_command("add_programme", "Synthetic programme", "--trust", "Synthetic Trust", "--pause-practice", "Synthetic Pause")
    from pause_portal.tenancy.models import Programme

    assert Programme.objects.get(name="Synthetic programme").phase == "scoping"
    with pytest.raises(CommandError, match="No Pause practice"):
        call_command("add_programme", "Other", "--trust", "Synthetic Trust", "--pause-practice", "Synthetic Trust")
