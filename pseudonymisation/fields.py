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
from functools import cache

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
    return value if type(value) is str else value.isoformat() if isinstance(value, date) else str(value)


@cache
def _layout(model) -> tuple[frozenset[str], tuple]:
    """A protected model's encrypted field names, and each blind index with its sources."""
    names = frozenset(f.name for f in encrypted_fields(model))
    return names, tuple((f, frozenset(f.source)) for f in blind_index_fields(model))


def _index_of(protector: Protector, field: BlindIndexField, parts: list) -> str | None:
    """A blind index of the parts, or None when one is missing or the value is not indexable
    (e.g. an NHS number of 9 digits)."""
    if any(p in (None, "") for p in parts):
        return None
    if field.kind == IndexKind.SURNAME_DOB:
        surname, dob = parts
        value = (surname, dob if isinstance(dob, date) else date.fromisoformat(dob))
    else:
        value = parts[0]
    try:
        return protector.indexer.index(field.kind, value)
    except ValueError:
        return None


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
        touched = set(values)
        for field in blind_index_fields(type(self)):  # a partial update reads the other sources
            for source in field.source:
                if touched & set(field.source) and source not in values:
                    values[source] = self.reveal(protector, source)
        for attname, value in type(self).protected_values(protector, self.row_uid, values, touched).items():
            setattr(self, attname, value)

    @classmethod
    def protected_values(cls, protector: Protector, row_uid, values: dict, touched: set[str] | None = None) -> dict:
        """What `protect` stores, for a row not built as a model instance (bulk loads): the
        ciphertexts of `values` (bound to `row_uid`) and the blind indexes they feed, by column
        name. Indexes read only `values`; `touched` limits which fields are encrypted."""
        names, indexes = _layout(cls)
        if not names.issuperset(values):
            unknown = set(values) - names
            raise ValueError(f"Not encrypted fields of {cls._meta.label}: {', '.join(sorted(unknown))}.")
        touched = values.keys() if touched is None else touched
        label, uid, encrypt = cls._meta.label_lower, str(row_uid), protector.cipher.encrypt
        out = {
            name: None if value is None or value == "" else encrypt(_as_text(value), binding(label, name, uid))
            for name, value in values.items() if name in touched
        }
        for field, sources in indexes:
            if not sources.isdisjoint(touched):
                out[field.attname] = _index_of(protector, field, [values.get(s) for s in field.source])
        return out

    def reveal(self, protector: Protector, field: str) -> str | None:
        ciphertext = getattr(self, field)
        return None if ciphertext is None else protector.cipher.decrypt(ciphertext, self._aad(field))

    def _refresh_indexes(self, protector: Protector, plain: dict, touched: set[str]) -> None:
        for field in blind_index_fields(type(self)):
            if touched & set(field.source):
                parts = [plain[s] if s in plain else self.reveal(protector, s) for s in field.source]
                setattr(self, field.attname, _index_of(protector, field, parts))

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
