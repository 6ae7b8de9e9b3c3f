"""Issue 24: `make demo-extract` writes a synthetic extract to upload in the demo: the demo's next
Northbrook extract (the same families first, then more), which the upload checks without an error
and whose preview shows women added and nobody leaving the extract."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from eligibility.extract import read_extract
from eligibility.importing import import_extract
from eligibility.management.commands.write_synthetic_extract import DEMO_CHILDREN, DEMO_SEED
from eligibility.models import Extract, ExtractStatus
from eligibility.synthetic import ssd_upload
from pause_portal.management.commands.seed_demo import EXTRACTS
from tests.conftest import sign_in_verified

DAY = date(2026, 11, 2)


def test_the_defaults_make_the_demo_s_next_northbrook_extract():
    _, children, seed = EXTRACTS["Northbrook scoping"]
    assert DEMO_SEED == seed and DEMO_CHILDREN > children


def test_the_makefile_target_runs_the_command():
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "demo-extract:" in makefile and "manage.py write_synthetic_extract" in makefile


@pytest.mark.django_db
def test_the_written_extract_uploads_as_the_next_extract(client, caseworker, programme, tmp_path, settings,
                                                           django_capture_on_commit_callbacks):
    settings.PORTAL_UPLOAD_DIR = tmp_path / "uploads"
    files, _ = ssd_upload(children=40, seed=DEMO_SEED, today=DAY)
    assert import_extract(programme=programme, files=files, by=caseworker, today=DAY).status == ExtractStatus.SUCCEEDED
    call_command("write_synthetic_extract", str(tmp_path / "next"), "--children", "60", "--today", DAY.isoformat())
    written = sorted((tmp_path / "next").glob("*.csv"))
    assert [p.name for p in written] == ["ssd_address.csv", "ssd_cla_episodes.csv", "ssd_legal_status.csv",
                                         "ssd_mother.csv", "ssd_person.csv"]
    assert read_extract([(p.name, io.BytesIO(p.read_bytes())) for p in written], today=DAY).ok
    sign_in_verified(client, caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("eligibility:upload"),
                    {"files": [SimpleUploadedFile(p.name, p.read_bytes()) for p in written]})
    checked = Extract.objects.order_by("-pk").first()
    assert checked.status == ExtractStatus.CHECKED, (checked.status, checked.problems[:3])
    assert checked.summary["women"]["created"] > 0 and checked.summary["not_in_latest"]["women"] == 0
    assert checked.summary["women"]["unchanged"] > 0  # the same families first


def test_the_flat_template_too(tmp_path):
    call_command("write_synthetic_extract", str(tmp_path), "--children", "20", "--flat", "--today", DAY.isoformat())
    path = tmp_path / "flat_template.csv"
    assert read_extract([(path.name, io.BytesIO(path.read_bytes()))], today=DAY).ok
