"""Request-wide rules: request ids and context, session lifetime, verified sessions everywhere
except an explicit allowlist, and no-store on every page."""

from __future__ import annotations

import time
import uuid

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from pause_portal import hooks, request_context
from pause_portal.access import MFA_STEP, PUBLIC, access_of
from pause_portal.client_ip import client_ip
from pause_portal.tenancy.models import SignedInSession

SIGNED_IN_AT = "portal_signed_in_at"


def _is_static(path: str) -> bool:
    return path.startswith(settings.STATIC_URL)


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = uuid.uuid4().hex
        request.client_ip = client_ip(request)
        token = request_context.bind(
            request_context.RequestContext(
                request_id=request.request_id, remote_addr=request.client_ip, page=request.path[:200]
            )
        )
        try:
            response = self.get_response(request)
        finally:
            request_context.reset(token)
        response["X-Request-Id"] = request.request_id
        return response


def bind_actor(request) -> None:
    """Once the user is known, the audit writers should name them."""
    ctx = request_context.current()
    user = getattr(request, "user", None)
    actor_id = user.pk if user is not None and user.is_authenticated else None
    request_context.bind(
        request_context.RequestContext(
            request_id=ctx.request_id, actor_id=actor_id, remote_addr=ctx.remote_addr, page=ctx.page
        )
    )


class SessionLifetimeMiddleware:
    """Idle timeout is the session's own expiry (renewed on each request); this adds the absolute
    limit, counted from sign-in, whatever the activity."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bind_actor(request)
        if request.user.is_authenticated and not _is_static(request.path):
            started = request.session.get(SIGNED_IN_AT)
            if started is None or time.time() - started > settings.PORTAL_SESSION_ABSOLUTE_SECONDS:
                # The audit core writes the entry: its handler of the kernel's hook (ADR 24).
                hooks.call(hooks.SESSION_EXPIRED, by=request.user, reason="absolute session limit reached")
                SignedInSession.objects.filter(session_key=request.session.session_key).delete()
                logout(request)
                bind_actor(request)
                return redirect("accounts:timed-out")
        return self.get_response(request)


class VerifiedSessionRequiredMiddleware:
    """Every URL not on the public allowlist needs a verified (MFA-passed) session. A
    password-only session reaches nothing but the MFA step."""

    def __init__(self, get_response):
        self.get_response = get_response

    def process_view(self, request, view_func, view_args, view_kwargs):
        access, _ = access_of(view_func)
        if access == PUBLIC or _is_static(request.path):
            return None
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), _sign_in_url())
        if access == MFA_STEP or user.is_verified():
            return None
        return redirect(_mfa_url(user))

    def __call__(self, request):
        if not _is_static(request.path):
            try:
                resolve(request.path_info)
            except Resolver404:
                # Unknown addresses look the same as protected ones to someone not signed in.
                if not request.user.is_authenticated:
                    return redirect(_sign_in_url())
                if not request.user.is_verified():
                    return redirect(_mfa_url(request.user))
        return self.get_response(request)


def _sign_in_url() -> str:
    from django.urls import reverse

    return reverse(settings.LOGIN_URL)


def _mfa_url(user) -> str:
    from django.urls import reverse
    from django_otp.plugins.otp_totp.models import TOTPDevice

    has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    return reverse("accounts:mfa-verify" if has_device else "accounts:mfa-enrol")


class NoStoreMiddleware:
    """Pages may carry personal data: no browser or proxy keeps a copy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not _is_static(request.path):
            response["Cache-Control"] = "no-store, max-age=0"
            response["Pragma"] = "no-cache"
        return response
