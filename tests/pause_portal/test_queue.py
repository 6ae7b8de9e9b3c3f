"""Tasks are enqueued by name, once the transaction commits (ADR 25): proved on the real Redis
broker with eager mode off (what a worker would read), and in the suite's eager mode.

The messages are read from Redis as a worker would find them: the list under the default queue's
key ("celery"), each a JSON envelope whose headers name the task. Each test sends arguments no
other test uses, looks only at its own messages and removes them afterwards."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from celery import current_app
from django.core import mail
from django.db import transaction

from pause_portal.queue import UnknownTask, send_on_commit
from pause_portal.tenancy.roles import Role
from tests import factories as f

TASK = "sharing.notify_grant_awaiting_confirmation"  # any registered task; ids no row has
QUEUE_KEY = "celery"
ROOT = Path(__file__).resolve().parents[2]


class Broker:
    """The broker's default queue, as a worker would read it, limited to this test's messages."""

    def __init__(self, url: str):
        self.redis = redis.Redis.from_url(url)
        self.sent: list[tuple] = []

    def fresh_args(self) -> tuple[int, int]:
        args = (10**12 + secrets.randbelow(10**12), 10**12 + secrets.randbelow(10**12))
        self.sent.append(args)
        return args

    def messages(self, args: tuple) -> list[dict]:
        found = []
        for raw in self.redis.lrange(QUEUE_KEY, 0, -1):
            message = json.loads(raw)
            body = json.loads(base64.b64decode(message["body"]))
            if body[0] == list(args):
                found.append({"raw": raw, "envelope": message, "body": body})
        return found

    def remove_what_this_test_sent(self) -> None:
        for args in self.sent:
            for message in self.messages(args):
                self.redis.lrem(QUEUE_KEY, 0, message["raw"])


@pytest.fixture
def broker(settings):
    app = current_app
    app.conf.task_always_eager = False
    app.conf.broker_url = settings.CELERY_BROKER_URL
    queue = Broker(settings.CELERY_BROKER_URL)
    try:
        yield queue
    finally:
        app.conf.task_always_eager = True
        queue.remove_what_this_test_sent()
        queue.redis.close()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_nothing_is_published_inside_the_transaction_and_one_message_after_commit(broker):
    args = broker.fresh_args()
    with transaction.atomic():
        send_on_commit(TASK, *args)
        assert broker.messages(args) == []  # a worker must not read rows that are not there yet
    [message] = broker.messages(args)
    assert message["envelope"]["headers"]["task"] == TASK
    assert message["body"][:2] == [list(args), {}]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_rollback_publishes_nothing_ever(broker):
    args = broker.fresh_args()
    with pytest.raises(RuntimeError), transaction.atomic():
        send_on_commit(TASK, *args)
        raise RuntimeError("the action failed after asking for the task")
    with transaction.atomic():
        pass  # a later commit does not send it either
    assert broker.messages(args) == []


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_message_is_the_one_delay_published(broker):
    """Sending by name changes nothing a worker sees: the same headers, properties and body as the
    task's own `delay` (bar the ids every message has of its own)."""
    by_name, by_delay = broker.fresh_args(), broker.fresh_args()
    with transaction.atomic():
        send_on_commit(TASK, *by_name)
    current_app.tasks[TASK].delay(*by_delay)
    [ours], [theirs] = broker.messages(by_name), broker.messages(by_delay)

    def comparable(message):
        envelope = json.loads(json.dumps(message["envelope"]))
        envelope.pop("body")
        for key in ("id", "root_id", "argsrepr"):
            envelope["headers"].pop(key)
        for key in ("correlation_id", "delivery_tag"):
            envelope["properties"].pop(key)
        return envelope, message["body"][1:]

    assert comparable(ours) == comparable(theirs)
    assert ours["envelope"]["headers"]["argsrepr"] == repr(by_name)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_unknown_task_name_is_refused_before_anything_is_written(broker):
    args = broker.fresh_args()
    with pytest.raises(UnknownTask, match="sharing.no_such_task"), transaction.atomic():
        send_on_commit("sharing.no_such_task", *args)
    with pytest.raises(TypeError), transaction.atomic():
        send_on_commit(TASK, args[0])  # the task takes two ids
    assert broker.messages(args) == [] and broker.messages(args[:1]) == []


@pytest.mark.django_db
def test_in_eager_mode_the_task_runs_here_only_after_commit(django_capture_on_commit_callbacks):
    assert current_app.conf.task_always_eager  # the suite's mode (settings, test)
    programme = f.programme()
    requester = f.person(programme.trust, system_admin=True)
    confirmer = f.person(programme.trust, system_admin=True)
    grant = f.MembershipFactory(programme=programme, role=Role.DPO, pending=True, requested_by=requester)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            send_on_commit(TASK, grant.pk, requester.pk)
            raise RuntimeError("rolled back")
        with transaction.atomic():
            send_on_commit(TASK, grant.pk, requester.pk)
        assert mail.outbox == []  # the test's own transaction has not committed yet
    assert [m.to for m in mail.outbox] == [[confirmer.email]]


def test_a_web_process_finds_the_tasks_without_importing_them():
    """No module imports the task modules any more, so a web process has none registered until the
    first send; the queue has Celery discover them then (the worker does so at start-up)."""
    script = (
        "import django; django.setup()\n"
        "import pause_portal.urls\n"
        "from celery import current_app\n"
        "from pause_portal.queue import _registered\n"
        "assert 'sharing.tell_deciders_of_agreement' not in current_app.tasks\n"
        "print(_registered('sharing.tell_deciders_of_agreement').name)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "pause_portal.settings", "PORTAL_ENV": "test"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sharing.tell_deciders_of_agreement"
