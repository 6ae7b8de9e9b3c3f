"""Keyed tokens: HMAC-SHA256 of a canonical Trust person id, as 60 bits of Crockford base32 with
a type prefix and a check character, e.g. ``C-7KX2-9QPM-4TBD-Q``.

- Keyed with the scope's token key (programme x phase), so tokens are stable within a scope and
  unlinkable across phases and programmes; nobody without the key can make or reverse one.
- The check character is Crockford's mod-37 check symbol over the prefix and the 60 bits: 37 is
  prime and larger than the alphabet, so every single-character error and every adjacent
  transposition changes the check, and a mistyped token is rejected rather than resolved to
  someone else.
"""

from __future__ import annotations

import hmac
import unicodedata
from collections.abc import Iterable
from enum import StrEnum

from pseudonymisation.errors import InvalidToken
from pseudonymisation.keys import Keyring

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_SYMBOLS = ALPHABET + "*~$=U"
BITS = 60
_DECODE = {c: i for i, c in enumerate(ALPHABET)} | {c.lower(): i for i, c in enumerate(ALPHABET)}
_DECODE |= {"O": 0, "o": 0, "I": 1, "i": 1, "L": 1, "l": 1}  # Crockford's forgiving reads
_CHECK_DECODE = {c: i for i, c in enumerate(CHECK_SYMBOLS)} | {c.lower(): i for i, c in enumerate(CHECK_SYMBOLS)}
_CHECK_DECODE |= {"O": 0, "o": 0, "I": 1, "i": 1, "L": 1, "l": 1}
_PAIRS = [ALPHABET[i >> 5] + ALPHABET[i & 31] for i in range(1024)]  # 10 bits -> 2 characters


class TokenKind(StrEnum):
    """The prefix says what a token stands for; it is part of the HMAC input and of the check."""

    WOMAN = "W"
    CHILD = "C"


def canonical_person_id(person_id: str) -> str:
    """One spelling per id: Unicode-normalised, trimmed, upper case."""
    if not isinstance(person_id, str):
        raise TypeError("A person id is text.")
    text = person_id if person_id.isascii() else unicodedata.normalize("NFKC", person_id)
    text = text.strip().upper()
    if not text:
        raise ValueError("An empty person id cannot be tokenised.")
    return text


def _check_symbol(kind: TokenKind, value: int) -> str:
    return CHECK_SYMBOLS[((_DECODE[kind.value] << BITS) | value) % 37]


def encode(kind: TokenKind, value: int) -> str:
    p = _PAIRS
    body = (
        p[(value >> 50) & 1023] + p[(value >> 40) & 1023] + "-" + p[(value >> 30) & 1023]
        + p[(value >> 20) & 1023] + "-" + p[(value >> 10) & 1023] + p[value & 1023]
    )
    return f"{kind.value}-{body}-{_check_symbol(kind, value)}"


def decode(token: str) -> tuple[TokenKind, int]:
    """Parse and verify a token (hyphens, spaces and case are forgiven). Raises InvalidToken."""
    compact = token.replace("-", "").replace(" ", "").strip() if isinstance(token, str) else ""
    if len(compact) != 14:
        raise InvalidToken("A token has a letter, 12 characters and a check character, like C-7KX2-9QPM-4TBD-Q.")
    try:
        kind = TokenKind(compact[0].upper())
    except ValueError:
        raise InvalidToken(f"A token starts with {' or '.join(k.value for k in TokenKind)}.") from None
    value = 0
    for char in compact[1:13]:
        digit = _DECODE.get(char)
        if digit is None:
            raise InvalidToken(f"{char!r} is not a token character.")
        value = (value << 5) | digit
    check = _CHECK_DECODE.get(compact[13])
    if check is None or CHECK_SYMBOLS[check] != _check_symbol(kind, value):
        raise InvalidToken("The token's check character does not match: it was probably mistyped.")
    return kind, value


def normalise_token(token: str) -> str:
    kind, value = decode(token)
    return encode(kind, value)


class TokenMaker:
    """Makes and resolves one scope's tokens, with its keyring (load per piece of work)."""

    def __init__(self, keyring: Keyring):
        self.keyring = keyring
        self.version = keyring.current
        self._key = keyring.key()

    def _value(self, kind: TokenKind, canonical: str, key: bytes) -> int:
        digest = hmac.digest(key, f"{kind.value}|{canonical}".encode(), "sha256")
        return int.from_bytes(digest[:8], "big") >> (64 - BITS)

    def make(self, kind: TokenKind, person_id: str) -> str:
        return encode(kind, self._value(kind, canonical_person_id(person_id), self._key))

    def make_many(self, kind: TokenKind, person_ids: Iterable[str]) -> list[str]:
        """The same as make() for each id, with the per-call work hoisted out of the loop."""
        key, digest, pairs, checks = self._key, hmac.digest, _PAIRS, CHECK_SYMBOLS
        prefix = f"{kind.value}|".encode()
        head = f"{kind.value}-"
        base = (_DECODE[kind.value] << BITS) % 37
        shift = 64 - BITS
        tokens = []
        for person_id in person_ids:
            canonical = person_id.strip().upper() if person_id.isascii() else canonical_person_id(person_id)
            if not canonical:
                raise ValueError("An empty person id cannot be tokenised.")
            v = int.from_bytes(digest(key, prefix + canonical.encode(), "sha256")[:8], "big") >> shift
            tokens.append(
                head + pairs[v >> 50] + pairs[(v >> 40) & 1023] + "-" + pairs[(v >> 30) & 1023]
                + pairs[(v >> 20) & 1023] + "-" + pairs[(v >> 10) & 1023] + pairs[v & 1023]
                + "-" + checks[(base + v % 37) % 37]
            )
        return tokens

    def resolve(self, token: str, candidates: Iterable[str]) -> str | None:
        """Re-identification: which of the Trust's person ids this token stands for, or None.
        Only possible with the live key (tokens are one-way). The audited action that calls this,
        with its reason, lives with the caller."""
        kind, wanted = decode(token)
        versions = sorted(self.keyring._keys)  # any live version may have made it
        keys = [self.keyring.key(v) for v in versions]
        for person_id in candidates:
            canonical = canonical_person_id(person_id)
            for key in keys:
                if hmac.compare_digest(self._value(kind, canonical, key).to_bytes(8, "big"), wanted.to_bytes(8, "big")):
                    return person_id
        return None
