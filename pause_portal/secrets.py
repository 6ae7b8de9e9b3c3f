"""Reading secrets from the environment or from mounted files, failing closed.

A secret NAME is read from the environment variable NAME, or from the file named by NAME_FILE
(Docker and Kubernetes mount secrets as files). Production refuses to start without each one.
"""

from __future__ import annotations

import atexit
import os
import secrets as _random
import shutil
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# The master secrets, one per purpose, so that no key serves two ends.
MASTER_SECRETS = (
    "PORTAL_TOKEN_SECRET",
    "PORTAL_ENCRYPTION_SECRET",
    "PORTAL_BLIND_INDEX_SECRET",
    "PORTAL_AUDIT_CHAIN_SECRET",
)
MIN_SECRET_LENGTH = 32


def read_secret(name: str, environ: dict[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    value = env.get(name)
    if value:
        return value.strip()
    path = env.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE points to {path!r}, which cannot be read: {exc}") from exc
    return None


def require_secret(name: str, environ: dict[str, str] | None = None) -> str:
    value = read_secret(name, environ)
    if not value:
        raise ImproperlyConfigured(
            f"Production needs the secret {name}: set the environment variable {name} "
            f"or {name}_FILE (a path to a mounted file holding it)."
        )
    if len(value) < MIN_SECRET_LENGTH:
        raise ImproperlyConfigured(f"The secret {name} is shorter than {MIN_SECRET_LENGTH} characters.")
    return value


def generated_secret(folder: Path, name: str) -> str:
    """Demo and test: a random secret kept in var/, made on first use (never committed)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name.lower()}.key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made earlier, or by a process starting beside this one
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_random.token_urlsafe(48))
    return path.read_text(encoding="utf-8").strip()


def folder_for_this_run(parent: Path, name: str) -> str:
    """Test mode: a folder of this run's own under `parent` (mode 700, removed when the process
    that made it exits), so that test runs side by side never share one. It is put in the
    environment variable `name`, so a server the run starts (a gunicorn for a benchmark) uses the
    same folder."""
    chosen = os.environ.get(name)
    if chosen:
        return chosen
    parent.mkdir(parents=True, exist_ok=True)
    folder = parent / f"run-{os.getpid()}-{_random.token_hex(4)}"
    folder.mkdir(mode=0o700)
    os.environ[name] = str(folder)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return str(folder)
