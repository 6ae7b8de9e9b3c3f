"""Model fields and the abstract base for records whose direct identifiers are protected at rest.

A model of another app subclasses `ProtectedModel`, declares its direct identifiers as
`EncryptedField`s and its search keys as `BlindIndexField`s, and says which key scope it uses.
The data classification drives this: a system check (pseudonymisation.checks) fails when a field
classified "direct identifier" on a protected model is not encrypted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db import models

from pseudonymisation.blind_index import BlindIndexer, IndexKind
from pseudonymisation.encryption import FieldCipher, binding
from pseudonymisation.keys import Keyring, KeyScope
from pseudonymisation.models import Purpose


class EncryptedField(models.BinaryField):
    """Holds FieldCipher output (never plaintext). Set and read through ProtectedModel."""

    description = "AES-GCM ciphertext bound to its row and field"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("null", True)
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)


class BlindIndexField(models.CharField):
    """A keyed HMAC of the normalised value of `source` (one field, or several in order)."""

    description = "blind index (keyed HMAC of a normalised value)"

    def __init__(self, *args, source: str | Sequence[str] = "", kind: str = "", **kwargs):
        self.source = (source,) if isinstance(source, str) else tuple(source)
        self.kind = IndexKind(kind) if kind else None
        kwargs.setdefault("max_length", 48)
        kwargs.setdefault("null", True)
        kwargs.setdefault("db_index", True)
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = list(self.source)
        kwargs["kind"] = str(self.kind)
        return name, path, args, kwargs


def encrypted_fields(model) -> list[EncryptedField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedField)]


def blind_index_fields(model) -> list[BlindIndexField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, BlindIndexField)]


@dataclass
class Protector:
    """A scope's cipher and blind indexer, for one piece of work."""

    cipher: FieldCipher
    indexer: BlindIndexer

    @classmethod
    def load(cls, programme_id: int, phase: str, *, create: bool = True) -> Protector:
        return cls(
            cipher=FieldCipher(Keyring.load(KeyScope(programme_id, phase, Purpose.ENCRYPTION), create=create)),
            indexer=BlindIndexer(Keyring.load(KeyScope(programme_id, phase, Purpose.BLIND_INDEX), create=create)),
        )


def _as_text(value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


class ProtectedModel(models.Model):
    """Records with encrypted direct identifiers. Subclasses set `key_phase` (e.g. "trust") and
    have a `programme_id`."""

    row_uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    key_phase = "trust"

    class Meta:
        abstract = True

    def _aad(self, field: str) -> bytes:
        return binding(self._meta.label_lower, field, str(self.row_uid))

    def protect(self, protector: Protector, **values) -> None:
        """Encrypt the given direct identifiers into their fields, and refresh the blind indexes
        that read them. Values may be text or dates; None clears the field."""
        names = {f.name for f in encrypted_fields(type(self))}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"Not encrypted fields of {self._meta.label}: {', '.join(sorted(unknown))}.")
        for name, value in values.items():
            setattr(self, name, None if value in (None, "") else protector.cipher.encrypt(_as_text(value), self._aad(name)))
        self._refresh_indexes(protector, values, touched=set(values))

    def reveal(self, protector: Protector, field: str) -> str | None:
        ciphertext = getattr(self, field)
        return None if ciphertext is None else protector.cipher.decrypt(ciphertext, self._aad(field))

    def _refresh_indexes(self, protector: Protector, plain: dict, touched: set[str]) -> None:
        for field in blind_index_fields(type(self)):
            if not touched & set(field.source):
                continue
            parts = [plain[s] if s in plain else self.reveal(protector, s) for s in field.source]
            if any(p in (None, "") for p in parts):
                setattr(self, field.attname, None)
                continue
            if field.kind == IndexKind.SURNAME_DOB:
                surname, dob = parts
                value = (surname, dob if isinstance(dob, date) else date.fromisoformat(dob))
            else:
                value = parts[0]
            try:
                setattr(self, field.attname, protector.indexer.index(field.kind, value))
            except ValueError:
                setattr(self, field.attname, None)  # not indexable (e.g. an NHS number of 9 digits)

    def reencrypt(self, protector: Protector) -> list[str]:
        """Move this row's ciphertexts and indexes onto the current key versions. Returns the
        fields changed."""
        changed, plain = [], {}
        for field in encrypted_fields(type(self)):
            ciphertext = getattr(self, field.attname)
            if ciphertext is not None and protector.cipher.needs_reencryption(ciphertext):
                plain[field.name] = self.reveal(protector, field.name)
                setattr(self, field.attname, protector.cipher.encrypt(plain[field.name], self._aad(field.name)))
                changed.append(field.name)
        stale = {
            s for f in blind_index_fields(type(self))
            if (getattr(self, f.attname) or "").split(":")[0] not in ("", f"v{protector.indexer.version}")
            for s in f.source
        }
        if stale:
            plain.update({s: self.reveal(protector, s) for s in stale if s not in plain})
            before = {f.attname: getattr(self, f.attname) for f in blind_index_fields(type(self))}
            self._refresh_indexes(protector, plain, touched=stale)
            changed += [a for a, v in before.items() if getattr(self, a) != v]
        return changed
