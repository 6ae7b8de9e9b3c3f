"""Field encryption of direct identifiers: AES-GCM under the scope's data key.

The row and field are bound in as associated data (``model|field|row uid``), so a ciphertext
copied to another row or field fails to decrypt. Stored bytes: format (1) | key version (4, big
endian) | nonce (12) | ciphertext and tag. The header is not in the associated data: each
version has its own key, so an altered version or format selects a key that cannot decrypt it.
A wrong, missing or destroyed key, or any tampering, raises a specific error: a ciphertext is
never passed off as a value.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pseudonymisation.errors import DecryptionFailed, KeyUnavailable
from pseudonymisation.keys import NONCE_BYTES, Keyring

FORMAT = 1
_HEADER = struct.Struct(">BI")


def binding(model_label: str, field: str, row_uid: str) -> bytes:
    return f"{model_label}|{field}|{row_uid}".encode()


_MIN_LENGTH = _HEADER.size + NONCE_BYTES + 16
assert _HEADER.size == 5 and NONCE_BYTES == 12  # the slices in FieldCipher.decrypt


def key_version_of(ciphertext: bytes) -> int:
    if len(ciphertext) < _MIN_LENGTH:
        raise DecryptionFailed("This is not a ciphertext of ours (too short).")
    if ciphertext[0] != FORMAT:
        raise DecryptionFailed(f"Unknown ciphertext format {ciphertext[0]}.")
    return int.from_bytes(ciphertext[1:5], "big")


class FieldCipher:
    """Encrypts and decrypts one scope's fields, with its keyring (load per piece of work)."""

    def __init__(self, keyring: Keyring):
        self.keyring = keyring
        self.version = keyring.current
        self._aead = {v: AESGCM(keyring.key(v)) for v in keyring._keys}
        self._header = _HEADER.pack(FORMAT, self.version)
        self._current = self._aead[self.version]
        self._by_header = {_HEADER.pack(FORMAT, v): aead for v, aead in self._aead.items()}

    def encrypt(self, plaintext: str, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return self._header + nonce + self._current.encrypt(nonce, plaintext.encode(), aad)

    def decrypt(self, ciphertext: bytes, aad: bytes) -> str:
        if type(ciphertext) is not bytes:
            ciphertext = bytes(ciphertext)  # memoryview from some database drivers
        aead = self._by_header.get(ciphertext[:5]) if len(ciphertext) >= _MIN_LENGTH else None
        if aead is None:
            version = key_version_of(ciphertext)  # raises on a short or foreign value
            self.keyring.key(version)  # raises KeyDestroyed or KeyUnavailable, naming the version
            raise KeyUnavailable(f"Key version {version} is not loaded.")
        try:
            return aead.decrypt(ciphertext[5:17], ciphertext[17:], aad).decode()
        except InvalidTag:
            version = key_version_of(ciphertext)
            raise DecryptionFailed(
                f"A value of {self.keyring.scope.label()} v{version} does not decrypt: it was altered, copied "
                "from another row or field, or the key is wrong."
            ) from None

    def needs_reencryption(self, ciphertext: bytes) -> bool:
        return key_version_of(bytes(ciphertext)) != self.version
