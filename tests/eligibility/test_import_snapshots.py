"""Newer extracts against what the portal already holds: rectified values stand, erased people
stay out, a child linked to two kept women gets one mother whatever the row order, key
rotation does not duplicate anyone, and a re-import rewrites no event."""

import pytest

from audit.core.models import AuditEntry
from eligibility.corrections import correct, erase_tombstone
from eligibility.importing import import_extract
from eligibility.models import CareEpisode, Child, LegalStatus, Woman
from pseudonymisation import keys
from pseudonymisation.fields import Protector
from pseudonymisation.keys import KeyScope
from pseudonymisation.models import Purpose
from tests.eligibility.extracts import TODAY, Ssd

pytestmark = pytest.mark.django_db


def run(programme, person, extract: Ssd):
    return import_extract(programme=programme, files=extract.files(), by=person, today=TODAY)


def protector(programme):
    return Protector.load(programme.pk, Woman.key_phase)


def test_a_rectified_value_stands_and_the_difference_is_reported(programme, caseworker, dpo):
    run(programme, caseworker, Ssd())
    woman = Woman.objects.get()
    correct(woman, "surname", "Smyth", by=dpo, reason="request 12: name misspelt")
    again = Ssd().set("ssd_person", 0, pers_forename="Anne")  # a new file; the surname still "Smith"
    extract = run(programme, caseworker, again)
    woman.refresh_from_db()
    assert woman.reveal(protector(programme), "surname") == "Smyth"  # the correction stands
    assert woman.reveal(protector(programme), "forename") == "Anne"  # other fields still update
    kept = [p for p in extract.problems if p["code"] == "correction_kept"]
    assert kept == [{"level": "warning", "code": "correction_kept", "file": "ssd_person.csv", "row": 2,
                     "column": "surname", "message": kept[0]["message"]}]  # fmt: skip
    assert "Smith" not in kept[0]["message"] and "Smyth" not in kept[0]["message"]
    assert extract.summary["women"]["updated"] == 1


def test_a_correction_the_extract_now_agrees_with_is_not_reported(programme, caseworker, dpo):
    run(programme, caseworker, Ssd())
    correct(Woman.objects.get(), "surname", "Smyth", by=dpo, reason="request 12")
    extract = run(programme, caseworker, Ssd().set("ssd_person", 0, pers_surname="Smyth"))
    assert not [p for p in extract.problems if p["code"] == "correction_kept"]
    assert extract.summary["women"] == {"created": 0, "updated": 0, "unchanged": 1}


def test_a_corrected_date_of_birth_keeps_its_birth_year(programme, caseworker, dpo):
    run(programme, caseworker, Ssd())
    p = protector(programme)
    child = next(c for c in Child.objects.all() if c.reveal(p, "trust_person_id") == "C1")
    correct(child, "date_of_birth", "2011-03-04", by=dpo, reason="request 13")
    extract = run(programme, caseworker, Ssd().set("ssd_person", 0, pers_forename="Anne"))
    child.refresh_from_db()
    assert child.reveal(p, "date_of_birth") == "2011-03-04" and child.birth_year == 2011
    assert [(x["file"], x["row"], x["column"]) for x in extract.problems if x["code"] == "correction_kept"] == [
        ("ssd_person.csv", 3, "date_of_birth")
    ]


def test_a_person_erased_on_request_is_not_brought_back(programme, caseworker, dpo):
    erase_tombstone(programme, " m1 ", by=dpo, reason="erasure request 7")  # spelt differently
    extract = run(programme, caseworker, Ssd())
    assert not Woman.objects.exists() and not Child.objects.exists() and not LegalStatus.objects.exists()
    assert extract.summary["erased_left_out"] == 1
    entry = AuditEntry.objects.get(reason__startswith=f"extract #{extract.pk} imported")
    assert "1 people erased on request left out" in entry.reason


def test_an_erased_child_is_left_out_and_her_siblings_kept(programme, caseworker, dpo):
    erase_tombstone(programme, "C2", by=dpo, reason="erasure request 8")
    extract = run(programme, caseworker, Ssd())
    assert Woman.objects.count() == 1 and Child.objects.count() == 1
    assert Child.objects.get().reveal(protector(programme), "trust_person_id") == "C1"
    assert extract.summary["erased_left_out"] == 1
    assert CareEpisode.objects.count() == 1 and LegalStatus.objects.count() == 1  # C2's statuses not written


def _two_mothers() -> Ssd:
    extract = Ssd().add("ssd_person", Ssd.person("M2", "Dee", "Jones", dob="1985-01-01", is_mother="Y"))
    extract.add("ssd_mother", {"moth_table_id": "T9", "moth_person_id": "M2", "moth_childs_person_id": "C1",
                               "moth_childs_dob": "2012-03-04"})  # fmt: skip
    return extract


def _mother_of_c1(programme) -> str:
    p = protector(programme)
    child = next(c for c in Child.objects.filter(programme=programme) if c.reveal(p, "trust_person_id") == "C1")
    return child.mother.reveal(p, "trust_person_id")


def test_a_child_linked_to_two_kept_women_gets_one_mother_whatever_the_order(programme, caseworker):
    run(programme, caseworker, _two_mothers())
    first = _mother_of_c1(programme)
    reordered = _two_mothers()
    for rows in reordered.rows.values():
        rows.reverse()
    extract = run(programme, caseworker, reordered)
    assert _mother_of_c1(programme) == first
    assert Woman.objects.count() == 2 and Child.objects.count() == 2
    assert extract.summary["children"] == {"created": 0, "updated": 0, "unchanged": 2}


def test_people_indexed_under_an_older_key_are_matched_not_duplicated(programme, caseworker):
    run(programme, caseworker, Ssd())
    keys.rotate(KeyScope(programme.pk, Woman.key_phase, Purpose.BLIND_INDEX))
    extract = run(programme, caseworker, Ssd().set("ssd_person", 0, pers_forename="Anne"))
    assert Woman.objects.count() == 1 and Child.objects.count() == 2
    assert extract.summary["women"]["updated"] == 1 and extract.summary["children"]["created"] == 0


def test_a_reimport_rewrites_no_event_and_a_changed_event_is_updated(programme, caseworker):
    first = run(programme, caseworker, Ssd())
    second = run(programme, caseworker, Ssd().set("ssd_person", 1, pers_forename="B"))  # a new file, same events
    assert second.summary["events"] == {"legal_statuses": 0, "care_episodes": 0}
    assert set(LegalStatus.objects.values_list("extract_id", flat=True)) == {first.pk}
    third = run(programme, caseworker, Ssd().set("ssd_legal_status", 1, lega_legal_status_end_date="2017-01-01"))
    assert third.summary["events"]["legal_statuses"] == 1
    changed = LegalStatus.objects.get(source_row_id="L2")
    assert str(changed.end_date) == "2017-01-01" and changed.extract_id == third.pk
    assert LegalStatus.objects.count() == 2


def _with_dee() -> Ssd:
    extract = Ssd().add("ssd_person", Ssd.person("M2", "Dee", "Jones", dob="1985-01-01", is_mother="Y"))
    extract.add("ssd_person", Ssd.person("C3", dob="2010-01-01"))
    extract.add("ssd_mother", {"moth_table_id": "T3", "moth_person_id": "M2", "moth_childs_person_id": "C3",
                               "moth_childs_dob": "2010-01-01"})  # fmt: skip
    return extract.add("ssd_legal_status", Ssd.legal("L3", "C3", "C2", "2011-01-01"))


def test_a_changed_mother_link_moves_the_child(programme, caseworker):
    run(programme, caseworker, _with_dee())
    assert _mother_of_c1(programme) == "M1"
    moved = _with_dee()
    moved.rows["ssd_mother"][0]["moth_person_id"] = "M2"  # C1 is now Dee's
    extract = run(programme, caseworker, moved)
    assert _mother_of_c1(programme) == "M2"
    assert extract.summary["children"] == {"created": 0, "updated": 1, "unchanged": 2}
