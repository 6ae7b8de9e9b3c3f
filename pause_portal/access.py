"""How a view says who may reach it. The metatest reads these marks from the URLconf.

- `@public` — reachable without signing in (an explicit allowlist: sign-in, links, health).
- `@mfa_step` — reachable after the password step, before two-step sign-in is passed.
- `@signed_in` — any verified (MFA-passed) person, whatever their role (an explicit allowlist
  too: the dashboard, the programme switcher, the session keep-alive).
- `@for_perm(Perm.X)` — only people whose current role holds that permission
  (`pause_portal.tenancy.roles`, `role_has`); anyone else gets 404, exactly as if the page did not
  exist. Views name what is done, never who does it: which roles reach a view follows from
  `ROLE_SPECS`, in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import Http404

from pause_portal.tenancy.roles import Perm, Role, role_has, roles_with
from pause_portal.tenancy.selectors import current_role

PUBLIC = "public"
MFA_STEP = "mfa_step"
SIGNED_IN = "signed_in"


def _mark(view: Callable, access: str, roles: frozenset[Role] = frozenset(), perm: Perm | None = None) -> Callable:
    view.portal_access = access
    view.portal_roles = roles
    view.portal_perm = perm
    return view


def public(view: Callable) -> Callable:
    return _mark(view, PUBLIC)


def mfa_step(view: Callable) -> Callable:
    return _mark(view, MFA_STEP)


def signed_in(view: Callable) -> Callable:
    return _mark(view, SIGNED_IN, frozenset(Role))


def for_perm(perm: Perm) -> Callable[[Callable], Callable]:
    perm = Perm(perm)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not role_has(current_role(request), perm):
                raise Http404("No such page.")
            return view(request, *args, **kwargs)

        return _mark(wrapper, SIGNED_IN, roles_with(perm), perm)

    return decorate


def _marked(view: Callable):
    for source in (view, getattr(view, "view_class", None)):
        if getattr(source, "portal_access", None):
            return source
    return None


def access_of(view: Callable) -> tuple[str | None, frozenset[Role]]:
    """The view's mark and the roles that reach it (every role for `signed_in`)."""
    source = _marked(view)
    return (source.portal_access, source.portal_roles) if source else (None, frozenset())


def perm_of(view: Callable) -> Perm | None:
    """The permission a `for_perm` view asks for; None for any other mark, or none."""
    source = _marked(view)
    return source.portal_perm if source else None
