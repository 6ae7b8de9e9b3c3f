"""Enqueueing a Celery task by its name, once the transaction commits (ADR 25).

No module imports another's tasks: a task module imports the actions it calls, so a caller that
imported the task back made a cycle, and a lower layer could not enqueue a higher one's task at
all. A caller names the task instead, by the name the worker knows it by (`@shared_task(name=...)`,
the queue's contract), and passes ids and addresses only.

The name is checked when the work is asked for, inside the caller's transaction: an unknown name
or the wrong number of arguments is an error there and then, and the caller's writes roll back,
rather than a message no worker would run. The message is published only when the transaction
commits (Django's `on_commit`), so a worker never reads rows that are not there yet and a
rollback sends nothing.
"""

from __future__ import annotations

from functools import partial

from celery import current_app
from celery.exceptions import NotRegistered
from django.db import transaction


class UnknownTask(LookupError):
    """No task is registered under the name: a typo or a renamed task, refused before anything
    is written."""


def send_on_commit(task_name: str, *args) -> None:
    """Send the task named `task_name` with `args` once the current transaction commits, and
    nothing if it rolls back (outside a transaction, at once, as `on_commit` does)."""
    task = _registered(task_name)
    check_arguments = getattr(task, "__header__", None) if task.typing else None
    if check_arguments is not None:
        check_arguments(*args)  # the arity check `delay` made; `send_task` makes none
    transaction.on_commit(partial(_send, task_name, args))


def _send(task_name: str, args: tuple) -> None:
    app = current_app
    task = app.tasks[task_name]
    if app.conf.task_always_eager:
        # The test suite runs tasks in-process. `send_task` ignores eager mode (it would publish
        # to the broker and warn); `apply_async` in eager mode is exactly what `delay` did: the
        # arguments through JSON, the task run here, its error raised if eager errors propagate.
        task.apply_async(args, {})
        return
    app.send_task(task_name, args=args, kwargs={}, ignore_result=task.ignore_result)


def _registered(task_name: str):
    """The registered task of that name. In a web process the task modules are imported on the
    first call (the worker imports them at start-up), by Celery's own discovery."""
    app = current_app
    if task_name not in app.tasks:
        app.loader.import_default_modules()
    try:
        return app.tasks[task_name]
    except NotRegistered:
        raise UnknownTask(f"No Celery task is registered as {task_name!r}; task names are those in "
                          "@shared_task(name=...).") from None
