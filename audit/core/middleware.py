"""Every refused request on a protected page (403 or 404) writes an entry — a signed-in person's
each one; refusals without sign-in rate-limited per client address (`audit.core.refusals`)."""

from __future__ import annotations

from django.conf import settings

from audit.core.log import record_event
from audit.core.models import Event
from audit.core.refusals import record_refusal_without_sign_in
from pause_portal.tenancy.selectors import current_membership


class RefusalAuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code in (403, 404) and not request.path.startswith(settings.STATIC_URL):
            if not request.user.is_authenticated:
                record_refusal_without_sign_in(request, response.status_code)
                return response
            membership = current_membership(request)
            record_event(
                Event.REFUSED,
                actor=request.user,
                programme=membership.programme if membership else None,
                role=membership.role if membership else "",
                status_code=response.status_code,
                reason=f"{request.method} refused",
            )
        return response
