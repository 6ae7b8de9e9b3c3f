from django.conf import settings

from sharing.selectors import active_memberships, current_membership, current_role


def portal(request):
    """The header: organisation, role, programme (with a switcher when there are several), phase."""
    context = {
        "portal_env": settings.PORTAL_ENV,
        "session_timeout_seconds": settings.PORTAL_SESSION_IDLE_SECONDS,
        "session_warning_seconds": settings.PORTAL_SESSION_WARNING_SECONDS,
    }
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_verified():
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
