"""Key custody: envelope keys.

Master secrets (one per purpose) come only from settings.PORTAL_SECRETS, which reads the
environment or mounted files. Each programme x phase x purpose has random 256-bit data keys,
stored only wrapped: AES-GCM under a key-encryption key derived from the purpose's master secret
(HKDF-SHA256), with the scope and version bound in as associated data, so a wrapped key copied
to another scope will not unwrap.

A `Keyring` holds the unwrapped keys of one scope for one piece of work (a request, an import):
there is deliberately no process-wide cache, so a destroyed key stops working for every new
piece of work at once, in every process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from pseudonymisation.errors import KeyDestroyed, KeyUnavailable, MasterSecretMissing
from pseudonymisation.models import DataKey, Purpose

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


def _kek(purpose: Purpose) -> bytes:
    name = MASTER_SECRET_OF[Purpose(purpose)]
    secret = getattr(settings, "PORTAL_SECRETS", {}).get(name)
    if not secret:
        raise MasterSecretMissing(f"The master secret {name} is not configured: keys for {purpose} cannot be used.")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"pause-portal kek {purpose}".encode()).derive(
        secret.encode()
    )


def _aad(scope: KeyScope, version: int) -> bytes:
    return f"data-key|{scope.label()}|v{version}".encode()


def wrap(scope: KeyScope, version: int, key: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(_kek(scope.purpose)).encrypt(nonce, key, _aad(scope, version))


def unwrap(scope: KeyScope, version: int, wrapped: bytes) -> bytes:
    try:
        return AESGCM(_kek(scope.purpose)).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _aad(scope, version))
    except InvalidTag as exc:
        raise KeyUnavailable(
            f"The data key {scope.label()} v{version} does not unwrap: wrong master secret, or a key row "
            "copied from another scope."
        ) from exc


def _rows(scope: KeyScope):
    return DataKey.objects.filter(programme_id=scope.programme_id, phase=scope.phase, purpose=scope.purpose)


def create_key(scope: KeyScope) -> int:
    """A new current version for the scope (the first, or a rotation). Returns its version."""
    with transaction.atomic():
        rows = _rows(scope).select_for_update()
        latest = rows.order_by("-version").first()
        version = (latest.version + 1) if latest else 1
        rows.filter(retired_at__isnull=True, destroyed_at__isnull=True).update(retired_at=timezone.now())
        DataKey.objects.create(
            programme_id=scope.programme_id, phase=scope.phase, purpose=scope.purpose, version=version,
            wrapped_key=wrap(scope, version, os.urandom(KEY_BYTES)),
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
    """Delete every wrapped copy of the scope's keys (scoping ends). Irreversible: afterwards, even
    with every master secret, its tokens can be neither made nor resolved and its ciphertexts not
    read. Backups keep the wrapped keys until they expire. Returns how many versions were destroyed."""
    now = timezone.now()
    return _rows(scope).filter(destroyed_at__isnull=True).update(wrapped_key=None, destroyed_at=now, retired_at=now)


@dataclass
class Keyring:
    """The unwrapped keys of one scope, for one piece of work. Load, use, drop."""

    scope: KeyScope
    current: int
    _keys: dict[int, bytes] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, scope: KeyScope, *, create: bool = True) -> Keyring:
        version = current_version(scope, create=create)
        keys = {
            row.version: unwrap(scope, row.version, bytes(row.wrapped_key))
            for row in _rows(scope).filter(destroyed_at__isnull=True)
        }
        return cls(scope=scope, current=version, _keys=keys)

    def key(self, version: int | None = None) -> bytes:
        version = self.current if version is None else version
        try:
            return self._keys[version]
        except KeyError:
            if _rows(self.scope).filter(version=version, destroyed_at__isnull=False).exists():
                raise KeyDestroyed(f"Key {self.scope.label()} v{version} was destroyed.") from None
            raise KeyUnavailable(f"There is no key {self.scope.label()} v{version}.") from None
