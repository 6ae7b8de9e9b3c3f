"""Uploads, kept encrypted at rest from the first byte until their import succeeds or is refused.

`EncryptingUploadHandler` replaces Django's handlers for the upload view: each chunk of each file
is encrypted as it arrives (pseudonymisation.encrypted_files) under the programme's upload key,
hashed, and counted against the size limit — no plaintext copy ever reaches a temporary folder.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import uuid
from contextlib import ExitStack
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from pseudonymisation.encrypted_files import EncryptedFileReader, EncryptedFileWriter
from pseudonymisation.keys import Keyring, KeyScope
from pseudonymisation.models import Purpose

UPLOAD_PHASE = "uploads"


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


def discard(upload_id: str) -> None:
    """Delete a kept upload (its hash, size and report stay on the Extract)."""
    shutil.rmtree(folder(upload_id), ignore_errors=True)
