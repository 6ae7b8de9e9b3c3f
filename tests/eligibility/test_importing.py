"""The import's database side: all or nothing, minimum necessary, encrypted, snapshot updates."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.core.models import AuditEntry, Event
from eligibility import importing
from eligibility.importing import AlreadyImported, import_extract
from eligibility.models import CareEpisode, Child, Extract, ExtractStatus, LegalStatus, Woman
from pseudonymisation.blind_index import IndexKind
from pseudonymisation.fields import Protector
from tests.eligibility.extracts import TODAY, VALID_NHS, Ssd

pytestmark = pytest.mark.django_db


def run(programme, person, extract: Ssd, **kwargs):
    return import_extract(
        programme=programme, files=extract.files(), by=person, today=TODAY, **kwargs
    )


def database_text() -> str:
    tables = [
        Woman._meta.db_table,
        Child._meta.db_table,
        LegalStatus._meta.db_table,
        CareEpisode._meta.db_table,
        Extract._meta.db_table,
        "audit_auditentry",
        "audit_auditsubject",
    ]
    parts = []
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            parts += [repr(row) for row in cur.fetchall()]
    return "\n".join(parts)


def test_an_extract_becomes_encrypted_records(programme, caseworker):
    extract = run(programme, caseworker, Ssd())
    assert extract.status == ExtractStatus.SUCCEEDED and extract.finished_at
    woman = Woman.objects.get()
    protector = Protector.load(programme.pk, "trust")
    assert (
        woman.reveal(protector, "surname") == "Smith"
        and woman.reveal(protector, "nhs_number") == VALID_NHS
    )
    assert woman.nhs_number_valid and woman.in_latest_extract and woman.ethnicity == "WBRI"
    indexer = protector.indexer
    assert woman.surname_index == indexer.index(IndexKind.SURNAME, "SMITH")  # the queue's surname search
    assert woman.nhs_number_index == indexer.index(IndexKind.NHS_NUMBER, VALID_NHS)
    assert Child.objects.filter(mother=woman).count() == 2
    assert LegalStatus.objects.count() == 2 and CareEpisode.objects.count() == 1
    assert extract.summary["women"]["created"] == 1 and extract.summary["children"]["created"] == 2
    assert AuditEntry.objects.filter(
        event=Event.CHANGE, reason__startswith=f"extract #{extract.pk} imported"
    ).exists()


def test_no_child_name_and_no_plaintext_surname_or_nhs_number_anywhere(programme, caseworker):
    run(programme, caseworker, Ssd())
    text = database_text()
    for value in ("Smith", "Ann", "Bea", "Cal", VALID_NHS, "M1", "C1"):
        assert value not in text, value


def test_a_refused_extract_changes_nothing_and_keeps_its_report(programme, caseworker):
    bad = Ssd().set("ssd_legal_status", 0, lega_person_id="NOBODY")
    extract = run(programme, caseworker, bad)
    assert extract.status == ExtractStatus.REFUSED
    assert not Woman.objects.exists() and not LegalStatus.objects.exists()
    assert any(
        p["level"] == "error" and p["file"] == "ssd_legal_status.csv" and p["row"] == 2
        for p in extract.problems
    )


def test_a_failure_while_writing_leaves_no_record_and_the_extract_failed(
    programme, caseworker, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(importing, "_upsert_events", broken)
    with pytest.raises(RuntimeError):
        run(programme, caseworker, Ssd())
    assert not Woman.objects.exists() and not Child.objects.exists()
    assert Extract.objects.get().status == ExtractStatus.FAILED
    monkeypatch.undo()
    assert run(programme, caseworker, Ssd()).status == ExtractStatus.SUCCEEDED  # it can be retried


def test_the_same_file_twice_is_refused_politely(programme, caseworker):
    run(programme, caseworker, Ssd())
    with pytest.raises(AlreadyImported, match="already imported"):
        run(programme, caseworker, Ssd())
    assert Extract.objects.count() == 1


def test_reimporting_the_same_content_reordered_changes_nothing(programme, caseworker):
    run(programme, caseworker, Ssd())
    woman = Woman.objects.get()
    again = Ssd()
    for table in again.rows.values():
        table.reverse()
    extract = run(programme, caseworker, again)
    assert extract.summary["women"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert extract.summary["children"]["created"] == 0
    assert Woman.objects.get().pk == woman.pk and Child.objects.count() == 2
    assert LegalStatus.objects.count() == 2 and CareEpisode.objects.count() == 1


def test_a_newer_extract_updates_in_place_and_marks_the_missing(programme, caseworker):
    first = (
        Ssd()
        .add("ssd_person", Ssd.person("M2", "Dee", "Jones", dob="1988-01-01", is_mother="Y"))
        .add("ssd_person", Ssd.person("C3", dob="2010-01-01"))
        .add(
            "ssd_mother",
            {
                "moth_table_id": "T3",
                "moth_person_id": "M2",
                "moth_childs_person_id": "C3",
                "moth_childs_dob": "2010-01-01",
            },
        )
        .add("ssd_legal_status", Ssd.legal("L3", "C3", "C2", "2011-01-01"))
    )
    run(programme, caseworker, first)
    assert Woman.objects.count() == 2
    second = Ssd().set("ssd_person", 0, pers_surname="Smith-Brown")
    extract = run(programme, caseworker, second)
    assert (
        extract.summary["women"]["updated"] == 1 and extract.summary["not_in_latest"]["women"] == 1
    )
    entry = AuditEntry.objects.get(reason__startswith=f"extract #{extract.pk} imported")
    assert "fields changed: woman.surname 1" in entry.reason and "Smith" not in entry.reason
    assert entry.subject_count == 1  # the woman who changed
    protector = Protector.load(programme.pk, "trust")
    surnames = {w.reveal(protector, "surname"): w.in_latest_extract for w in Woman.objects.all()}
    assert surnames == {"Smith-Brown": True, "Jones": False}  # kept and marked, never deleted


def test_only_women_with_a_counted_or_review_event_are_kept(programme, caseworker):
    extract = (
        Ssd()
        .add("ssd_person", Ssd.person("M2", "Dee", "Jones", is_mother="Y"))
        .add("ssd_person", Ssd.person("C3", dob="2010-01-01"))
        .add(
            "ssd_mother",
            {
                "moth_table_id": "T3",
                "moth_person_id": "M2",
                "moth_childs_person_id": "C3",
                "moth_childs_dob": "2010-01-01",
            },
        )
        .add("ssd_legal_status", Ssd.legal("L3", "C3", "V3", "2011-01-01"))
    )
    result = run(programme, caseworker, extract)
    assert Woman.objects.count() == 1  # Dee's only event (V3, a short break) is not counted
    assert result.summary["people_left_out"] == 2
    assert "Jones" not in database_text()


def test_youth_justice_rows_are_not_imported_and_are_counted(programme, caseworker):
    extract = Ssd().add("ssd_legal_status", Ssd.legal("L9", "C1", "J2", "2014-06-01"))
    result = run(programme, caseworker, extract)
    assert not LegalStatus.objects.filter(code__startswith="J").exists()
    assert sum(result.summary["left_out"].values()) == 1


def test_only_the_programmes_trust_staff_may_import(programme, practitioner, dpo):
    for person in (practitioner, dpo):
        with pytest.raises(PermissionDenied):
            run(programme, person, Ssd())
    assert not Extract.objects.exists()


def test_the_command_prints_the_summary_and_exits_non_zero_when_refused(
    programme, caseworker, tmp_path, capsys
):
    paths = []
    for name, data in Ssd().named():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(str(path))
    call_command("import_extract", *paths, "--programme", programme.name, "--by", caseworker.email)
    out = capsys.readouterr().out
    assert "women 1 added" in out and "Proposals recomputed (rule set version 1" in out
    with pytest.raises(CommandError, match="already imported"):
        call_command(
            "import_extract", *paths, "--programme", programme.name, "--by", caseworker.email
        )
    bad = tmp_path / "ssd_mother.csv"
    bad.write_bytes(bad.read_bytes().replace(b"moth_person_id", b"moth_mother"))
    with pytest.raises(CommandError, match="refused"):
        call_command(
            "import_extract", *paths, "--programme", programme.name, "--by", caseworker.email
        )
    assert "error" in capsys.readouterr().out


def test_the_surname_index_migration_indexes_women_already_held(programme, caseworker):
    from importlib import import_module

    from django.apps import apps

    run(programme, caseworker, Ssd())
    Woman.objects.update(surname_index=None)  # as held before migration 0006
    import_module("eligibility.migrations.0006_woman_surname_index").index_surnames(apps, None)
    protector = Protector.load(programme.pk, "trust")
    assert Woman.objects.get().surname_index == protector.indexer.index(IndexKind.SURNAME, "smith")
