"""Issue 17: a problem names the file, row and column, and never quotes a value from an
identifier, name, date or postcode column. An unrecognised code is quoted only when it has the
shape of its list's codes (C9, E99, ??); an ethnicity never (four letters is a forename's shape).
What may not be quoted is not stored either. Problems stored before the rule are rewritten."""

from __future__ import annotations

import csv
import importlib
import io
import json

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from audit.core.models import AuditEntry, Event
from eligibility.extract import Code, read_extract
from eligibility.extract.codes import CodeList
from eligibility.extract.quoting import (
    COLUMN_CODE_LISTS,
    COLUMN_KINDS,
    NOT_SHOWN,
    ColumnKind,
    may_quote,
)
from eligibility.extract.validate import KNOWN_COLUMNS
from eligibility.models import ColumnMapping, ExtractStatus, LegalStatus, Woman
from eligibility.stored_problems import rewrite_stored_problems, rewritten
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.eligibility.confirming import confirm_checked
from tests.eligibility.extracts import (
    OTHER_VALID_NHS,
    TODAY,
    Ssd,
    codes_of,
    csv_bytes,
    flat_csv,
    flat_row,
    upload,
)

NOT_SHOWN_ETHNICITY = "pers_ethnicity has a value that is not an ethnicity code (not shown)"


def texts_of(reading) -> str:
    return json.dumps([[p.message, p.file, p.column] for p in reading.problems])


# --- the finding, end to end -------------------------------------------------------------------
@pytest.mark.django_db
def test_an_nhs_number_in_the_ethnicity_column_is_not_in_the_problem_the_page_the_report_or_the_record(
        client, caseworker, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.PORTAL_UPLOAD_DIR = tmp_path / "uploads"
    typed = Ssd().set("ssd_person", 0, pers_ethnicity=OTHER_VALID_NHS)
    sign_in_verified(client, caseworker)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("eligibility:upload"), {
            "files": [SimpleUploadedFile(n, d, content_type="text/csv") for n, d in typed.named()]})
    preview = client.get(response["Location"]).content.decode()
    extract = confirm_checked(client, django_capture_on_commit_callbacks)
    assert extract.status == ExtractStatus.SUCCEEDED  # a warning: the row is kept, for review
    [problem] = extract.problems
    assert (problem["file"], problem["row"], problem["column"]) == ("ssd_person.csv", 2, "pers_ethnicity")
    assert problem["message"].startswith(NOT_SHOWN_ETHNICITY)
    page = client.get(response["Location"]).content.decode()
    report = client.get(reverse("eligibility:extract-report", args=[extract.pk])).content.decode()
    assert NOT_SHOWN_ETHNICITY in page and NOT_SHOWN_ETHNICITY in report
    stored = json.dumps([extract.problems, extract.summary])
    assert Woman.objects.get().ethnicity == NOT_SHOWN  # not kept as given in a plain column either
    trail = json.dumps([list(e) for e in AuditEntry.objects.values_list("reason", "object_repr", "changes")])
    for where in (stored, preview, page, report, trail):
        assert OTHER_VALID_NHS not in where and "943 476" not in where


@pytest.mark.parametrize(("column", "value", "what"), [
    ("mother_ethnicity", OTHER_VALID_NHS, "an ethnicity code"),
    ("mother_ethnicity", "Beth", "an ethnicity code"),
    ("child_sex", "Female", "a sex code"),
    ("code", "1990-05-01", "a legal status code"),
    ("code", "LS1 4AP", "a legal status code"),
])  # fmt: skip
def test_flat_template_values_that_are_not_codes_are_described_never_quoted(column, value, what):
    reading = read_extract(upload(("cases.csv", flat_csv([flat_row(**{column: value})]))), today=TODAY)
    [problem] = codes_of(reading, Code.UNRECOGNISED_CODE)
    assert (problem.file, problem.row, problem.column) == ("cases.csv", 2, column)
    assert problem.message.startswith(f"{column} has a value that is not {what} (not shown)")
    assert value not in texts_of(reading) and value.upper() not in texts_of(reading)
    assert value not in repr(list(reading.iter_records())) and value.upper() not in repr(list(reading.iter_records()))


@pytest.mark.parametrize(("table", "column", "value", "quoted"), [
    ("ssd_legal_status", "lega_legal_status", "C9", "C9"),
    ("ssd_legal_status", "lega_legal_status", " c9 ", "C9"),
    ("ssd_legal_status", "lega_legal_status", "??", "??"),
    ("ssd_cla_episodes", "clae_cla_episode_ceased_reason", "E99", "E99"),
    ("ssd_cla_episodes", "clae_cla_episode_ceased_reason", "E4C", "E4C"),
    ("ssd_person", "pers_sex", "Q", "Q"),
    ("ssd_person", "pers_gender", "3", "03"),
    ("ssd_person", "pers_is_mother", "X", "X"),
])  # fmt: skip
def test_a_value_with_the_shape_of_its_lists_codes_is_quoted_and_kept(table, column, value, quoted):
    reading = Ssd().set(table, 0, **{column: value}).read()
    [problem] = codes_of(reading, Code.UNRECOGNISED_CODE)
    assert f"not recognised ({quoted})" in problem.message and problem.column == column


@pytest.mark.parametrize(("table", "column", "value"), [
    ("ssd_legal_status", "lega_legal_status", OTHER_VALID_NHS),
    ("ssd_legal_status", "lega_legal_status", "Jones"),
    ("ssd_cla_episodes", "clae_cla_episode_ceased_reason", "2019-03-04"),
    ("ssd_person", "pers_sex", "Female"),
    ("ssd_person", "pers_ethnicity", "WBRT"),  # even a likely typo: four letters could be a name
    ("ssd_person", "pers_is_mother", "Mary"),
])  # fmt: skip
def test_any_other_value_is_described_and_kept_as_not_shown(table, column, value):
    reading = Ssd().set(table, 0, **{column: value}).read()
    [problem] = codes_of(reading, Code.UNRECOGNISED_CODE)
    assert "(not shown)" in problem.message and problem.column == column and problem.row == 2
    assert value not in texts_of(reading) and value.upper() not in texts_of(reading)
    records = repr(list(reading.iter_records()))
    assert value not in records and value.upper() not in records


@pytest.mark.django_db
def test_a_code_that_is_not_shown_does_not_break_the_import_on_any_database(caseworker, programme):
    """A long value used to overflow the plain code columns (a DataError on PostgreSQL)."""
    from eligibility.importing import import_extract

    typed = Ssd().set("ssd_legal_status", 0, lega_legal_status=OTHER_VALID_NHS)
    typed.set("ssd_person", 2, pers_sex="Male")
    extract = import_extract(programme=programme, files=typed.files(), by=caseworker, today=TODAY)
    assert extract.status == ExtractStatus.SUCCEEDED
    assert NOT_SHOWN in LegalStatus.objects.values_list("code", flat=True)


def test_a_repeated_header_is_quoted_only_if_the_portal_reads_that_column():
    named = dict(Ssd().named())
    # A file with no header row: its first row, someone's details, stands where the header should.
    named["ssd_person.csv"] = csv_bytes(["M1", "Ann", "Smith", "F", "02", "WBRI", "1990-05-01", "", OTHER_VALID_NHS,
                                         "1990-05-01", "Y"], [])
    reading = read_extract(upload(*named.items()), today=TODAY)
    [problem] = codes_of(reading, Code.DUPLICATE_COLUMN)
    assert problem.message == "ssd_person.csv has more than one column with the same name (columns G and J)"
    assert problem.column == "J" and "1990" not in texts_of(reading) and OTHER_VALID_NHS not in texts_of(reading)


# --- the rule itself ---------------------------------------------------------------------------
def test_every_column_the_portal_reads_has_a_kind_and_every_code_column_a_list():
    assert set(COLUMN_KINDS) == set(KNOWN_COLUMNS)
    assert {c for c, kind in COLUMN_KINDS.items() if kind is ColumnKind.CODE} == set(COLUMN_CODE_LISTS)


@given(st.sampled_from(list(CodeList)), st.one_of(
    st.from_regex(r"[0-9]{10}", fullmatch=True),  # NHS numbers
    st.from_regex(r"[A-Z][a-z]{2,12}", fullmatch=True).map(str.upper),  # names, upper-cased as codes are
    st.from_regex(r"(19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]", fullmatch=True),  # dates
    st.from_regex(r"[A-Z]{1,2}[0-9]{1,2} ?[0-9][A-Z]{2}", fullmatch=True),  # postcodes
))  # fmt: skip
def test_no_identifier_shaped_value_may_be_quoted(code_list, value):
    assert not may_quote(code_list, value)


cell_values = st.one_of(
    st.from_regex(r"[0-9]{10}", fullmatch=True),
    st.sampled_from(["Beth", "Mary", "Siân", "O'Brien", "Zoë", "Rose", "Amy"]),
    st.from_regex(r"(19|20)[0-9]{2}-0[1-9]-[12][0-9]", fullmatch=True),
    st.from_regex(r"[A-Z]{2}[0-9] [0-9][A-Z]{2}", fullmatch=True),
)


@examples(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["ssd_person", "ssd_mother", "ssd_legal_status", "ssd_cla_episodes"]), st.data())
def test_whatever_is_typed_into_whichever_column_no_problem_quotes_it(table, data):
    extract = Ssd()
    typed = []
    for row in extract.rows[table]:
        column = data.draw(st.sampled_from(extract.headers[table]))
        value = data.draw(cell_values)
        row[column] = value
        typed.append(value)
    reading = extract.read()
    seen = texts_of(reading)
    for value in typed:
        assert value not in seen and value.upper() not in seen


# --- problems stored before the rule -----------------------------------------------------------
def old(column, value, code="unrecognised_code"):
    return {"level": "warning", "code": code, "file": "ssd_person.csv", "row": 2, "column": column,
            "message": f"{column} has a code that is not recognised ({value}). The row is kept and will be shown "
                       "for review"}


def test_a_stored_problem_is_rewritten_only_where_the_rule_would_not_quote():
    assert rewritten(old("lega_legal_status", "C9")) is None
    assert rewritten(old("code", "E99")) is None  # the flat template's code: either list
    nhs = rewritten(old("pers_ethnicity", OTHER_VALID_NHS))
    assert nhs["message"] == f"{NOT_SHOWN_ETHNICITY}. The row is kept and will be shown for review"
    assert {k: v for k, v in nhs.items() if k != "message"} == {
        k: v for k, v in old("pers_ethnicity", "").items() if k != "message"}
    cut = rewritten(old("lega_legal_status", "123456789012…"))  # quoted cut short: never a code
    assert cut and "123456789012" not in cut["message"]
    mapped = rewritten(old("Ethnic", "XXXX"), {"pers_ethnicity": "Ethnic"})  # the Trust's header
    assert "not an ethnicity code (not shown)" in mapped["message"]
    unknown = rewritten(old("Whatever", "C9"))  # a column no longer known: the strictest wording
    assert "not a recognised code (not shown)" in unknown["message"]
    header = {"level": "error", "code": "duplicate_column", "file": "ssd_person.csv", "row": 1,
              "column": "1990-05-01", "message": "ssd_person.csv has more than one column called 1990-05-01"}
    assert "1990" not in json.dumps(rewritten(header))
    assert rewritten({**header, "column": "pers_dob", "message": "x has more than one column called pers_dob"}) is None


@pytest.mark.django_db
def test_the_data_migration_rewrites_stored_problems_and_records_it(programme, caseworker, trust_lead):
    mapping = ColumnMapping.objects.create(programme=programme, name="Ours", columns={"pers_ethnicity": "Ethnic"},
                                           created_by=trust_lead)
    leaky = f.ExtractFactory(programme=programme, uploaded_by=caseworker, column_mapping=mapping,
                             problems=[old("Ethnic", OTHER_VALID_NHS), old("lega_legal_status", "C9")])
    clean = f.ExtractFactory(programme=programme, uploaded_by=caseworker, status=ExtractStatus.REFUSED,
                             problems=[old("lega_legal_status", "C9")])
    migration = importlib.import_module("eligibility.migrations.0008_rewrite_quoted_problems")
    migration.rewrite(django_apps, None)
    leaky.refresh_from_db()
    clean.refresh_from_db()
    assert OTHER_VALID_NHS not in json.dumps(leaky.problems) and "not recognised (C9)" in leaky.problems[1]["message"]
    assert clean.problems == [old("lega_legal_status", "C9")]
    entries = AuditEntry.objects.filter(event=Event.CHANGE, reason__startswith="stored import problems rewritten")
    assert [e.object_repr for e in entries] == [f"eligibility.extract:{leaky.pk}"]
    assert rewrite_stored_problems() == (0, 0)  # once is enough


@pytest.mark.django_db
def test_the_report_of_a_rewritten_extract_no_longer_quotes_the_value(client, programme, caseworker):
    extract = f.ExtractFactory(programme=programme, uploaded_by=caseworker,
                               problems=[old("pers_ethnicity", OTHER_VALID_NHS)])
    sign_in_verified(client, caseworker)
    url = reverse("eligibility:extract-report", args=[extract.pk])
    assert OTHER_VALID_NHS in client.get(url).content.decode()  # as stored before the rule
    rewrite_stored_problems()
    rows = list(csv.reader(io.StringIO(client.get(url).content.decode())))
    assert rows[1][:4] == ["warning", "ssd_person.csv", "2", "pers_ethnicity"]
    assert OTHER_VALID_NHS not in json.dumps(rows)
