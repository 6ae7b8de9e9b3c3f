"""The Celery app. JSON only; tasks take ids, are enqueued by name once the transaction commits
(`pause_portal.queue.send_on_commit`, ADR 25: no module imports another's tasks), re-check the
actor's role, and call an action."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pause_portal.settings")

app = Celery("pause_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The audit app's tasks live in its two layers' sub-packages, not in audit/tasks.py.
app.autodiscover_tasks(["audit.core", "audit.oversight"])
