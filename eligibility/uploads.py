"""Uploads, kept encrypted at rest from the first byte until their import succeeds or is refused.

`EncryptingUploadHandler` replaces Django's handlers for the upload view: each chunk of each file
is encrypted as it arrives (pseudonymisation.encrypted_files) under the programme's upload key,
hashed, and counted against the size limit — no plaintext copy ever reaches a temporary folder.

Only an upload that an extract records is kept: the view deletes any other when it answers
(`discard_unless_recorded`), the import deletes its own once it succeeds or is refused, and
`sweep_kept_uploads` (hourly, and `manage.py sweep_uploads`) deletes whatever is left behind. A
checked upload waiting for confirmation is left alone for `CONFIRM_WITHIN`, then expires.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import shutil
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import DatabaseError, transaction
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from eligibility.models import Extract, ExtractStatus
from pseudonymisation.encrypted_files import EncryptedFileReader, EncryptedFileWriter
from pseudonymisation.keys import Keyring, KeyScope
from pseudonymisation.models import Purpose

UPLOAD_PHASE = "uploads"
UPLOAD_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex: the only folder names the sweep deletes
# A folder is written while the request is read, before its extract is recorded: one with no
# record is left alone this long (an upload of the largest size takes minutes, not hours).
NO_RECORD_GRACE = timedelta(hours=6)
FAILED_KEPT_FOR = timedelta(days=7)  # a failed import can be tried again this long
UNFINISHED_BOUND = timedelta(days=2)  # queued or running longer than this: its task was lost
CONFIRM_WITHIN = timedelta(hours=24)  # a checked upload waits this long for confirmation, no longer

logger = logging.getLogger(__name__)


def upload_scope(programme_id: int) -> KeyScope:
    return KeyScope(programme_id, UPLOAD_PHASE, Purpose.ENCRYPTION)


def folder(upload_id: str) -> Path:
    if not upload_id or not upload_id.isalnum():
        raise ValueError("Not an upload id.")
    return Path(settings.PORTAL_UPLOAD_DIR) / upload_id


def file_id(upload_id: str, index: int) -> str:
    return f"{upload_id}/{index}"


class EncryptedUpload(UploadedFile):
    """What the view sees of an uploaded file: its name and size; the bytes are on disk, encrypted."""

    def __init__(self, name: str, size: int, index: int):
        super().__init__(file=io.BytesIO(), name=name, size=size)
        self.index = index


class EncryptingUploadHandler(FileUploadHandler):
    def __init__(self, request, programme_id: int, max_bytes: int | None = None):
        super().__init__(request)
        self.keyring = Keyring.load(upload_scope(programme_id))
        self.upload_id = uuid.uuid4().hex
        self.max_bytes = max_bytes or settings.PORTAL_UPLOAD_MAX_BYTES
        self.sha256 = hashlib.sha256()
        self.total = 0
        self.too_large = False
        self.count = 0
        self._writer: EncryptedFileWriter | None = None

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        target = folder(self.upload_id)
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._writer = EncryptedFileWriter(target / str(self.count), self.keyring, file_id(self.upload_id, self.count))
        self.sha256.update(self.file_name.encode() + b"\0")

    def receive_data_chunk(self, raw_data, start):
        self.total += len(raw_data)
        if self.total > self.max_bytes:
            self.too_large = True
            self._writer.close()
            discard(self.upload_id)
            raise StopUpload(connection_reset=False)
        self.sha256.update(raw_data)
        self._writer.write(raw_data)
        return None

    def upload_interrupted(self):
        """The client went away mid-upload: keep nothing."""
        if self._writer is not None:
            self._writer.close()
        discard(self.upload_id)

    def file_complete(self, file_size):
        self._writer.close()
        upload = EncryptedUpload(self.file_name, file_size, self.count)
        self.count += 1
        return upload


def open_files(extract, stack: ExitStack) -> list[tuple[str, io.BufferedReader]]:
    """The kept upload as (name, seekable plaintext stream) pairs, decrypted as they are read."""
    keyring = Keyring.load(upload_scope(extract.programme_id), create=False)
    base = folder(extract.upload_id)
    return [
        (name, stack.enter_context(io.BufferedReader(EncryptedFileReader(base / str(i), keyring, file_id(extract.upload_id, i)))))
        for i, name in enumerate(extract.stored_files)
    ]


def discard(upload_id: str) -> bool:
    """Delete a kept upload (its hash, size and report stay on the Extract). True when it is
    gone; False when it could not be deleted (logged; the sweep tries again)."""
    path = folder(upload_id)
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("a kept upload could not be deleted (%s); the upload sweep will try again", type(exc).__name__)
    return not path.exists()


def discard_unless_recorded(upload_id: str) -> None:
    """Delete an upload unless an extract records it (the upload view, whatever its answer).
    If the database cannot say, the files stay for the sweep rather than risk a recorded one."""
    try:
        recorded = Extract.objects.filter(upload_id=upload_id).exists()
    except DatabaseError:
        return
    if not recorded:
        discard(upload_id)


@dataclass
class SweepReport:
    """What a sweep deleted (or, in a dry run, would delete), counted: never a name."""

    no_record: int = 0  # folders no extract records, older than NO_RECORD_GRACE
    finished: int = 0  # uploads of imports that succeeded or were refused
    failed_not_retried: int = 0  # failed imports not tried again within FAILED_KEPT_FOR
    never_imported: int = 0  # queued or running past UNFINISHED_BOUND: marked failed
    not_confirmed: int = 0  # checked, not confirmed within CONFIRM_WITHIN: marked expired
    records_cleared: int = 0  # records pointing at a folder already gone (not counted above)
    waiting: int = 0  # folders with no record yet, within the grace: an upload in progress
    not_deleted: int = 0  # could not be deleted: the next sweep tries again
    left_alone: int = 0  # entries not named like an upload: not the portal's to delete

    @property
    def deleted(self) -> int:
        return self.no_record + self.finished + self.failed_not_retried + self.never_imported + self.not_confirmed

    def as_text(self) -> str:
        return ", ".join(f"{f.name.replace('_', ' ')} {getattr(self, f.name)}" for f in fields(self))


def _newest_change(path: Path) -> datetime | None:
    """When the folder or a file in it last changed; None if it is gone meanwhile."""
    try:
        stamps = [path.stat().st_mtime] + [p.stat().st_mtime for p in path.iterdir()]
    except FileNotFoundError:
        return None
    return datetime.fromtimestamp(max(stamps), tz=timezone.get_current_timezone())


def mark_queued(upload_id: str) -> None:
    """A retry queues the import again: the sweep's clock for an unfinished import restarts."""
    try:
        os.utime(folder(upload_id))
    except OSError:
        pass  # the retry's task reports a missing upload itself


def _why_remove(extract, now: datetime) -> tuple[str, str] | None:
    """(report field, audit reason) when an extract's kept upload should go, else None."""
    if extract.status in (ExtractStatus.SUCCEEDED, ExtractStatus.REFUSED, ExtractStatus.EXPIRED,
                          ExtractStatus.CANCELLED):
        return "finished", "its import has finished"
    if extract.status == ExtractStatus.CHECKED:  # waiting for confirmation: left alone until its bound
        if (extract.checked_at or extract.uploaded_at) < now - CONFIRM_WITHIN:
            hours = int(CONFIRM_WITHIN.total_seconds() // 3600)
            return "not_confirmed", f"not confirmed within {hours} hours of its check; the import is marked expired"
        return None
    if extract.status == ExtractStatus.FAILED and (extract.finished_at or extract.uploaded_at) < now - FAILED_KEPT_FOR:
        return "failed_not_retried", f"the failed import was not tried again within {FAILED_KEPT_FOR.days} days"
    queued = max(extract.uploaded_at, _newest_change(folder(extract.upload_id)) or extract.uploaded_at)
    if extract.status in (ExtractStatus.RECEIVED, ExtractStatus.RUNNING) and queued < now - UNFINISHED_BOUND:
        return "never_imported", f"not imported within {UNFINISHED_BOUND.days} days; the import is marked failed"
    if extract.status == ExtractStatus.FAILED and not folder(extract.upload_id).exists():
        return "records_cleared", "the kept upload is gone, so the import cannot be tried again"
    return None


def sweep_kept_uploads(*, now: datetime | None = None, dry_run: bool = False) -> SweepReport:
    """Delete every kept upload that should no longer be kept (see SweepReport), clearing its
    extract's record first with an audit entry in the same transaction (a stuck import is
    marked failed there too). Logs the counts. A dry run changes nothing."""
    now = now or timezone.now()
    report = SweepReport()
    base = Path(settings.PORTAL_UPLOAD_DIR)
    for extract in Extract.objects.exclude(upload_id="").select_related("programme").order_by("pk"):
        why = _why_remove(extract, now)
        if why is None:
            continue
        field, reason = why
        marks = field  # the extract's new status follows why it goes, even if its folder is gone
        if field != "records_cleared" and not folder(extract.upload_id).exists():
            field = "records_cleared"
        if dry_run:
            setattr(report, field, getattr(report, field) + 1)
            continue
        changes = {"upload_id": "", "stored_files": []}
        if marks == "never_imported":
            changes |= {"status": ExtractStatus.FAILED, "finished_at": now,
                        "failure": f"not imported within {UNFINISHED_BOUND.days} days"}
        elif marks == "not_confirmed":
            changes |= {"status": ExtractStatus.EXPIRED, "finished_at": now}
        with transaction.atomic():
            # Only if nothing changed since it was read (a retry may have just begun).
            if not Extract.objects.filter(pk=extract.pk, status=extract.status, upload_id=extract.upload_id).update(**changes):
                continue
            record_event(Event.CHANGE, target=extract, programme=extract.programme, action=1,
                         reason=f"kept upload deleted by the upload sweep: {reason}")
        if discard(extract.upload_id):
            setattr(report, field, getattr(report, field) + 1)
        else:
            report.not_deleted += 1  # no record points at it now: the next sweep's no-record rule
    if base.is_dir():
        recorded = set(Extract.objects.exclude(upload_id="").values_list("upload_id", flat=True))
        for path in base.iterdir():
            if not (path.is_dir() and UPLOAD_ID.fullmatch(path.name)):
                report.left_alone += 1
            elif path.name in recorded:
                continue
            elif (changed := _newest_change(path)) is None:
                continue  # deleted meanwhile
            elif changed > now - NO_RECORD_GRACE:
                report.waiting += 1
            elif dry_run or discard(path.name):
                report.no_record += 1
            else:
                report.not_deleted += 1
    logger.info("upload sweep: %d kept uploads %s (%s)", report.deleted,
                "would be deleted (dry run)" if dry_run else "deleted", report.as_text())
    return report
