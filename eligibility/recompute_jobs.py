"""Running the rules in the background. A person (or an import) asks; a `RecomputeJob` records the
request, a Celery task runs `eligibility.recompute.recompute` and records how it went, and the
pages show a job until it is done — the rules take seconds over a large programme (ADR 10), too
long to hold a request open.

One waiting job per programme is enough: a second request while one waits joins it (the job reads
the rule set current when it starts, so a rule edit made meanwhile is in it). A job that is
running when a second request comes gets a successor, so the latest rules always run."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from eligibility.models import RecomputeJob, RecomputeStatus
from eligibility.recompute import may_recompute, recompute
from pause_portal.queue import send_on_commit
from pause_portal.tenancy.models import Person, Programme

FAILURE_MAX = 200


def request_recompute(programme: Programme, *, by: Person, why: str) -> RecomputeJob:
    """Queue a run of the rules (sent once the current transaction commits); returns the job,
    which may be one already waiting."""
    if may_recompute(by, programme.pk) is None:
        raise PermissionDenied("Only the programme's Trust staff run the eligibility rules.")
    waiting = RecomputeJob.objects.filter(programme=programme, status=RecomputeStatus.QUEUED).order_by("pk").first()
    if waiting is not None:
        return waiting
    job = RecomputeJob.objects.create(programme=programme, requested_by=by, why=why[:200])
    send_on_commit("eligibility.recompute", job.pk, by.pk)
    return job


def run_job(job_id: int, actor_id: int) -> str:
    """The task's body: the actor's right re-checked, the rules run, the outcome recorded. A job
    redelivered after its worker died runs again (a run only adds an `EvaluationRun`)."""
    job = RecomputeJob.objects.select_related("programme").filter(pk=job_id).first()
    if job is None:
        return "gone"
    if job.status in (RecomputeStatus.DONE, RecomputeStatus.FAILED):
        return job.status
    actor = Person.objects.filter(pk=actor_id, is_active=True).first()
    if actor is None or may_recompute(actor, job.programme_id) is None:
        _finish(job, RecomputeStatus.FAILED, failure="the person who asked may no longer run the rules")
        return "refused actor"
    RecomputeJob.objects.filter(pk=job.pk).update(status=RecomputeStatus.RUNNING, started_at=timezone.now())
    try:
        result = recompute(job.programme, by=actor)
    except Exception as exc:
        _finish(job, RecomputeStatus.FAILED, failure=f"{type(exc).__name__} (see the worker's log)")
        raise
    _finish(job, RecomputeStatus.DONE, run=result.run)
    return f"run #{result.run.pk}"


def _finish(job: RecomputeJob, status: str, *, failure: str = "", run=None) -> None:
    RecomputeJob.objects.filter(pk=job.pk).update(status=status, finished_at=timezone.now(),
                                                  failure=failure[:FAILURE_MAX], run=run)


def unfinished_job(programme: Programme) -> RecomputeJob | None:
    """What the pages show: the newest job, unless it is done (a failed one stays shown until a
    later job is asked for)."""
    job = (RecomputeJob.objects.filter(programme=programme).select_related("requested_by")
           .order_by("-pk").first())
    return None if job is None or job.status == RecomputeStatus.DONE else job
