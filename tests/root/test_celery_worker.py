"""Celery: JSON only, tasks enqueued on commit with ids, the actor re-checked — and one test
with a real worker on the real Redis broker."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail

from pause_portal.celery import app
from pause_portal.tenancy.roles import Role
from sharing import actions
from sharing.tasks import notify_grant_awaiting_confirmation
from tests import factories as f


def test_json_only():
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json" and app.conf.result_serializer == "json"


@pytest.mark.django_db
def test_the_task_does_nothing_if_the_actor_lost_the_role_meanwhile(programme, system_admin, django_capture_on_commit_callbacks):
    second = f.person(programme.trust, system_admin=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        grant = actions.request_role(person=f.person(programme.trust), programme=programme, role=Role.DPO, by=system_admin)
    assert len(callbacks) == 1  # enqueued only once the transaction commits
    actions.deactivate_person(person=system_admin, by=second)
    assert notify_grant_awaiting_confirmation(grant.pk, system_admin.pk) == 0
    assert mail.outbox == []


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_runs_the_task_after_commit(settings):
    app.conf.task_always_eager = False
    app.conf.broker_url = settings.CELERY_BROKER_URL
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            programme = f.programme()
            admin = f.person(programme.trust, system_admin=True)
            confirmer = f.person(programme.trust, system_admin=True)
            grant = actions.request_role(person=f.person(programme.trust), programme=programme, role=Role.DPO, by=admin)
            deadline = time.monotonic() + 20
            while not mail.outbox and time.monotonic() < deadline:
                time.sleep(0.1)
        assert [m.to for m in mail.outbox] == [[confirmer.email]]
        assert programme.name in mail.outbox[0].body
        assert grant.person.email not in mail.outbox[0].body
    finally:
        app.conf.task_always_eager = True


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_uploaded_extract_is_imported_by_a_real_worker(settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    from eligibility.models import Extract, ExtractStatus, RecomputeJob, Woman
    from tests.conftest import sign_in_verified
    from tests.eligibility.extracts import Ssd

    settings.PORTAL_UPLOAD_DIR = tmp_path / "uploads"
    app.conf.task_always_eager = False
    app.conf.broker_url = settings.CELERY_BROKER_URL
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            programme = f.programme()
            caseworker = f.person(programme.trust)
            f.membership(caseworker, programme, Role.TRUST_CASEWORKER)
            client = sign_in_verified(Client(), caseworker)
            files = [SimpleUploadedFile(name, data) for name, data in Ssd().named()]
            response = client.post(reverse("eligibility:upload"), {"files": files})
            assert response.status_code == 302
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # the check: it rehearses the import, changing nothing
                extract = Extract.objects.get()
                if extract.status not in (ExtractStatus.RECEIVED, ExtractStatus.RUNNING):
                    break
                time.sleep(0.2)
            assert extract.status == ExtractStatus.CHECKED, (extract.status, extract.failure)
            assert extract.summary["women"]["created"] == 1 and not Woman.objects.exists()
            confirmed = client.post(reverse("eligibility:extract-confirm", args=[extract.pk]))
            assert confirmed.status_code == 302
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # the import, then the rules it asks for
                extract = Extract.objects.get()
                job = RecomputeJob.objects.first()
                if extract.status != ExtractStatus.SUCCEEDED and extract.finished_at or job and job.finished_at:
                    break
                time.sleep(0.2)
        assert extract.status == ExtractStatus.SUCCEEDED, (extract.status, extract.failure)
        assert Woman.objects.count() == 1 and not any((tmp_path / "uploads").rglob("*"))
        assert job.status == "done" and job.why == f"extract #{extract.pk} imported", (job.status, job.failure)
        assert job.run.summary["women"] == 1
    finally:
        app.conf.task_always_eager = True
