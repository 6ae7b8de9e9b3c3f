"""Issue 17: no encrypted upload outlives its purpose. The view deletes whatever no extract
records, whatever it answers; the import deletes its own once the outcome is recorded; the
hourly sweep (beat task and command) deletes what is left behind, and logs counts only."""

import logging
import os
import time
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from eligibility import uploads
from eligibility.models import Extract, ExtractStatus
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.eligibility.extracts import Ssd

pytestmark = pytest.mark.django_db
UPLOAD = reverse("eligibility:upload")
HOUR = 3600


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.PORTAL_UPLOAD_DIR = tmp_path / "uploads"
    return settings.PORTAL_UPLOAD_DIR


def files_of(extract: Ssd):
    return [SimpleUploadedFile(name, data, content_type="text/csv") for name, data in extract.named()]


def on_disk(upload_dir) -> list:
    return [p for p in upload_dir.rglob("*")] if upload_dir.exists() else []


# --- refused uploads keep nothing --------------------------------------------------------------
def test_an_upload_refused_for_a_bad_form_token_leaves_no_file(caseworker, upload_dir):
    client = Client(enforce_csrf_checks=True)
    sign_in_verified(client, caseworker)
    client.get(UPLOAD)  # the CSRF cookie: the token is checked against it, reading the body
    response = client.post(UPLOAD, {"files": files_of(Ssd()), "csrfmiddlewaretoken": "x" * 64})
    assert response.status_code == 403
    assert not Extract.objects.exists() and on_disk(upload_dir) == []


def test_an_upload_refused_for_a_malformed_mapping_leaves_no_file(client, caseworker, upload_dir):
    sign_in_verified(client, caseworker)
    response = client.post(UPLOAD, {"files": files_of(Ssd()), "mapping": "not-a-number"})
    assert response.status_code == 400
    assert not Extract.objects.exists() and on_disk(upload_dir) == []


def test_an_upload_whose_extract_cannot_be_recorded_leaves_no_file(client, caseworker, upload_dir, monkeypatch):
    from eligibility.views import extracts

    def audit_write_fails(*args, **kwargs):
        raise RuntimeError("the audit write failed")

    monkeypatch.setattr(extracts, "record_event", audit_write_fails)
    sign_in_verified(client, caseworker)
    with pytest.raises(RuntimeError):
        client.post(UPLOAD, {"files": files_of(Ssd())})
    assert not Extract.objects.exists() and on_disk(upload_dir) == []


def test_a_refused_import_is_recorded_with_its_hash_and_report_then_its_upload_deleted(
        client, caseworker, upload_dir, django_capture_on_commit_callbacks):
    sign_in_verified(client, caseworker)
    bad = Ssd().set("ssd_legal_status", 0, lega_person_id="NOBODY")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(UPLOAD, {"files": files_of(bad)})
    extract = Extract.objects.get()
    assert extract.status == ExtractStatus.REFUSED and len(extract.sha256) == 64 and extract.problems
    assert extract.upload_id == "" and extract.stored_files == [] and on_disk(upload_dir) == []
    assert AuditEntry.objects.filter(event=Event.CHANGE, object_repr=f"eligibility.extract:{extract.pk}",
                                     reason__startswith="extract refused").exists()


def test_an_upload_that_cannot_be_deleted_stays_recorded_and_the_sweep_deletes_it(
        client, caseworker, upload_dir, monkeypatch, django_capture_on_commit_callbacks):
    real_rmtree = uploads.shutil.rmtree

    def disk_refuses(path, *args, **kwargs):
        raise PermissionError("read-only for now")

    monkeypatch.setattr(uploads.shutil, "rmtree", disk_refuses)
    sign_in_verified(client, caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(UPLOAD, {"files": files_of(Ssd().set("ssd_legal_status", 0, lega_person_id="NOBODY"))})
    extract = Extract.objects.get()
    assert extract.status == ExtractStatus.REFUSED
    assert extract.upload_id and on_disk(upload_dir)  # still recorded: never a file with no record
    monkeypatch.setattr(uploads.shutil, "rmtree", real_rmtree)
    report = uploads.sweep_kept_uploads()
    extract.refresh_from_db()
    assert report.finished == 1 and extract.upload_id == "" and on_disk(upload_dir) == []


# --- the sweep ---------------------------------------------------------------------------------
def kept(upload_dir, *, hours_old: float, name: str | None = None):
    """An encrypted-looking upload folder, last written ``hours_old`` hours ago."""
    folder = upload_dir / (name or os.urandom(16).hex())
    folder.mkdir(parents=True)
    (folder / "0").write_bytes(os.urandom(64))
    when = time.time() - hours_old * HOUR
    for path in (folder / "0", folder):
        os.utime(path, (when, when))
    return folder


def extract_for(programme, person, folder, status, **fields):
    return f.ExtractFactory(programme=programme, uploaded_by=person, status=status, upload_id=folder.name,
                            stored_files=["ssd_person.csv"], **fields)


def test_the_sweep_deletes_an_orphan_and_leaves_an_upload_in_progress(upload_dir):
    orphan = kept(upload_dir, hours_old=7)
    arriving = kept(upload_dir, hours_old=0.1)  # being uploaded: its extract is not recorded yet
    report = uploads.sweep_kept_uploads()
    assert not orphan.exists() and arriving.exists()
    assert (report.no_record, report.waiting, report.deleted) == (1, 1, 1)


def test_the_sweep_deletes_finished_failed_long_ago_and_stuck_uploads(caseworker, programme, upload_dir):
    done = extract_for(programme, caseworker, kept(upload_dir, hours_old=1), ExtractStatus.SUCCEEDED)
    refused = extract_for(programme, caseworker, kept(upload_dir, hours_old=1), ExtractStatus.REFUSED)
    old_failure = extract_for(programme, caseworker, kept(upload_dir, hours_old=1), ExtractStatus.FAILED,
                              finished_at=timezone.now() - timedelta(days=8))
    new_failure = extract_for(programme, caseworker, kept(upload_dir, hours_old=1), ExtractStatus.FAILED)
    stuck = extract_for(programme, caseworker, kept(upload_dir, hours_old=72), ExtractStatus.RECEIVED,
                        uploaded_at=timezone.now() - timedelta(days=3))
    queued = extract_for(programme, caseworker, kept(upload_dir, hours_old=1), ExtractStatus.RECEIVED)

    report = uploads.sweep_kept_uploads()

    for extract in (done, refused, old_failure, stuck):
        folder = upload_dir / extract.upload_id
        extract.refresh_from_db()
        assert not folder.exists() and extract.upload_id == "" and extract.stored_files == []
        assert AuditEntry.objects.filter(event=Event.CHANGE, object_repr=f"eligibility.extract:{extract.pk}",
                                         reason__startswith="kept upload deleted by the upload sweep").exists()
    assert stuck.status == ExtractStatus.FAILED and stuck.finished_at and "not imported within 2 days" in stuck.failure
    for extract in (new_failure, queued):  # a retry is still possible; an import is still on its way
        assert (upload_dir / extract.upload_id).exists()
        extract.refresh_from_db()
        assert extract.upload_id
    assert (report.finished, report.failed_not_retried, report.never_imported) == (2, 1, 1)


def test_a_failed_import_past_its_retry_window_no_longer_offers_a_retry(client, caseworker, programme, upload_dir):
    failed = extract_for(programme, caseworker, kept(upload_dir, hours_old=1), ExtractStatus.FAILED,
                         finished_at=timezone.now() - timedelta(days=8), failure="RuntimeError")
    sign_in_verified(client, caseworker)
    page = reverse("eligibility:extract", args=[failed.pk])
    assert "Try the import again" in client.get(page).content.decode()
    uploads.sweep_kept_uploads()
    assert "Try the import again" not in client.get(page).content.decode()
    assert client.post(reverse("eligibility:extract-retry", args=[failed.pk])).status_code == 404


def test_the_sweep_clears_a_record_whose_upload_is_already_gone(caseworker, programme, upload_dir):
    folder = kept(upload_dir, hours_old=1)
    failed = extract_for(programme, caseworker, folder, ExtractStatus.FAILED)
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()
    report = uploads.sweep_kept_uploads()
    failed.refresh_from_db()
    assert failed.upload_id == "" and report.records_cleared == 1 and report.deleted == 0


def test_the_sweep_leaves_what_is_not_named_like_an_upload(upload_dir):
    kept(upload_dir, hours_old=48, name="not-an-upload")
    (upload_dir / "README").write_text("someone else's")
    report = uploads.sweep_kept_uploads()
    assert (upload_dir / "not-an-upload").exists() and (upload_dir / "README").exists()
    assert report.left_alone == 2 and report.deleted == 0


def test_a_dry_run_counts_and_changes_nothing(caseworker, programme, upload_dir):
    orphan = kept(upload_dir, hours_old=7)
    done = extract_for(programme, caseworker, kept(upload_dir, hours_old=1), ExtractStatus.SUCCEEDED)
    report = uploads.sweep_kept_uploads(dry_run=True)
    done.refresh_from_db()
    assert (report.no_record, report.finished) == (1, 1)
    assert orphan.exists() and (upload_dir / done.upload_id).exists() and done.upload_id


def test_the_command_and_the_beat_task_sweep_and_log_counts_never_names(caseworker, programme, upload_dir, caplog,
                                                                     capsys):
    from eligibility.tasks import sweep_kept_uploads as task

    kept(upload_dir, hours_old=7)
    extract_for(programme, caseworker, kept(upload_dir, hours_old=1), ExtractStatus.SUCCEEDED,
                file_names=["ssd_person.csv"])
    with caplog.at_level(logging.INFO, logger="eligibility.uploads"):
        call_command("sweep_uploads", "--dry-run")
        assert "2 kept uploads would be deleted" in capsys.readouterr().out
        call_command("sweep_uploads")
        assert "2 kept uploads deleted" in capsys.readouterr().out
        kept(upload_dir, hours_old=7)
        assert task.delay().get() == 1
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "kept uploads deleted" in logged
    for name in ("ssd_person", caseworker.email, caseworker.full_name, str(upload_dir)):
        assert name not in logged
    beat = {entry["task"]: entry for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "eligibility.sweep_kept_uploads" in beat


def test_a_retry_restarts_the_sweeps_clock_for_an_import_uploaded_days_ago(client, caseworker, programme, upload_dir):
    folder = kept(upload_dir, hours_old=72)
    failed = extract_for(programme, caseworker, folder, ExtractStatus.FAILED,
                         uploaded_at=timezone.now() - timedelta(days=3), failure="RuntimeError")
    sign_in_verified(client, caseworker)
    client.post(reverse("eligibility:extract-retry", args=[failed.pk]))  # queued: on-commit not run here
    failed.refresh_from_db()
    assert failed.status == ExtractStatus.RECEIVED
    uploads.sweep_kept_uploads()
    failed.refresh_from_db()
    assert failed.status == ExtractStatus.RECEIVED and folder.exists()  # queued again today: left alone
    uploads.sweep_kept_uploads(now=timezone.now() + timedelta(days=3))
    failed.refresh_from_db()
    assert failed.status == ExtractStatus.FAILED and not folder.exists()
