"""Issue 24: a page in the product lists every accepted column and code, rendered from the same
definitions the validator uses, with template CSVs to download. The page is read back as a
caseworker sees it and compared with what the reader actually does."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from eligibility.extract import Code, read_extract, ssd
from eligibility.extract.codes import CODE_LISTS
from eligibility.extract.flat import FLAT_COLUMNS
from eligibility.extract.validate import KNOWN_COLUMNS
from tests.conftest import sign_in_verified
from tests.eligibility.extracts import TODAY, Ssd, codes_of, flat_csv, flat_rows, upload

pytestmark = pytest.mark.django_db
COLUMNS = reverse("eligibility:columns")
READERS = {"ssd_person": ssd.PERSON_COLUMNS, "ssd_mother": ssd.MOTHER_COLUMNS,
           "ssd_legal_status": ssd.LEGAL_STATUS_COLUMNS, "ssd_cla_episodes": ssd.EPISODE_COLUMNS,
           "ssd_address": ssd.ADDRESS_COLUMNS, "flat_template": FLAT_COLUMNS}


@pytest.fixture
def page(client, caseworker) -> str:
    sign_in_verified(client, caseworker)
    response = client.get(COLUMNS)
    assert response.status_code == 200
    return response.content.decode()


def listed_files(page: str) -> dict[str, list[tuple[str, bool]]]:
    """Each file's table on the page: its columns in order, and whether each must be there."""
    out = {}
    for key, body in re.findall(r'data-file="([^"]+)">(.*?)</table>', page, re.S):
        out[key] = [(c, r == "yes") for c, r in re.findall(r'data-column="([^"]+)" data-required="(yes|no)"', body)]
    return out


def listed_codes(page: str) -> dict[str, list[str]]:
    return {key: re.findall(r'data-code="([^"]+)"', body)
            for key, body in re.findall(r'data-code-list="([^"]+)">(.*?)</table>', page, re.S)}


def test_the_page_lists_exactly_the_columns_the_reader_reads(page):
    files = listed_files(page)
    assert {key: [c for c, _ in columns] for key, columns in files.items()} == {k: list(v) for k, v in READERS.items()}
    assert {c for columns in files.values() for c, _ in columns} == KNOWN_COLUMNS


def test_a_column_the_page_calls_required_is_the_one_the_reader_refuses_without(page):
    files = listed_files(page)
    for table, header in Ssd().headers.items():
        if table not in Ssd().rows:
            continue
        required = dict(files[table])
        for column in header:
            extract = Ssd()
            extract.headers[table].remove(column)
            missing = [p for p in codes_of(extract.read(), Code.MISSING_COLUMN) if p.file == f"{table}.csv"]
            assert bool(missing) == required.get(column, False), (table, column)  # others are ignored
    for column, required in files["flat_template"]:
        header = [c for c in FLAT_COLUMNS if c != column]
        reading = read_extract(upload(("extract.csv", flat_csv(flat_rows(), header=header))), today=TODAY)
        assert bool(codes_of(reading, Code.MISSING_COLUMN)) == required, column


def test_the_page_lists_exactly_the_codes_the_reader_recognises(page):
    assert listed_codes(page) == {str(k): list(v) for k, v in CODE_LISTS.items()}
    assert "Counted as a removal" in page and "Never imported" in page  # the starting positions


@pytest.mark.parametrize("key", sorted(READERS))
def test_each_template_csv_is_the_file_s_header(client, caseworker, key):
    sign_in_verified(client, caseworker)
    response = client.get(reverse("eligibility:column-template"), {"file": key})
    assert response.status_code == 200 and response["Content-Disposition"] == f'attachment; filename="{key}.csv"'
    assert list(csv.reader(io.StringIO(response.content.decode()))) == [list(READERS[key])]


def test_a_template_for_a_file_the_portal_does_not_read_is_not_found(client, caseworker):
    sign_in_verified(client, caseworker)
    assert client.get(reverse("eligibility:column-template"), {"file": "../settings"}).status_code == 404


def test_the_upload_page_and_a_refused_extract_point_to_the_columns(page, client, caseworker, programme):
    from eligibility.importing import import_extract

    assert f'href="{COLUMNS}"' in client.get(reverse("eligibility:upload")).content.decode()
    refused = import_extract(programme=programme, files=Ssd().set("ssd_person", 0, pers_dob="x").files(),
                             by=caseworker)
    assert f'href="{COLUMNS}"' in client.get(reverse("eligibility:extract", args=[refused.pk])).content.decode()
