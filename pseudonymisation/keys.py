"""Key custody: envelope keys (ADR 6, ADR 22).

Master secrets (one per purpose) come only from settings.PORTAL_SECRETS, which reads the
environment or mounted files. Each programme x phase x purpose (a key scope) has random 256-bit
data keys, stored only wrapped: AES-GCM under a key-encryption key derived (HKDF-SHA256) from the
purpose's master secret and the scope's own secret in the key store (`key_store`, outside the
database), with the scope and version bound in as associated data, so a wrapped key copied to
another scope will not unwrap.

Destroying a scope tombstones its rows (the wrapped bytes set to NULL) and, once that commits,
deletes the scope's secret from the key store: every copy of the wrapped keys the database cannot
forget (dead row versions in the table's file, WAL, backups) stops unwrapping, even with every
master secret. Deleting the secret before the commit would kill the keys of a purge that then
rolls back; a crash between the two is mended by `forget_destroyed_scope_secrets`.

Keys made before ADR 22 were wrapped under the master secret alone (`Wrapping.MASTER_ONLY`):
migration 0003 re-wraps them, and `Keyring.load` re-wraps any it still meets, both recorded in
`KeyCustodyRecord`.

A `Keyring` holds the unwrapped keys of one scope for one piece of work (a request, an import):
there is deliberately no process-wide cache, so a destroyed key stops working for every new
piece of work at once, in every process.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from pseudonymisation.errors import (
    KeyDestroyed,
    KeyUnavailable,
    MasterSecretMissing,
    ScopeSecretMissing,
)
from pseudonymisation.key_store import key_store
from pseudonymisation.models import CustodyEvent, DataKey, KeyCustodyRecord, Purpose, Wrapping

logger = logging.getLogger(__name__)

MASTER_SECRET_OF = {
    Purpose.TOKEN: "PORTAL_TOKEN_SECRET",
    Purpose.ENCRYPTION: "PORTAL_ENCRYPTION_SECRET",
    Purpose.BLIND_INDEX: "PORTAL_BLIND_INDEX_SECRET",
}
KEY_BYTES = 32
NONCE_BYTES = 12


@dataclass(frozen=True)
class KeyScope:
    """Whose data a key protects: a programme, a phase (or another named period such as "trust"
    for the Trust's own records), and a purpose."""

    programme_id: int
    phase: str
    purpose: Purpose

    def label(self) -> str:
        return f"{self.programme_id}/{self.phase}/{self.purpose}"

    @classmethod
    def from_label(cls, label: str) -> KeyScope:
        programme_id, phase, purpose = label.split("/")
        return cls(int(programme_id), phase, Purpose(purpose))


# --- wrapping ------------------------------------------------------------------------------
def master_secret(purpose: Purpose, secrets: dict[str, str] | None = None) -> bytes:
    """The purpose's master secret, from `secrets` (a rotation's new ones) or the settings."""
    name = MASTER_SECRET_OF[Purpose(purpose)]
    source = getattr(settings, "PORTAL_SECRETS", {}) if secrets is None else secrets
    secret = source.get(name)
    if not secret:
        raise MasterSecretMissing(f"The master secret {name} is not configured: keys for {purpose} cannot be used.")
    return secret.encode()


def scope_secret(scope: KeyScope, *, create: bool = False) -> bytes:
    store = key_store()
    secret = store.get_or_create(scope.label()) if create else store.read(scope.label())
    if secret is None:
        raise ScopeSecretMissing(
            f"The key store ({store.folder}) holds no secret for {scope.label()}: it was deleted when the "
            "scope's keys were destroyed, or this is not the key store the keys were made with. Its wrapped "
            "keys do not unwrap.")
    return secret


def _legacy_kek(purpose: Purpose, master: bytes) -> bytes:
    """Before ADR 22: the master secret alone."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"pause-portal kek {purpose}".encode()).derive(
        master)


def _scope_kek(scope: KeyScope, master: bytes, secret: bytes) -> bytes:
    # The scope's secret has a fixed length, so the concatenation is unambiguous.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"pause-portal kek v2|{scope.label()}".encode()).derive(secret + master)


def _aad(scope: KeyScope, version: int) -> bytes:
    return f"data-key|{scope.label()}|v{version}".encode()


def _seal(kek: bytes, scope: KeyScope, version: int, key: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, key, _aad(scope, version))


def _open(kek: bytes, scope: KeyScope, version: int, wrapped: bytes) -> bytes:
    try:
        return AESGCM(kek).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _aad(scope, version))
    except InvalidTag as exc:
        raise KeyUnavailable(
            f"The data key {scope.label()} v{version} does not unwrap: wrong master secret or scope secret, or a "
            "key row copied from another scope."
        ) from exc


def wrap(scope: KeyScope, version: int, key: bytes, *, secrets: dict[str, str] | None = None) -> bytes:
    """Wrap under the purpose's master secret (the settings', or `secrets`) and the scope's secret,
    which must already be in the key store."""
    return _seal(_scope_kek(scope, master_secret(scope.purpose, secrets), scope_secret(scope)), scope, version, key)


def unwrap(scope: KeyScope, version: int, wrapped: bytes, *, wrapping: int = Wrapping.MASTER_AND_SCOPE_SECRET,
           secrets: dict[str, str] | None = None) -> bytes:
    """The data key, or a loud error: no master secret, no scope secret (destroyed), or no match."""
    master = master_secret(scope.purpose, secrets)
    if wrapping == Wrapping.MASTER_ONLY:
        return _open(_legacy_kek(scope.purpose, master), scope, version, wrapped)
    return _open(_scope_kek(scope, master, scope_secret(scope)), scope, version, wrapped)


# --- the life of a scope's keys -------------------------------------------------------------
def _rows(scope: KeyScope, model=DataKey):
    return model.objects.filter(programme_id=scope.programme_id, phase=scope.phase, purpose=scope.purpose)


def create_key(scope: KeyScope) -> int:
    """A new current version for the scope (the first, or a rotation). Returns its version."""
    with transaction.atomic():
        rows = _rows(scope).select_for_update()
        if rows.filter(destroyed_at__isnull=False).exists():  # destroyed while we waited for the lock
            raise KeyDestroyed(f"The keys of {scope.label()} were destroyed: the scope cannot be given new keys.")
        latest = rows.order_by("-version").first()
        version = (latest.version + 1) if latest else 1
        rows.filter(retired_at__isnull=True, destroyed_at__isnull=True).update(retired_at=timezone.now())
        scope_secret(scope, create=True)
        DataKey.objects.create(
            programme_id=scope.programme_id, phase=scope.phase, purpose=scope.purpose, version=version,
            wrapped_key=wrap(scope, version, os.urandom(KEY_BYTES)), wrapping=Wrapping.MASTER_AND_SCOPE_SECRET,
        )
    return version


def current_version(scope: KeyScope, *, create: bool = True) -> int:
    row = _rows(scope).filter(retired_at__isnull=True, destroyed_at__isnull=True).first()
    if row is not None:
        return row.version
    if _rows(scope).filter(destroyed_at__isnull=False).exists():
        raise KeyDestroyed(f"The keys of {scope.label()} were destroyed: nothing can be made or read with them.")
    if not create:
        raise KeyUnavailable(f"There is no data key for {scope.label()}.")
    try:
        return create_key(scope)
    except IntegrityError:  # another process created it at the same moment
        return current_version(scope, create=False)


def rotate(scope: KeyScope) -> int:
    """New data uses the new version at once; old versions stay readable until re-encrypted."""
    if _rows(scope).filter(destroyed_at__isnull=False).exists():
        raise KeyDestroyed(f"The keys of {scope.label()} were destroyed: the scope cannot be given new keys.")
    return create_key(scope)


def destroy(scope: KeyScope) -> int:
    """Destroy every version of the scope's keys (scoping ends). Irreversible: the wrapped copies
    in the live rows are deleted now, and once this commits the scope's secret is deleted from
    the key store, so no copy anywhere (dead rows, WAL, backups) unwraps, even with every master
    secret. Returns how many versions were destroyed."""
    now = timezone.now()
    count = _rows(scope).filter(destroyed_at__isnull=True).update(wrapped_key=None, destroyed_at=now, retired_at=now)
    transaction.on_commit(partial(forget_scope_secret, scope), robust=True)
    return count


def scope_is_destroyed(scope: KeyScope) -> bool:
    """Every version of the scope destroyed (and at least one existed), as committed."""
    rows = _rows(scope)
    return rows.filter(destroyed_at__isnull=False).exists() and not rows.filter(destroyed_at__isnull=True).exists()


def forget_scope_secret(scope: KeyScope) -> datetime | None:
    """Delete a destroyed scope's secret from the key store (idempotent) and record when. Returns
    when it was deleted, or None if the scope is not destroyed or never had a secret (its keys
    were destroyed before ADR 22). A live scope's secret is never touched."""
    if not scope_is_destroyed(scope):
        return None
    label = scope.label()
    if key_store().delete(label):
        record = KeyCustodyRecord.objects.create(event=CustodyEvent.SCOPE_SECRET_DELETED, scope=label,
                                                 purpose=scope.purpose, keys=_rows(scope).count())
        logger.warning("key scope %s: secret deleted from the key store", label)
        return record.at
    earlier = KeyCustodyRecord.objects.filter(event=CustodyEvent.SCOPE_SECRET_DELETED, scope=label).order_by("at").first()
    return earlier.at if earlier else None


def forget_destroyed_scope_secrets() -> list[str]:
    """Delete the secret of every destroyed scope still in the key store (a crash between a
    destruction's commit and its deletion leaves one). Returns their labels."""
    forgotten = []
    for label in key_store().labels():
        scope = KeyScope.from_label(label)
        if scope_is_destroyed(scope) and forget_scope_secret(scope) is not None:
            forgotten.append(label)
    return forgotten


def rewrap_legacy_keys(*, scope: KeyScope | None = None, data_key_model=DataKey,
                       record_model=KeyCustodyRecord) -> int:
    """Re-wrap live keys still wrapped under the master secret alone (made before ADR 22) under
    the master secret and their scope's secret, each checked to unwrap to the same key, in one
    transaction, and record it per scope. (Migration 0003 passes its historical models.) Copies
    of the old wrapped bytes (dead rows, WAL, backups) unwrap with the master secret until it is
    rotated: `KeyCustodyRecord` keeps that fact for the deletion certificate."""
    done: Counter[KeyScope] = Counter()
    with transaction.atomic():
        rows = data_key_model.objects.select_for_update().filter(wrapping=Wrapping.MASTER_ONLY, destroyed_at__isnull=True)
        if scope is not None:
            rows = rows.filter(programme_id=scope.programme_id, phase=scope.phase, purpose=scope.purpose)
        for row in rows.order_by("pk"):
            row_scope = KeyScope(row.programme_id, row.phase, Purpose(row.purpose))
            key = unwrap(row_scope, row.version, bytes(row.wrapped_key), wrapping=Wrapping.MASTER_ONLY)
            scope_secret(row_scope, create=True)
            rewrapped = wrap(row_scope, row.version, key)
            if unwrap(row_scope, row.version, rewrapped) != key:  # pragma: no cover - AES-GCM round trip
                raise KeyUnavailable(f"Re-wrapping {row_scope.label()} v{row.version} did not round-trip.")
            data_key_model.objects.filter(pk=row.pk).update(wrapped_key=rewrapped,
                                                            wrapping=Wrapping.MASTER_AND_SCOPE_SECRET)
            done[row_scope] += 1
        for row_scope, count in sorted(done.items(), key=lambda item: item[0].label()):
            record_model.objects.create(event=CustodyEvent.LEGACY_REWRAPPED, scope=row_scope.label(),
                                        purpose=row_scope.purpose, keys=count)
    return sum(done.values())


@dataclass
class Keyring:
    """The unwrapped keys of one scope, for one piece of work. Load, use, drop."""

    scope: KeyScope
    current: int
    _keys: dict[int, bytes] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, scope: KeyScope, *, create: bool = True) -> Keyring:
        version = current_version(scope, create=create)
        rows = list(_rows(scope).filter(destroyed_at__isnull=True))
        if any(row.wrapping == Wrapping.MASTER_ONLY for row in rows):
            rewrap_legacy_keys(scope=scope)  # made before ADR 22 and missed by migration 0003
            rows = list(_rows(scope).filter(destroyed_at__isnull=True))
        kek = _scope_kek(scope, master_secret(scope.purpose), scope_secret(scope))
        keys = {row.version: _open(kek, scope, row.version, bytes(row.wrapped_key)) for row in rows}
        return cls(scope=scope, current=version, _keys=keys)

    def key(self, version: int | None = None) -> bytes:
        version = self.current if version is None else version
        try:
            return self._keys[version]
        except KeyError:
            if _rows(self.scope).filter(version=version, destroyed_at__isnull=False).exists():
                raise KeyDestroyed(f"Key {self.scope.label()} v{version} was destroyed.") from None
            raise KeyUnavailable(f"There is no key {self.scope.label()} v{version}.") from None
