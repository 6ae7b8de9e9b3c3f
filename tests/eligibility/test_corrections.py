"""Rectification and erasure: a corrected field keeps its history and wins over later extracts;
an erased person leaves only a blind-index tombstone. All data is synthetic."""

from datetime import date
from unittest import mock

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.core.models import AuditEntry, Event
from eligibility import corrections
from eligibility.corrections import (
    active_corrections,
    correct,
    erase_tombstone,
    erased_terms,
    is_erased,
)
from eligibility.models import CORRECTABLE_FIELDS, Child, Correction, ErasedPerson, Woman
from pseudonymisation import keys
from pseudonymisation.blind_index import IndexKind
from pseudonymisation.fields import Protector
from pseudonymisation.keys import KeyScope
from pseudonymisation.models import Purpose
from pseudonymisation.reencryption import reencrypt_model
from tests import factories as f
from tests.eligibility.extracts import OTHER_VALID_NHS, VALID_NHS

pytestmark = pytest.mark.django_db


@pytest.fixture
def protector(programme):
    return Protector.load(programme.pk, Woman.key_phase)


def a_woman(programme, pid="M1") -> Woman:
    return f.WomanFactory(programme=programme, trust_person_id=pid, forename="Ann", surname="Smith",
                          date_of_birth=date(1990, 5, 1), nhs_number=VALID_NHS, postcode="ZZ991ZZ",
                          nhs_number_valid=True, ethnicity="WBRI", expected_child_due=date(2024, 9, 1))


def a_child(woman) -> Child:
    return f.ChildFactory(mother=woman, trust_person_id="C1", date_of_birth=date(2014, 2, 2), sex="F")


@pytest.fixture
def woman(programme):
    return a_woman(programme)


@pytest.fixture
def child(woman):
    return a_child(woman)


def stored(record):
    return type(record).objects.get(pk=record.pk)


def entries_about(model):
    """Audit entries about rows of the model (fixtures write their own, about people)."""
    return AuditEntry.objects.filter(event=Event.CHANGE, content_type=ContentType.objects.get_for_model(model))


# --- correcting ------------------------------------------------------------------------------
def test_correcting_an_encrypted_field_stores_both_values_encrypted_and_applies_it(woman, dpo, protector):
    c = correct(woman, "surname", "  Smyth ", by=dpo, reason="Rectification request DPO-1: misspelt", protector=protector)
    assert stored(woman).reveal(protector, "surname") == "Smyth"
    assert woman.reveal(protector, "surname") == "Smyth"  # the caller's instance is corrected too
    assert c.reveal(protector, "previous_value") == "Smith" and c.reveal(protector, "corrected_value") == "Smyth"
    assert c.reveal(protector, "reason") == "Rectification request DPO-1: misspelt"
    assert (c.woman, c.child, c.programme, c.field, c.recorded_by, c.active) == (
        woman, None, woman.programme, "surname", dpo, True)
    assert b"Smyth" not in bytes(c.corrected_value) and b"Smith" not in bytes(c.previous_value)
    assert str(c) == f"correction #{c.pk} (surname)"


def test_correcting_a_plain_field_parses_dates_and_codes(woman, dpo):
    correct(woman, "expected_child_due", "03/10/2024", by=dpo, reason="r")
    correct(woman, "died_on", date(2024, 1, 2), by=dpo, reason="r")
    c = correct(woman, "ethnicity", " wiri", by=dpo, reason="r")
    row = stored(woman)
    assert (row.expected_child_due, row.died_on, row.ethnicity) == (date(2024, 10, 3), date(2024, 1, 2), "WIRI")
    assert Correction.objects.get(field="expected_child_due").reveal(
        Protector.load(woman.programme_id, "trust"), "previous_value") == "2024-09-01"
    assert c.reveal(Protector.load(woman.programme_id, "trust"), "previous_value") == "WBRI"


def test_clearing_a_plain_field(woman, dpo, protector):
    c = correct(woman, "ethnicity", "", by=dpo, reason="r")
    correct(woman, "expected_child_due", None, by=dpo, reason="r")
    row = stored(woman)
    assert (row.ethnicity, row.expected_child_due) == ("", None)
    assert c.reveal(protector, "corrected_value") is None


def test_a_childs_date_of_birth_keeps_its_birth_year_in_step(child, dpo, protector):
    correct(child, "date_of_birth", "2015-12-31", by=dpo, reason="r")
    correct(child, "sex", "m", by=dpo, reason="r")
    row = stored(child)
    assert row.reveal(protector, "date_of_birth") == "2015-12-31"
    assert (row.birth_year, row.sex) == (2015, "M")


def test_history_is_kept_and_only_the_latest_correction_is_active(woman, dpo, protector):
    first = correct(woman, "forename", "Anne", by=dpo, reason="r1")
    second = correct(woman, "forename", "Annie", by=dpo, reason="r2")
    other = correct(woman, "surname", "Smyth", by=dpo, reason="r3")
    history = list(Correction.objects.filter(woman=woman, field="forename"))
    assert history == [first, second]
    assert [(c.reveal(protector, "previous_value"), c.reveal(protector, "corrected_value"), c.active)
            for c in history] == [("Ann", "Anne", False), ("Anne", "Annie", True)]
    assert Correction.objects.get(pk=other.pk).active


def test_two_active_corrections_of_one_field_are_refused_by_the_database(woman, dpo, protector):
    correct(woman, "forename", "Anne", by=dpo, reason="r")
    duplicate = Correction(programme=woman.programme, woman=woman, field="forename", recorded_by=dpo)
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


@pytest.mark.parametrize("fields", [{}, {"woman": True, "child": True}, {"woman": True, "field": "sex"},
                                    {"child": True, "field": "surname"}])
def test_a_correction_is_of_one_correctable_field_of_a_woman_or_a_child(woman, child, dpo, fields):
    row = Correction(programme=woman.programme, recorded_by=dpo, field=fields.get("field", "date_of_birth"),
                     woman=woman if fields.get("woman") else None, child=child if fields.get("child") else None)
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()


def test_correcting_surname_or_date_of_birth_refreshes_the_blind_indexes(woman, dpo, protector):
    correct(woman, "surname", "Jones", by=dpo, reason="r")
    assert stored(woman).surname_dob_index == protector.indexer.index(IndexKind.SURNAME_DOB, ("JONES", date(1990, 5, 1)))
    assert stored(woman).surname_index == protector.indexer.index(IndexKind.SURNAME, "jones")
    correct(woman, "date_of_birth", "02/05/1990", by=dpo, reason="r")
    assert stored(woman).surname_dob_index == protector.indexer.index(IndexKind.SURNAME_DOB, ("Jones", date(1990, 5, 2)))
    correct(woman, "nhs_number", "401 023 2137", by=dpo, reason="r")
    row = stored(woman)
    assert row.reveal(protector, "nhs_number") == OTHER_VALID_NHS and row.nhs_number_valid is True
    assert row.nhs_number_index == protector.indexer.index(IndexKind.NHS_NUMBER, OTHER_VALID_NHS)
    assert row.person_id_index == protector.indexer.index(IndexKind.PERSON_ID, "M1")  # untouched


def test_the_audit_entry_names_the_field_never_a_value(woman, dpo):
    c = correct(woman, "surname", "Quartermaine", by=dpo, reason="Request DPO-7: Mrs Quartermaine phoned")
    entry = entries_about(Woman).get()
    assert entry.actor == dpo and entry.programme == woman.programme and entry.role == "dpo"
    assert entry.object_repr == f"eligibility.woman:{woman.pk}"
    assert entry.reason == f"surname corrected (rectification, correction #{c.pk})"
    every_column = " ".join(str(v) for v in AuditEntry.objects.values_list().get(pk=entry.pk))
    assert "Quartermaine" not in every_column and "Smith" not in every_column


@pytest.mark.parametrize(("field", "value", "message"), [
    ("trust_person_id", "M9", "not a correctable field"),
    ("birth_year", "2001", "not a correctable field"),
    ("in_latest_extract", False, "not a correctable field"),
    ("sex", "F", "not a correctable field"),  # a child's field, not a woman's
    ("date_of_birth", "1990-02-30", "not a date"),
    ("date_of_birth", "01/05/90", "not a date"),
    ("died_on", "yesterday", "not a date"),
    ("nhs_number", "9434765910", "check digit"),
    ("nhs_number", "12345", "check digit"),
    ("postcode", "NOT A POSTCODE", "not a UK postcode"),
    ("ethnicity", "XXXX", "not one of the codes"),
])
def test_a_bad_field_or_value_raises_and_changes_nothing(woman, dpo, protector, field, value, message):
    before = {f.attname: getattr(stored(woman), f.attname) for f in Woman._meta.concrete_fields}
    with pytest.raises(ValueError, match=message) as raised:
        correct(woman, field, value, by=dpo, reason="r")
    assert str(value) not in str(raised.value)  # a message may be logged: it never repeats the value
    after = {f.attname: getattr(stored(woman), f.attname) for f in Woman._meta.concrete_fields}
    assert after == before
    assert not Correction.objects.exists() and not entries_about(Woman).exists()


def test_a_childs_surname_is_not_correctable(child, dpo):
    with pytest.raises(ValueError, match="not a correctable field of a child"):
        correct(child, "surname", "Smith", by=dpo, reason="r")


def test_a_correction_needs_a_reason(woman, dpo):
    with pytest.raises(ValueError, match="reason"):
        correct(woman, "forename", "Anne", by=dpo, reason="  ")
    assert not Correction.objects.exists()


def test_only_the_programmes_dpo_corrects_or_erases(woman, caseworker, trust_lead, other_programme_person):
    for person in (caseworker, trust_lead, other_programme_person):
        with pytest.raises(PermissionDenied):
            correct(woman, "forename", "Anne", by=person, reason="r")
        with pytest.raises(PermissionDenied):
            erase_tombstone(woman.programme, "M1", by=person, reason="art17 DPO-1")
    assert not Correction.objects.exists() and not ErasedPerson.objects.exists()


def test_the_correction_rolls_back_when_the_audit_write_fails(woman, dpo, protector):
    with mock.patch.object(corrections, "record_event", side_effect=RuntimeError("audit down")), \
            pytest.raises(RuntimeError):
        correct(woman, "surname", "Smyth", by=dpo, reason="r")
    assert stored(woman).reveal(protector, "surname") == "Smith"
    assert not Correction.objects.exists()


def test_the_correctable_fields_are_one_list(woman):
    assert {corrections._FK_OF[m]: tuple(p) for m, p in corrections.PARSERS.items()} == CORRECTABLE_FIELDS


# --- what the import reads -------------------------------------------------------------------
def test_active_corrections_of_a_batch_in_one_query(programme, protector, dpo):
    a, b, c = (a_woman(programme, pid=f"M{n}") for n in (1, 2, 3))
    correct(a, "surname", "Smyth", by=dpo, reason="r")
    correct(a, "surname", "Smythe", by=dpo, reason="r")
    correct(a, "died_on", "2024-01-02", by=dpo, reason="r")
    correct(b, "postcode", "zz9 9zz", by=dpo, reason="r")
    correct(b, "forename", "", by=dpo, reason="r")
    child = a_child(c)
    correct(child, "date_of_birth", "2014-03-03", by=dpo, reason="r")
    with CaptureQueriesContext(connection) as queries:
        found = active_corrections(Woman, [a.pk, b.pk, c.pk], protector)
    assert len(queries) == 1
    assert found == {
        a.pk: {"surname": "Smythe", "died_on": "2024-01-02"},
        b.pk: {"postcode": "ZZ99ZZ", "forename": None},
    }
    assert active_corrections(Child, [child.pk], protector) == {child.pk: {"date_of_birth": "2014-03-03"}}
    assert active_corrections(Woman, [], protector) == {}


def test_corrections_follow_an_encryption_key_rotation(woman, dpo, programme):
    correct(woman, "surname", "Smyth", by=dpo, reason="r")
    keys.rotate(KeyScope(programme.pk, "trust", Purpose.ENCRYPTION))
    assert reencrypt_model(Correction) == 1
    protector = Protector.load(programme.pk, "trust")
    assert active_corrections(Woman, [woman.pk], protector) == {woman.pk: {"surname": "Smyth"}}
    assert not protector.cipher.needs_reencryption(bytes(Correction.objects.get().corrected_value))


# --- erasure tombstones ----------------------------------------------------------------------
def test_a_tombstone_is_the_blind_index_of_the_canonical_id(programme, dpo, protector):
    tombstone = erase_tombstone(programme, "  ab-123 ", by=dpo, reason="art17 DPO-2025-014")
    assert tombstone.person_id_index == protector.indexer.index(IndexKind.PERSON_ID, "AB-123")
    assert (tombstone.programme, tombstone.erased_by, tombstone.reason) == (programme, dpo, "art17 DPO-2025-014")
    assert str(tombstone) == f"erased person #{tombstone.pk}"
    entry = entries_about(ErasedPerson).get()
    assert entry.actor == dpo and "AB-123" not in entry.reason and "ab-123" not in entry.reason


def test_erasing_twice_is_one_tombstone(programme, other_programme, dpo):
    first = erase_tombstone(programme, "AB-123", by=dpo, reason="art17 DPO-1")
    assert erase_tombstone(programme, "ab-123", by=dpo, reason="art17 DPO-2") == first
    assert ErasedPerson.objects.count() == 1
    assert entries_about(ErasedPerson).count() == 1


def test_no_plaintext_id_is_stored(programme, dpo):
    erase_tombstone(programme, "syn-erased-778", by=dpo, reason="art17 DPO-9")
    assert ErasedPerson.objects.count() == 1
    for model in (ErasedPerson, AuditEntry):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {model._meta.db_table}")
            dump = repr(cursor.fetchall()).upper()
        assert "SYN-ERASED" not in dump and "SYN_ERASED" not in dump


def test_erased_terms_and_is_erased(programme, other_programme, dpo, protector):
    a = erase_tombstone(programme, "AB-1", by=dpo, reason="art17 DPO-1")
    b = erase_tombstone(programme, "AB-2", by=dpo, reason="art17 DPO-2")
    assert erased_terms(programme) == {a.person_id_index, b.person_id_index}
    assert erased_terms(other_programme) == set()
    terms = erased_terms(programme)
    assert is_erased(" ab-1", terms, protector.indexer) and not is_erased("AB-3", terms, protector.indexer)


def test_a_bad_tombstone_request_raises(programme, dpo):
    for pid, reason in (("", "art17 DPO-1"), ("  ", "art17 DPO-1"), ("AB-1", ""), ("AB-1", "x" * 101)):
        with pytest.raises(ValueError):
            erase_tombstone(programme, pid, by=dpo, reason=reason)
    assert not ErasedPerson.objects.exists()


def test_a_tombstone_still_matches_after_the_blind_index_key_rotates(programme, dpo):
    before = erase_tombstone(programme, "AB-1", by=dpo, reason="art17 DPO-1")
    keys.rotate(KeyScope(programme.pk, "trust", Purpose.BLIND_INDEX))
    for model in (Woman, Child, Correction):
        reencrypt_model(model)
    indexer = Protector.load(programme.pk, "trust").indexer
    assert indexer.version == 2 and before.person_id_index.startswith("v1:")
    assert is_erased("AB-1", erased_terms(programme), indexer)
    assert erase_tombstone(programme, "AB-1", by=dpo, reason="art17 DPO-1") == before  # still idempotent
    assert erase_tombstone(programme, "AB-2", by=dpo, reason="art17 DPO-2").person_id_index.startswith("v2:")
