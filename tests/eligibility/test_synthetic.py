"""The synthetic extract generator: deterministic, reads with no errors, imports as expected."""

import hashlib
import io
from datetime import date

import pytest

from eligibility.extract import ExtractFormat, read_extract
from eligibility.extract.values import nhs_number_is_valid
from eligibility.importing import import_extract
from eligibility.models import CareEpisode, Child, ExtractStatus, LegalStatus, Woman
from eligibility.synthetic import TABLES, ssd_upload, write_flat, write_ssd

pytestmark = pytest.mark.django_db

TODAY = date(2026, 1, 15)


def digest(files) -> str:
    h = hashlib.sha256()
    for name, handle in files:
        h.update(name.encode() + b"\0" + handle.getvalue())
    return h.hexdigest()


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not():
    one, stats_one = ssd_upload(children=200, seed=5, today=TODAY)
    two, stats_two = ssd_upload(children=200, seed=5, today=TODAY)
    other, _ = ssd_upload(children=200, seed=6, today=TODAY)
    assert digest(one) == digest(two) and stats_one == stats_two
    assert digest(one) != digest(other)


def test_a_folder_and_streams_get_the_same_files(tmp_path):
    files, _ = ssd_upload(children=50, seed=2, today=TODAY)
    write_ssd(tmp_path, children=50, seed=2, today=TODAY)
    for name, handle in files:
        assert (tmp_path / name).read_bytes() == handle.getvalue()


def test_it_looks_like_a_real_export():
    files, stats = ssd_upload(children=1000, seed=3, today=TODAY)
    data = dict((name, handle.getvalue()) for name, handle in files)
    assert [n.removesuffix(".csv") for n in data] == list(TABLES)
    for content in data.values():
        assert content.startswith(b"\xef\xbb\xbf") and b"\r\n" in content and b"\n" not in content.replace(b"\r\n", b"")
    assert b"NULL" in data["ssd_person.csv"] and b" 00:00:00.000" in data["ssd_legal_status.csv"]
    assert 0.3 * 1000 < stats.mothers < 0.5 * 1000 and stats.children == 1000
    assert stats.kept_women < stats.mothers  # some are left out by the minimisation


def test_it_reads_with_no_errors_and_only_the_planted_warnings():
    files, stats = ssd_upload(children=3000, seed=11, today=TODAY)
    reading = read_extract(files, today=TODAY)
    assert reading.ok and reading.format is ExtractFormat.SSD and not reading.errors
    assert {str(k): v for k, v in reading.problem_counts.items()} == {k: v for k, v in stats.warnings.items() if v}
    assert stats.warnings["invalid_nhs_number"] > 0
    assert reading.rows_read == {f"{t}.csv": n for t, n in stats.rows.items()}
    assert reading.left_out == {
        "youth_justice_legal_status": stats.youth_justice_legal_status,
        "youth_justice_episode": stats.youth_justice_episode,
    }
    assert stats.youth_justice_legal_status > 0 and stats.pregnant > 0 and stats.unborn > 0
    mothers = [p for p in reading.persons() if p.is_mother]
    assert len(mothers) == stats.mothers
    assert sum(p.nhs_number_valid for p in mothers) > 0.9 * len(mothers)
    assert all(nhs_number_is_valid(p.nhs_number) == p.nhs_number_valid for p in mothers if p.nhs_number)
    assert sum(p.ethnicity == "WBRI" for p in mothers) == pytest.approx(0.7 * len(mothers), rel=0.1)
    assert sum(1 for p in mothers if p.expected_dob and p.expected_dob > TODAY) == stats.pregnant
    assert all(p.postcode for p in reading.addresses())


def test_the_flat_template_reads_with_no_errors():
    out = io.BytesIO()
    stats = write_flat(out, children=500, seed=4, today=TODAY)
    out.seek(0)
    reading = read_extract([("template.csv", out)], today=TODAY)
    assert reading.ok and reading.format is ExtractFormat.FLAT
    assert reading.rows_read == {"template.csv": stats.rows["flat"]}


def test_a_small_one_imports_with_the_counts_expected(programme, caseworker):
    files, stats = ssd_upload(children=300, seed=1, today=TODAY)
    extract = import_extract(programme=programme, files=files, by=caseworker, today=TODAY)
    assert extract.status == ExtractStatus.SUCCEEDED, extract.problems
    s = extract.summary
    assert s["women"]["created"] == stats.kept_women == Woman.objects.count()
    assert s["children"]["created"] == stats.kept_children == Child.objects.count()
    assert LegalStatus.objects.count() == stats.kept_legal_statuses == s["events"]["legal_statuses"]
    assert CareEpisode.objects.count() == stats.kept_episodes == s["events"]["care_episodes"]
    assert s["people_left_out"] == stats.people - stats.kept_women - stats.kept_children
    assert not LegalStatus.objects.filter(code__in=["J1", "J2", "J3"]).exists()
    assert not CareEpisode.objects.filter(ceased_reason__in=["E9", "E14"]).exists()
    assert 0 < stats.kept_women < stats.mothers
