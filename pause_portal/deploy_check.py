"""Run `manage.py check --deploy --fail-level WARNING` under production settings, with throwaway
secrets made for this run only (no real secret is needed or read). The audit checkpoint store is
the one the environment names, if any (so its rules are checked too), else a throwaway folder; so
is the key store (PORTAL_KEY_STORE_DIR: a throwaway folder of mode 700 unless one is named)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile

from pause_portal.secrets import MASTER_SECRETS

CHECKPOINT_STORES = ("PORTAL_AUDIT_CHECKPOINT_DIR", "PORTAL_AUDIT_CHECKPOINT_DATABASE_URL",
                     "PORTAL_AUDIT_CHECKPOINT_DATABASE_URL_FILE")


def _checkpoint_store() -> dict[str, str]:
    """The audit checkpoint store the environment names (settings refuse both, and production
    refuses neither), else a throwaway folder."""
    named = {name: os.environ[name] for name in CHECKPOINT_STORES if os.environ.get(name)}
    return named or {"PORTAL_AUDIT_CHECKPOINT_DIR": "/var/lib/portal-audit-checkpoints"}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="portal-key-store-") as throwaway:  # made mode 700
        return _check(os.environ.get("PORTAL_KEY_STORE_DIR") or throwaway)


def _check(key_store: str) -> int:
    env = {
        **os.environ,
        "PORTAL_ENV": "production",
        "DATABASE_URL": "postgres://portal:unused@127.0.0.1:5432/portal",
        "REDIS_URL": f"redis://:{secrets.token_urlsafe(16)}@127.0.0.1:6379/0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PORTAL_ALLOWED_HOSTS": "portal.example.org",
        **_checkpoint_store(),
        "PORTAL_KEY_STORE_DIR": key_store,
        **{name: secrets.token_urlsafe(48) for name in MASTER_SECRETS},
    }
    cmd = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
