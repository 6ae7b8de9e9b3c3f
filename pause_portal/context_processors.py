import time

from django.conf import settings

from pause_portal.middleware import SIGNED_IN_AT
from pause_portal.tenancy.selectors import active_memberships, current_membership, current_role


def portal(request):
    """The header: organisation, role, programme (with a switcher when there are several), phase."""
    context = {
        "portal_env": settings.PORTAL_ENV,
        "session_timeout_seconds": settings.PORTAL_SESSION_IDLE_SECONDS,
        "session_warning_seconds": settings.PORTAL_SESSION_WARNING_SECONDS,
    }
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    # The timeout warning counts down to whichever comes first: the idle or the absolute limit.
    started = request.session.get(SIGNED_IN_AT, time.time())
    left_absolute = int(settings.PORTAL_SESSION_ABSOLUTE_SECONDS - (time.time() - started))
    # The page's clock starts a little before the server's: end a margin early, so the server
    # still has the session to end, and to record why.
    context["session_timeout_seconds"] = max(
        0, min(settings.PORTAL_SESSION_IDLE_SECONDS, left_absolute) - settings.PORTAL_SESSION_CLIENT_MARGIN_SECONDS
    )
    if not user.is_verified():
        return context
    memberships = list(active_memberships(user))
    context.update(
        {
            "current_membership": current_membership(request),
            "current_role": current_role(request),
            "memberships": memberships,
        }
    )
    return context
