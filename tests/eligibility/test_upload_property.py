"""Whatever is uploaded — random bytes, random CSV text, under any table name — the portal answers
without a server error and never imports part of it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eligibility.models import Child, Extract, ExtractStatus, LegalStatus, Woman
from tests.conftest import sign_in_verified

pytestmark = pytest.mark.django_db
NAMES = st.sampled_from(["ssd_person.csv", "ssd_mother.csv", "ssd_legal_status.csv", "ssd_cla_episodes.csv",
                         "extract.zip", "flat.csv", "flat.xlsx", "ssd_address.csv"])
CSV_TEXT = st.lists(
    st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12), min_size=1, max_size=6),
    max_size=6,
).map(lambda rows: "\r\n".join(",".join(cells) for cells in rows).encode())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.tuples(NAMES, st.one_of(st.binary(max_size=300), CSV_TEXT)), min_size=1, max_size=4,
                      unique_by=lambda f: f[0]))
def test_random_uploads_never_fail_the_server_or_import_in_part(caseworker, settings, tmp_path, django_capture_on_commit_callbacks, files):
    settings.PORTAL_UPLOAD_DIR = tmp_path / "uploads"
    client = sign_in_verified(Client(), caseworker)
    uploads = [SimpleUploadedFile(name, data) for name, data in files]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("eligibility:upload"), {"files": uploads})
    assert response.status_code < 500
    for extract in Extract.objects.all():
        assert extract.status in (ExtractStatus.REFUSED, ExtractStatus.SUCCEEDED)
        if extract.status == ExtractStatus.REFUSED:
            assert extract.problems and any(p["level"] == "error" for p in extract.problems)
    if not Extract.objects.filter(status=ExtractStatus.SUCCEEDED).exists():
        assert not Woman.objects.exists() and not Child.objects.exists() and not LegalStatus.objects.exists()
