"""Field encryption of direct identifiers: AES-GCM under the scope's data key.

The row and field are bound in as associated data (``model|field|row uid``), so a ciphertext
copied to another row or field fails to decrypt. Stored bytes: format (1) | key version (4, big
endian) | nonce (12) | ciphertext and tag. A wrong, missing or destroyed key, or any tampering,
raises a specific error: a ciphertext is never passed off as a value.
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


def key_version_of(ciphertext: bytes) -> int:
    if not ciphertext or len(ciphertext) < _HEADER.size + NONCE_BYTES + 16:
        raise DecryptionFailed("This is not a ciphertext of ours (too short).")
    fmt, version = _HEADER.unpack_from(ciphertext)
    if fmt != FORMAT:
        raise DecryptionFailed(f"Unknown ciphertext format {fmt}.")
    return version


class FieldCipher:
    """Encrypts and decrypts one scope's fields, with its keyring (load per piece of work)."""

    def __init__(self, keyring: Keyring):
        self.keyring = keyring
        self.version = keyring.current
        self._aead = {v: AESGCM(keyring.key(v)) for v in keyring._keys}
        self._header = _HEADER.pack(FORMAT, self.version)

    def encrypt(self, plaintext: str, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return self._header + nonce + self._aead[self.version].encrypt(nonce, plaintext.encode(), self._header + aad)

    def decrypt(self, ciphertext: bytes, aad: bytes) -> str:
        ciphertext = bytes(ciphertext)
        version = key_version_of(ciphertext)
        aead = self._aead.get(version)
        if aead is None:
            self.keyring.key(version)  # raises KeyDestroyed or KeyUnavailable, naming the version
            raise KeyUnavailable(f"Key version {version} is not loaded.")
        header = ciphertext[: _HEADER.size]
        nonce = ciphertext[_HEADER.size : _HEADER.size + NONCE_BYTES]
        try:
            return aead.decrypt(nonce, ciphertext[_HEADER.size + NONCE_BYTES :], header + aad).decode()
        except InvalidTag:
            raise DecryptionFailed(
                f"A value of {self.keyring.scope.label()} v{version} does not decrypt: it was altered, copied "
                "from another row or field, or the key is wrong."
            ) from None

    def needs_reencryption(self, ciphertext: bytes) -> bool:
        return key_version_of(bytes(ciphertext)) != self.version
