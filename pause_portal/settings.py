"""The one settings module. `PORTAL_ENV` chooses the mode explicitly and nothing fails open.

- demo: SQLite (WAL) under var/, a Celery worker on kombu's filesystem broker, secrets generated
  into var/, served on 127.0.0.1 only, synthetic data only.
- test: what the test suite runs: SQLite in memory, or PostgreSQL when DATABASE_URL is set;
  Celery eager unless a test starts a real worker.
- production: PostgreSQL, authenticated Redis, and every secret given; refuses to start otherwise.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from pause_portal.scoping_k import parse_scoping_k
from pause_portal.secrets import (
    MASTER_SECRETS,
    folder_for_this_run,
    generated_secret,
    read_secret,
    require_secret,
)

BASE_DIR = Path(__file__).resolve().parent.parent
MODES = ("demo", "test", "production")

PORTAL_ENV = os.environ.get("PORTAL_ENV", "").strip().lower()
if PORTAL_ENV not in MODES:
    raise ImproperlyConfigured(
        "Set PORTAL_ENV to choose how the portal runs: "
        "PORTAL_ENV=demo (SQLite and synthetic data on 127.0.0.1; `make demo` sets it), "
        "PORTAL_ENV=test (the test suite; `make test` sets it) or "
        "PORTAL_ENV=production (PostgreSQL, Redis and every secret required). "
        f"Got {os.environ.get('PORTAL_ENV', '(not set)')!r}."
    )

DEMO = PORTAL_ENV == "demo"
TEST = PORTAL_ENV == "test"
PRODUCTION = PORTAL_ENV == "production"
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))

# --- secrets -------------------------------------------------------------------------------
if PRODUCTION:
    SECRET_KEY = require_secret("SECRET_KEY")
    PORTAL_SECRETS = {name: require_secret(name) for name in MASTER_SECRETS}
else:
    secret_dir = VAR_DIR / "keys" / PORTAL_ENV
    SECRET_KEY = generated_secret(secret_dir, "SECRET_KEY")
    PORTAL_SECRETS = {name: generated_secret(secret_dir, name) for name in MASTER_SECRETS}

DEBUG = os.environ.get("PORTAL_DEBUG", "") == "1" and not PRODUCTION

if PRODUCTION:
    ALLOWED_HOSTS = [h.strip() for h in os.environ.get("PORTAL_ALLOWED_HOSTS", "").split(",") if h.strip()]
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Production needs PORTAL_ALLOWED_HOSTS (comma-separated host names).")
    CSRF_TRUSTED_ORIGINS = [f"https://{h}" for h in ALLOWED_HOSTS]
else:
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

# Only these proxies' X-Forwarded-For is believed; anything else in that header is ignored.
# Scoping: every combination served beside a token is shared by at least this many women, and
# every table cell Pause sees is 0 or at least this many (ADR 18). It can be raised, never lowered.
PORTAL_SCOPING_K = parse_scoping_k(os.environ.get("PORTAL_SCOPING_K", ""))

PORTAL_TRUSTED_PROXIES = tuple(
    p.strip() for p in os.environ.get("PORTAL_TRUSTED_PROXIES", "").split(",") if p.strip()
)

# --- applications --------------------------------------------------------------------------
INSTALLED_APPS = [
    "pause_portal.admin_apps.PortalAdminConfig",  # the OTP admin site, all-safe models only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",  # Django's widget templates, for the form renderer below
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "guardian",
    "audit",  # before auditlog: its auditlogflush (disabled) must win
    "auditlog",
    "csp",
    "django_celery_beat",
    "pause_portal",
    "pseudonymisation",
    "sharing",
    "eligibility",
]
if TEST:
    INSTALLED_APPS.append("tests.testapp")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "pause_portal.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "pause_portal.middleware.SessionLifetimeMiddleware",
    "pause_portal.middleware.VerifiedSessionRequiredMiddleware",
    "audit.core.middleware.RefusalAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "pause_portal.middleware.NoStoreMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pause_portal.urls"
WSGI_APPLICATION = "pause_portal.wsgi.application"
AUTH_USER_MODEL = "sharing.Person"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pause_portal.context_processors.portal",
            ],
            # Template tag libraries that live in a layer's sub-package rather than in an app's
            # own templatetags/ (the DPO's oversight is a sub-package of the audit app).
            "libraries": {"rights_due": "audit.oversight.templatetags.rights_due"},
            # The one presenter's filters (dates, moments, NHS numbers), in every template.
            "builtins": ["pause_portal.presenting_filters"],
        },
    }
]

# Every form field renders through the one GOV.UK field template (pause_portal.form_rendering).
FORM_RENDERER = "pause_portal.form_rendering.GovukFormRenderer"

# --- database ------------------------------------------------------------------------------
if PRODUCTION:
    if not os.environ.get("DATABASE_URL"):
        raise ImproperlyConfigured("Production needs DATABASE_URL (a postgres:// URL).")
    DATABASES = {"default": dj_database_url.config(conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("Production runs on PostgreSQL: DATABASE_URL must be a postgres:// URL.")
elif os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.config()}
elif DEMO:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "demo.sqlite3",
            # WAL and a busy timeout: a long import must not block every page's audit write.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            },
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "test.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The database role the application connects as in production: INSERT and SELECT only on the
# audit tables (granted after every migrate by audit.core.db_roles). The owner role runs migrations.
PORTAL_APP_DB_ROLE = os.environ.get("PORTAL_APP_DB_ROLE", "")

# The audit trail's scheduled retention purge connects as the audit tables' OWNER (only the owner
# gets past their trigger, and the application role has no DELETE on them): a second alias, used
# by that job alone (audit.core.retention; ADR 40). The URL carries the owner's password, so it may
# come from a file (_FILE). Unset: on SQLite (the demo, the tests) the one database is used; on
# PostgreSQL the job refuses, records why and deletes nothing.
PORTAL_AUDIT_OWNER_DATABASE_URL = read_secret("PORTAL_AUDIT_OWNER_DATABASE_URL") or ""
if PORTAL_AUDIT_OWNER_DATABASE_URL:
    DATABASES["audit_owner"] = dj_database_url.parse(PORTAL_AUDIT_OWNER_DATABASE_URL)
    if DATABASES["audit_owner"]["ENGINE"] != DATABASES["default"]["ENGINE"]:
        raise ImproperlyConfigured("PORTAL_AUDIT_OWNER_DATABASE_URL must name the main database (as the audit "
                                   "tables' owner), with the same kind of URL as DATABASE_URL.")
    DATABASES["audit_owner"]["TEST"] = {"MIRROR": "default"}

# The DPO's searches and reports of the audit trail read from a streaming replica when one is named
# (pause_portal.read_replica; docs/scale.md): the trail's biggest reads leave the primary, which
# keeps taking every page's audit write. The connection is opened read-only whatever the server,
# so even a URL naming the primary by mistake cannot be written through. Writes — the search's own
# record and audit entry — always go to the primary. Unset: everything reads the one database.
PORTAL_READ_REPLICA_DATABASE_URL = read_secret("PORTAL_READ_REPLICA_DATABASE_URL") or ""
if PORTAL_READ_REPLICA_DATABASE_URL:
    DATABASES["replica"] = dj_database_url.parse(PORTAL_READ_REPLICA_DATABASE_URL, conn_max_age=60,
                                                 conn_health_checks=True)
    if DATABASES["replica"]["ENGINE"] != "django.db.backends.postgresql" or \
            DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("PORTAL_READ_REPLICA_DATABASE_URL names a PostgreSQL replica of the main database: "
                                   "both it and DATABASE_URL must be postgres:// URLs.")
    DATABASES["replica"]["OPTIONS"] = {"options": "-c default_transaction_read_only=on"}
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}

# --- authentication, MFA, lockout ----------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TEST:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; tests only

LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "accounts:signed-out"

# Lockout by account OR by IP: at most AXES_FAILURE_LIMIT failures per account per cool-off,
# whatever the IPs they come from, and the same per IP.
AXES_FAILURE_LIMIT = int(os.environ.get("PORTAL_LOCKOUT_FAILURES", "10"))
AXES_COOLOFF_TIME = timedelta(hours=1)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "username"
# Failures are counted per person, not per typed string: the address normalised exactly as
# sign-in matches it (lower-case, spaces stripped; ADR 21).
AXES_USERNAME_CALLABLE = "pause_portal.tenancy.identity.lockout_username"
AXES_CLIENT_IP_CALLABLE = "pause_portal.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token", "token"]

# Object permissions (caseloads) never extend to anonymous people: no guardian anonymous user.
ANONYMOUS_USER_NAME = None

OTP_TOTP_ISSUER = "Pause data-sharing portal"
OTP_TOTP_THROTTLE_FACTOR = 1  # 1 s, 2 s, 4 s... after each wrong code

# --- sessions ------------------------------------------------------------------------------
SESSION_ENGINE = "django.contrib.sessions.backends.db"
PORTAL_SESSION_IDLE_SECONDS = 30 * 60
PORTAL_SESSION_WARNING_SECONDS = 2 * 60
PORTAL_SESSION_ABSOLUTE_SECONDS = 12 * 60 * 60
PORTAL_SESSION_CLIENT_MARGIN_SECONDS = 10  # the page signs out this much before the server would
SESSION_COOKIE_AGE = PORTAL_SESSION_IDLE_SECONDS
SESSION_SAVE_EVERY_REQUEST = True  # the idle clock restarts with each request
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
PORTAL_ACCOUNT_LINK_HOURS = {"set_password": 72, "mfa_reset": 24}

# --- security headers ----------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = os.environ.get("PORTAL_SSL_REDIRECT", "1") == "1"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PORTAL_TRUSTED_PROXIES else None
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container health check speaks plain HTTP inside
    SECURE_HSTS_SECONDS = 63072000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- static files --------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "pause_portal.storage.PortalStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # served from the apps' folders; collectstatic is for production

# --- uploads: kept encrypted (never in plaintext on disk) until their import ends ------------
PORTAL_UPLOAD_DIR = Path(os.environ.get("PORTAL_UPLOAD_DIR", VAR_DIR / "uploads"))
PORTAL_UPLOAD_MAX_BYTES = int(os.environ.get("PORTAL_UPLOAD_MAX_BYTES", str(200 * 1024 * 1024)))
# Django's own handlers would spool large uploads to plaintext temp files: only the import's
# encrypting handler (eligibility.uploads) accepts files; any other view gets none.
FILE_UPLOAD_HANDLERS: list[str] = []
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- audit ---------------------------------------------------------------------------------
AUDITLOG_LOGENTRY_MODEL = "audit.AuditEntry"
PORTAL_AUDIT_RETENTION_DAYS = int(os.environ.get("PORTAL_AUDIT_RETENTION_DAYS", str(6 * 366)))
AUDITLOG_DISABLE_REMOTE_ADDR = False
AUDITLOG_STORE_JSON_CHANGES = True
# Requests refused without sign-in: an entry each for the first this many a minute from one
# client address, then one entry with the number of the rest of that minute's (audit.core.refusals).
PORTAL_ANONYMOUS_REFUSALS_PER_MINUTE = int(os.environ.get("PORTAL_ANONYMOUS_REFUSALS_PER_MINUTE", "10"))
# The monitoring rules' thresholds (audit.oversight.monitoring): working hours in Europe/London time, bulk
# access (more than N records in M minutes), repeated refusals (K in M minutes), case pages.
PORTAL_MONITORING = {
    "day_starts": int(os.environ.get("PORTAL_MONITORING_DAY_STARTS", "7")),
    "day_ends": int(os.environ.get("PORTAL_MONITORING_DAY_ENDS", "19")),
    "working_days": (0, 1, 2, 3, 4),
    "bulk_records": int(os.environ.get("PORTAL_MONITORING_BULK_RECORDS", "200")),
    "bulk_minutes": int(os.environ.get("PORTAL_MONITORING_BULK_MINUTES", "10")),
    "refusals": int(os.environ.get("PORTAL_MONITORING_REFUSALS", "5")),
    "refusal_minutes": int(os.environ.get("PORTAL_MONITORING_REFUSAL_MINUTES", "10")),
    "case_pages": ("/records/", "/scoping/", "/delivery/", "/casework/", "/progress/"),
    # More than this many rights requests opened by one person within the hours below is flagged.
    "rights_requests": int(os.environ.get("PORTAL_MONITORING_RIGHTS_REQUESTS", "5")),
    "rights_request_hours": int(os.environ.get("PORTAL_MONITORING_RIGHTS_REQUEST_HOURS", "24")),
}

# --- Celery --------------------------------------------------------------------------------
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "Europe/London"
CELERY_IMPORTS = ("sharing.tasks_governance", "sharing.tasks_casework", "sharing.tasks_retention", "audit.core.tasks")
# Copied into django_celery_beat's tables when beat starts, so a fresh database has it too.
CELERY_BEAT_SCHEDULE = {
    "scoping-deadline-reminders": {"task": "sharing.send_scoping_reminders", "schedule": crontab(hour=7, minute=0)},
    "scoping-purge-at-deadline": {"task": "sharing.end_scoping_at_deadlines", "schedule": crontab(minute=5)},
    "audit-seal": {"task": "audit.seal_pending", "schedule": 60.0},
    # Hourly: the sweep of the whole trail, then the catch-up checkpoint (ADRs 14 and 55).
    "audit-checkpoint": {"task": "audit.write_checkpoint", "schedule": crontab(minute=0)},
    "audit-monitoring": {"task": "audit.run_monitoring", "schedule": 300.0},
    "delivery-retention": {"task": "sharing.apply_retention_schedules", "schedule": crontab(hour=2, minute=30)},
    "trust-copy-retention": {"task": "sharing.apply_trust_copy_schedules", "schedule": crontab(hour=2, minute=45)},
    # As the audit tables' owner (PORTAL_AUDIT_OWNER_DATABASE_URL below); ADR 40.
    "audit-trail-retention": {"task": "audit.purge_expired_trail", "schedule": crontab(hour=3, minute=15)},
    # The audit trail's month partitions, this month to three ahead, also as the owner (ADR 52).
    "audit-trail-partitions": {"task": "audit.ensure_trail_partitions", "schedule": crontab(hour=3, minute=5)},
    "eligibility-upload-sweep": {"task": "eligibility.sweep_kept_uploads", "schedule": crontab(minute=20)},
    # Every reminder due (DPIA reviews, breach clocks, rights requests, concerns, confirmations): ADR 47.
    "reminders": {"task": "audit.send_reminders", "schedule": 900.0},
}
# The audit trail's purge and partitions run only on a worker of its own, the one that holds the owner's
# connection (docker-compose's audit-owner-worker, `-Q audit_owner`); the other workers never see
# it, and one that did would refuse it on PostgreSQL for want of that connection (ADR 40).
CELERY_TASK_ROUTES = {"audit.purge_expired_trail": {"queue": "audit_owner"},
                      "audit.ensure_trail_partitions": {"queue": "audit_owner"}}
# The audit chain's head is checkpointed outside the main database (audit.core.checkpoint_stores), in
# exactly one store: a write-once folder (PORTAL_AUDIT_CHECKPOINT_DIR) or a database of its own
# (PORTAL_AUDIT_CHECKPOINT_DATABASE_URL, or its _FILE: the URL carries a password). Both set is
# refused; production needs one (its checkpoint database PostgreSQL, not the main one); elsewhere
# the folder defaults to one beside the data.
PORTAL_AUDIT_CHECKPOINT_DATABASE_URL = read_secret("PORTAL_AUDIT_CHECKPOINT_DATABASE_URL") or ""
PORTAL_AUDIT_CHECKPOINT_DIR = os.environ.get("PORTAL_AUDIT_CHECKPOINT_DIR") or (
    "" if PRODUCTION or PORTAL_AUDIT_CHECKPOINT_DATABASE_URL else str(VAR_DIR / "audit-checkpoints"))
if PORTAL_AUDIT_CHECKPOINT_DIR and PORTAL_AUDIT_CHECKPOINT_DATABASE_URL:
    raise ImproperlyConfigured("Both PORTAL_AUDIT_CHECKPOINT_DIR and PORTAL_AUDIT_CHECKPOINT_DATABASE_URL are set: "
                               "the audit trail's checkpoints go to exactly one store. Unset one of them.")
if PRODUCTION and not (PORTAL_AUDIT_CHECKPOINT_DIR or PORTAL_AUDIT_CHECKPOINT_DATABASE_URL):
    raise ImproperlyConfigured("Production needs a store outside the database for the audit trail's checkpoints: "
                               "PORTAL_AUDIT_CHECKPOINT_DIR (a write-once folder) or "
                               "PORTAL_AUDIT_CHECKPOINT_DATABASE_URL (a PostgreSQL database of their own).")
if PRODUCTION and PORTAL_AUDIT_CHECKPOINT_DATABASE_URL:
    _checkpoints = urlparse(PORTAL_AUDIT_CHECKPOINT_DATABASE_URL)
    if _checkpoints.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured("Production needs PORTAL_AUDIT_CHECKPOINT_DATABASE_URL to be a postgres:// URL "
                                   "(or a write-once PORTAL_AUDIT_CHECKPOINT_DIR instead).")
    _main = DATABASES["default"]
    if ((_checkpoints.hostname or "", _checkpoints.port or 5432, _checkpoints.path.lstrip("/"))
            == (_main.get("HOST") or "", int(_main.get("PORT") or 5432), _main.get("NAME"))):
        raise ImproperlyConfigured("PORTAL_AUDIT_CHECKPOINT_DATABASE_URL names the main database: the audit "
                                   "trail's checkpoints must be kept outside it.")
# --- the key store (pseudonymisation.key_store, ADR 22) ---------------------------------------
# Each key scope's secret, outside the main database: deleting it when a scope is destroyed makes
# every copy of its wrapped keys (dead rows, WAL, backups) useless. A writable folder of its own:
# never the audit checkpoint store (insert-only) nor the read-only secrets mount. Production
# refuses to start without it; the demo keeps it in var/keys/demo/; each test run has its own.
PORTAL_KEY_STORE_DIR = os.environ.get("PORTAL_KEY_STORE_DIR", "").strip()
if not PORTAL_KEY_STORE_DIR:
    if PRODUCTION:
        raise ImproperlyConfigured("Production needs PORTAL_KEY_STORE_DIR: a writable folder of its own, outside "
                                   "the database, for each key scope's secret (docs/deployment.md).")
    PORTAL_KEY_STORE_DIR = (str(VAR_DIR / "keys" / "demo" / "key-store") if DEMO
                            else folder_for_this_run(VAR_DIR / "keys" / "test-key-stores", "PORTAL_KEY_STORE_DIR"))
_key_store = Path(PORTAL_KEY_STORE_DIR).resolve()
for _other, _what in ((PORTAL_AUDIT_CHECKPOINT_DIR, "the audit checkpoint store (insert-only)"),
                      ("/run/secrets", "the read-only secrets mount")):
    if _other and (_key_store == Path(_other).resolve() or Path(_other).resolve() in _key_store.parents
                   or _key_store in Path(_other).resolve().parents):
        raise ImproperlyConfigured(f"PORTAL_KEY_STORE_DIR ({PORTAL_KEY_STORE_DIR}) overlaps {_what}: the key store "
                                   "must be a writable folder of its own.")
# How long backups are kept, as the deletion certificate states them: the key store's (a deleted
# scope secret survives in them that long) and the main database's with its WAL archive (wrapped
# key bytes survive there that long, useless once the scope's secret is gone). Set both to what
# your backups really keep.
PORTAL_KEY_STORE_BACKUP_DAYS = int(os.environ.get("PORTAL_KEY_STORE_BACKUP_DAYS", "35"))
PORTAL_DATABASE_BACKUP_DAYS = int(os.environ.get("PORTAL_DATABASE_BACKUP_DAYS", "35"))
if PORTAL_KEY_STORE_BACKUP_DAYS < 0 or PORTAL_DATABASE_BACKUP_DAYS < 0:
    raise ImproperlyConfigured("PORTAL_KEY_STORE_BACKUP_DAYS and PORTAL_DATABASE_BACKUP_DAYS are numbers of days (0 or more).")

if PRODUCTION:
    REDIS_URL = read_secret("REDIS_URL") or ""
    if not REDIS_URL:
        raise ImproperlyConfigured("Production needs REDIS_URL (redis://:password@host:6379/0 or rediss://...).")
    _redis = urlparse(REDIS_URL)
    if _redis.scheme != "rediss" and not _redis.password:
        raise ImproperlyConfigured("REDIS_URL must carry a password (redis://:password@host/0) or use TLS (rediss://).")
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = None
elif DEMO:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost//"  # kombu wants a host name, even here
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
    }
else:
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = True  # a real-worker test turns this off for itself
    CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- email: never carries an identifier or a token ------------------------------------------
if PRODUCTION:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
    DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "no-reply@localhost")
elif DEMO:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "outbox"
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# --- locale --------------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "audit.bypass": {"level": "WARNING"},
        # django-axes logs the attempted email address with each failure; the audit trail has what we need.
        "axes": {"level": "ERROR"},
    },
}
