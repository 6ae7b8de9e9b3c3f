"""The DPO's searches and reports read the audit trail from the read replica when one is named
(PORTAL_READ_REPLICA_DATABASE_URL: the `replica` alias; pause_portal.read_replica; docs/scale.md):
every read of entries and subjects behind the search pages goes there, none to the primary, while
what the search records about itself is written to the primary. The replica's connection is
read-only whatever server it names.

Here the replica is a second connection to the test database, opened with the settings' options
(PostgreSQL: read-only transactions), as Django's test mirrors are; the tests commit what it reads.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.core.models import AuditEntry, Event
from audit.core.models_review import ReviewKind, ReviewSearch
from audit.oversight.person_subjects import references_about_woman
from eligibility.disclosure import disclose
from pause_portal.read_replica import REPLICA_ALIAS, reading_alias
from pause_portal.tenancy.roles import Role
from tests import factories as f
from tests.audit.owner_connection import as_alias
from tests.conftest import sign_in_verified
from tests.sharing.test_scoping_world import member

ROOT = Path(__file__).resolve().parents[3]
READ_ONLY = "-c default_transaction_read_only=on"
TRAIL_TABLES = ('"audit_auditentry"', '"audit_auditsubject"')


@contextmanager
def a_replica():
    """The `replica` alias, as the setting makes it, on a connection of its own."""
    default = connections[DEFAULT_DB_ALIAS]
    settings_dict = {**default.settings_dict, "OPTIONS": {"options": READ_ONLY}}
    wrapper = type(default)(settings_dict, alias=f"{REPLICA_ALIAS}_in_a_test")
    try:
        with as_alias(REPLICA_ALIAS, settings_dict, wrapper):
            yield wrapper
    finally:
        wrapper.close()


def reads_of_the_trail(queries: list[dict]) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")
            and any(table in q["sql"] for table in TRAIL_TABLES)]


def test_without_a_replica_everything_reads_the_one_database():
    assert REPLICA_ALIAS not in connections.settings
    assert reading_alias() == DEFAULT_DB_ALIAS


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_person_search_reads_the_trail_from_the_replica_and_writes_to_the_primary():
    programme = f.programme(phase="delivery")
    caseworker, dpo = member(programme, Role.TRUST_CASEWORKER), member(programme, Role.DPO)
    her = f.WomanFactory(programme=programme, trust_person_id="REPLICA-1")
    other = f.WomanFactory(programme=programme)
    shown = [disclose(caseworker, [her], page="/records/eligibility/").entry,
             disclose(caseworker, [her, other], page="/records/eligibility/").entry]
    disclose(caseworker, [other], page="/records/eligibility/")  # not about her
    client = sign_in_verified(Client(), dpo)

    with a_replica() as replica:
        assert reading_alias() == REPLICA_ALIAS
        with CaptureQueriesContext(replica) as on_replica, CaptureQueriesContext(connection) as on_primary:
            made = client.post(reverse("dpo:person-search"), {"person-kind": "person_id", "person-value": "REPLICA-1",
                                                             "person-reason": "Her subject access request"})
            record = ReviewSearch.objects.get(by=dpo, kind=ReviewKind.PERSON_SEARCH)
            page = client.get(made["Location"])
            export = client.post(reverse("dpo:export", kwargs={"pk": record.pk}), {"reason": "For her pack"})

    assert made.status_code == 302 and record.subjects == references_about_woman(her.pk)
    assert record.result_count == len(shown)
    assert page.status_code == 200 and export.status_code == 200
    listed = {int(n) for n in re.findall(r'data-entry="(\d+)"', page.content.decode())}
    assert {e.pk for e in shown} <= listed and record.entry_id in listed
    assert reads_of_the_trail(on_replica.captured_queries), "the search read nothing from the replica"
    assert reads_of_the_trail(on_primary.captured_queries) == [], "the primary was read for the trail"
    written = [q["sql"] for q in on_primary.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert any('"audit_auditentry"' in sql for sql in written)  # the search's and the export's own entries
    assert not any(q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
                   for q in on_replica.captured_queries)
    exported = ReviewSearch.objects.get(by=dpo, kind=ReviewKind.EXPORT)
    assert AuditEntry.objects.get(pk=exported.entry_id).event == Event.REVIEW_EXPORT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_replica_connection_cannot_be_written_through_even_when_it_names_the_primary():
    f.programme()
    with a_replica() as replica, pytest.raises(DatabaseError, match="read-only transaction"):
        with replica.cursor() as cur:
            cur.execute("INSERT INTO audit_auditsubject (entry_id, subject) VALUES (1, 'x')")
    assert AuditEntry.objects.filter(reason="x").count() == 0


def _settings_with(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_READ_REPLICA")}
    environment.update(PORTAL_ENV="test", **env)
    return subprocess.run([sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                           "print(settings.DATABASES.get('replica'))"], cwd=ROOT, env=environment,
                          capture_output=True, text=True, check=False)


def test_the_setting_makes_a_read_only_mirrored_alias_and_refuses_anything_but_postgresql():
    made = _settings_with(DATABASE_URL="postgres://portal@primary.invalid/portal",
                          PORTAL_READ_REPLICA_DATABASE_URL="postgres://reader@replica.invalid/portal")
    assert made.returncode == 0, made.stderr
    assert "replica.invalid" in made.stdout and READ_ONLY in made.stdout and "'MIRROR': 'default'" in made.stdout
    refused = _settings_with(DATABASE_URL="postgres://portal@primary.invalid/portal",
                             PORTAL_READ_REPLICA_DATABASE_URL="sqlite:///elsewhere.db")
    assert refused.returncode != 0 and "must be postgres:// URLs" in refused.stderr
    none = _settings_with(DATABASE_URL="postgres://portal@primary.invalid/portal")
    assert none.returncode == 0 and none.stdout.strip() == "None"
