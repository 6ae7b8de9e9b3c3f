"""Issue 17, findings 3, 4 and 9 (part): one identity per email address for sign-in, the lockout
and add_user; enrolment only inside the session that redeemed a one-time link, within 30 minutes,
and emailed to the person; nobody grants themselves a role; revocation ends sessions and caseload
permissions at once (ADR 21)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from guardian.shortcuts import get_objects_for_user

from audit.core.models import AuditEntry, Event
from pause_portal.tenancy.models import (
    AccountLink,
    AccountLinkPurpose,
    Membership,
    MembershipStatus,
    Person,
    SignedInSession,
)
from pause_portal.tenancy.roles import ROLE_SPECS, OrganisationKind, Role
from sharing import actions
from sharing.delivery_access import PERMISSION
from sharing.models_delivery import CaseloadAssignment, CaseloadUserObjectPermission, ReleasedWoman
from tests import factories as f
from tests.conftest import sign_in_password_only, sign_in_verified
from tests.sharing.delivery.world import delivery_world
from tests.totp import code_for

pytestmark = pytest.mark.django_db
SIGN_IN = reverse("accounts:sign-in")
MFA = reverse("accounts:mfa-verify")
ENROL = reverse("accounts:mfa-enrol")
DASHBOARD = reverse("dashboard")


def password_step(client, email, password=f.PASSWORD, ip="10.0.0.1"):
    return client.post(SIGN_IN, {"username": email, "password": password}, REMOTE_ADDR=ip)


def signed_out(client) -> bool:
    response = client.get(DASHBOARD)
    return response.status_code == 302 and response["Location"].startswith(SIGN_IN)


# --- finding 3: one identity, whatever the letter case ----------------------------------------
@pytest.fixture
def admin2(db):
    return f.person(f.organisation(OrganisationKind.TRUST), email="admin2@demo.invalid", system_admin=True)


@pytest.mark.parametrize("typed", ["ADMIN2@demo.invalid", "Admin2@Demo.Invalid", "  admin2@DEMO.invalid  "])
def test_the_lockout_holds_whatever_the_letter_case_and_client_address(admin2, typed):
    for n in range(settings.AXES_FAILURE_LIMIT):
        password_step(Client(), "admin2@demo.invalid", password="wrong", ip=f"198.51.100.{n + 1}")
    # The right password, another spelling of the address, an address never seen before.
    response = password_step(Client(), typed, ip="203.0.113.40")
    assert response.status_code == 429
    assert "Sign-in temporarily blocked" in response.content.decode()
    assert not AuditEntry.objects.filter(event=Event.SIGN_IN, actor=admin2).exists()


def test_failures_typed_in_different_cases_are_counted_as_one_person(admin2):
    spellings = ["admin2@demo.invalid", "ADMIN2@DEMO.INVALID", "Admin2@demo.invalid", "aDmIn2@demo.invalid"]
    for n in range(settings.AXES_FAILURE_LIMIT):
        password_step(Client(), spellings[n % len(spellings)], password="wrong", ip=f"198.51.100.{n + 1}")
    assert password_step(Client(), "admin2@demo.invalid", ip="203.0.113.41").status_code == 429


def test_a_look_alike_address_does_not_sign_in_as_the_person(admin2):
    """PostgreSQL's UPPER() folds the dotless ı onto I: a case-insensitive match let this string
    sign in as admin2 while the lockout counted it under another name. Matching is exact now."""
    for typed in ["admın2@demo.invalid", "ADMİN2@demo.invalid", "admin2@demo.invalid\u200b"]:
        response = password_step(Client(), typed, ip="203.0.113.42")
        assert response.status_code in (200, 429) and "Location" not in response, typed
    assert not AuditEntry.objects.filter(event=Event.SIGN_IN, actor=admin2).exists()
    assert password_step(Client(), "Admin2@Demo.Invalid", ip="203.0.113.43")["Location"] == MFA


def test_add_person_and_add_user_keep_one_identity_per_address(programme, system_admin, capsys):
    person = actions.add_person(email="  Jo.Synthetic@Test.Invalid ", full_name="Jo Synthetic",
                                organisation=programme.trust, by=system_admin)
    assert person.email == "jo.synthetic@test.invalid"
    with pytest.raises(ValidationError, match="already has an account"):
        actions.add_person(email="JO.SYNTHETIC@test.invalid", full_name="Jo Again", organisation=programme.trust,
                           by=system_admin)
    with pytest.raises(ValidationError, match="plain letters"):
        actions.add_person(email="jö@test.invalid", full_name="Jo Umlaut", organisation=programme.trust,
                           by=system_admin)
    # add_user finds the same person however the address (and --by) is typed: a role, not a second account.
    call_command("add_user", "JO.Synthetic@test.INVALID", "--organisation", programme.trust.name,
                 "--programme", programme.name, "--role", "trust_caseworker", "--by", system_admin.email.upper())
    assert Person.objects.filter(full_name__startswith="Jo").count() == 1
    assert Membership.objects.get(person=person).status == MembershipStatus.ACTIVE
    assert "One-time link" not in capsys.readouterr().out


def test_the_database_refuses_an_address_that_is_not_lower_case(programme):
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(email="Mixed.Case@test.invalid", full_name="X", organisation=programme.trust)


def test_the_migration_refuses_addresses_that_are_not_plain_ascii(programme):
    from importlib import import_module

    migration = import_module("sharing.migrations.0008_accounts_identity")
    odd = f.person(programme.trust, email="zoë@test.invalid")
    with pytest.raises(migration.AddressesNeedAttention, match=f"person #{odd.pk}"):
        migration.lower_case_addresses(django_apps, None)


@pytest.mark.postgres
def test_the_migration_lower_cases_addresses_and_refuses_collisions(programme):
    """Under the constraint no mixed-case address can exist, so the test lifts it inside its own
    transaction (PostgreSQL's DDL rolls back with the test)."""
    from importlib import import_module

    migration = import_module("sharing.migrations.0008_accounts_identity")
    constraint = next(c for c in Person._meta.constraints if c.name == "person_email_lower_case")
    with connection.schema_editor() as editor:
        editor.remove_constraint(Person, constraint)
    one = f.person(programme.trust, email="Sam.Synthetic@Test.invalid")
    migration.lower_case_addresses(django_apps, None)
    one.refresh_from_db()
    assert one.email == "sam.synthetic@test.invalid"
    two = f.person(programme.trust, email="SAM.SYNTHETIC@test.invalid")
    with pytest.raises(migration.AddressesNeedAttention, match=f"person #{one.pk} and person #{two.pk}"):
        migration.lower_case_addresses(django_apps, None)
    two.refresh_from_db()
    assert two.email == "SAM.SYNTHETIC@test.invalid"  # refused: nothing changed


# --- finding 4: enrolment only from a redeemed link, in its own session ------------------------
def redeem_reset(client, person, system_admin):
    token = actions.issue_account_link(person=person, purpose=AccountLinkPurpose.MFA_RESET, by=system_admin)
    response = client.post(reverse("accounts:account-link", args=[token]), {"password": f.PASSWORD})
    assert response["Location"] == ENROL
    return client


def enrol(client, person):
    assert client.get(ENROL).status_code == 200
    device = TOTPDevice.objects.get(user=person, confirmed=False)
    return client.post(ENROL, {"otp_token": code_for(device)})


def test_a_password_alone_after_a_redeemed_reset_link_never_reaches_set_up(caseworker, system_admin):
    owner = redeem_reset(Client(), caseworker, system_admin)
    assert owner.get(ENROL).status_code == 200  # the owner, in the session that redeemed the link

    intruder = Client()
    response = password_step(intruder, caseworker.email, ip="203.0.113.50")
    assert response.status_code == 403
    assert "Use your one-time link" in response.content.decode()
    assert signed_out(intruder)
    assert intruder.get(ENROL)["Location"].startswith(SIGN_IN)
    assert TOTPDevice.objects.filter(user=caseworker).count() == 1  # only the owner's, unconfirmed
    assert AuditEntry.objects.filter(event=Event.REFUSED, actor=caseworker,
                                     reason__contains="set-up needs a one-time link").exists()
    assert not AuditEntry.objects.filter(event=Event.SIGN_IN, actor=caseworker).exists()

    assert enrol(owner, caseworker).status_code == 302
    assert owner.get(DASHBOARD).status_code == 200


def test_a_password_alone_never_reaches_set_up_of_a_new_account(system_admin):
    person = actions.add_person(email="newcomer@test.invalid", full_name="New Comer",
                                organisation=system_admin.organisation, by=system_admin)
    token = actions.issue_account_link(person=person, purpose=AccountLinkPurpose.SET_PASSWORD, by=system_admin)
    owner = Client()
    passphrase = "a-long-new-passphrase"
    owner.post(reverse("accounts:account-link", args=[token]),
               {"new_password": passphrase, "confirm_password": passphrase})
    intruder = Client()
    assert password_step(intruder, person.email, password=passphrase, ip="203.0.113.51").status_code == 403
    assert signed_out(intruder)
    assert enrol(owner, person).status_code == 302


def test_a_password_only_session_without_a_redeemed_link_is_refused_set_up_and_ended(programme):
    newcomer = f.person(programme.trust, with_device=False)
    client = sign_in_password_only(Client(), newcomer)
    key = client.session.session_key
    response = client.get(ENROL)
    assert response.status_code == 403
    assert not TOTPDevice.objects.filter(user=newcomer).exists()  # no secret made or shown
    assert not Session.objects.filter(session_key=key).exists()
    assert signed_out(client)


def test_set_up_closes_30_minutes_after_the_link_was_redeemed(caseworker, system_admin):
    client = redeem_reset(Client(), caseworker, system_admin)
    start = timezone.now()
    with time_machine.travel(start + timedelta(minutes=20)):
        assert client.get(ENROL).status_code == 200  # still open; the idle clock restarts
        device = TOTPDevice.objects.get(user=caseworker, confirmed=False)
    with time_machine.travel(start + timedelta(minutes=31)):
        response = client.post(ENROL, {"otp_token": code_for(device)})
        assert response.status_code == 403
        assert signed_out(client)
    assert not TOTPDevice.objects.filter(user=caseworker, confirmed=True).exists()


def test_the_action_enrols_only_from_an_open_link_of_the_same_person(caseworker, practitioner, system_admin):
    redeem_reset(Client(), caseworker, system_admin)
    link = AccountLink.objects.get(person=caseworker, used_at__isnull=False)
    device = TOTPDevice.objects.create(user=practitioner, name="x", confirmed=False)
    with pytest.raises(PermissionDenied):
        actions.enrol_totp_device(person=practitioner, device=device, link=link)  # someone else's link
    own = TOTPDevice.objects.create(user=caseworker, name="x", confirmed=False)
    with time_machine.travel(timezone.now() + timedelta(minutes=31)), pytest.raises(PermissionDenied):
        actions.enrol_totp_device(person=caseworker, device=own, link=link)  # too late
    actions.enrol_totp_device(person=caseworker, device=own, link=link)
    other = TOTPDevice.objects.create(user=caseworker, name="y", confirmed=False)
    with pytest.raises(PermissionDenied):
        actions.enrol_totp_device(person=caseworker, device=other, link=link)  # once only


def test_every_enrolment_emails_the_person_when_and_what_to_do(caseworker, system_admin, mailoutbox,
                                                                django_capture_on_commit_callbacks):
    client = redeem_reset(Client(), caseworker, system_admin)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert enrol(client, caseworker).status_code == 302
    [message] = mailoutbox
    assert message.to == [caseworker.email]
    enrolled = AuditEntry.objects.get(event=Event.MFA_ENROLLED, actor=caseworker)
    local = timezone.localtime(enrolled.timestamp)
    assert local.strftime("%H:%M") in message.body or (local - timedelta(minutes=1)).strftime("%H:%M") in message.body
    assert f"{local.day} {local.strftime('%B %Y')}" in message.body
    assert "If it was not you" in message.body and "system administrator" in message.body
    device = TOTPDevice.objects.get(user=caseworker, confirmed=True)
    for identifier in [caseworker.full_name, caseworker.email, device.key, f"#{caseworker.pk}", "person #",
                       caseworker.organisation.name, "10.0.0.1", "127.0.0.1", "/account/link/"]:
        assert identifier not in message.body and identifier not in message.subject, identifier
    assert AuditEntry.objects.filter(event=Event.CHANGE, object_id=caseworker.pk,
                                     reason__contains="told by email").exists()


# --- finding 9: nobody grants themselves a role; revocation ends access at once ---------------
@pytest.fixture
def second_admin(db):
    return f.person(f.organisation(OrganisationKind.TRUST), system_admin=True)


@pytest.mark.parametrize("role", [r for r in Role if ROLE_SPECS[r].per_programme])
def test_nobody_grants_themselves_a_role(role, programme, second_admin):
    trust_side = ROLE_SPECS[role].organisation_kind == OrganisationKind.TRUST
    admin = f.person(programme.trust if trust_side else programme.pause_practice, system_admin=True)
    with pytest.raises(PermissionDenied, match="Nobody can grant themselves"):
        actions.request_role(person=admin, programme=programme, role=role, by=admin)
    assert not Membership.objects.filter(person=admin).exists()
    # Another administrator may: the grant is theirs (and a lead/DPO/Caldicott role still waits for a third).
    granted = actions.request_role(person=admin, programme=programme, role=role, by=second_admin)
    assert granted.requested_by == second_admin


def test_add_user_refuses_a_self_grant_and_changes_nothing(programme):
    admin = f.person(programme.trust, system_admin=True)
    with pytest.raises(CommandError, match="Nobody can grant themselves"):
        call_command("add_user", admin.email, "--organisation", programme.trust.name, "--programme", programme.name,
                     "--role", "trust_caseworker", "--by", admin.email.upper())
    assert not Membership.objects.filter(person=admin).exists()


def _caseload_world():
    world = delivery_world(women=2)
    a, b = world.released
    p1, p2 = world.practitioners
    world.assign(a, p1)
    world.assign(b, p2)
    return world, a, b, p1, p2


def _visible(person, programme):
    return set(get_objects_for_user(person, PERMISSION, ReleasedWoman.objects.filter(programme=programme),
                                    accept_global_perms=False, use_groups=False).values_list("pk", flat=True))


def test_revocation_ends_sessions_and_caseload_permissions_at_once(system_admin):
    world, a, b, p1, p2 = _caseload_world()
    client = sign_in_verified(Client(), p1)
    assert client.get(reverse("delivery:caseload")).status_code == 200
    key = client.session.session_key
    assert _visible(p1, world.programme) == {a.pk}

    done = actions.revoke_role(membership=Membership.objects.get(person=p1, programme=world.programme),
                               by=system_admin)
    assert not Session.objects.filter(session_key=key).exists()
    assert not SignedInSession.objects.filter(person=p1).exists()
    assert signed_out(client)
    assert _visible(p1, world.programme) == set()
    assert not CaseloadUserObjectPermission.objects.filter(user=p1).exists()
    ended = CaseloadAssignment.objects.get(practitioner=p1)
    assert ended.ended_at is not None and ended.ended_by == system_admin
    # The other practitioner keeps her caseload.
    assert _visible(p2, world.programme) == {b.pk}
    revoked = AuditEntry.objects.get(event=Event.ROLE_REVOKED, actor=system_admin)
    assert "1 session(s) ended" in revoked.reason and "1 caseload permission(s) removed" in revoked.reason
    change = AuditEntry.objects.get(event=Event.CHANGE, actor=system_admin, reason__contains="role revoked")
    assert change.subject_count == 1
    assert (done.sessions_ended, done.assignments_ended, done.permissions_removed) == (1, 1, 1)


def test_revocation_rolls_back_when_its_audit_entry_cannot_be_written(system_admin, monkeypatch):
    world, a, _, p1, _ = _caseload_world()
    client = sign_in_verified(Client(), p1)

    def failing(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(actions, "record_event", failing)
    membership = Membership.objects.get(person=p1, programme=world.programme)
    with pytest.raises(RuntimeError):
        actions.revoke_role(membership=membership, by=system_admin)
    assert Membership.objects.get(pk=membership.pk).status == MembershipStatus.ACTIVE
    assert _visible(p1, world.programme) == {a.pk}
    assert client.get(reverse("delivery:caseload")).status_code == 200


def test_the_revoke_role_command(system_admin, capsys):
    world, _, _, p1, _ = _caseload_world()
    sign_in_verified(Client(), p1)
    name = world.programme.name
    with pytest.raises(CommandError, match="No programme called"):
        call_command("revoke_role", p1.email, "--programme", "Nowhere", "--by", system_admin.email)
    with pytest.raises(CommandError, match="Only an active system administrator"):
        call_command("revoke_role", p1.email, "--programme", name, "--by", world.pause_lead.email)
    assert Membership.objects.get(person=p1, programme=world.programme).status == MembershipStatus.ACTIVE
    call_command("revoke_role", p1.email.upper(), "--programme", name, "--by", system_admin.email)
    out = capsys.readouterr().out
    assert "Revoked: Pause practitioner" in out and "1 session(s) ended" in out
    assert "1 caseload permission(s) removed" in out
    assert not CaseloadUserObjectPermission.objects.filter(user=p1).exists()
    with pytest.raises(CommandError, match="holds no role"):
        call_command("revoke_role", p1.email, "--programme", name, "--by", system_admin.email)


def test_revoking_a_trust_role_ends_the_persons_sessions(caseworker, system_admin):
    client = sign_in_verified(Client(), caseworker)
    assert client.get(DASHBOARD).status_code == 200
    actions.revoke_role(membership=caseworker.memberships.get(), by=system_admin)
    assert signed_out(client)
