"""The upload page: encrypted at rest from the first byte, the import in the background, progress,
the report, retries and column mappings."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from eligibility.models import (
    ColumnMapping,
    Evaluation,
    EvaluationRun,
    Extract,
    ExtractStatus,
    Woman,
)
from tests.conftest import sign_in_verified
from tests.eligibility.confirming import confirm_checked
from tests.eligibility.extracts import Ssd

pytestmark = pytest.mark.django_db
UPLOAD = reverse("eligibility:upload")


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.PORTAL_UPLOAD_DIR = tmp_path / "uploads"
    return settings.PORTAL_UPLOAD_DIR


def files_of(extract: Ssd):
    return [SimpleUploadedFile(name, data, content_type="text/csv") for name, data in extract.named()]


def post(client, files, **extra):
    return client.post(UPLOAD, {"files": files, **extra})


def test_upload_imports_in_the_background_and_deletes_the_kept_upload(client, caseworker, upload_dir,
                                                                     django_capture_on_commit_callbacks):
    sign_in_verified(client, caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, files_of(Ssd()))
    extract = Extract.objects.get()
    assert response["Location"] == reverse("eligibility:extract", args=[extract.pk])
    assert extract.status == ExtractStatus.CHECKED and not Woman.objects.exists()  # waits for confirmation
    extract = confirm_checked(client, django_capture_on_commit_callbacks)
    assert extract.status == ExtractStatus.SUCCEEDED and Woman.objects.count() == 1
    assert extract.upload_id == "" and extract.stored_files == []
    run = EvaluationRun.objects.get()  # the proposals were recomputed after the import
    assert run.run_by == caseworker and Evaluation.objects.filter(run=run).count() == 1
    assert not any(upload_dir.rglob("*"))  # deleted once imported; hash, size and report stay
    assert len(extract.sha256) == 64 and extract.size_bytes > 0
    page = client.get(response["Location"]).content.decode()
    assert "Extract imported" in page and "1 added" in page
    progress = client.get(reverse("eligibility:extract-progress", args=[extract.pk])).json()
    assert progress == {"status": "succeeded", "status_label": "Imported", "stage": "Finished", "percent": 100,
                        "finished": True}


def test_the_upload_is_never_in_plaintext_on_disk(client, caseworker, upload_dir):
    sign_in_verified(client, caseworker)
    post(client, files_of(Ssd()))  # on-commit not run: the import has not started, the upload is kept
    extract = Extract.objects.get()
    assert extract.status == ExtractStatus.RECEIVED and len(extract.stored_files) == 4
    stored = b"".join(p.read_bytes() for p in upload_dir.rglob("*") if p.is_file())
    assert stored and b"Smith" not in stored and b"pers_person_id" not in stored


def test_the_same_file_again_is_refused_politely(client, caseworker, django_capture_on_commit_callbacks):
    sign_in_verified(client, caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, files_of(Ssd()))
    confirm_checked(client, django_capture_on_commit_callbacks)
    response = post(client, files_of(Ssd()))
    assert response.status_code == 409 and "already imported" in response.content.decode()
    assert Extract.objects.count() == 1


@pytest.mark.parametrize(("files", "message"), [
    ([], "Select the extract files to upload"),
    ([SimpleUploadedFile("notes.txt", b"hello")], "must be CSV, XLSX or ZIP"),
])
def test_bad_uploads_are_refused_with_a_clear_message_and_keep_nothing(client, caseworker, upload_dir, files, message):
    sign_in_verified(client, caseworker)
    response = post(client, files)
    assert response.status_code == 400 and message in response.content.decode()
    assert not Extract.objects.exists() and not any(upload_dir.rglob("*.*"))


def test_an_upload_over_the_limit_is_refused(client, caseworker, settings, upload_dir):
    settings.PORTAL_UPLOAD_MAX_BYTES = 100
    sign_in_verified(client, caseworker)
    response = post(client, files_of(Ssd()))
    assert response.status_code == 400 and "smaller than" in response.content.decode()
    assert not Extract.objects.exists() and not any(upload_dir.rglob("*"))


def test_a_refused_extract_shows_its_errors_and_the_report_is_safe_csv(client, caseworker,
                                                                      django_capture_on_commit_callbacks):
    sign_in_verified(client, caseworker)
    bad = Ssd().set("ssd_legal_status", 0, lega_person_id="NOBODY")
    with django_capture_on_commit_callbacks(execute=True):
        post(client, files_of(bad))
    extract = Extract.objects.get()
    assert extract.status == ExtractStatus.REFUSED and not Woman.objects.exists()
    page = client.get(reverse("eligibility:extract", args=[extract.pk])).content.decode()
    assert "Extract not imported" in page and "ssd_legal_status.csv" in page
    report = client.get(reverse("eligibility:extract-report", args=[extract.pk]))
    rows = list(csv.reader(io.StringIO(report.content.decode())))
    assert rows[0] == ["level", "file", "row", "column", "message", "code"]
    assert any(r[0] == "error" and r[1] == "ssd_legal_status.csv" and r[2] == "2" for r in rows[1:])


def test_report_cells_cannot_start_a_formula():
    """The report quotes through the kernel's one CSV guard; no module keeps a copy of it."""
    from pathlib import Path

    from eligibility.views import extracts
    from pause_portal.csv_safe import safe_cell

    assert extracts.safe_cell is safe_cell
    root = Path(__file__).resolve().parents[2]
    copies = [str(p.relative_to(root)) for folder in ("eligibility", "sharing", "audit", "pause_portal")
              for p in (root / folder).rglob("*.py")
              if '("=", "+", "-", "@"' in p.read_text() and p.name != "csv_safe.py"]
    assert copies == []


def test_a_failed_import_can_be_retried(client, caseworker, monkeypatch, django_capture_on_commit_callbacks):
    from eligibility import importing

    sign_in_verified(client, caseworker)
    real = importing._upsert_events

    def broken(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(importing, "_upsert_events", broken)
    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
        post(client, files_of(Ssd()))
    extract = Extract.objects.get()
    assert extract.status == ExtractStatus.FAILED and extract.upload_id and not Woman.objects.exists()
    assert "Try the import again" in client.get(reverse("eligibility:extract", args=[extract.pk])).content.decode()
    monkeypatch.setattr(importing, "_upsert_events", real)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("eligibility:extract-retry", args=[extract.pk]))
    extract = confirm_checked(client, django_capture_on_commit_callbacks)
    assert extract.status == ExtractStatus.SUCCEEDED and Woman.objects.count() == 1 and extract.upload_id == ""


def test_an_interrupted_import_is_marked_failed_when_its_task_comes_back(caseworker, programme):
    from eligibility.tasks import run_import

    extract = Extract.objects.create(programme=programme, uploaded_by=caseworker, sha256="1" * 64, size_bytes=1,
                                     status=ExtractStatus.RUNNING, upload_id="abc", stored_files=["x.csv"])
    assert run_import(extract.pk, caseworker.pk) == "interrupted"
    extract.refresh_from_db()
    assert extract.status == ExtractStatus.FAILED and extract.failure == "interrupted" and extract.finished_at


def test_the_task_rechecks_the_uploaders_role(caseworker, programme, system_admin):
    from eligibility.tasks import run_import
    from sharing import actions

    extract = Extract.objects.create(programme=programme, uploaded_by=caseworker, sha256="2" * 64, size_bytes=1,
                                     upload_id="abc", stored_files=["x.csv"])
    actions.revoke_role(membership=caseworker.memberships.get(), by=system_admin)
    assert run_import(extract.pk, caseworker.pk) == "refused actor"
    extract.refresh_from_db()
    assert extract.status == ExtractStatus.FAILED and "no longer allowed" in extract.failure


def test_a_saved_column_mapping_is_used(client, trust_lead, django_capture_on_commit_callbacks):
    sign_in_verified(client, trust_lead)
    response = client.post(reverse("eligibility:mappings"), {"name": "Our system", "lines": "pers_person_id = PersonID\nnonsense"})
    assert response.status_code == 400 and "Line 2 must look like" in response.content.decode()
    client.post(reverse("eligibility:mappings"), {"name": "Our system", "lines": "pers_person_id = PersonID"})
    mapping = ColumnMapping.objects.get()
    assert mapping.columns == {"pers_person_id": "PersonID"}
    renamed = Ssd()
    renamed.headers["ssd_person"][0] = "PersonID"
    for row in renamed.rows["ssd_person"]:
        row["PersonID"] = row.pop("pers_person_id")
    with django_capture_on_commit_callbacks(execute=True):
        post(client, files_of(renamed), mapping=mapping.pk)
    assert confirm_checked(client, django_capture_on_commit_callbacks).status == ExtractStatus.SUCCEEDED and Woman.objects.count() == 1
