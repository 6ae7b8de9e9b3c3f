"""Check, show what will change, confirm, then write (issue 24).

An upload on the portal is imported in two runs of the same pipeline (`importing.check_and_write`):

1. *The check* reads the files and, if they have no errors, rehearses the write in its
   transaction and rolls it back: the counts the caseworker sees (women and children added and
   updated, no longer in the extract, corrections kept...) are the import's own, not an estimate.
   Nothing is changed; the extract waits, "checked", with its upload kept encrypted.
2. *The caseworker confirms* (`confirm`) within `CONFIRM_WITHIN`. If another extract was
   imported since the check, the upload is checked again instead, and she confirms the new
   figures. Past the bound it expires: the upload is deleted (here, or by the sweep).
3. *The write* reads and writes again, and commits only if it changes exactly what was shown;
   anything else (the records changed some other way meanwhile) rolls it back and the upload
   waits again with the new figures.

Every step keeps the import's all-or-nothing guarantee, and each is audited.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from eligibility import uploads
from eligibility.importing import Files, WriteUndone, check_and_write, may_import
from eligibility.models import Extract, ExtractStatus, ImportStage
from eligibility.uploads import CONFIRM_WITHIN
from pause_portal.queue import send_on_commit
from pause_portal.tenancy.models import Person

IMPORTED_SINCE = "Another extract was imported after this one was checked, so it was checked again"
CHANGED_SINCE = "The records changed after this extract was checked, so it was checked again"

# What the caseworker confirms: the summary's figures of what the write changes.
CHANGE_KEYS = ("women", "children", "events", "not_in_latest", "corrections_kept", "erased_left_out")

QUEUED, CHECK_AGAIN, EXPIRED, NOT_WAITING = "queued", "check_again", "expired", "not_waiting"


def what_changes(summary: dict) -> dict:
    """The figures a confirmation is about (a write that would differ is not committed)."""
    return {key: summary.get(key) for key in CHANGE_KEYS}


def confirm_by(extract: Extract) -> datetime | None:
    """When a checked extract stops waiting for confirmation."""
    return extract.checked_at + CONFIRM_WITHIN if extract.checked_at else None


def check_upload(extract: Extract, files: Files, *, by: Person, mapping: dict | None = None, today=None) -> Extract:
    """The first run: check the files and rehearse the write (rolled back). Returns the extract,
    checked (waiting for confirmation) or refused."""

    def rehearse(written: Extract) -> None:
        raise WriteUndone(written)

    extract = check_and_write(extract, files, by=by, mapping=mapping, today=today, before_commit=rehearse)
    if extract.undone is not None:
        _await_confirmation(extract, extract.undone, by=by, checked_again=extract.checked_again)
    return extract


def import_confirmed(extract: Extract, files: Files, *, by: Person, mapping: dict | None = None,
                     today=None) -> Extract:
    """The second run, once confirmed: check and write again, committing only what was shown."""
    shown = what_changes(extract.summary)

    def only_as_shown(written: Extract) -> None:
        if what_changes(written.summary) != shown:
            raise WriteUndone(written)

    extract = check_and_write(extract, files, by=by, mapping=mapping, today=today, before_commit=only_as_shown)
    if extract.undone is not None:
        _await_confirmation(extract, extract.undone, by=by, checked_again=CHANGED_SINCE)
    return extract


def _await_confirmation(extract: Extract, undone: WriteUndone, *, by: Person, checked_again: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        Extract.objects.filter(pk=extract.pk).update(
            status=ExtractStatus.CHECKED, stage=ImportStage.DONE, progress_done=extract.progress_total,
            summary=undone.summary, problems=undone.problems, checked_at=now, confirmed_at=None,
            checked_again=checked_again,
        )
        record_event(Event.CHANGE, actor=by, target=extract, programme=extract.programme,
                     role=may_import(by, extract.programme) or "", action=1,
                     reason=(f"extract checked: no errors; waiting for confirmation until "
                             f"{(now + CONFIRM_WITHIN).isoformat(timespec='minutes')}; no record changed"
                             + (f" ({checked_again})" if checked_again else "")))
    extract.refresh_from_db()


def imported_since(extract: Extract) -> bool:
    return Extract.objects.filter(programme_id=extract.programme_id, status=ExtractStatus.SUCCEEDED,
                                  finished_at__gt=extract.checked_at).exclude(pk=extract.pk).exists()


def confirm(extract: Extract, *, by: Person, role: str, now: datetime | None = None) -> str:
    """A caseworker confirms a checked extract. Queues the write (QUEUED); or, if another extract
    was imported since the check, queues a new check (CHECK_AGAIN); or, past `CONFIRM_WITHIN`,
    expires it and deletes its upload (EXPIRED). NOT_WAITING when it is not waiting (confirmed
    twice, or expired by the sweep meanwhile): nothing is done."""
    now = now or timezone.now()
    with transaction.atomic():
        waiting = Extract.objects.select_for_update().filter(pk=extract.pk, status=ExtractStatus.CHECKED).first()
        if waiting is None:
            return NOT_WAITING
        if confirm_by(waiting) < now:
            expire(waiting, now=now, by=by, role=role)
            outcome = EXPIRED
        else:
            again = imported_since(waiting)
            Extract.objects.filter(pk=waiting.pk).update(
                status=ExtractStatus.RECEIVED, stage=ImportStage.QUEUED, progress_done=0,
                confirmed_at=None if again else now, checked_again=IMPORTED_SINCE if again else "",
            )
            record_event(Event.CHANGE, actor=by, target=waiting, programme=waiting.programme, role=role, action=1,
                         reason=("extract confirmed, but another extract was imported since its check: "
                                 "checking it again" if again else "extract confirmed: importing it"))
            send_on_commit("eligibility.run_import", waiting.pk, by.pk)
            outcome = CHECK_AGAIN if again else QUEUED
    if outcome == EXPIRED:
        _discard(waiting)
    else:
        uploads.mark_queued(waiting.upload_id)  # the sweep's clock for a queued import restarts
    return outcome


def cancel(extract: Extract, *, by: Person, role: str) -> bool:
    """A caseworker decides a checked extract is not to be imported: nothing is written and its
    upload is deleted now, not after `CONFIRM_WITHIN`. False when it was not waiting."""
    with transaction.atomic():
        if not Extract.objects.filter(pk=extract.pk, status=ExtractStatus.CHECKED).update(
                status=ExtractStatus.CANCELLED, finished_at=timezone.now(), confirmed_at=None):
            return False
        record_event(Event.CHANGE, actor=by, target=extract, programme=extract.programme, role=role, action=1,
                     reason="extract not to be imported (cancelled after its check): nothing imported; "
                            "its upload is deleted")
    _discard(extract)
    return True


def expire(extract: Extract, *, now: datetime, by: Person | None = None, role: str = "") -> bool:
    """Mark a checked extract not confirmed in time (in the caller's transaction), with its audit
    entry. The caller deletes the upload once this commits. False if it was no longer waiting."""
    if not Extract.objects.filter(pk=extract.pk, status=ExtractStatus.CHECKED).update(
            status=ExtractStatus.EXPIRED, finished_at=now, confirmed_at=None):
        return False
    record_event(Event.CHANGE, actor=by, target=extract, programme=extract.programme, role=role, action=1,
                 reason=f"extract not confirmed within {int(CONFIRM_WITHIN.total_seconds() // 3600)} hours of "
                        "its check: nothing imported; its upload is deleted")
    return True


def _discard(extract: Extract) -> None:
    if extract.upload_id and uploads.discard(extract.upload_id):
        Extract.objects.filter(pk=extract.pk).update(upload_id="", stored_files=[])
