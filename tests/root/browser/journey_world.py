"""Helpers for the end-to-end browser journey (no tests here): a synthetic extract written to
files for the upload form, Celery with its tasks queued on an in-process broker and a real worker
that runs them, and the data setup that is not part of the journey itself. All data is synthetic.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection
from django.utils import timezone

from eligibility.decisions import decide
from eligibility.evaluations import standing
from eligibility.models import Child, Decision, EvaluationRun, Proposal, Woman
from eligibility.synthetic import ssd_upload
from pause_portal.celery import app


def synthetic_extract(directory: Path, *, children: int, seed: int) -> list[str]:
    """The demo generator's Standard Safeguarding Dataset tables (invented people), as files."""
    directory.mkdir(parents=True, exist_ok=True)
    files, _stats = ssd_upload(children=children, seed=seed, today=timezone.localdate())
    paths = []
    for name, stream in files:
        path = directory / name
        path.write_bytes(stream.getvalue())
        paths.append(str(path))
    return paths


def _reset_producer_pools() -> None:
    # The app caches its broker connection pool and producers; the broker changes below, so both
    # are rebuilt from the configuration on next use.
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def queued_tasks():
    """Tasks are queued on kombu's in-process memory broker instead of running eagerly during
    the request (the test settings' default): the upload answers at once and its page shows the
    import waiting, as it does in production until a worker picks it up."""
    before = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    _reset_producer_pools()
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.broker_url = before
        _reset_producer_pools()


@contextmanager
def real_worker(*, until_task: str, timeout: float = 90.0):
    """A real Celery worker (solo pool, in a thread) consuming the queued tasks; the context
    exits once a task named `until_task` has finished (and the worker has shut down).

    Yields a `wait(page)` function: it keeps Playwright's event loop turning (so the page's own
    polling is served) until that task is done."""
    done = threading.Event()
    failures: list[str] = []

    def finished(sender=None, state=None, **_):
        if sender is not None and sender.name == until_task:
            if state != "SUCCESS":
                failures.append(f"{until_task} ended {state}")
            done.set()

    task_postrun.connect(finished, weak=False)

    def wait(page) -> None:
        deadline = time.monotonic() + timeout
        while not done.is_set():
            assert time.monotonic() < deadline, f"the worker did not finish {until_task} within {timeout:.0f} s"
            page.wait_for_timeout(200)
        assert not failures, failures

    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield wait
    finally:
        task_postrun.disconnect(finished)
        connection.close()  # the worker thread's connections are its own; this is the caller's


def sqlite_shared_cache() -> bool:
    """On SQLite the test database is one in-memory database in shared-cache mode: its locks are
    per table and a reader meeting a writer fails at once instead of waiting. While the worker
    writes, the page's polling is held off (on PostgreSQL it runs throughout)."""
    return connection.vendor == "sqlite"


def proposed_eligible(programme) -> list[Woman]:
    run = EvaluationRun.objects.filter(programme=programme).order_by("-pk").first()
    ids = standing(run).filter(proposal=Proposal.ELIGIBLE).values_list("woman_id", flat=True)
    return list(Woman.objects.filter(pk__in=list(ids)).order_by("pk"))


def decide_the_rest(programme, *, by) -> int:
    """Setup outside the journey: the caseworker's decisions about every other woman the rules
    propose as eligible, through the real action, so that the scoping release is large enough
    for rows to survive the k-anonymity check."""
    decided = set(Decision.objects.filter(woman__programme=programme).values_list("woman_id", flat=True))
    count = 0
    for woman in proposed_eligible(programme):
        if woman.pk not in decided:
            decide(woman=woman, by=by, outcome="eligible", reason="Synthetic: both orders confirmed")
            count += 1
    return count


def journey_entries_about(released, *, actors) -> list:
    """The audit entries the journey's people wrote about one released woman, found from the
    records the test knows about her (not through the access pack's own query): entries naming her
    record, her decisions, her delivery release, its assignments, contact attempts and concerns as
    a subject, or acting on one of them."""
    from django.db.models import Q

    from audit.core.masking import subject_reference
    from audit.core.models import AuditEntry, AuditSubject

    woman = released.woman
    records = [woman, *Child.objects.filter(mother=woman), *Decision.objects.filter(woman=woman), released,
               *released.children.all(), *released.assignments.all(), *released.contacts.all(),
               *released.concerns.all()]
    refs = [subject_reference(r) for r in records]
    named = AuditSubject.objects.filter(subject__in=refs).values("entry_id")
    return list(AuditEntry.objects.filter(Q(id__in=named) | Q(object_repr__in=refs),
                                          actor_id__in=[a.pk for a in actors]).order_by("timestamp", "pk"))


# --- the README's screenshots -------------------------------------------------------------------
README_PEOPLE = {  # role key -> (full name, role), invented like the demo's
    "caseworker": ("Wes Tamblyn", "trust_caseworker"),
    "trust_lead": ("Val Kowalczyk", "trust_lead"),
    "caldicott": ("Wyn Ashdown-Clare", "caldicott_guardian"),
    "dpo": ("Dara Fenwick", "dpo"),
    "pause_lead": ("Pat Ogunleye", "pause_lead"),
    "practitioner": ("Prue Halloran", "pause_practitioner"),
    "practitioner2": ("Pip Szabo", "pause_practitioner"),
}


def readme_world() -> dict:
    """The demo's delivery programme, made as `seed_demo` makes it (through the real actions): a
    synthetic extract imported and the rules run, a confirmed agreement, eight women decided and
    released with invented addresses, caseloads, contact attempts and an open concern."""
    from eligibility.importing import import_extract
    from eligibility.recompute import recompute
    from pause_portal.tenancy.models import Person
    from pause_portal.tenancy.roles import OrganisationKind, Role
    from sharing.demo_delivery import seed_agreement, seed_delivery
    from tests import factories as f

    trust = f.organisation(OrganisationKind.TRUST, name="Westvale Children's Trust")
    pause = f.organisation(OrganisationKind.PAUSE, name="Pause Midlands")
    programme = f.programme(name="Westvale delivery", phase="delivery", trust=trust, pause=pause)
    people = {}
    for key, (name, role) in README_PEOPLE.items():
        org = pause if role.startswith("pause") else trust
        person = f.person(org, email=f"{key}@demo.invalid")
        Person.objects.filter(pk=person.pk).update(full_name=name)
        f.membership(person, programme, Role(role))
        people[key] = Person.objects.get(pk=person.pk)
    admin = f.person(trust, email="admin@demo.invalid", system_admin=True)
    Person.objects.filter(pk=admin.pk).update(full_name="Alex Adebayo")
    people["system_admin"] = Person.objects.get(pk=admin.pk)
    today = timezone.localdate()
    files, _ = ssd_upload(children=150, seed=2, today=today)
    import_extract(programme=programme, files=files, by=people["caseworker"], today=today)
    recompute(programme, by=people["caseworker"], reference_date=today)
    seed_agreement(programme, lead=people["trust_lead"], caldicott=people["caldicott"], today=today)
    seed_delivery(programme, caseworker=people["caseworker"], lead=people["trust_lead"],
                  practitioners=[people["practitioner"], people["practitioner2"]], pause_lead=people["pause_lead"],
                  today=today)
    return people
