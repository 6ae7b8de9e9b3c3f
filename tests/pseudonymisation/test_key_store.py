"""The key store (ADR 22): one secret per key scope in a folder of its own, written atomically and
durably, mode 600; a scope's wrapped keys need its secret there as well as the master secret."""

from __future__ import annotations

import stat
import threading

import pytest
from django.conf import settings
from django.test import override_settings

from pseudonymisation import keys
from pseudonymisation.errors import (
    KeyStoreError,
    KeyStoreMissing,
    KeyUnavailable,
    ScopeSecretMissing,
)
from pseudonymisation.key_store import SECRET_BYTES, FolderKeyStore, key_store
from pseudonymisation.keys import Keyring, KeyScope
from pseudonymisation.models import DataKey, Purpose
from pseudonymisation.tokens import TokenKind, TokenMaker

SCOPE = KeyScope(41, "scoping", Purpose.TOKEN)


def test_a_secret_is_made_once_mode_600_in_a_folder_of_mode_700(tmp_path):
    store = FolderKeyStore(tmp_path / "store")
    secret = store.get_or_create("41/scoping/token")
    assert len(secret) == SECRET_BYTES and store.get_or_create("41/scoping/token") == secret
    path = store.path_of("41/scoping/token")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "store").stat().st_mode) == 0o700
    assert store.labels() == ["41/scoping/token"]
    assert [p.name for p in (tmp_path / "store").iterdir()] == [path.name]  # no temporary file left behind


def test_processes_making_the_same_secret_at_once_all_get_the_first(tmp_path):
    stores = [FolderKeyStore(tmp_path) for _ in range(8)]
    barrier, got = threading.Barrier(8), []

    def make(store):
        barrier.wait()
        got.append(store.get_or_create("41/delivery/encryption"))

    threads = [threading.Thread(target=make, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and len(set(got)) == 1
    assert FolderKeyStore(tmp_path).read("41/delivery/encryption") == got[0]


def test_delete_unlinks_the_secret_once(tmp_path):
    store = FolderKeyStore(tmp_path)
    store.get_or_create("41/scoping/token")
    assert store.delete("41/scoping/token") is True
    assert store.read("41/scoping/token") is None and not store.path_of("41/scoping/token").exists()
    assert store.delete("41/scoping/token") is False
    assert store.labels() == []


def test_a_damaged_secret_or_a_label_that_is_not_a_scope_is_a_loud_error(tmp_path):
    store = FolderKeyStore(tmp_path)
    store.path_of("41/scoping/token").write_text("not hex\n")
    with pytest.raises(KeyStoreError, match="damaged"):
        store.read("41/scoping/token")
    for label in ("../../etc/passwd", "41/scoping", "41/Scoping/token", "x/scoping/token"):
        with pytest.raises(KeyStoreError, match="not a key scope label"):
            store.path_of(label)


def test_no_key_store_configured_is_a_loud_error():
    with override_settings(PORTAL_KEY_STORE_DIR=""), pytest.raises(KeyStoreMissing, match="PORTAL_KEY_STORE_DIR"):
        key_store()


def test_each_test_run_has_a_key_store_of_its_own():
    assert "test-key-stores" in settings.PORTAL_KEY_STORE_DIR


@pytest.mark.django_db
def test_a_new_key_is_wrapped_under_the_master_and_the_scope_secret_which_is_not_in_the_database():
    maker = TokenMaker(Keyring.load(SCOPE))
    row = DataKey.objects.get(programme_id=41, phase="scoping", purpose="token")
    secret = key_store().read(SCOPE.label())
    assert secret is not None and row.wrapping == 2
    assert secret not in bytes(row.wrapped_key) and secret.hex().encode() not in bytes(row.wrapped_key)
    token = maker.make(TokenKind.WOMAN, "P1")
    # Without the scope's secret, the master secrets alone unwrap nothing.
    path = key_store().path_of(SCOPE.label())
    kept = path.read_bytes()
    path.unlink()
    with pytest.raises(ScopeSecretMissing, match="holds no secret for 41/scoping/token"):
        Keyring.load(SCOPE)
    path.write_bytes(kept)
    assert TokenMaker(Keyring.load(SCOPE)).make(TokenKind.WOMAN, "P1") == token


@pytest.mark.django_db
def test_another_scopes_secret_does_not_unwrap_a_key():
    Keyring.load(SCOPE)
    other = KeyScope(42, "scoping", Purpose.TOKEN)
    Keyring.load(other)
    store = key_store()
    store.path_of(SCOPE.label()).write_bytes(store.path_of(other.label()).read_bytes())
    with pytest.raises(KeyUnavailable, match="does not unwrap"):
        Keyring.load(SCOPE)


@pytest.mark.django_db
def test_a_wrapped_key_copied_to_another_scope_does_not_unwrap():
    Keyring.load(SCOPE)
    other = KeyScope(42, "scoping", Purpose.TOKEN)
    Keyring.load(other)
    wrapped = bytes(DataKey.objects.get(programme_id=41).wrapped_key)
    with pytest.raises(KeyUnavailable, match="does not unwrap"):
        keys.unwrap(other, 1, wrapped)


def test_the_deployment_checks_want_a_key_store_folder_writable_and_closed_to_others(tmp_path):
    from pseudonymisation.checks import check_key_store

    folder = tmp_path / "key-store"
    with override_settings(PORTAL_KEY_STORE_DIR=str(folder)):
        assert [w.id for w in check_key_store()] == ["pseudonymisation.W001"]
        folder.mkdir(mode=0o755)
        folder.chmod(0o755)
        assert [w.id for w in check_key_store()] == ["pseudonymisation.W003"]
        folder.chmod(0o700)
        assert check_key_store() == []
