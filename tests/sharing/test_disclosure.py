"""The disclosure policy: what each role sees of its programme's records, one entry per call."""

import pytest

from audit.core.models import AuditEntry, AuditSubject, Event
from eligibility.disclosure import disclose
from tests.testapp.models import CaseRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(programme):
    return [
        CaseRecord.objects.create(programme=programme, trust_person_id=f"P-{n:04d}", surname=f"Synthetic{n}",
                                  ethnicity="WBRI", age_band="25-29")
        for n in range(5)
    ]


@pytest.fixture
def other_records(other_programme):
    return [CaseRecord.objects.create(programme=other_programme, trust_person_id="Q-0001", surname="Elsewhere")]


@pytest.mark.parametrize("actor", ["caseworker", "trust_lead"])
def test_trust_staff_see_their_programmes_records_and_one_entry_names_them_all(actor, actors, records, programme):
    person = actors[actor]
    result = disclose(person, CaseRecord.objects.filter(programme=programme), page="/records/")
    assert [r.pk for r in result] == [r.pk for r in records]
    entry = AuditEntry.objects.get(event=Event.DISCLOSURE)
    assert entry.actor == person and entry.programme == programme and entry.phase == "scoping"
    assert entry.role == person.memberships.get().role and entry.page == "/records/"
    assert entry.subject_count == 5
    assert set(AuditSubject.objects.filter(entry=entry).values_list("subject", flat=True)) == {
        f"testapp.caserecord:{r.pk}" for r in records
    }


@pytest.mark.parametrize("actor", ["caldicott", "dpo", "pause_lead", "practitioner", "system_admin", "other_programme_person"])
def test_everyone_else_sees_none_of_them_and_nothing_is_recorded_as_shown(actor, actors, records):
    result = disclose(actors[actor], records, page="/records/")
    assert list(result) == [] and result.withheld == len(records)
    assert not AuditEntry.objects.filter(event=Event.DISCLOSURE).exists()


def test_the_caller_cannot_widen_what_is_shown(caseworker, records, other_records):
    """Programme and role come from the records and memberships, never the caller."""
    result = disclose(caseworker, records + other_records, page="/records/")
    assert {r.programme_id for r in result.records} == {records[0].programme_id}
    assert result.withheld == 1
    assert not AuditSubject.objects.filter(subject=f"testapp.caserecord:{other_records[0].pk}").exists()


def test_a_revoked_or_pending_role_or_deactivated_person_sees_nothing(caseworker, system_admin, records):
    from sharing import actions

    actions.revoke_role(membership=caseworker.memberships.get(), by=system_admin)
    assert list(disclose(caseworker, records, page="/records/")) == []


def test_the_disclosure_and_its_entry_are_one_transaction(caseworker, records, monkeypatch):
    from audit.core import log

    def broken_bulk_create(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(log.AuditSubject.objects, "bulk_create", broken_bulk_create)
    with pytest.raises(RuntimeError):
        disclose(caseworker, records, page="/records/")
    assert not AuditEntry.objects.filter(event=Event.DISCLOSURE).exists()


def test_no_identifying_value_reaches_the_audit_tables(caseworker, records, programme):
    disclose(caseworker, records, page="/records/")
    from tests.audit.plaintext import audit_text

    text = audit_text()
    for r in records:
        assert r.trust_person_id not in text and r.surname not in text


def test_what_each_field_shows_comes_from_the_data_classification(caseworker, records, programme):
    from eligibility.disclosure import visible_fields
    from pause_portal.tenancy.roles import Role

    result = disclose(caseworker, records, page="/records/")
    assert result.fields[programme.pk] == {"id", "programme", "trust_person_id", "surname", "ethnicity", "age_band"}
    assert visible_fields(CaseRecord, Role.DPO) == frozenset()
    assert visible_fields(CaseRecord, Role.PAUSE_PRACTITIONER) == frozenset()
