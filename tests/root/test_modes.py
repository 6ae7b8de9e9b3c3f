"""Modes: no mode refuses to start and says how to choose; production refuses without each
secret, naming it; demo and test start with nothing set."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from pause_portal.secrets import MASTER_SECRETS

ROOT = Path(__file__).resolve().parents[2]


def start(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"))}
    clean.update({"PORTAL_VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT, env={**clean, "DJANGO_SETTINGS_MODULE": "pause_portal.settings"},
        capture_output=True, text=True, timeout=60,
    )


def production_env(**overrides):
    env = {
        "PORTAL_ENV": "production",
        "DATABASE_URL": "postgres://portal:pw@127.0.0.1:5432/portal",
        "REDIS_URL": "redis://:a-password@127.0.0.1:6379/0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PORTAL_ALLOWED_HOSTS": "portal.example.org",
        "PORTAL_AUDIT_CHECKPOINT_DIR": "/var/lib/portal-audit-checkpoints",
        "PORTAL_KEY_STORE_DIR": "/var/lib/portal-key-store",
        **{name: secrets.token_urlsafe(40) for name in MASTER_SECRETS},
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def test_no_mode_refuses_to_start_and_says_how_to_choose(tmp_path):
    result = start({}, tmp_path)
    assert result.returncode != 0
    assert "Set PORTAL_ENV" in result.stderr and "PORTAL_ENV=demo" in result.stderr and "PORTAL_ENV=production" in result.stderr


def test_an_unknown_mode_is_refused(tmp_path):
    result = start({"PORTAL_ENV": "staging"}, tmp_path)
    assert result.returncode != 0 and "'staging'" in result.stderr


@pytest.mark.parametrize("mode", ["demo", "test"])
def test_demo_and_test_start_with_nothing_set_and_generate_their_keys_into_var(mode, tmp_path):
    result = start({"PORTAL_ENV": mode}, tmp_path)
    assert result.returncode == 0, result.stderr
    keys = tmp_path / "keys" / mode
    assert {p.name for p in keys.iterdir()} >= {f"{n.lower()}.key" for n in MASTER_SECRETS}
    assert all(oct(p.stat().st_mode)[-3:] == "600" for p in keys.iterdir())


def test_production_starts_with_every_secret(tmp_path):
    result = start(production_env(), tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["SECRET_KEY", *MASTER_SECRETS, "DATABASE_URL", "REDIS_URL", "PORTAL_ALLOWED_HOSTS",
                                  "PORTAL_AUDIT_CHECKPOINT_DIR", "PORTAL_KEY_STORE_DIR"])
def test_production_refuses_to_start_without_each_secret_and_names_it(name, tmp_path):
    result = start(production_env(**{name: None}), tmp_path)
    assert result.returncode != 0
    assert name in result.stderr.splitlines()[-1]


@pytest.mark.parametrize("folder", ["/var/lib/portal-audit-checkpoints", "/var/lib/portal-audit-checkpoints/keys",
                                    "/run/secrets", "/run/secrets/key-store"])
def test_production_refuses_a_key_store_in_the_checkpoint_store_or_the_secrets_mount(folder, tmp_path):
    result = start(production_env(PORTAL_KEY_STORE_DIR=folder), tmp_path)
    assert result.returncode != 0
    assert "PORTAL_KEY_STORE_DIR" in result.stderr.splitlines()[-1] and "a writable folder of its own" in result.stderr


def test_secrets_can_come_from_mounted_files(tmp_path):
    files = {}
    for name in MASTER_SECRETS:
        path = tmp_path / f"{name}.txt"
        path.write_text(secrets.token_urlsafe(40) + "\n")
        files[f"{name}_FILE"] = str(path)
    env = production_env(**{name: None for name in MASTER_SECRETS})
    result = start({**env, **files}, tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_redis_url_without_password_or_tls_is_refused(tmp_path):
    result = start(production_env(REDIS_URL="redis://127.0.0.1:6379/0"), tmp_path)
    assert result.returncode != 0 and "password" in result.stderr.splitlines()[-1]
    assert start(production_env(REDIS_URL="rediss://127.0.0.1:6380/0"), tmp_path).returncode == 0


def test_production_refuses_sqlite(tmp_path):
    result = start(production_env(DATABASE_URL="sqlite:///tmp/x.db"), tmp_path)
    assert result.returncode != 0 and "PostgreSQL" in result.stderr.splitlines()[-1]


def test_a_short_secret_is_refused(tmp_path):
    result = start(production_env(PORTAL_TOKEN_SECRET="short"), tmp_path)
    assert result.returncode != 0 and "PORTAL_TOKEN_SECRET" in result.stderr.splitlines()[-1]


@pytest.mark.slow
def test_check_deploy_passes_under_production_settings():
    result = subprocess.run([sys.executable, "-m", "pause_portal.deploy_check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
