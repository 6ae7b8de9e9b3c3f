"""On PostgreSQL, a destroyed key's wrapped bytes stay in the key table's file as a dead row version
until it is vacuumed (issue 17, finding 5). Read the file itself (pg_read_binary_file of
pg_relation_filepath, after a CHECKPOINT; the test database connects as a superuser): the bytes
are there, and they do not unwrap, because the scope's secret left the key store when the
destruction committed. VACUUM FULL then takes them out of the table's file; the application's
database role may not run it, and says so."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from pseudonymisation import custody, keys
from pseudonymisation.errors import ScopeSecretMissing
from pseudonymisation.keys import Keyring, KeyScope
from pseudonymisation.models import DataKey, Purpose

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
TABLE = DataKey._meta.db_table
DOOMED = KeyScope(61, "scoping", Purpose.TOKEN)
LIVE = KeyScope(61, "delivery", Purpose.TOKEN)
APP_ROLE = "portal_app_keys_test"


def table_file() -> bytes:
    """The key table's file as it is on disk, after every dirty page is written out."""
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
        cursor.execute("SELECT pg_read_binary_file(pg_relation_filepath(%s))", [TABLE])
        return bytes(cursor.fetchone()[0])


def wrapped(scope: KeyScope) -> bytes:
    return bytes(DataKey.objects.get(programme_id=scope.programme_id, phase=scope.phase, purpose=scope.purpose)
                 .wrapped_key)


def test_the_dead_row_in_the_table_file_does_not_unwrap_and_vacuum_full_removes_it():
    Keyring.load(DOOMED)
    Keyring.load(LIVE)
    doomed, live = wrapped(DOOMED), wrapped(LIVE)
    before = table_file()
    assert live in before and doomed in before  # the right file: both keys' bytes are in it

    with transaction.atomic():
        assert keys.destroy(DOOMED) == 1  # the secret leaves the key store when this commits
    assert wrapped(LIVE) == live
    on_disk = table_file()
    at = on_disk.find(doomed)
    assert at >= 0, "the destroyed key's wrapped bytes are still in the table's file, as a dead row version"
    from_the_file = on_disk[at:at + len(doomed)]
    with pytest.raises(ScopeSecretMissing, match="holds no secret for 61/scoping/token"):
        keys.unwrap(DOOMED, 1, from_the_file)  # every master secret is configured: not enough
    assert len(keys.unwrap(LIVE, 1, on_disk[on_disk.find(live):on_disk.find(live) + len(live)])) == 32

    outcome = custody.vacuum_key_table()
    assert outcome.done, outcome
    after = table_file()
    assert live in after and doomed not in after
    assert Keyring.load(LIVE).key() == keys.unwrap(LIVE, 1, live)


@pytest.fixture
def app_role():
    """The application's database role: its privileges on the portal's tables, not their ownership."""
    from audit.core.db_roles import apply_grants

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
        if not cursor.fetchone():
            cursor.execute(f"CREATE ROLE {APP_ROLE} NOLOGIN")
        apply_grants(cursor, APP_ROLE)
    yield APP_ROLE
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def test_the_application_role_cannot_vacuum_full_and_the_outcome_says_why(app_role):
    Keyring.load(DOOMED)
    doomed = wrapped(DOOMED)
    keys.destroy(DOOMED)  # in autocommit: committed at once, and the secret deleted
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {app_role}")
        try:
            outcome = custody.vacuum_key_table()
        finally:
            cursor.execute("RESET ROLE")
    assert not outcome.done
    assert f"the database user {app_role} is not the owner of {TABLE}" in outcome.why_not
    assert "manage.py vacuum_key_table" in outcome.why_not
    assert doomed in table_file()  # not done, as it says
    with pytest.raises(ScopeSecretMissing):
        keys.unwrap(DOOMED, 1, doomed)
