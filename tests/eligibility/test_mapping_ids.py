"""Issue 17: a bad column-mapping id is a clear 400 (a form value), never a 500; another
programme's mapping is refused exactly like one that does not exist; a saved mapping the reader
no longer accepts refuses the import with a problem that says so."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from eligibility.models import ColumnMapping, Extract, ExtractStatus
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.eligibility.confirming import confirm_checked
from tests.eligibility.extracts import Ssd

pytestmark = pytest.mark.django_db
UPLOAD = reverse("eligibility:upload")
CHOOSE = "Select a saved column mapping from the list"


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.PORTAL_UPLOAD_DIR = tmp_path / "uploads"
    return settings.PORTAL_UPLOAD_DIR


@pytest.fixture
def ours(programme, trust_lead):
    return ColumnMapping.objects.create(programme=programme, name="Our system", columns={"pers_person_id": "PersonID"},
                                        created_by=trust_lead)


@pytest.fixture
def theirs(other_programme, trust_lead):
    return ColumnMapping.objects.create(programme=other_programme, name="Their system",
                                        columns={"pers_person_id": "PersonID"}, created_by=trust_lead)


def files_of(extract: Ssd):
    return [SimpleUploadedFile(name, data, content_type="text/csv") for name, data in extract.named()]


def main(response) -> str:
    """The page's main content, its CSRF token (masked afresh for each response) taken out."""
    page = response.content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page[page.index("<main"):page.index("</main>")])


BAD_VALUES = ["not-a-number", "1.5", "0x1", "1e3", "-1", "99999999999999999999999", "\u0661\u0662", "1 OR 1=1"]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_malformed_or_missing_mapping_id_is_a_clear_400(client, caseworker, ours, upload_dir, value):
    client.raise_request_exception = False  # a 500 must show as a 500, not as an exception
    sign_in_verified(client, caseworker)
    response = client.post(UPLOAD, {"files": files_of(Ssd()), "mapping": value})
    page = response.content.decode()
    assert response.status_code == 400
    assert CHOOSE in page and 'href="#id_mapping"' in page and 'id="id_mapping"' in page and 'id="id_mapping-error"' in page
    assert not Extract.objects.exists() and not any(upload_dir.rglob("*"))


def test_a_mapping_id_with_no_mapping_is_a_400(client, caseworker, ours, upload_dir):
    sign_in_verified(client, caseworker)
    response = client.post(UPLOAD, {"files": files_of(Ssd()), "mapping": str(ours.pk + 1000)})
    assert response.status_code == 400 and CHOOSE in response.content.decode()
    assert not Extract.objects.exists() and not any(upload_dir.rglob("*"))


def test_another_programmes_mapping_is_refused_exactly_like_a_missing_one(client, caseworker, ours, theirs,
                                                                          upload_dir):
    sign_in_verified(client, caseworker)
    other = client.post(UPLOAD, {"files": files_of(Ssd()), "mapping": str(theirs.pk)})
    missing = client.post(UPLOAD, {"files": files_of(Ssd()), "mapping": str(theirs.pk + ours.pk + 1000)})
    assert other.status_code == missing.status_code == 400
    assert main(other) == main(missing)  # nothing tells the two apart
    assert "Their system" not in other.content.decode()
    assert not Extract.objects.exists() and not any(upload_dir.rglob("*"))


def test_two_mapping_values_are_a_400(client, caseworker, ours, upload_dir):
    sign_in_verified(client, caseworker)
    response = client.post(UPLOAD, {"files": files_of(Ssd()), "mapping": [str(ours.pk), str(ours.pk)]})
    assert response.status_code == 400 and CHOOSE in response.content.decode()


def test_the_programmes_own_mapping_is_accepted(client, caseworker, ours, django_capture_on_commit_callbacks):
    renamed = Ssd()
    renamed.headers["ssd_person"][0] = "PersonID"
    for row in renamed.rows["ssd_person"]:
        row["PersonID"] = row.pop("pers_person_id")
    sign_in_verified(client, caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(UPLOAD, {"files": files_of(renamed), "mapping": str(ours.pk)})
    assert response.status_code == 302 and Extract.objects.get().status == ExtractStatus.CHECKED
    assert confirm_checked(client, django_capture_on_commit_callbacks).status == ExtractStatus.SUCCEEDED


def test_a_saved_mapping_the_reader_no_longer_accepts_refuses_the_import_with_a_problem(
        client, caseworker, programme, trust_lead, upload_dir, django_capture_on_commit_callbacks):
    # Saved through the form when the portal still read a column it no longer does.
    stale = ColumnMapping.objects.create(programme=programme, name="Old system", created_by=trust_lead,
                                         columns={"pers_old_column": "Old"})
    client.raise_request_exception = False
    sign_in_verified(client, caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(UPLOAD, {"files": files_of(Ssd()), "mapping": str(stale.pk)})
    assert response.status_code == 302
    extract = Extract.objects.get()
    assert extract.status == ExtractStatus.REFUSED and extract.upload_id == "" and not any(upload_dir.rglob("*"))
    [problem] = extract.problems
    assert problem["code"] == "bad_mapping" and "‘Old system’ cannot be used" in problem["message"]
    assert "pers_old_column" in problem["message"]
    page = client.get(response["Location"])
    assert page.status_code == 200 and "‘Old system’ cannot be used" in page.content.decode()


@pytest.mark.parametrize("name", ["extract", "extract-progress", "extract-report", "extract-retry"])
def test_extract_urls_answer_404_for_an_id_too_large_or_another_programmes(client, caseworker, other_programme, name):
    theirs = f.ExtractFactory(programme=other_programme, status=ExtractStatus.FAILED, upload_id="abc",
                              stored_files=["x.csv"])
    client.raise_request_exception = False
    sign_in_verified(client, caseworker)
    send = client.post if name == "extract-retry" else client.get
    for pk in (theirs.pk, 99999999999999999999999):
        assert send(reverse(f"eligibility:{name}", args=[pk])).status_code == 404
