"""Loud, specific failures: a key problem is never passed off as a value."""


class PseudonymisationError(Exception):
    """Base class."""


class MasterSecretMissing(PseudonymisationError):
    """The purpose's master secret is not configured."""


class KeyUnavailable(PseudonymisationError):
    """No such key, or it does not unwrap with this master secret."""


class KeyDestroyed(KeyUnavailable):
    """The key was destroyed on purpose (for example at the end of scoping)."""


class DecryptionFailed(PseudonymisationError):
    """A ciphertext does not decrypt: tampered with, moved to another row or field, or a wrong key."""


class InvalidToken(PseudonymisationError, ValueError):
    """A token that is malformed or fails its check character (a mistyped token)."""


class KeyStoreMissing(PseudonymisationError):
    """No key store is configured (settings.PORTAL_KEY_STORE_DIR)."""


class KeyStoreError(PseudonymisationError):
    """The key store cannot be read or written, or holds something that is not a secret."""


class ScopeSecretMissing(KeyUnavailable):
    """The key store holds no secret for the scope: deleted when the scope's keys were destroyed,
    or this is not the key store the keys were made with. Its wrapped keys cannot be unwrapped."""
