"""Which evaluations stand in a run: one definition for the queue, its export, the batch decision,
the changes page and the demo (ADR 42).

A run writes an evaluation only for a woman whose evaluation changed; the others keep the one an
earlier run wrote, unchanged (`EvaluationRun.carries_from` names the earliest such run). The
evaluations standing in a run are therefore, for each woman, her latest evaluation written by that
run or by one between it and `carries_from`. A run that re-used nothing (every run before ADR 42)
is its own rows alone, the same single-run query as before.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from eligibility.models import Evaluation, EvaluationRun


def standing(run: EvaluationRun) -> QuerySet[Evaluation]:
    """Each woman's evaluation as `run` left it: one row a woman evaluated in it."""
    if run.carries_from_id is None:
        return Evaluation.objects.filter(run=run)
    later = Evaluation.objects.filter(woman_id=OuterRef("woman_id"), run_id__gt=OuterRef("run_id"),
                                      run_id__lte=run.pk)
    return Evaluation.objects.filter(
        run__programme_id=run.programme_id, run_id__gte=run.carries_from_id, run_id__lte=run.pk,
    ).filter(~Exists(later))


def stands_in(run: EvaluationRun, evaluation_run_id: int | None) -> bool:
    """Whether a woman whose latest evaluation was written by run `evaluation_run_id` (None: she
    has none) is in `run`, which is the latest run. Every run evaluates every woman of the
    programme, so her latest evaluation stands in it whenever it falls in the run's range."""
    if evaluation_run_id is None:
        return False
    if run.carries_from_id is None:
        return evaluation_run_id == run.pk
    return run.carries_from_id <= evaluation_run_id <= run.pk
