"""Celery workers scale out behind Redis (docs/scale.md): two worker processes of their own, on
the real broker and the real database, take the audit trail's sealing from one queue while entries
are written between the tasks. Each entry is sealed exactly once, in one unbroken chain that
verifies, and both workers did some of the work — the sealer's lock, not a single worker, is what
keeps the chain in order."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from audit.core import sealing
from audit.core.log import record_event
from audit.core.models import AuditEntry, AuditSeal, Event
from pause_portal.celery import app
from pause_portal.tenancy.roles import OrganisationKind
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
ROOT = Path(__file__).resolve().parents[2]
SUCCEEDED = re.compile(r"Task audit\.seal_pending\[[0-9a-f-]+\] succeeded")


def start_worker(name: str, queue: str, checkpoints: Path, log: Path, broker: str) -> subprocess.Popen:
    db = connection.settings_dict
    env = {**os.environ, "PORTAL_ENV": "test", "PORTAL_AUDIT_CHECKPOINT_DIR": str(checkpoints), "REDIS_URL": broker,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"}
    with log.open("w") as out:  # the child holds its own copy of the file
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "pause_portal", "worker", "--pool=solo", "--loglevel=INFO",
             f"--queues={queue}", f"--hostname={name}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.mark.django_db(transaction=True)
def test_two_workers_seal_every_entry_once_in_one_chain(settings, tmp_path):
    settings.PORTAL_AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    queue = f"scale-out-{secrets.token_hex(4)}"
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    person = f.person(f.organisation(OrganisationKind.TRUST))
    workers = [start_worker(f"w{n}-{queue}", queue, tmp_path / "checkpoints", log, settings.CELERY_BROKER_URL)
               for n, log in enumerate(logs, 1)]
    app.conf.broker_url, app.conf.task_always_eager = settings.CELERY_BROKER_URL, False
    try:
        for _ in range(40):
            for _ in range(5):
                record_event(Event.SIGN_IN, actor=person, target=person, reason="scale-out")
            app.send_task("audit.seal_pending", queue=queue)
            time.sleep(0.05)
        written = AuditEntry.objects.count()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = sum(len(SUCCEEDED.findall(log.read_text())) for log in logs)
            if done == 40 and AuditSeal.objects.count() >= written:
                break
            for worker in workers:
                assert worker.poll() is None, "a worker stopped: " + "".join(log.read_text() for log in logs)
            time.sleep(0.25)
    finally:
        app.conf.task_always_eager = True
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
    per_worker = [len(SUCCEEDED.findall(log.read_text())) for log in logs]
    assert sum(per_worker) == 40 and all(per_worker), per_worker  # both took tasks from the one queue

    seals = list(AuditSeal.objects.order_by("seq").values_list("seq", "entry_id"))
    assert [seq for seq, _ in seals] == list(range(1, written + 1))  # one unbroken chain
    assert sorted(entry for _, entry in seals) == sorted(AuditEntry.objects.values_list("pk", flat=True))
    result = sealing.verify()
    assert result.ok and result.links == written, result.problems
