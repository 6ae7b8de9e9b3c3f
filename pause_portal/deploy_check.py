"""Run `manage.py check --deploy --fail-level WARNING` under production settings, with throwaway
secrets made for this run only (no real secret is needed or read)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from pause_portal.secrets import MASTER_SECRETS


def main() -> int:
    env = {
        **os.environ,
        "PORTAL_ENV": "production",
        "DATABASE_URL": "postgres://portal:unused@127.0.0.1:5432/portal",
        "REDIS_URL": f"redis://:{secrets.token_urlsafe(16)}@127.0.0.1:6379/0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PORTAL_ALLOWED_HOSTS": "portal.example.org",
        "PORTAL_AUDIT_CHECKPOINT_DIR": "/var/lib/portal-audit-checkpoints",
        **{name: secrets.token_urlsafe(48) for name in MASTER_SECRETS},
    }
    cmd = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
