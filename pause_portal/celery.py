"""The Celery app. JSON only; tasks take ids, are enqueued by name once the transaction commits
(`pause_portal.queue.send_on_commit`, ADR 25: no module imports another's tasks), re-check the
actor's role, and call an action."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pause_portal.settings")

app = Celery("pause_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The audit app's tasks live in its two layers' sub-packages, not in audit/tasks.py.
app.autodiscover_tasks(["audit.core", "audit.oversight"])


@signals.worker_init.connect
@signals.beat_init.connect
def _refuse_to_start_if_audit_retention_too_short(**kwargs) -> None:
    """Celery runs Django's system checks at start-up but goes on whatever they say, and logs and
    drops an exception raised here: the worker and beat exit here instead when the deployment keeps
    the audit trail for less than a live agreement asks (ADR 40)."""
    from django.core.exceptions import ImproperlyConfigured

    from sharing.audit_retention import refuse_to_start_if_too_short  # apps not ready at import

    try:
        refuse_to_start_if_too_short()
    except ImproperlyConfigured as refusal:
        raise SystemExit(f"Refusing to start: {refusal}") from refusal
