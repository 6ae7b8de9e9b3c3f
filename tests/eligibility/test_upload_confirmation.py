"""Issue 24: after the check and before writing, the caseworker sees what the import will change
and confirms; a checked upload waits at most 24 hours (the sweep leaves it alone until then);
confirming after another import checks it again; what is written is exactly what was shown; after
the import, the next step is the decision queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry
from eligibility import import_confirmation, importing, uploads
from eligibility.models import Child, Extract, ExtractStatus, Woman
from tests.conftest import sign_in_verified
from tests.eligibility.confirming import confirm_checked
from tests.eligibility.extracts import Ssd

pytestmark = pytest.mark.django_db
UPLOAD = reverse("eligibility:upload")


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.PORTAL_UPLOAD_DIR = tmp_path / "uploads"
    return settings.PORTAL_UPLOAD_DIR


@pytest.fixture
def checked(client, caseworker, django_capture_on_commit_callbacks):
    """Upload the small extract and run its check (eager): it waits for confirmation."""

    def upload(extract: Ssd | None = None) -> Extract:
        sign_in_verified(client, caseworker)
        files = [SimpleUploadedFile(n, d, content_type="text/csv") for n, d in (extract or Ssd()).named()]
        with django_capture_on_commit_callbacks(execute=True):
            client.post(UPLOAD, {"files": files})
        return Extract.objects.order_by("-pk").first()

    return upload


def with_a_second_mother() -> Ssd:
    """The small extract plus a second mother (M2) whose child (C3) was under a care order."""
    return (Ssd().add("ssd_person", Ssd.person("M2", "Dee", "Jones", dob="1988-02-03", is_mother="Y"))
            .add("ssd_person", Ssd.person("C3", "Eve", "Jones", dob="2010-04-05"))
            .add("ssd_mother", {"moth_table_id": "T3", "moth_person_id": "M2", "moth_childs_person_id": "C3",
                                "moth_childs_dob": "2010-04-05"})
            .add("ssd_legal_status", Ssd.legal("L3", "C3", "C2", "2011-01-01")))


def page_of(client, extract) -> str:
    return client.get(reverse("eligibility:extract", args=[extract.pk])).content.decode()


def test_the_check_changes_nothing_and_shows_what_the_import_will_change(client, checked, upload_dir):
    extract = checked()
    assert extract.status == ExtractStatus.CHECKED and extract.checked_at and extract.confirmed_at is None
    assert not Woman.objects.exists() and not Child.objects.exists()  # rehearsed, rolled back
    assert extract.upload_id and any(upload_dir.rglob("*"))  # kept, encrypted, until confirmed
    assert not AuditEntry.objects.filter(reason__startswith=f"extract #{extract.pk} imported").exists()
    assert AuditEntry.objects.filter(reason__startswith="extract checked: no errors").exists()
    page = page_of(client, extract)
    assert "Check what the import will change" in page and "Confirm and import" in page
    assert "1 to be added" in page and "2 to be added" in page  # one woman, two children
    progress = client.get(reverse("eligibility:extract-progress", args=[extract.pk])).json()
    assert progress["finished"] is True  # the page reloads to show the figures


def test_the_figures_shown_are_the_import_s_own(client, checked, caseworker, programme,
                                                django_capture_on_commit_callbacks):
    importing.import_extract(programme=programme, files=with_a_second_mother().files(), by=caseworker)
    shown = import_confirmation.what_changes(checked(Ssd().set("ssd_person", 0, pers_forename="Anne")).summary)
    assert shown["women"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert shown["not_in_latest"] == {"women": 1, "children": 1}
    done = confirm_checked(client, django_capture_on_commit_callbacks)
    assert done.status == ExtractStatus.SUCCEEDED and import_confirmation.what_changes(done.summary) == shown


def test_women_no_longer_in_the_extract_are_shown_and_marked_only_once_confirmed(
        client, checked, caseworker, programme, django_capture_on_commit_callbacks):
    """The defect: a good upload quietly marked women and children as no longer in the latest
    extract, with no preview."""
    importing.import_extract(programme=programme, files=with_a_second_mother().files(), by=caseworker)
    extract = checked(Ssd())  # M2 and C3 are not in it
    assert not Woman.objects.filter(in_latest_extract=False).exists()
    assert not Child.objects.filter(in_latest_extract=False).exists()
    page = page_of(client, extract)
    assert "1 women and 1 children held from earlier extracts are not in this one" in page
    assert "will be marked as no longer in the latest extract" in page
    confirm_checked(client, django_capture_on_commit_callbacks)
    assert Woman.objects.filter(in_latest_extract=False).count() == 1
    assert Child.objects.filter(in_latest_extract=False).count() == 1


def test_after_the_import_the_next_step_is_the_decision_queue(client, checked, django_capture_on_commit_callbacks):
    """The defect: the only link after an import was "Upload another extract"."""
    checked()
    extract = confirm_checked(client, django_capture_on_commit_callbacks)
    page = page_of(client, extract)
    assert "Extract imported" in page and "Next step" in page
    queue = reverse("eligibility:queue")
    assert f'class="govuk-button" data-module="govuk-button" href="{queue}" id="next-step"' in page
    assert page.index(f'href="{queue}" id="next-step"') < page.index("Upload another extract")


def test_confirming_after_another_import_checks_the_upload_again(client, checked, caseworker, programme,
                                                                django_capture_on_commit_callbacks):
    extract = checked()
    importing.import_extract(programme=programme, files=with_a_second_mother().files(), by=caseworker)
    assert extract.summary["women"]["created"] == 1
    again = confirm_checked(client, django_capture_on_commit_callbacks)
    assert again.pk == extract.pk and again.status == ExtractStatus.CHECKED  # checked again, not written
    assert again.checked_at > extract.checked_at  # its 24 hours start again
    assert again.checked_again == import_confirmation.IMPORTED_SINCE
    assert again.summary["women"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert again.summary["not_in_latest"] == {"women": 1, "children": 1}
    assert not Woman.objects.filter(in_latest_extract=False).exists()  # nothing marked yet
    assert import_confirmation.IMPORTED_SINCE in page_of(client, again)
    done = confirm_checked(client, django_capture_on_commit_callbacks)
    assert done.status == ExtractStatus.SUCCEEDED and done.checked_again == ""
    assert Woman.objects.filter(in_latest_extract=False).count() == 1


def test_a_write_that_would_differ_from_what_was_shown_is_rolled_back_and_checked_again(
        client, checked, django_capture_on_commit_callbacks):
    extract = checked()
    shown = dict(extract.summary, women={"created": 5, "updated": 0, "unchanged": 0})  # not what it will do
    Extract.objects.filter(pk=extract.pk).update(summary=shown)
    again = confirm_checked(client, django_capture_on_commit_callbacks)
    assert again.status == ExtractStatus.CHECKED and again.checked_again == import_confirmation.CHANGED_SINCE
    assert again.summary["women"]["created"] == 1 and not Woman.objects.exists()
    assert not AuditEntry.objects.filter(reason__startswith=f"extract #{extract.pk} imported").exists()


def test_confirming_twice_imports_once(client, checked, django_capture_on_commit_callbacks):
    extract = checked()
    confirm_checked(client, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(reverse("eligibility:extract-confirm", args=[extract.pk]), follow=True)
    assert queued == [] and "This extract is not waiting for confirmation" in response.content.decode()
    assert Woman.objects.count() == 1


def test_confirmation_is_a_post(client, checked):
    extract = checked()
    assert client.get(reverse("eligibility:extract-confirm", args=[extract.pk])).status_code == 405
    assert Extract.objects.get(pk=extract.pk).status == ExtractStatus.CHECKED


def test_a_check_older_than_24_hours_cannot_be_confirmed(client, checked, upload_dir,
                                                         django_capture_on_commit_callbacks):
    extract = checked()
    Extract.objects.filter(pk=extract.pk).update(checked_at=timezone.now() - timedelta(hours=24, minutes=1))
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(reverse("eligibility:extract-confirm", args=[extract.pk]), follow=True)
    extract.refresh_from_db()
    assert queued == [] and extract.status == ExtractStatus.EXPIRED and extract.finished_at
    assert "more than 24 hours old" in response.content.decode()
    assert extract.upload_id == "" and not any(upload_dir.rglob("*")) and not Woman.objects.exists()


def test_the_sweep_leaves_a_checked_upload_alone_for_24_hours_then_expires_it(checked, upload_dir):
    extract = checked()
    report = uploads.sweep_kept_uploads(now=extract.checked_at + timedelta(hours=23, minutes=59))
    assert report.deleted == 0 and Extract.objects.get(pk=extract.pk).status == ExtractStatus.CHECKED
    assert any(upload_dir.rglob("*"))
    report = uploads.sweep_kept_uploads(now=extract.checked_at + timedelta(hours=24, minutes=1))
    extract.refresh_from_db()
    assert report.not_confirmed == 1 and extract.status == ExtractStatus.EXPIRED and extract.upload_id == ""
    assert not any(upload_dir.rglob("*"))
    assert AuditEntry.objects.filter(reason__contains="not confirmed within 24 hours").exists()


def test_the_confirmation_is_audited_with_who_confirmed(client, checked, caseworker,
                                                        django_capture_on_commit_callbacks):
    extract = checked()
    confirm_checked(client, django_capture_on_commit_callbacks)
    entry = AuditEntry.objects.get(reason="extract confirmed: importing it")
    assert entry.actor_id == caseworker.pk and entry.object_id == extract.pk


def test_a_confirmed_write_that_fails_changes_nothing_and_its_retry_writes_what_was_shown(
        client, checked, monkeypatch, django_capture_on_commit_callbacks):
    extract = checked()
    shown = import_confirmation.what_changes(extract.summary)
    real = importing._upsert_events

    def broken(*args, **kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(importing, "_upsert_events", broken)
    with pytest.raises(RuntimeError):
        confirm_checked(client, django_capture_on_commit_callbacks)
    extract.refresh_from_db()
    assert extract.status == ExtractStatus.FAILED and extract.confirmed_at and not Woman.objects.exists()
    monkeypatch.setattr(importing, "_upsert_events", real)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("eligibility:extract-retry", args=[extract.pk]))
    extract.refresh_from_db()
    assert extract.status == ExtractStatus.SUCCEEDED and import_confirmation.what_changes(extract.summary) == shown
    assert Woman.objects.count() == 1 and extract.upload_id == ""


def test_the_outcome_is_saved_in_the_write_s_own_transaction(caseworker, programme, upload_dir):
    """Anything failing after the write and its "imported" are saved rolls both back together."""
    extract = Extract.objects.create(programme=programme, uploaded_by=caseworker, sha256="4" * 64, size_bytes=1)

    def fails_at_the_end(written):
        assert Extract.objects.get(pk=written.pk).status == ExtractStatus.SUCCEEDED and Woman.objects.exists()
        raise RuntimeError("after the write")

    with pytest.raises(RuntimeError):
        importing.check_and_write(extract, Ssd().files(), by=caseworker, before_commit=fails_at_the_end)
    extract.refresh_from_db()
    assert extract.status == ExtractStatus.FAILED and not Woman.objects.exists() and not Child.objects.exists()


def test_do_not_import_deletes_the_upload_now_and_writes_nothing(client, checked, caseworker, upload_dir,
                                                                 django_capture_on_commit_callbacks):
    extract = checked()
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(reverse("eligibility:extract-cancel", args=[extract.pk]), follow=True)
    extract.refresh_from_db()
    assert queued == [] and extract.status == ExtractStatus.CANCELLED and extract.finished_at
    assert extract.upload_id == "" and not any(upload_dir.rglob("*")) and not Woman.objects.exists()
    page = response.content.decode()
    assert "Nothing was imported, and the uploaded files have been deleted" in page and "Extract not imported" in page
    entry = AuditEntry.objects.get(reason__startswith="extract not to be imported")
    assert entry.actor_id == caseworker.pk and entry.object_id == extract.pk
    again = client.post(reverse("eligibility:extract-confirm", args=[extract.pk]), follow=True)
    assert "This extract is not waiting for confirmation" in again.content.decode() and not Woman.objects.exists()


def test_the_same_files_imported_while_an_upload_waited_are_refused_politely_at_its_recheck(
        client, checked, upload_dir, django_capture_on_commit_callbacks):
    first, second = checked(), checked()  # the same files twice, both checked before either is imported
    assert first.status == second.status == ExtractStatus.CHECKED
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("eligibility:extract-confirm", args=[first.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("eligibility:extract-confirm", args=[second.pk]))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == ExtractStatus.SUCCEEDED and second.status == ExtractStatus.REFUSED
    assert [p["code"] for p in second.problems] == ["already_imported"]
    assert "already imported" in second.problems[0]["message"] and second.upload_id == ""
    assert Woman.objects.count() == 1
