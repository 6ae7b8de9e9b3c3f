"""How a view says who may reach it. The metatest reads these marks from the URLconf.

- `@public` — reachable without signing in (an explicit allowlist: sign-in, links, health).
- `@mfa_step` — reachable after the password step, before two-step sign-in is passed.
- `@signed_in` — any verified (MFA-passed) person, whatever their role.
- `@for_roles(Role.X, ...)` — only people whose current role is one of those; anyone else gets
  404, exactly as if the page did not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import Http404

from pause_portal.tenancy.roles import Role
from pause_portal.tenancy.selectors import current_role

PUBLIC = "public"
MFA_STEP = "mfa_step"
SIGNED_IN = "signed_in"


def _mark(view: Callable, access: str, roles: frozenset[Role] = frozenset()) -> Callable:
    view.portal_access = access
    view.portal_roles = roles
    return view


def public(view: Callable) -> Callable:
    return _mark(view, PUBLIC)


def mfa_step(view: Callable) -> Callable:
    return _mark(view, MFA_STEP)


def signed_in(view: Callable) -> Callable:
    return _mark(view, SIGNED_IN, frozenset(Role))


def for_roles(*roles: Role) -> Callable[[Callable], Callable]:
    allowed = frozenset(roles)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if current_role(request) not in allowed:
                raise Http404("No such page.")
            return view(request, *args, **kwargs)

        return _mark(wrapper, SIGNED_IN, allowed)

    return decorate


def access_of(view: Callable) -> tuple[str | None, frozenset[Role]]:
    for source in (view, getattr(view, "view_class", None)):
        if getattr(source, "portal_access", None):
            return source.portal_access, source.portal_roles
    return None, frozenset()
