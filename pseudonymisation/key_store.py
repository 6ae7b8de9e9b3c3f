"""The key store: one random secret per key scope, kept outside the main database (ADR 22).

A scope's data keys are wrapped under a key-encryption key derived from the purpose's master
secret *and* the scope's secret here (`pseudonymisation.keys`). Deleting the scope's secret makes
every copy of its wrapped keys useless at once: the live row, the dead row versions left in the
key table's file, the WAL, and every backup of the main database. A database cannot promise to
forget a value; a file we own can be unlinked.

The folder store (settings.PORTAL_KEY_STORE_DIR): one file per scope, named after the scope, mode
600, in a folder of mode 700. A secret is written to a temporary file, fsynced, then linked into
place (a link never overwrites: two processes making the same scope's secret at once both end up
using the first one), and the folder fsynced. Deleting is unlink, then fsync of the folder.

It must be writable, so it is neither the audit checkpoint store (insert-only by design) nor the
read-only secrets mount. Its backups hold the secrets too: keep them no longer than
settings.PORTAL_KEY_STORE_BACKUP_DAYS, which the deletion certificate names.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from django.conf import settings

from pseudonymisation.errors import KeyStoreError, KeyStoreMissing

SECRET_BYTES = 32
SETTING = "PORTAL_KEY_STORE_DIR"
# A scope label is "<programme id>/<phase>/<purpose>"; anything else never names a file.
_LABEL = re.compile(r"^[0-9]+/[a-z][a-z0-9_]{0,19}/[a-z][a-z0-9_]{0,19}$")
_SUFFIX = ".secret"


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderKeyStore:
    """One file per scope: `<programme>.<phase>.<purpose>.secret`, holding the secret in hex."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"FolderKeyStore({str(self.folder)!r})"

    def path_of(self, label: str) -> Path:
        if not _LABEL.match(label):
            raise KeyStoreError(f"{label!r} is not a key scope label (programme/phase/purpose).")
        return self.folder / (label.replace("/", ".") + _SUFFIX)

    def _ensure_folder(self) -> None:
        if not self.folder.is_dir():
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            _fsync_folder(self.folder.parent)

    def read(self, label: str) -> bytes | None:
        """The scope's secret, or None when the store holds none."""
        path = self.path_of(label)
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeyStoreError(f"The key store cannot read {path}: {exc}") from exc
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            secret = b""
        if len(secret) != SECRET_BYTES:
            raise KeyStoreError(f"{path} does not hold a {SECRET_BYTES}-byte secret: the key store is damaged.")
        return secret

    def get_or_create(self, label: str) -> bytes:
        """The scope's secret, made (durably) if the store has none yet."""
        existing = self.read(label)
        if existing is not None:
            return existing
        path = self.path_of(label)
        try:
            self._ensure_folder()
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".new-", suffix=_SUFFIX)  # mode 600
            try:
                with os.fdopen(fd, "w", encoding="ascii") as handle:
                    handle.write(os.urandom(SECRET_BYTES).hex() + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                try:
                    os.link(temporary, path)  # atomic, and never replaces a secret already there
                except FileExistsError:
                    pass  # another process made it first: use theirs
            finally:
                os.unlink(temporary)
            _fsync_folder(self.folder)
        except OSError as exc:
            raise KeyStoreError(f"The key store cannot write {path}: {exc}") from exc
        secret = self.read(label)
        if secret is None:  # pragma: no cover - deleted between our link and our read
            raise KeyStoreError(f"{path} vanished as it was made.")
        return secret

    def delete(self, label: str) -> bool:
        """Forget the scope's secret for good: unlink, then fsync the folder so the removal
        survives a crash. Returns whether there was one."""
        path = self.path_of(label)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise KeyStoreError(f"The key store cannot delete {path}: {exc}") from exc
        _fsync_folder(self.folder)
        return True

    def labels(self) -> list[str]:
        """Every scope the store holds a secret for."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob(f"*{_SUFFIX}"):
            label = path.name[: -len(_SUFFIX)].replace(".", "/")
            if _LABEL.match(label):
                found.append(label)
        return sorted(found)


def key_store() -> FolderKeyStore:
    """The configured key store. Production refuses to start without one (settings); anywhere
    else a missing setting is a loud error here, never a silent fallback."""
    folder = getattr(settings, SETTING, "") or ""
    if not folder:
        raise KeyStoreMissing(f"{SETTING} is not set: data keys cannot be wrapped or unwrapped without the key store.")
    return FolderKeyStore(folder)
