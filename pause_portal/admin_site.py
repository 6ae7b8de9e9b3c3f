"""The Django admin is an OTP admin site for system administrators, and lists only models whose
fields are all classified safe (checked at start-up and by a test)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import redirect
from django_otp.admin import OTPAdminSite

from pause_portal.classification import is_all_safe


class PortalAdminSite(OTPAdminSite):
    site_header = "Pause data-sharing portal — administration"
    site_title = "Portal administration"
    index_title = "Organisations, programmes and memberships"

    def login(self, request, extra_context=None):
        # One sign-in for the whole portal (password, then two-step): never a second form here.
        return redirect("accounts:sign-in")

    def register(self, model_or_iterable, admin_class=None, **options):
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        for model in models:
            if model._meta.app_label in {"sharing", "audit", "eligibility", "pseudonymisation"} and not is_all_safe(model):
                raise ImproperlyConfigured(f"{model._meta.label} has fields that are not classified safe: not for the admin.")
        return super().register(model_or_iterable, admin_class, **options)


def install() -> None:
    admin.site.__class__ = PortalAdminSite
