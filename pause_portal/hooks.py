"""Named hooks: how a lower layer tells a higher one something without importing it (ADR 24).

A lower layer calls `call(NAME, by=..., ...)`; the one higher layer that acts on it registers its
handler at start-up, in its AppConfig.ready (`register`). Each hook has exactly one handler: none
would mean the news is lost, two that the order between them matters and is hidden. The handler
runs at once, in the caller's transaction: if the caller rolls back, so does what the handler did.

These are not Django signals: a signal may have no receiver or many and fails quietly, and the
style guide keeps logic out of signals. The hooks are few and listed here, each with what it means.
"""

from __future__ import annotations

from collections.abc import Callable

WOMAN_NO_LONGER_RELEASABLE = "woman_no_longer_releasable"
SESSION_EXPIRED = "session_expired"
PAUSE_DISCLOSURE = "pause_disclosure"
AUDIT_RETENTION_DEMAND = "audit_retention_demand"

HOOKS: dict[str, str] = {
    WOMAN_NO_LONGER_RELEASABLE: (
        "A decision that is not eligible or at risk, or an opened restriction, means she can no longer "
        "be released (called with woman=, why=, by=). Sharing takes her out of the scoping release at "
        "once; Pause's delivery view already leaves her out by its own query (sharing.delivery_access)."
    ),
    PAUSE_DISCLOSURE: (
        "The disclosure policy (eligibility.disclosure) asks what Pause's roles may see of these records "
        "now (called with by=, the viewer, records= and memberships=). Sharing answers with its phase "
        "rules for scoping and delivery; the policy applies them and writes the one entry."
    ),
    AUDIT_RETENTION_DEMAND: (
        "The audit trail's purge (audit.core.retention) asks, before it deletes anything, the longest "
        "audit-trail retention any live agreement asks for (called with by=None). Sharing answers with the "
        "longest demand in days, or None when no live agreement asks one; the purge refuses when the "
        "deployment's period is shorter (ADR 40)."
    ),
    SESSION_EXPIRED: (
        "A signed-in session reached the absolute limit and is being ended (called with by=, the "
        "person, and reason=). The audit core writes the entry."
    ),
}

_handlers: dict[str, list[Callable]] = {name: [] for name in HOOKS}


class HookError(RuntimeError):
    """A hook that does not exist, or has no handler or more than one: a wiring mistake."""


def register(name: str, handler: Callable) -> None:
    """Register the one handler of a hook (from an AppConfig.ready). Registering the same function
    again is a no-op, so a ready() that runs twice changes nothing; a second handler is refused."""
    if name not in HOOKS:
        raise HookError(f"No hook is called {name!r}; the hooks are listed in pause_portal.hooks.HOOKS.")
    handlers = _handlers[name]
    if handler in handlers:
        return
    if handlers:
        raise HookError(f"The hook {name!r} already has its handler ({_describe(handlers[0])}).")
    handlers.append(handler)


def call(name: str, *, by, **kwargs):
    """Run the hook's handler now, in the caller's transaction, and return what it returns."""
    if name not in HOOKS:
        raise HookError(f"No hook is called {name!r}; the hooks are listed in pause_portal.hooks.HOOKS.")
    handlers = _handlers[name]
    if len(handlers) != 1:
        raise HookError(f"The hook {name!r} has {len(handlers)} handlers; it needs exactly one.")
    return handlers[0](by=by, **kwargs)


def handlers_of(name: str) -> tuple[Callable, ...]:
    return tuple(_handlers[name])


def _describe(handler: Callable) -> str:
    return f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', repr(handler))}"
