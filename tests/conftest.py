"""Named actors and the rules for tests that need real services.

Under CI (CI=true) a missing service is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import time

import pytest
from django.db import connection
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from pause_portal.middleware import SIGNED_IN_AT
from pause_portal.tenancy.models import SignedInSession
from pause_portal.tenancy.roles import TRUST_ROLES, OrganisationKind, Role
from tests import factories as f

IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI needs this service: {reason}", pytrace=False)
    pytest.skip(reason)


def _redis_up() -> bool:
    from urllib.parse import urlparse

    from django.conf import settings

    broker = urlparse(settings.CELERY_BROKER_URL)
    try:
        with socket.create_connection((broker.hostname or "127.0.0.1", broker.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(autouse=True)
def _service_markers(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("needs PostgreSQL (set DATABASE_URL to a postgres:// URL)")
    if request.node.get_closest_marker("redis") and not _redis_up():
        _missing("needs a Redis server (REDIS_URL, default redis://127.0.0.1:6379/15)")
    if request.node.get_closest_marker("browser") and not chromium_path():
        _missing("needs Debian's chromium package (apt-get install chromium)")


@pytest.fixture(autouse=True)
def _seeded_factories():
    """The factories' invented names and dates are the same on every run of a test, whatever ran
    before it."""
    f.reseed()


# --- the world -----------------------------------------------------------------------------
@pytest.fixture
def programme(db):
    return f.programme(name="Test programme", phase="scoping")


@pytest.fixture
def other_programme(db):
    return f.programme(name="Other programme", phase="scoping")


def _member(prog, role):
    org = prog.trust if role in TRUST_ROLES else prog.pause_practice
    p = f.person(org)
    f.membership(p, prog, role)
    return p


@pytest.fixture
def caseworker(programme):
    return _member(programme, Role.TRUST_CASEWORKER)


@pytest.fixture
def trust_lead(programme):
    return _member(programme, Role.TRUST_LEAD)


@pytest.fixture
def caldicott(programme):
    return _member(programme, Role.CALDICOTT_GUARDIAN)


@pytest.fixture
def dpo(programme):
    return _member(programme, Role.DPO)


@pytest.fixture
def pause_lead(programme):
    return _member(programme, Role.PAUSE_LEAD)


@pytest.fixture
def practitioner(programme):
    return _member(programme, Role.PAUSE_PRACTITIONER)


@pytest.fixture
def other_practitioner(programme):
    return _member(programme, Role.PAUSE_PRACTITIONER)


@pytest.fixture
def other_programme_person(other_programme):
    """A Trust lead — of another programme."""
    return _member(other_programme, Role.TRUST_LEAD)


@pytest.fixture
def system_admin(db):
    return f.person(f.organisation(OrganisationKind.TRUST), system_admin=True)


@pytest.fixture
def actors(caseworker, trust_lead, caldicott, dpo, pause_lead, practitioner, other_practitioner,
           other_programme_person, system_admin):
    return {
        "caseworker": caseworker,
        "trust_lead": trust_lead,
        "caldicott": caldicott,
        "dpo": dpo,
        "pause_lead": pause_lead,
        "practitioner": practitioner,
        "other_practitioner": other_practitioner,
        "other_programme_person": other_programme_person,
        "system_admin": system_admin,
    }


# --- signed-in clients ---------------------------------------------------------------------
def sign_in_verified(client, person):
    """A session past both steps, without the forms (the sign-in flow has its own tests)."""
    client.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
    device = TOTPDevice.objects.filter(user=person, confirmed=True).first()
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[SIGNED_IN_AT] = time.time()
    session.save()
    SignedInSession.objects.get_or_create(person=person, session_key=session.session_key)
    return client


def sign_in_password_only(client, person):
    client.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[SIGNED_IN_AT] = time.time()
    session.save()
    return client


@pytest.fixture
def as_person(client):
    def _as(person):
        return sign_in_verified(client, person)

    return _as
