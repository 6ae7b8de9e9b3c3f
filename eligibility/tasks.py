"""Thin tasks: ids in, the actor's right re-checked, the work run. `run_import` checks an upload
(then it waits for a caseworker's confirmation) or, once confirmed, writes it
(`import_confirmation`). A successful import is
followed by a recompute of the proposals (its own task, through `recompute_jobs`: the import's
transaction is not held open for it, and a failed recompute never undoes an import). The upload
sweep runs hourly from beat (`CELERY_BEAT_SCHEDULE`; `manage.py sweep_uploads` does the same)."""

from __future__ import annotations

from contextlib import ExitStack

from celery import shared_task
from django.utils import timezone

from eligibility import import_confirmation, importing, recompute_jobs, uploads
from eligibility.models import Extract, ExtractStatus
from pause_portal.tenancy.models import Person


@shared_task(name="eligibility.run_import", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def run_import(extract_id: int, actor_id: int) -> str:
    extract = Extract.objects.select_related("programme", "column_mapping").filter(pk=extract_id).first()
    if extract is None:
        return "gone"
    if extract.status == ExtractStatus.RUNNING:
        # An earlier attempt died mid-way (a killed worker): its transaction was rolled back, so
        # nothing is half-written. Say so; the person can retry from the extract's page.
        Extract.objects.filter(pk=extract.pk).update(
            status=ExtractStatus.FAILED, finished_at=timezone.now(), failure="interrupted"
        )
        return "interrupted"
    if extract.status != ExtractStatus.RECEIVED:
        return extract.status
    actor = Person.objects.filter(pk=actor_id, is_active=True).first()
    if actor is None or importing.may_import(actor, extract.programme) is None:
        Extract.objects.filter(pk=extract.pk).update(
            status=ExtractStatus.FAILED, finished_at=timezone.now(), failure="no longer allowed to import"
        )
        return "refused actor"
    mapping = extract.column_mapping.columns if extract.column_mapping else None
    with ExitStack() as stack:
        files = uploads.open_files(extract, stack)
        if extract.confirmed_at is None:  # check, and show what the import will change
            extract = import_confirmation.check_upload(extract, files, by=actor, mapping=mapping)
        else:  # confirmed: write, if it still changes exactly what was shown
            extract = import_confirmation.import_confirmed(extract, files, by=actor, mapping=mapping)
    if extract.status in (ExtractStatus.SUCCEEDED, ExtractStatus.REFUSED):
        # The outcome, hash and report are recorded: now the upload goes. The record stops
        # pointing at it only once it is gone; if it could not be deleted, the sweep tries again.
        if uploads.discard(extract.upload_id):
            Extract.objects.filter(pk=extract.pk).update(upload_id="", stored_files=[])
    if extract.status == ExtractStatus.SUCCEEDED:
        recompute_jobs.request_recompute(extract.programme, by=actor, why=f"extract #{extract.pk} imported")
    return extract.status


@shared_task(name="eligibility.recompute", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def recompute_proposals(job_id: int, actor_id: int) -> str:
    """Run the current rule set over the job's programme; decisions are never touched."""
    return recompute_jobs.run_job(job_id, actor_id)


@shared_task(name="eligibility.sweep_kept_uploads", ignore_result=True)
def sweep_kept_uploads() -> int:
    """Delete kept uploads that no extract needs any more (`uploads.sweep_kept_uploads`, which
    logs the counts). Returns how many were deleted."""
    return uploads.sweep_kept_uploads().deleted
