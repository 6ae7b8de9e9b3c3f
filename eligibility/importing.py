"""The import pipeline's database side: an extract that reads without errors becomes women,
children, legal statuses and care episodes — all or nothing, minimum necessary, encrypted.

Two reads of the files. The first (``scan_extract``) validates every row and, as it goes, keeps
the compact plan of who is kept (``import_plan``: women with at least one counted, review or
unrecognised event for a child, and all their children) and stages every event in a temporary
table. Only if it found no error does the second begin, inside one transaction: it reads
``ssd_person`` alone (the flat template: its one file), encrypts the kept people, and the rest
is set-based SQL (``import_writer``). Any failure rolls everything back. A newer extract is a
full snapshot: people are matched on the Trust's person id through blind indexes (every live
key version), updated in place, never duplicated; people it no longer contains are marked,
never deleted; rectified values stand; people erased on request are not brought back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import BinaryIO

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from eligibility.duplicates import propose_duplicates
from eligibility.extract import Code, ExtractFormat, Level, PersonRow, Problem, Table, scan_extract
from eligibility.extract.validate import check_mapping
from eligibility.import_plan import Plan
from eligibility.import_writer import (
    PeopleWriter,
    mark_missing,
    stage_event,
    staging_tables,
    upsert_events,
)
from eligibility.models import Extract, ExtractStatus, ImportStage, Woman
from pause_portal import presenting
from pause_portal.tenancy.models import Person, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.fields import Protector

Files = list[tuple[str, BinaryIO]]
FLAT = ExtractFormat.FLAT


class AlreadyImported(Exception):
    """This exact file was imported successfully in this programme before."""

    def __init__(self, extract: Extract):
        self.extract = extract
        super().__init__(
            f"This file was already imported on {presenting.moment(extract.finished_at)}. "
            "Nothing has been changed."
        )


def fingerprint(files: Files) -> tuple[str, int]:
    """SHA-256 and size of the upload (files in the order given), streamed."""
    digest, size = hashlib.sha256(), 0
    for name, handle in files:
        digest.update(name.encode() + b"\0")
        handle.seek(0)
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        handle.seek(0)
    return digest.hexdigest(), size


def _problem_dict(p: Problem) -> dict:
    return {"level": str(p.level), "code": str(p.code), "message": p.message, "file": p.file, "row": p.row,
            "column": p.column}


def may_import(person: Person, programme: Programme) -> str | None:
    """The person's role if they may import into the programme now, else None (re-checked by tasks)."""
    membership = membership_in(person, programme.pk)
    if membership is None or not role_has(membership.role, Perm.UPLOAD_EXTRACTS):
        return None
    return membership.role


def refuse_if_imported(programme: Programme, sha: str, *, but: Extract | None = None) -> None:
    earlier = (Extract.objects.filter(programme=programme, sha256=sha, status=ExtractStatus.SUCCEEDED)
               .exclude(pk=getattr(but, "pk", None)).first())
    if earlier is not None:
        raise AlreadyImported(earlier)


def import_extract(
    *, programme: Programme, files: Files, by: Person, mapping: dict | None = None, today: date | None = None
) -> Extract:
    """Read, check and import an upload, synchronously (the command's path). Returns the Extract
    (succeeded or refused); raises AlreadyImported for a file imported before; an unexpected
    failure leaves the extract marked failed and no record changed."""
    if may_import(by, programme) is None:
        raise PermissionDenied("Only the programme's Trust caseworkers and leads import extracts.")
    sha, size = fingerprint(files)
    refuse_if_imported(programme, sha)
    extract = Extract.objects.create(
        programme=programme, uploaded_by=by, file_names=[name for name, _ in files], sha256=sha, size_bytes=size,
    )
    return run_import(extract, files, by=by, mapping=mapping, today=today)


class _Progress:
    """Counts bytes read across the passes over the files and saves the progress now and then
    (outside the write transaction only: inside it, nobody else could see it anyway)."""

    STEP = 4 * 1024 * 1024

    def __init__(self, extract: Extract, passes: int = 2):
        self.extract = extract
        self.done = 0
        self.saved = 0
        extract.progress_total = max(extract.size_bytes * passes, 1)

    def wrap(self, files: Files) -> Files:
        return [(name, _CountingReader(handle, self)) for name, handle in files]

    def advance(self, n: int) -> None:
        self.done += n
        if self.done - self.saved >= self.STEP and not transaction.get_connection().in_atomic_block:
            self.save()

    def save(self, stage: str | None = None) -> None:
        self.saved = self.done
        fields = {"progress_done": min(self.done, self.extract.progress_total), "progress_total": self.extract.progress_total}
        if stage:
            fields["stage"] = stage
        Extract.objects.filter(pk=self.extract.pk).update(**fields)


class _CountingReader:
    """A binary file that tells _Progress how much has been read through it."""

    def __init__(self, handle, progress: _Progress):
        self._h, self._p = handle, progress

    def read(self, n: int = -1) -> bytes:
        data = self._h.read(n)
        self._p.advance(len(data))
        return data

    def readinto(self, buffer) -> int:
        n = self._h.readinto(buffer)
        self._p.advance(n or 0)
        return n

    def __getattr__(self, name):
        return getattr(self._h, name)

    def __iter__(self):
        return iter(self._h)


def run_import(
    extract: Extract, files: Files, *, by: Person, mapping: dict | None = None, today: date | None = None
) -> Extract:
    """Everything after the upload, in one go (the command's path): check, and if there are no
    errors, write all or nothing. The portal checks first and writes once a caseworker has
    confirmed what will change (``eligibility.import_confirmation``)."""
    return check_and_write(extract, files, by=by, mapping=mapping, today=today, before_commit=None)


class WriteUndone(Exception):
    """Raised by a ``before_commit`` to roll the write back on purpose; carries the summary and
    problems the write would have recorded."""

    def __init__(self, extract: Extract):
        self.summary, self.problems = extract.summary, extract.problems
        super().__init__("the write was rolled back on purpose")


def check_and_write(
    extract: Extract, files: Files, *, by: Person, mapping: dict | None = None, today: date | None = None,
    before_commit: Callable[[Extract], None] | None,
) -> Extract:
    """Check the upload; if it has no errors, write it in one transaction. ``before_commit`` sees
    the extract as the write left it (summary, problems), inside that transaction, and may raise
    ``WriteUndone`` to roll every row back (a rehearsal, or a write that no longer matches what was
    confirmed): the extract is then returned as stored, with ``undone`` holding the exception."""
    programme = extract.programme
    role = may_import(by, programme)
    if role is None:
        raise PermissionDenied("Only the programme's Trust caseworkers and leads import extracts.")
    extract.undone = None
    extract.status, extract.failure = ExtractStatus.RUNNING, ""
    extract.save(update_fields=["status", "failure"])
    progress = _Progress(extract)
    progress.save(stage=ImportStage.CHECKING)
    try:  # the same files imported while this upload waited (two uploads of one file, both checked)
        refuse_if_imported(programme, extract.sha256, but=extract)
    except AlreadyImported as exc:
        again = Problem(Level.ERROR, Code.ALREADY_IMPORTED, str(exc))
        extract.problems = [_problem_dict(again)]
        return _refuse(extract, [again], {Code.ALREADY_IMPORTED: 1}, by, role)
    try:
        mapping = check_mapping(mapping)
    except ValueError as exc:  # a saved mapping the reader no longer accepts: the caseworker's to fix
        name = f"‘{extract.column_mapping.name}’ " if extract.column_mapping_id else ""
        bad = Problem(Level.ERROR, Code.BAD_MAPPING,
                      f"The column mapping {name}cannot be used. {exc}. Choose another mapping or save a new one")
        extract.problems = [_problem_dict(bad)]
        return _refuse(extract, [bad], {Code.BAD_MAPPING: 1}, by, role)
    try:
        with staging_tables() as staging:
            scan = scan_extract(progress.wrap(files), mapping=mapping, today=today)
            plan = Plan(events=partial(stage_event, staging), addresses_after_links=lambda: scan.format is not FLAT)
            for record in scan:
                plan.observe(record)
            staging.flush()
            reading = scan.reading
            extract.format = str(reading.format or "")
            extract.problems = [_problem_dict(p) for p in reading.problems]
            if not reading.ok:
                return _refuse(extract, reading.problems, reading.problem_counts, by, role)
            plan.finish()
            progress.save(stage=ImportStage.SAVING)
            Protector.load(programme.pk, Woman.key_phase)  # a first key is made (and kept) outside the write
            try:
                with transaction.atomic():
                    summary = _write(extract, reading, plan, staging, by, role)
                    _succeed(extract, reading, summary)
                    if before_commit is not None:
                        before_commit(extract)
            except WriteUndone as undone:
                extract.refresh_from_db()
                extract.undone = undone
                return extract
    except Exception as exc:
        Extract.objects.filter(pk=extract.pk).update(
            status=ExtractStatus.FAILED, finished_at=timezone.now(), failure=type(exc).__name__[:200]
        )
        raise
    return extract


def _succeed(extract: Extract, reading, summary: dict) -> None:
    """Record the outcome in the write's own transaction: the records and "imported" together."""
    kept = summary.pop("corrections_kept")  # problems (file, row, column), reported as warnings
    extract.summary = {
        **summary,
        "left_out": reading.left_out,
        "warnings": len(reading.warnings) + len(kept),
        "corrections_kept": len(kept),
        "rows_read": reading.rows_read,
    }
    extract.problems = extract.problems + kept
    extract.status = ExtractStatus.SUCCEEDED
    extract.stage, extract.progress_done = ImportStage.DONE, extract.progress_total
    extract.finished_at = timezone.now()
    extract.checked_again = ""
    extract.save()


def _refuse(extract: Extract, problems: list[Problem], counts: dict, by: Person, role: str) -> Extract:
    """Record the refusal (outcome, report, audit entry: one transaction). The caller deletes
    the upload after, as for an import that succeeded: its hash, size and report stay."""
    extract.status = ExtractStatus.REFUSED
    extract.summary = {"errors": sum(1 for p in problems if p.level == "error"),
                       "problem_counts": {str(k): v for k, v in counts.items()}}
    extract.finished_at = timezone.now()
    extract.stage, extract.progress_done = ImportStage.DONE, extract.progress_total
    with transaction.atomic():
        extract.save()
        record_event(Event.CHANGE, actor=by, target=extract, programme=extract.programme, role=role,
                     reason="extract refused: it has errors; no record changed", action=1)
    return extract


def _write(extract: Extract, reading, plan: Plan, staging, by: Person, role: str) -> dict:
    programme = extract.programme
    protector = Protector.load(programme.pk, Woman.key_phase)
    writer = PeopleWriter(extract, programme, protector, plan, staging)
    for record in reading.iter_records(tables={Table.PERSON}):
        if type(record) is PersonRow:
            writer.person(record)
    writer.finish()
    e_counts = _upsert_events(extract)
    missing = mark_missing(programme, protector, plan, extract)
    touched = Woman.objects.filter(last_extract=extract)
    proposed = propose_duplicates(programme, touched, protector=protector)
    w_counts, c_counts = writer.counts["women"], writer.counts["children"]
    changed = list(touched.filter(first_extract=extract).values_list("pk", flat=True)) + writer.changed_women
    record_event(
        Event.CHANGE, actor=by, subject_ids=changed, subject_model=Woman, programme=programme, role=role,
        reason=(f"extract #{extract.pk} imported: women {w_counts['created']} added, {w_counts['updated']} updated; "
                f"children {c_counts['created']} added, {c_counts['updated']} updated; "
                f"{missing['women']} women and {missing['children']} children not in this extract"
                + (f"; {writer.erased_left_out} people erased on request left out" if writer.erased_left_out else "")
                + (f"; {len(writer.differences)} corrected values kept" if writer.differences else "")
                + (f"; fields changed: {_counted(writer.changed_fields)}" if writer.changed_fields else "")),
        action=1,
    )  # fmt: skip
    kept = plan.kept_women_count + len(plan.kept_children) - sum(map(plan.is_kept_woman, plan.kept_children))
    return {
        "women": w_counts, "children": c_counts, "events": e_counts, "not_in_latest": missing,
        "people_left_out": max(len(plan.present) - kept, 0),
        "people_left_out_reason": "no counted or review event for any child of theirs",
        "erased_left_out": writer.erased_left_out,
        "duplicates_proposed": proposed,
        "corrections_kept": [_correction_problem(d) for d in writer.differences],
    }  # fmt: skip


def _counted(counter) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counter.items()))


def _correction_problem(difference: dict) -> dict:
    return _problem_dict(Problem(
        Level.WARNING, Code.CORRECTION_KEPT,
        "This value differs from a correction made on request. The correction stands: check the "
        "case system's record", difference["file"], difference["row"], difference["column"],
    ))  # fmt: skip


_upsert_events = upsert_events  # a seam: tests make it fail to prove the import is all or nothing
