"""What the deletion certificate says about the scoping keys (issue 17, finding 5; ADR 22): what was
destroyed and when, what still remains where and until when, and why it cannot be unwrapped; the
key store's secret deleted only once the purge commits; the key table vacuumed after it, or the
reason it was not; and the commands that destroy keys, vacuum the table and rotate the master
secrets."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import reverse

from audit.core.models import AuditEntry
from pseudonymisation import keys
from pseudonymisation.errors import ScopeSecretMissing
from pseudonymisation.key_store import key_store
from pseudonymisation.models import DataKey, Purpose
from pseudonymisation.tokens import TokenKind, TokenMaker
from sharing.models_scoping import DeletionCertificate
from sharing.scoping_purge import certificate_digest, end_scoping, end_scoping_at_deadlines
from tests.conftest import sign_in_verified
from tests.sharing.test_end_of_scoping import scoping_data

pytestmark = pytest.mark.django_db
PURGED_AT = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)


def token_scope(programme) -> keys.KeyScope:
    return keys.KeyScope(programme.pk, "scoping", Purpose.TOKEN)


def wrapped(scope: keys.KeyScope) -> bytes:
    return bytes(DataKey.objects.get(programme_id=scope.programme_id, phase=scope.phase, purpose=scope.purpose)
                 .wrapped_key)


@override_settings(PORTAL_DATABASE_BACKUP_DAYS=30, PORTAL_KEY_STORE_BACKUP_DAYS=14)
def test_the_certificate_states_what_was_destroyed_and_what_remains_where(programme, trust_lead, pause_lead, caldicott,
                                                                         django_capture_on_commit_callbacks):
    scoping_data(programme, trust_lead, pause_lead, caldicott, women=1)
    scope = token_scope(programme)
    copied = wrapped(scope)  # as a backup of the main database keeps it
    with time_machine.travel(PURGED_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        as_committed = end_scoping(programme, by=caldicott, trigger="phase change #2")
        [pending] = as_committed.keys_destroyed
        assert pending["scope_secret_deleted_at"] is None
        assert pending["remains"].startswith("The scope's secret is still in the key store: it is deleted once the "
                                             "purge commits.")
    certificate = DeletionCertificate.objects.get()
    [entry] = certificate.keys_destroyed
    assert entry["scope"] == f"{programme.pk}/scoping/token" and entry["versions"] == 1
    assert entry["wrapped_key_deleted_at"] == "2027-03-01T10:00:00+00:00"
    assert entry["scope_secret_deleted_at"] == "2027-03-01T10:00:00+00:00"
    assert (entry["database_backups_kept_days"], entry["key_store_backups_kept_days"]) == (30, 14)
    assert entry["remains"].startswith(
        "Wrapped key bytes may remain in the WAL and backups of the main database until 2027-03-31 (its backups are "
        "kept 30 days); they cannot be unwrapped, because the scope's secret was deleted from the key store at "
        "2027-03-01T10:00:00+00:00. The key store's backups are kept 14 days: one may hold that secret until "
        "2027-03-15, when the destruction is complete.")
    # In the test's transaction the vacuum cannot run, and the certificate says so rather than pretend.
    assert entry["dead_rows"]["done"] is False
    assert entry["remains"].endswith(
        "The key table's dead row versions were not vacuumed (it was asked for inside a transaction, where it cannot "
        "run): they stay in its file until it is, bound by the same secrets as the copies above.")
    assert entry["master_only_copies_until"] is None and "master secret PORTAL_TOKEN_SECRET alone" not in entry["remains"]
    assert certificate.digest == certificate_digest(certificate)
    # What it says is true: the copy does not unwrap, with every master secret configured.
    with pytest.raises(ScopeSecretMissing):
        keys.unwrap(scope, 1, copied)
    finished = AuditEntry.objects.filter(reason__startswith="scoping keys:").get()
    assert finished.reason == (f"scoping keys: secrets deleted from the key store for {programme.pk}/scoping/token; "
                               "key table not vacuumed (it was asked for inside a transaction, where it cannot run)")


def test_a_purge_that_rolls_back_keeps_the_scoping_key_and_its_secret(programme, trust_lead, pause_lead, caldicott,
                                                                      django_capture_on_commit_callbacks):
    made = scoping_data(programme, trust_lead, pause_lead, caldicott, women=1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            end_scoping(programme, by=caldicott, trigger="phase change #3")
            raise RuntimeError("the phase change failed after the purge")
    assert callbacks == [] and not DeletionCertificate.objects.exists()
    assert key_store().read(token_scope(programme).label()) is not None
    token = TokenMaker(keys.Keyring.load(token_scope(programme))).make(TokenKind.WOMAN, "W-0")
    assert made["maker"].resolve(token, ["W-0"]) == "W-0"


def test_a_crash_after_the_commit_is_finished_by_the_next_periodic_run(programme, trust_lead, pause_lead, caldicott):
    scoping_data(programme, trust_lead, pause_lead, caldicott, women=1)
    scope = token_scope(programme)
    copied = wrapped(scope)
    end_scoping(programme, by=caldicott, trigger="phase change #4")  # its after-commit step never runs here
    [pending] = DeletionCertificate.objects.get().keys_destroyed
    assert pending["scope_secret_deleted_at"] is None and key_store().read(scope.label()) is not None
    end_scoping_at_deadlines()
    certificate = DeletionCertificate.objects.get()
    [entry] = certificate.keys_destroyed
    assert entry["scope_secret_deleted_at"] is not None and "cannot be unwrapped" in entry["remains"]
    assert certificate.digest == certificate_digest(certificate)
    with pytest.raises(ScopeSecretMissing):
        keys.unwrap(scope, 1, copied)
    end_scoping_at_deadlines()  # nothing new: the certificate is not rewritten again
    assert AuditEntry.objects.filter(reason__startswith="scoping keys:").count() == 1


def test_the_certificate_page_shows_what_remains(client, programme, trust_lead, pause_lead, caldicott, dpo,
                                                 django_capture_on_commit_callbacks):
    scoping_data(programme, trust_lead, pause_lead, caldicott, women=1)
    with django_capture_on_commit_callbacks(execute=True):
        end_scoping(programme, by=caldicott, trigger="phase change #5")
    [entry] = DeletionCertificate.objects.get().keys_destroyed
    page = sign_in_verified(Client(), dpo).get(reverse("scoping-report:certificate")).content.decode()
    assert "Matches" in page
    assert "they cannot be unwrapped, because the scope&#x27;s secret was deleted from the key store at " \
           f"{entry['scope_secret_deleted_at']}" in page


@pytest.mark.django_db(transaction=True)
def test_after_a_real_commit_the_key_table_is_vacuumed_and_the_certificate_says_so(programme, trust_lead, pause_lead,
                                                                                  caldicott):
    scoping_data(programme, trust_lead, pause_lead, caldicott, women=1)
    end_scoping(programme, by=caldicott, trigger="phase change #6")
    certificate = DeletionCertificate.objects.get()
    [entry] = certificate.keys_destroyed
    assert entry["dead_rows"]["done"] is True, entry["dead_rows"]
    how = "VACUUM FULL pseudonymisation_datakey" if connection.vendor == "postgresql" else "VACUUM"
    assert entry["dead_rows"]["how"].startswith(how)
    assert f"The key table's dead row versions were removed from its file ({entry['dead_rows']['how']}) at " \
           f"{entry['dead_rows']['at']}." in entry["remains"]
    assert entry["scope_secret_deleted_at"] is not None and certificate.digest == certificate_digest(certificate)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_when_the_application_role_purges_the_owner_vacuums_later_and_the_certificate_is_completed(
        programme, trust_lead, pause_lead, caldicott):
    from audit.core.db_roles import apply_grants
    from tests.pseudonymisation.test_key_table_file import APP_ROLE, table_file

    scoping_data(programme, trust_lead, pause_lead, caldicott, women=1)
    doomed = wrapped(token_scope(programme))
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
        if not cursor.fetchone():
            cursor.execute(f"CREATE ROLE {APP_ROLE} NOLOGIN")
        apply_grants(cursor, APP_ROLE)
        cursor.execute(f"SET ROLE {APP_ROLE}")  # as web, worker and beat run in production
    try:
        end_scoping(programme, by=caldicott, trigger="phase change #7")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    [entry] = DeletionCertificate.objects.get().keys_destroyed
    assert entry["dead_rows"]["done"] is False
    assert entry["dead_rows"]["why_not"].startswith(f"the database user {APP_ROLE} is not the owner of "
                                                    "pseudonymisation_datakey")
    assert entry["scope_secret_deleted_at"] is not None
    assert doomed in table_file()  # still in the file, as the certificate says, and useless
    with pytest.raises(ScopeSecretMissing):
        keys.unwrap(token_scope(programme), 1, doomed)

    call_command("vacuum_key_table", stdout=io.StringIO())  # as the owner (the test's superuser)
    certificate = DeletionCertificate.objects.get()
    [entry] = certificate.keys_destroyed
    assert entry["dead_rows"]["done"] is True and doomed not in table_file()
    assert "were removed from its file (VACUUM FULL pseudonymisation_datakey)" in entry["remains"]
    assert certificate.digest == certificate_digest(certificate)
    assert AuditEntry.objects.filter(reason="key table vacuumed (VACUUM FULL pseudonymisation_datakey); "
                                            "certificates completed: 1").exists()


# --- the commands ----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_destroy_data_keys_deletes_the_secret_after_the_commit_and_vacuums(capsys):
    scope = keys.KeyScope(71, "scoping", Purpose.TOKEN)
    keys.Keyring.load(scope)
    copied = wrapped(scope)
    with pytest.raises(CommandError, match="--yes-destroy"):
        call_command("destroy_data_keys", "--programme", "71", "--phase", "scoping", "--purpose", "token")
    call_command("destroy_data_keys", "--programme", "71", "--phase", "scoping", "--purpose", "token", "--yes-destroy")
    out = capsys.readouterr().out
    assert "71/scoping/token: 1 key version(s) destroyed." in out
    assert "71/scoping/token: its secret deleted from the key store at " in out and "key table vacuumed" in out
    assert "kept 35 days" in out
    with pytest.raises(ScopeSecretMissing):
        keys.unwrap(scope, 1, copied)
    assert AuditEntry.objects.filter(reason__startswith="data key 71/scoping/token: its secret deleted").exists()


def test_destroy_data_keys_inside_a_transaction_says_the_rest_waits_for_the_commit(capsys):
    scope = keys.KeyScope(72, "scoping", Purpose.TOKEN)
    keys.Keyring.load(scope)
    call_command("destroy_data_keys", "--programme", "72", "--phase", "scoping", "--purpose", "token", "--yes-destroy")
    assert "once the enclosing transaction commits" in capsys.readouterr().out
    assert key_store().read(scope.label()) is not None


def test_rotate_master_secrets_reads_the_new_secrets_from_files_and_rewraps(monkeypatch, tmp_path, capsys, settings):
    scope = keys.KeyScope(73, "delivery", Purpose.TOKEN)
    key = keys.Keyring.load(scope).key()
    with pytest.raises(CommandError, match="PORTAL_NEW_TOKEN_SECRET"):
        call_command("rotate_master_secrets")
    new_secret = tmp_path / "portal_token_secret.new"
    new_secret.write_text("r" * 48 + "\n")
    monkeypatch.setenv("PORTAL_NEW_TOKEN_SECRET_FILE", str(new_secret))
    call_command("rotate_master_secrets")
    assert "PORTAL_TOKEN_SECRET: 1 live key version(s) re-wrapped." in capsys.readouterr().out
    settings.PORTAL_SECRETS = {**settings.PORTAL_SECRETS, "PORTAL_TOKEN_SECRET": "r" * 48}
    assert keys.Keyring.load(scope).key() == key
    assert AuditEntry.objects.filter(reason="master secrets rotated: PORTAL_TOKEN_SECRET: 1 live key version(s) "
                                            "re-wrapped").exists()


# --- keys wrapped before per-scope secrets ---------------------------------------------------
def test_copies_wrapped_under_the_master_secret_alone_are_admitted_until_it_is_rotated(
        programme, other_programme, trust_lead, pause_lead, caldicott, django_capture_on_commit_callbacks):
    from pseudonymisation import custody
    from tests.conftest import _member
    from tests.pseudonymisation.test_key_destruction import make_key_before_adr_22

    make_key_before_adr_22(token_scope(programme))  # the scoping key as the portal made it before ADR 22
    scoping_data(programme, trust_lead, pause_lead, caldicott, women=1)  # its first use re-wraps it
    with django_capture_on_commit_callbacks(execute=True):
        end_scoping(programme, by=caldicott, trigger="phase change #8")
    [entry] = DeletionCertificate.objects.get(programme=programme).keys_destroyed
    assert entry["master_only_copies_until"] is not None and entry["scope_secret_deleted_at"] is not None
    assert (f"Copies wrapped before {entry['master_only_copies_until']} under the master secret PORTAL_TOKEN_SECRET "
            "alone may remain there too: they unwrap with PORTAL_TOKEN_SECRET until it is rotated (manage.py "
            "rotate_master_secrets) and the old secret destroyed.") in entry["remains"]

    make_key_before_adr_22(token_scope(other_programme))
    lead, their_pause, their_caldicott = (_member(other_programme, r) for r in
                                          ("trust_lead", "pause_lead", "caldicott_guardian"))
    keys.Keyring.load(token_scope(other_programme))  # re-wrapped on first use
    custody.rotate_master_secrets({Purpose.TOKEN: "q" * 48})
    rotated = {**django_settings.PORTAL_SECRETS, "PORTAL_TOKEN_SECRET": "q" * 48}
    with override_settings(PORTAL_SECRETS=rotated), django_capture_on_commit_callbacks(execute=True):
        scoping_data(other_programme, lead, their_pause, their_caldicott, women=1)
        end_scoping(other_programme, by=their_caldicott, trigger="phase change #9")
    [entry] = DeletionCertificate.objects.get(programme=other_programme).keys_destroyed
    assert "PORTAL_TOKEN_SECRET was replaced at " in entry["remains"]
    assert "so they unwrap only with the old secret, which must be destroyed with its backups." in entry["remains"]
