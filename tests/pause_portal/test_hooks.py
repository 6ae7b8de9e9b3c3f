"""The named hooks (ADR 24): every hook has exactly one handler once the apps are ready, a hook
runs in its caller's transaction, and wiring mistakes fail loudly."""

from __future__ import annotations

import pytest
from django.db import transaction

from pause_portal import hooks


def test_every_hook_has_exactly_one_handler():
    for name in hooks.HOOKS:
        assert len(hooks.handlers_of(name)) == 1, f"hook {name!r}: {hooks.handlers_of(name)}"


def test_each_handler_lives_in_a_layer_above_the_kernel():
    owners = {name: hooks.handlers_of(name)[0].__module__ for name in hooks.HOOKS}
    assert owners == {
        hooks.WOMAN_NO_LONGER_RELEASABLE: "sharing.scoping_release",
        hooks.SESSION_EXPIRED: "audit.core.log",
        hooks.PAUSE_DISCLOSURE: "sharing.disclosure",
        hooks.AUDIT_RETENTION_DEMAND: "sharing.audit_retention",  # since issue 22: ADR 40
    }


def test_a_second_handler_is_refused_and_the_same_one_again_changes_nothing():
    [handler] = hooks.handlers_of(hooks.SESSION_EXPIRED)
    hooks.register(hooks.SESSION_EXPIRED, handler)
    assert hooks.handlers_of(hooks.SESSION_EXPIRED) == (handler,)
    with pytest.raises(hooks.HookError, match="already has its handler"):
        hooks.register(hooks.SESSION_EXPIRED, lambda **kw: None)
    assert hooks.handlers_of(hooks.SESSION_EXPIRED) == (handler,)


def test_an_unknown_hook_is_refused():
    with pytest.raises(hooks.HookError, match="No hook is called"):
        hooks.register("no_such_hook", lambda **kw: None)
    with pytest.raises(hooks.HookError, match="No hook is called"):
        hooks.call("no_such_hook", by=None)


def test_a_hook_without_its_handler_fails_loudly(monkeypatch):
    monkeypatch.setitem(hooks._handlers, hooks.SESSION_EXPIRED, [])
    with pytest.raises(hooks.HookError, match="has 0 handlers"):
        hooks.call(hooks.SESSION_EXPIRED, by=None, reason="x")


@pytest.mark.django_db
def test_the_session_hook_writes_its_entry_in_the_callers_transaction(dpo):
    from audit.core.models import AuditEntry, Event

    before = AuditEntry.objects.filter(event=Event.SESSION_EXPIRED).count()
    with pytest.raises(RuntimeError), transaction.atomic():
        hooks.call(hooks.SESSION_EXPIRED, by=dpo, reason="absolute session limit reached")
        assert AuditEntry.objects.filter(event=Event.SESSION_EXPIRED).count() == before + 1
        raise RuntimeError("the caller rolls back")
    assert AuditEntry.objects.filter(event=Event.SESSION_EXPIRED).count() == before
    hooks.call(hooks.SESSION_EXPIRED, by=dpo, reason="absolute session limit reached")
    entry = AuditEntry.objects.filter(event=Event.SESSION_EXPIRED).latest("pk")
    assert entry.actor_id == dpo.pk and entry.reason == "absolute session limit reached"
