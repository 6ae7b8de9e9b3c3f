"""The Django admin is an OTP admin site for system administrators, and lists only models whose
fields are all classified safe (checked at start-up and by a test)."""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.shortcuts import redirect
from django_otp.admin import OTPAdminSite

from pause_portal.classification import OUR_APPS, is_all_safe


class PortalAdminSite(OTPAdminSite):
    site_header = "Pause data-sharing portal — administration"
    site_title = "Portal administration"
    index_title = "Organisations, programmes and memberships"

    def __init__(self, name="admin"):
        super().__init__(name)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def refuse_others(request, *args, **kwargs):
            # Signed in (both steps) but not a system administrator: no such page, as everywhere else.
            if request.user.is_authenticated and request.user.is_verified() and not self.has_permission(request):
                raise Http404("No such page.")
            return inner(request, *args, **kwargs)

        return refuse_others

    def login(self, request, extra_context=None):
        # One sign-in for the whole portal (password, then two-step): never a second form here.
        return redirect("accounts:sign-in")

    def register(self, model_or_iterable, admin_class=None, **options):
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else list(model_or_iterable)
        for model in models:
            if model._meta.app_label in OUR_APPS and not is_all_safe(model):
                raise ImproperlyConfigured(f"{model._meta.label} has fields that are not classified safe: not for the admin.")
        # Other packages' models (groups, OTP devices with their keys, beat schedules) carry no
        # classification, so they are never all-safe: they stay out.
        # The audit trail is the DPO's, reviewed in the portal: never in the administrator's admin.
        ours = [m for m in models if m._meta.app_label in OUR_APPS and m._meta.app_label != "audit"]
        if ours:
            super().register(ours, admin_class, **options)

