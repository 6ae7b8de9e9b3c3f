"""The `audit_owner` alias (PORTAL_AUDIT_OWNER_DATABASE_URL) for the audit trail's purge, in tests.

- `own_connection(user)`: a connection of its own to the test database logging in as `user`, as
  the setting makes it (for tests with `transaction=True`: it sees only what is committed). Its
  wrapper is named apart from the alias, so Django's test case lets it connect.
- `the_tests_connection()`: the alias answered by the test's own connection (the suite's user owns
  the tables), so a test inside one transaction can run the PostgreSQL path.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connections

from audit.core.retention import OWNER_ALIAS


@contextmanager
def as_alias(alias: str, settings_dict: dict, wrapper):
    """`alias` answered by `wrapper` for the block, as a setting naming it would make it."""
    connections.settings[alias] = settings_dict
    connections[alias] = wrapper
    try:
        yield wrapper
    finally:
        del connections[alias]
        del connections.settings[alias]


@contextmanager
def own_connection(user: str):
    default = connections["default"]
    settings_dict = {**default.settings_dict, "USER": user,
                     "PASSWORD": default.settings_dict["PASSWORD"] if user == default.settings_dict["USER"] else ""}
    wrapper = type(default)(settings_dict, alias=f"{OWNER_ALIAS}_in_a_test")
    try:
        with as_alias(OWNER_ALIAS, settings_dict, wrapper):
            yield wrapper
    finally:
        wrapper.close()


@contextmanager
def the_tests_connection():
    default = connections["default"]
    with as_alias(OWNER_ALIAS, default.settings_dict, default):
        yield default
