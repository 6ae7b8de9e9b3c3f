"""Destroying a key scope holds (issue 17, finding 5; ADR 22): once the destruction commits, the
scope's secret leaves the key store, so wrapped bytes copied before (as a dead row, the WAL or a
backup keeps them) no longer unwrap, even with every master secret. Keys wrapped before per-scope
secrets keep working and are re-wrapped, recorded; rotating the master secrets leaves every live
key working and every copy wrapped under the old ones useless."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import connection, transaction
from django.test import override_settings

from pseudonymisation import custody, keys
from pseudonymisation.errors import KeyDestroyed, KeyUnavailable, ScopeSecretMissing
from pseudonymisation.key_store import key_store
from pseudonymisation.keys import Keyring, KeyScope
from pseudonymisation.models import CustodyEvent, DataKey, KeyCustodyRecord, Purpose, Wrapping
from pseudonymisation.tokens import TokenKind, TokenMaker

pytestmark = pytest.mark.django_db
SCOPING = KeyScope(51, "scoping", Purpose.TOKEN)
DELIVERY = KeyScope(51, "delivery", Purpose.TOKEN)
TRUST = KeyScope(51, "trust", Purpose.ENCRYPTION)
IDS = [f"P{n:04d}" for n in range(20)]


def stored(scope: KeyScope, version: int = 1) -> DataKey:
    return DataKey.objects.get(programme_id=scope.programme_id, phase=scope.phase, purpose=scope.purpose,
                               version=version)


def wrapped_bytes(scope: KeyScope, version: int = 1) -> bytes:
    return bytes(stored(scope, version).wrapped_key)


def wrapped_before_adr_22(scope: KeyScope, version: int, key: bytes, master: str) -> bytes:
    """A data key wrapped as the portal did before per-scope secrets (the code at 4cc204a):
    AES-GCM under HKDF-SHA256(master secret, info "pause-portal kek <purpose>") alone."""
    kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=f"pause-portal kek {scope.purpose}".encode()).derive(master.encode())
    nonce = os.urandom(12)
    return nonce + AESGCM(kek).encrypt(nonce, key, f"data-key|{scope.label()}|v{version}".encode())


def make_key_before_adr_22(scope: KeyScope, version: int = 1, **fields) -> bytes:
    key = os.urandom(32)
    master = settings.PORTAL_SECRETS[keys.MASTER_SECRET_OF[scope.purpose]]
    DataKey.objects.create(programme_id=scope.programme_id, phase=scope.phase, purpose=scope.purpose,
                           version=version, wrapping=Wrapping.MASTER_ONLY,
                           wrapped_key=wrapped_before_adr_22(scope, version, key, master), **fields)
    return key


# --- destruction ---------------------------------------------------------------------------
def test_wrapped_bytes_copied_before_destruction_do_not_unwrap_after_it(django_capture_on_commit_callbacks):
    Keyring.load(SCOPING)
    copied = wrapped_bytes(SCOPING)  # what a dead row, the WAL or a backup keeps
    key = keys.unwrap(SCOPING, 1, copied)
    assert len(key) == 32  # the copy is the real thing while the scope lives
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            assert keys.destroy(SCOPING) == 1
            assert key_store().read(SCOPING.label()) is not None  # never before the commit
    assert key_store().read(SCOPING.label()) is None
    assert not key_store().path_of(SCOPING.label()).exists()
    with pytest.raises(ScopeSecretMissing, match="holds no secret for 51/scoping/token"):
        keys.unwrap(SCOPING, 1, copied)  # with every master secret still configured
    with pytest.raises(KeyDestroyed):
        Keyring.load(SCOPING)
    record = KeyCustodyRecord.objects.get(event=CustodyEvent.SCOPE_SECRET_DELETED)
    assert record.scope == "51/scoping/token" and record.keys == 1
    assert keys.forget_scope_secret(SCOPING) == record.at  # idempotent: the first deletion's time
    # The scope's other phases keep their secrets and their keys.
    assert TokenMaker(Keyring.load(DELIVERY)).make(TokenKind.WOMAN, "P1")


def test_a_destruction_that_rolls_back_keeps_the_scopes_secret_and_keys(django_capture_on_commit_callbacks):
    token = TokenMaker(Keyring.load(SCOPING)).make(TokenKind.WOMAN, "P0001")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            keys.destroy(SCOPING)
            raise RuntimeError("the purge failed after destroying")
    assert callbacks == []
    assert key_store().read(SCOPING.label()) is not None
    assert TokenMaker(Keyring.load(SCOPING)).resolve(token, IDS) == "P0001"


def test_a_crash_between_the_commit_and_the_deletion_is_mended_by_the_sweep():
    Keyring.load(SCOPING)
    Keyring.load(DELIVERY)
    copied = wrapped_bytes(SCOPING)
    keys.destroy(SCOPING)  # in the test's transaction: its after-commit deletion never runs, as in a crash
    assert key_store().read(SCOPING.label()) is not None
    assert keys.forget_destroyed_scope_secrets() == ["51/scoping/token"]
    with pytest.raises(ScopeSecretMissing):
        keys.unwrap(SCOPING, 1, copied)
    assert key_store().read(DELIVERY.label()) is not None  # a live scope's secret is never touched
    assert keys.forget_scope_secret(DELIVERY) is None and key_store().read(DELIVERY.label()) is not None


def test_a_destroyed_scope_is_never_given_a_new_key_or_secret():
    Keyring.load(SCOPING)
    keys.destroy(SCOPING)
    keys.forget_destroyed_scope_secrets()
    with pytest.raises(KeyDestroyed):
        keys.create_key(SCOPING)  # even called directly, past rotate()'s check
    assert key_store().read(SCOPING.label()) is None


# --- keys made before per-scope secrets ------------------------------------------------------
def test_a_key_wrapped_before_per_scope_secrets_keeps_working_and_is_rewrapped_on_first_use():
    key = make_key_before_adr_22(SCOPING)
    old_copy = wrapped_bytes(SCOPING)
    keyring = Keyring.load(SCOPING)
    assert keyring.key() == key
    row = stored(SCOPING)
    assert row.wrapping == Wrapping.MASTER_AND_SCOPE_SECRET and bytes(row.wrapped_key) != old_copy
    assert keys.unwrap(SCOPING, 1, bytes(row.wrapped_key)) == key
    record = KeyCustodyRecord.objects.get(event=CustodyEvent.LEGACY_REWRAPPED)
    assert (record.scope, record.keys) == ("51/scoping/token", 1)
    # What the certificate must admit: the old copy still unwraps with the master secret alone.
    assert keys.unwrap(SCOPING, 1, old_copy, wrapping=Wrapping.MASTER_ONLY) == key


def test_the_data_migration_rewraps_every_live_key_made_before_per_scope_secrets():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("pseudonymisation.migrations.0003_rewrap_legacy_keys")
    made = {scope: make_key_before_adr_22(scope) for scope in (SCOPING, DELIVERY)}
    made[TRUST] = make_key_before_adr_22(TRUST, retired_at="2026-01-01T00:00:00Z")
    made[(TRUST, 2)] = make_key_before_adr_22(TRUST, version=2)
    DataKey.objects.create(programme_id=52, phase="scoping", purpose="token", version=1, wrapping=Wrapping.MASTER_ONLY,
                           wrapped_key=None, destroyed_at="2026-01-01T00:00:00Z", retired_at="2026-01-01T00:00:00Z")
    migration.rewrap(apps, None)
    assert not DataKey.objects.filter(wrapping=Wrapping.MASTER_ONLY, destroyed_at__isnull=True).exists()
    assert DataKey.objects.get(programme_id=52).wrapping == Wrapping.MASTER_ONLY  # destroyed: nothing to wrap
    assert Keyring.load(SCOPING).key() == made[SCOPING] and Keyring.load(DELIVERY).key() == made[DELIVERY]
    trust = Keyring.load(TRUST)
    assert trust.key(1) == made[TRUST] and trust.key(2) == made[(TRUST, 2)] and trust.current == 2
    assert sorted(KeyCustodyRecord.objects.values_list("scope", "keys")) == [
        ("51/delivery/token", 1), ("51/scoping/token", 1), ("51/trust/encryption", 2)]
    migration.rewrap(apps, None)  # twice: nothing left to do
    assert KeyCustodyRecord.objects.count() == 3


# --- rotating the master secrets -------------------------------------------------------------
NEW_TOKEN_SECRET = "n" * 48


def test_a_master_rotation_keeps_live_keys_working_and_old_copies_useless():
    maker = TokenMaker(Keyring.load(DELIVERY))
    token = maker.make(TokenKind.WOMAN, "P0003")
    cipher_key = Keyring.load(TRUST).key()
    before = wrapped_bytes(DELIVERY)  # a copy under the old master secret, as a backup keeps it
    legacy_key = make_key_before_adr_22(SCOPING)
    legacy_copy = wrapped_bytes(SCOPING)

    assert custody.rotate_master_secrets({Purpose.TOKEN: NEW_TOKEN_SECRET}) == {Purpose.TOKEN: 2}
    rotated = {**settings.PORTAL_SECRETS, "PORTAL_TOKEN_SECRET": NEW_TOKEN_SECRET}
    with override_settings(PORTAL_SECRETS=rotated):
        assert TokenMaker(Keyring.load(DELIVERY)).resolve(token, IDS) == "P0003"  # live keys still work
        assert Keyring.load(SCOPING).key() == legacy_key
        assert Keyring.load(TRUST).key() == cipher_key  # another purpose: untouched
        with pytest.raises(KeyUnavailable, match="does not unwrap"):
            keys.unwrap(DELIVERY, 1, before)
        with pytest.raises(KeyUnavailable, match="does not unwrap"):
            keys.unwrap(SCOPING, 1, legacy_copy, wrapping=Wrapping.MASTER_ONLY)
    with pytest.raises(KeyUnavailable):  # and the portal still on the old secret reads nothing
        Keyring.load(DELIVERY)
    record = KeyCustodyRecord.objects.get(event=CustodyEvent.MASTER_ROTATED)
    assert (record.purpose, record.keys) == ("token", 2)


def test_a_master_rotation_that_cannot_read_a_live_key_changes_nothing():
    Keyring.load(DELIVERY)
    Keyring.load(KeyScope(53, "delivery", Purpose.TOKEN))
    before = {row.pk: bytes(row.wrapped_key) for row in DataKey.objects.all()}
    key_store().delete("53/delivery/token")  # a key store that lost a live scope's secret
    with pytest.raises(custody.RotationRefused, match="53/delivery/token v1: .*Nothing was changed"):
        custody.rotate_master_secrets({Purpose.TOKEN: NEW_TOKEN_SECRET})
    assert {row.pk: bytes(row.wrapped_key) for row in DataKey.objects.all()} == before
    assert not KeyCustodyRecord.objects.exists()


@pytest.mark.parametrize(("secret", "message"), [
    ("short", "shorter than 32"),
    (None, "is the current one"),
])
def test_a_master_rotation_needs_a_new_long_secret(secret, message):
    Keyring.load(DELIVERY)
    secret = secret or settings.PORTAL_SECRETS["PORTAL_TOKEN_SECRET"]
    with pytest.raises(custody.RotationRefused, match=message):
        custody.rotate_master_secrets({Purpose.TOKEN: secret})
    with pytest.raises(custody.RotationRefused, match="No new master secret"):
        custody.rotate_master_secrets({})


# --- vacuuming the key table -----------------------------------------------------------------
def test_the_vacuum_says_it_cannot_run_inside_a_transaction():
    outcome = custody.vacuum_key_table()
    assert not outcome.done and outcome.why_not == "it was asked for inside a transaction, where it cannot run"
    assert ("VACUUM FULL pseudonymisation_datakey" if connection.vendor == "postgresql" else "VACUUM") in outcome.how


@pytest.mark.django_db(transaction=True)
def test_the_vacuum_runs_outside_a_transaction():
    Keyring.load(SCOPING)
    keys.destroy(SCOPING)
    outcome = custody.vacuum_key_table()
    assert outcome.done and outcome.why_not == "", outcome


def test_a_rotation_that_meets_a_key_wrapped_under_the_master_alone_records_it_for_the_certificate():
    key = make_key_before_adr_22(SCOPING)
    custody.rotate_master_secrets({Purpose.TOKEN: NEW_TOKEN_SECRET})
    with override_settings(PORTAL_SECRETS={**settings.PORTAL_SECRETS, "PORTAL_TOKEN_SECRET": NEW_TOKEN_SECRET}):
        assert Keyring.load(SCOPING).key() == key
    keys.destroy(SCOPING)
    facts = custody.destruction_facts(SCOPING)
    assert facts["master_only_copies_until"] is not None
    assert facts["master_rotated_since"] == facts["master_only_copies_until"]  # the same rotation
