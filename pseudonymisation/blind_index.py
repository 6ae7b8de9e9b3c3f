"""Blind indexes: a keyed HMAC of a normalised value, for exact-match search and matching
without decryption. Stored as ``v<version>:<hex>`` so the key version sits beside the value.

Normalisers decide what counts as "the same": the Trust person id (canonical form), the NHS
number (its 10 digits), the surname alone (for search by exact surname) and surname + date of
birth (for duplicate-person proposals, and a narrower search).
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from datetime import date
from enum import StrEnum

from pseudonymisation.keys import Keyring
from pseudonymisation.tokens import canonical_person_id

DIGEST_BYTES = 16  # 128 bits: no collisions at any Trust's scale, half the storage of SHA-256


class IndexKind(StrEnum):
    PERSON_ID = "person_id"
    NHS_NUMBER = "nhs_number"
    SURNAME = "surname"
    SURNAME_DOB = "surname_dob"


def normalise_nhs_number(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value or "")
    if not re.fullmatch(r"\d{10}", digits):
        raise ValueError("An NHS number has 10 digits.")
    return digits


def normalise_surname(value: str) -> str:
    """Case, accents, spaces, hyphens and apostrophes do not make a different surname:
    "O'Brien", "OBRIEN" and "o brien" match; "Siân" and "Sian" match."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    letters = "".join(c for c in decomposed if c.isalpha() and not unicodedata.combining(c))
    if not letters:
        raise ValueError("A surname needs at least one letter.")
    return letters.upper()


def normalise(kind: IndexKind, value) -> str:
    if kind == IndexKind.PERSON_ID:
        return canonical_person_id(value)
    if kind == IndexKind.NHS_NUMBER:
        return normalise_nhs_number(value)
    if kind == IndexKind.SURNAME:
        return normalise_surname(value)
    surname, dob = value
    if not isinstance(dob, date):
        raise TypeError("The date of birth for a surname + date of birth index is a date.")
    return f"{normalise_surname(surname)}|{dob.isoformat()}"


class BlindIndexer:
    def __init__(self, keyring: Keyring):
        self.keyring = keyring
        self.version = keyring.current
        self._key = keyring.key()

    def index(self, kind: IndexKind, value, *, version: int | None = None) -> str:
        key = self._key if version is None else self.keyring.key(version)
        digest = hmac.digest(key, f"{kind.value}|{normalise(kind, value)}".encode(), "sha256")[:DIGEST_BYTES]
        return f"v{self.version if version is None else version}:{digest.hex()}"

    def search_terms(self, kind: IndexKind, value) -> list[str]:
        """Every live version's index of the value: search matches rows not yet re-indexed too."""
        return [self.index(kind, value, version=v) for v in sorted(self.keyring._keys)]
