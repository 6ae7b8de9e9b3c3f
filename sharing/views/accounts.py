"""Sign-in (password, then a TOTP code), enrolment, one-time links, sign-out and session pages."""

from __future__ import annotations

import time

import segno
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.core.log import record_event
from audit.core.models import Event
from pause_portal.access import mfa_step, public, signed_in
from pause_portal.middleware import SIGNED_IN_AT
from pause_portal.tenancy.models import AccountLink, AccountLinkPurpose, SignedInSession
from sharing import actions
from sharing.forms import (
    ConfirmPasswordForm,
    EnrolTokenForm,
    OtpTokenForm,
    SetPasswordForm,
    SignInForm,
)

ENROL_DEVICE_KEY = "portal_enrol_device_id"
# The one-time link this session redeemed: set-up of two-step sign-in is open only to it (ADR 21).
ENROL_LINK_KEY = "portal_enrol_link_id"


def _start_session(request, person) -> None:
    """Password accepted: a fresh session key, the absolute clock started, the session recorded."""
    auth.login(request, person, backend="django.contrib.auth.backends.ModelBackend")
    request.session[SIGNED_IN_AT] = time.time()
    request.session.save()
    SignedInSession.objects.create(person=person, session_key=request.session.session_key)


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("dashboard")


class SignInView(LoginView):
    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = False

    def form_valid(self, form):
        person = form.get_user()
        if not TOTPDevice.objects.filter(user=person, confirmed=True).exists():
            # A password alone never reaches set-up: only a redeemed one-time link opens it.
            record_event(Event.REFUSED, actor=person, target=person, status_code=403,
                         reason="password accepted, but two-step sign-in is not set up: set-up needs a one-time link")
            return _needs_link(self.request)
        _start_session(self.request, person)
        record_event(Event.SIGN_IN, actor=person, target=person, reason="password accepted")
        self.request.session["portal_next"] = _safe_next(self.request)
        return redirect("accounts:mfa-verify")


sign_in = public(SignInView.as_view())


def _finish_mfa(request, device) -> HttpResponse:
    """Second factor passed: mark the session verified and rotate its key once more."""
    otp_login(request, device)
    old_key = request.session.session_key
    request.session.cycle_key()
    SignedInSession.objects.filter(session_key=old_key).update(session_key=request.session.session_key)
    return redirect(request.session.pop("portal_next", None) or reverse("dashboard"))


@mfa_step
def mfa_verify(request):
    person = request.user
    if person.is_verified():
        return redirect("dashboard")
    device = TOTPDevice.objects.filter(user=person, confirmed=True).first()
    if device is None:
        return redirect("accounts:mfa-enrol")
    form = OtpTokenForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            error = "You have entered too many wrong codes. Wait a moment, then try again."
            record_event(Event.MFA_FAILED, actor=person, target=person, reason="throttled")
        elif device.verify_token(form.cleaned_data["otp_token"]):
            record_event(Event.MFA_VERIFIED, actor=person, target=person)
            return _finish_mfa(request, device)
        else:
            error = "The security code is wrong or has already been used. Enter the current code from your app."
            record_event(Event.MFA_FAILED, actor=person, target=person, reason="wrong or reused code")
    if error:
        form.add_error("otp_token", error)
    return render(request, "accounts/mfa_verify.html", {"form": form}, status=400 if form.errors else 200)


WINDOW_MINUTES = int(actions.ENROLMENT_WINDOW.total_seconds() // 60)


def _needs_link(request) -> HttpResponse:
    return render(request, "accounts/enrol_needs_link.html", {"window_minutes": WINDOW_MINUTES}, status=403)


def _refuse_enrolment(request, person) -> HttpResponse:
    """No one-time link redeemed in this session, or its time is up: recorded, and the session ends."""
    record_event(Event.REFUSED, actor=person, target=person, status_code=403,
                 reason=f"set-up of two-step sign-in refused: no one-time link redeemed in this session "
                        f"in the last {WINDOW_MINUTES} minutes")
    SignedInSession.objects.filter(session_key=request.session.session_key).delete()
    request.portal_logout_recorded = True  # recorded above as a refusal, not as a sign-out
    auth.logout(request)
    return _needs_link(request)


@mfa_step
def mfa_enrol(request):
    person = request.user
    if TOTPDevice.objects.filter(user=person, confirmed=True).exists():
        return redirect("accounts:mfa-verify")
    link = AccountLink.objects.filter(pk=request.session.get(ENROL_LINK_KEY) or 0, person=person).first()
    if not actions.enrolment_open(link, person):
        return _refuse_enrolment(request, person)
    device = TOTPDevice.objects.filter(user=person, confirmed=False, pk=request.session.get(ENROL_DEVICE_KEY)).first()
    if device is None:
        device = TOTPDevice.objects.create(user=person, name="Authenticator app", confirmed=False)
        request.session[ENROL_DEVICE_KEY] = device.pk
    form = EnrolTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(form.cleaned_data["otp_token"]):
            try:
                actions.enrol_totp_device(person=person, device=device, link=link)
            except PermissionDenied:
                return _refuse_enrolment(request, person)
            request.session.pop(ENROL_DEVICE_KEY, None)
            request.session.pop(ENROL_LINK_KEY, None)
            return _finish_mfa(request, device)
        form.add_error("otp_token", "The security code is wrong. Enter the current code from your app.")
    secret = _base32(device.bin_key)
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "qr_svg": qr.svg_data_uri(scale=5, dark="#0b0c0c"),
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
    }
    return render(request, "accounts/mfa_enrol.html", context, status=400 if form.errors else 200)


def _base32(key: bytes) -> str:
    import base64

    return base64.b32encode(key).decode().rstrip("=")


@require_POST
@public
def sign_out(request):
    """POST only (with the CSRF token). `reason=timeout` comes from the timeout warning when the
    countdown ends: recorded as an expired session rather than a sign-out."""
    timed_out = request.POST.get("reason") == "timeout"
    if request.user.is_authenticated:
        if timed_out:
            record_event(Event.SESSION_EXPIRED, actor=request.user, target=request.user, reason="idle timeout")
            request.portal_logout_recorded = True
        SignedInSession.objects.filter(session_key=request.session.session_key).delete()
        auth.logout(request)  # flushes the server-side session; the audit receiver records a sign-out
    return redirect("accounts:timed-out" if timed_out else "accounts:signed-out")


@public
def signed_out(request):
    return render(request, "accounts/signed_out.html")


@public
def timed_out(request):
    context = {
        "idle_minutes": settings.PORTAL_SESSION_IDLE_SECONDS // 60,
        "absolute_hours": settings.PORTAL_SESSION_ABSOLUTE_SECONDS // 3600,
    }
    return render(request, "accounts/timed_out.html", context)


@require_POST
@signed_in
def keep_alive(request):
    """The timeout warning's "Stay signed in": a request, so the idle clock starts again."""
    return HttpResponse(status=204)


@public
def account_link(request, token: str):
    """A one-time link: set a first password, or (lost device) confirm the password, then enrol MFA."""
    link = actions.find_account_link(token)
    if link is None:
        return render(request, "accounts/link_invalid.html", status=404)
    first_password = link.purpose == AccountLinkPurpose.SET_PASSWORD
    form = (SetPasswordForm if first_password else ConfirmPasswordForm)(request.POST or None, **(
        {"person": link.person} if first_password else {}
    ))
    if request.method == "POST" and form.is_valid():
        person = link.person
        if not first_password:
            checked = auth.authenticate(request, username=person.email, password=form.cleaned_data["password"])
            if checked is None or checked.pk != person.pk:
                form.add_error("password", "Enter your correct password.")
        if not form.errors:
            if request.user.is_authenticated:
                auth.logout(request)
            person = actions.redeem_account_link(
                link=link, new_password=form.cleaned_data["new_password"] if first_password else None
            )
            _start_session(request, person)
            request.session[ENROL_LINK_KEY] = link.pk  # set-up is open to this session only
            return redirect("accounts:mfa-enrol")
    return render(
        request,
        "accounts/account_link.html",
        {"form": form, "first_password": first_password},
        status=400 if form.errors else 200,
    )
