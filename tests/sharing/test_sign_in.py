"""Sign-in: password, then TOTP; one message for every wrong combination; lockout by account
and by IP; trusted proxies only; codes single-use and throttled; session lifetimes."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.core.models import AuditEntry, Event
from pause_portal.tenancy.models import AccountLink, AccountLinkPurpose
from sharing import actions
from tests import factories as f
from tests.totp import code_for

pytestmark = pytest.mark.django_db
SIGN_IN = reverse("accounts:sign-in")
MFA = reverse("accounts:mfa-verify")


def password_step(client, email, password=f.PASSWORD, ip="10.0.0.1", **extra):
    return client.post(SIGN_IN, {"username": email, "password": password}, REMOTE_ADDR=ip, **extra)


def full_sign_in(client, person):
    response = password_step(client, person.email)
    assert response.status_code == 302 and response["Location"] == MFA
    device = TOTPDevice.objects.get(user=person)
    response = client.post(MFA, {"otp_token": code_for(device)})
    assert response.status_code == 302, response.content.decode()[:500]
    return response


def test_password_then_code_reaches_dashboard_and_is_recorded(client, caseworker):
    full_sign_in(client, caseworker)
    assert client.get(reverse("dashboard")).status_code == 200
    events = list(AuditEntry.objects.filter(actor=caseworker).values_list("event", flat=True))
    assert Event.SIGN_IN in events and Event.MFA_VERIFIED in events


def test_password_only_session_reaches_only_the_mfa_step(client, caseworker):
    password_step(client, caseworker.email)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"] == MFA
    assert client.get(MFA).status_code == 200


def test_one_message_for_unknown_account_and_wrong_password(client, caseworker):
    unknown = password_step(client, "nobody@test.invalid").content.decode()
    wrong = password_step(client, caseworker.email, password="not-the-password").content.decode()
    message = "Enter a correct email address and password."
    assert message in unknown and message in wrong
    assert AuditEntry.objects.filter(event=Event.SIGN_IN_FAILED).count() == 2
    # The attempted address is never written into the audit trail.
    assert not AuditEntry.objects.filter(object_repr__icontains="nobody").exists()


def test_session_key_rotates_at_sign_in(client, caseworker):
    client.get(SIGN_IN)
    client.cookies["sessionid"] = "x" * 32
    before = client.cookies["sessionid"].value
    full_sign_in(client, caseworker)
    assert client.cookies["sessionid"].value != before


def test_account_locks_after_failures_from_101_different_ips(client, caseworker):
    for n in range(101):
        password_step(Client(), caseworker.email, password="wrong", ip=f"198.51.100.{n + 1}")
    response = password_step(client, caseworker.email, ip="203.0.113.9")  # right password, new IP
    assert response.status_code == 429
    assert "Sign-in temporarily blocked" in response.content.decode()
    assert AuditEntry.objects.filter(event=Event.LOCKOUT).exists()
    # The account locked within 100 failures, whatever the IPs they came from.
    first_lockout = AuditEntry.objects.filter(event=Event.LOCKOUT).order_by("id").first()
    assert AuditEntry.objects.filter(event=Event.SIGN_IN_FAILED, id__lt=first_lockout.id).count() <= 100


def test_lockout_cools_off_after_an_hour(client, caseworker):
    from django.conf import settings

    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(Client(), caseworker.email, password="wrong", ip="198.51.100.7")
    assert password_step(client, caseworker.email).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        assert password_step(Client(), caseworker.email, ip="198.51.100.8").status_code == 302


def test_ip_lockout_covers_many_accounts(client, caseworker):
    from django.conf import settings

    for n in range(settings.AXES_FAILURE_LIMIT):
        password_step(Client(), f"guess{n}@test.invalid", password="wrong", ip="192.0.2.50")
    assert password_step(client, caseworker.email, ip="192.0.2.50").status_code == 429
    assert password_step(Client(), caseworker.email, ip="192.0.2.51").status_code == 302


@override_settings(PORTAL_TRUSTED_PROXIES=("10.9.0.0/16",))
def test_forged_forwarded_for_is_ignored(caseworker):
    from django.conf import settings

    # A client not behind our proxy claims to be many addresses: its socket address is what counts.
    for n in range(settings.AXES_FAILURE_LIMIT):
        password_step(Client(), f"guess{n}@test.invalid", "wrong", ip="192.0.2.77", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert password_step(Client(), caseworker.email, ip="192.0.2.77", HTTP_X_FORWARDED_FOR="203.0.113.200").status_code == 429
    # Behind the trusted proxy, the forged left-hand entries are ignored; the proxy's view counts.
    for n in range(settings.AXES_FAILURE_LIMIT):
        password_step(Client(), f"other{n}@test.invalid", "wrong", ip="10.9.0.1",
                      HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.60")
    response = password_step(Client(), caseworker.email, ip="10.9.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.60")
    assert response.status_code == 429
    assert password_step(Client(), caseworker.email, ip="10.9.0.1", HTTP_X_FORWARDED_FOR="198.51.100.61").status_code == 302
    entry = AuditEntry.objects.filter(event=Event.SIGN_IN).latest("id")
    assert entry.remote_addr == "198.51.100.61"


def test_a_used_code_cannot_be_used_again(client, caseworker):
    full_sign_in(client, caseworker)
    device = TOTPDevice.objects.get(user=caseworker)
    used = code_for(device)
    client.post(reverse("accounts:sign-out"))
    second = Client()
    password_step(second, caseworker.email)
    response = second.post(MFA, {"otp_token": used})
    assert response.status_code == 400
    assert "already been used" in response.content.decode()
    assert second.get(reverse("dashboard")).status_code == 302


def test_code_guessing_is_throttled(client, caseworker):
    password_step(client, caseworker.email)
    device = TOTPDevice.objects.get(user=caseworker)
    right = code_for(device)
    wrong = f"{(int(right) + 1) % 1000000:06d}"
    client.post(MFA, {"otp_token": wrong})
    response = client.post(MFA, {"otp_token": right})  # the right code, but too soon after a wrong one
    assert response.status_code == 400 and "too many wrong codes" in response.content.decode()
    assert AuditEntry.objects.filter(event=Event.MFA_FAILED, reason="throttled").exists()


def test_new_account_link_sets_password_then_enrols_mfa(client, system_admin):
    person = actions.add_person(email="new@test.invalid", full_name="New Person",
                                organisation=system_admin.organisation, by=system_admin)
    token = actions.issue_account_link(person=person, purpose=AccountLinkPurpose.SET_PASSWORD, by=system_admin)
    url = reverse("accounts:account-link", args=[token])
    response = client.post(url, {"new_password": "a-long-new-passphrase", "confirm_password": "a-long-new-passphrase"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:mfa-enrol")
    assert client.get(reverse("dashboard"))["Location"] == reverse("accounts:mfa-enrol")
    page = client.get(reverse("accounts:mfa-enrol"))
    assert b"data:image/svg+xml" in page.content
    device = TOTPDevice.objects.get(user=person)
    assert client.post(reverse("accounts:mfa-enrol"), {"otp_token": code_for(device)}).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200
    assert AuditEntry.objects.filter(event=Event.MFA_ENROLLED, actor=person).exists()
    assert Client().get(url).status_code == 404  # single use


def test_lost_device_reset_link_is_single_use_expires_in_24h_and_recorded(client, caseworker, system_admin):
    old_device = TOTPDevice.objects.get(user=caseworker)
    token = actions.issue_account_link(person=caseworker, purpose=AccountLinkPurpose.MFA_RESET, by=system_admin)
    link = AccountLink.objects.get(person=caseworker, used_at__isnull=True)
    assert timedelta(hours=23, minutes=59) < link.expires_at - link.issued_at <= timedelta(hours=24)
    url = reverse("accounts:account-link", args=[token])
    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        assert Client().get(url).status_code == 404
    assert client.post(url, {"password": "wrong"}).status_code == 400
    response = client.post(url, {"password": f.PASSWORD})
    assert response["Location"] == reverse("accounts:mfa-enrol")
    assert not TOTPDevice.objects.filter(pk=old_device.pk).exists()
    entry = AuditEntry.objects.get(event=Event.MFA_RESET)
    assert entry.actor == caseworker and f"person #{system_admin.pk}" in entry.reason
    assert Client().post(url, {"password": f.PASSWORD}).status_code == 404


def test_only_a_system_admin_issues_reset_links(caseworker, trust_lead):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        actions.issue_account_link(person=caseworker, purpose=AccountLinkPurpose.MFA_RESET, by=trust_lead)


def test_idle_timeout_after_30_minutes(client, caseworker):
    full_sign_in(client, caseworker)
    with time_machine.travel(timezone.now() + timedelta(minutes=29)):
        assert client.get(reverse("dashboard")).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=29 + 31)):
        response = client.get(reverse("dashboard"))
        assert response.status_code == 302 and response["Location"].startswith(SIGN_IN)


def test_absolute_timeout_after_12_hours_despite_activity(client, caseworker):
    full_sign_in(client, caseworker)
    start = timezone.now()
    for minutes in range(25, 12 * 60, 25):  # active every 25 minutes
        with time_machine.travel(start + timedelta(minutes=minutes)):
            assert client.get(reverse("dashboard")).status_code == 200
    with time_machine.travel(start + timedelta(hours=12, minutes=5)):
        response = client.get(reverse("dashboard"))
        assert response.status_code == 302 and response["Location"] == reverse("accounts:timed-out")
    assert AuditEntry.objects.filter(event=Event.SESSION_EXPIRED, actor=caseworker).exists()


def test_sign_out_ends_the_session_on_the_server(client, caseworker):
    full_sign_in(client, caseworker)
    key = client.cookies["sessionid"].value
    assert client.post(reverse("accounts:sign-out"))["Location"] == reverse("accounts:signed-out")
    assert not Session.objects.filter(session_key=key).exists()
    replay = Client()
    replay.cookies["sessionid"] = key
    assert replay.get(reverse("dashboard")).status_code == 302
    assert AuditEntry.objects.filter(event=Event.SIGN_OUT, actor=caseworker).exists()


def test_deactivating_a_person_ends_their_sessions(client, caseworker, system_admin):
    full_sign_in(client, caseworker)
    key = client.cookies["sessionid"].value
    actions.deactivate_person(person=caseworker, by=system_admin)
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get(reverse("dashboard")).status_code == 302
    caseworker.refresh_from_db()
    assert not caseworker.is_active and caseworker.deactivated_by == system_admin
    assert password_step(Client(), caseworker.email).status_code == 200  # the form again: one message


def test_keep_alive_restarts_the_idle_clock(client, caseworker):
    full_sign_in(client, caseworker)
    start = timezone.now()
    with time_machine.travel(start + timedelta(minutes=25)):
        assert client.post(reverse("accounts:keep-alive")).status_code == 204
    with time_machine.travel(start + timedelta(minutes=50)):
        assert client.get(reverse("dashboard")).status_code == 200
    assert time.time() > 0


def test_the_timeout_warnings_sign_out_is_recorded_as_an_expired_session(client, caseworker):
    full_sign_in(client, caseworker)
    response = client.post(reverse("accounts:sign-out"), {"reason": "timeout"})
    assert response["Location"] == reverse("accounts:timed-out")
    assert AuditEntry.objects.filter(event=Event.SESSION_EXPIRED, actor=caseworker, reason="idle timeout").exists()
    assert not AuditEntry.objects.filter(event=Event.SIGN_OUT, actor=caseworker).exists()
    assert client.get(reverse("dashboard")).status_code == 302
    # Already expired on the server: still the timed-out page, and nothing to record.
    assert Client().post(reverse("accounts:sign-out"), {"reason": "timeout"})["Location"] == reverse("accounts:timed-out")
    assert Client().get(reverse("accounts:sign-out")).status_code == 405
