"""Possible duplicates: the same woman under two Trust person ids is proposed once, through the
blind indexes, and a caseworker confirms or rejects it — nothing is ever merged."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry, AuditSubject, Event
from eligibility.duplicates import confirm_duplicate, propose_duplicates, reject_duplicate
from eligibility.importing import import_extract
from eligibility.models import DuplicateProposal, DuplicateReason, DuplicateStatus, Woman
from eligibility.views.duplicates import PER_PAGE
from pseudonymisation import keys
from pseudonymisation.fields import Protector
from pseudonymisation.keys import KeyScope
from pseudonymisation.models import Purpose
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.eligibility.extracts import OTHER_VALID_NHS, TODAY, VALID_NHS, Ssd

pytestmark = pytest.mark.django_db

INVALID_NHS = "9434765910"  # ten digits, fails the check digit


def run(programme, person, extract: Ssd):
    return import_extract(programme=programme, files=extract.files(), by=person, today=TODAY)


def with_mother(ssd: Ssd, pid: str, forename: str, surname: str, *, dob: str, nhs: str = "") -> Ssd:
    """Add a mother kept by the import: one child with a counted legal status."""
    child = f"{pid}-C"
    ssd.add("ssd_person", Ssd.person(pid, forename, surname, dob=dob, nhs=nhs, is_mother="Y"))
    ssd.add("ssd_person", Ssd.person(child, "Kid", surname, dob="2014-02-02"))
    ssd.add("ssd_mother", {"moth_table_id": f"T-{pid}", "moth_person_id": pid,
                           "moth_childs_person_id": child, "moth_childs_dob": "2014-02-02"})
    ssd.add("ssd_legal_status", Ssd.legal(f"L-{pid}", child, "C2", "2015-01-01"))
    return ssd


def woman(pid: str) -> Woman:
    for w in Woman.objects.all():
        if w.reveal(Protector.load(w.programme_id, "trust"), "trust_person_id") == pid:
            return w
    raise AssertionError(pid)


def an_open_proposal(programme, caseworker) -> DuplicateProposal:
    run(programme, caseworker, with_mother(Ssd(), "M2", "Annie", "Jones", dob="1985-01-01", nhs=VALID_NHS))
    return DuplicateProposal.objects.get()


# --- proposing ---------------------------------------------------------------------------------
def test_the_same_nhs_number_under_two_ids_is_one_proposal(programme, caseworker):
    extract = run(programme, caseworker,
                  with_mother(Ssd(), "M2", "Annie", "Jones", dob="1985-01-01", nhs=VALID_NHS))
    proposal = DuplicateProposal.objects.get()
    a, b = woman("M1"), woman("M2")
    assert (proposal.woman_a_id, proposal.woman_b_id) == tuple(sorted([a.pk, b.pk]))
    assert proposal.reason == DuplicateReason.NHS_NUMBER and proposal.status == DuplicateStatus.OPEN
    assert proposal.programme == programme and proposal.decided_by is None
    assert extract.summary["duplicates_proposed"] == 1
    assert Woman.objects.count() == 2  # never merged


def test_the_same_surname_and_date_of_birth_differently_written_is_one_proposal(programme, caseworker):
    ssd = Ssd().set("ssd_person", 0, pers_surname="D'Arcy-Siân", pers_common_child_id="")
    with_mother(ssd, "M2", "Ann", "darcy sian", dob="1990-05-01", nhs=OTHER_VALID_NHS)
    with_mother(ssd, "M3", "Ann", "DArcy", dob="1990-05-01")  # another surname: no match
    with_mother(ssd, "M4", "Ann", "D'ARCY SIÂN", dob="1990-05-02")  # another day: no match
    run(programme, caseworker, ssd)
    proposal = DuplicateProposal.objects.get()
    assert {proposal.woman_a_id, proposal.woman_b_id} == {woman("M1").pk, woman("M2").pk}
    assert proposal.reason == DuplicateReason.SURNAME_DOB


def test_a_pair_matching_on_both_is_proposed_once_for_its_nhs_number(programme, caseworker):
    run(programme, caseworker, with_mother(Ssd(), "M2", "Ann", "SMITH", dob="1990-05-01", nhs=VALID_NHS))
    assert DuplicateProposal.objects.get().reason == DuplicateReason.NHS_NUMBER


def test_an_invalid_nhs_number_never_matches(programme, caseworker):
    ssd = Ssd().set("ssd_person", 0, pers_common_child_id=INVALID_NHS)
    with_mother(ssd, "M2", "Dee", "Jones", dob="1985-01-01", nhs=INVALID_NHS)
    extract = run(programme, caseworker, ssd)
    assert extract.summary["duplicates_proposed"] == 0
    assert not DuplicateProposal.objects.exists()
    assert all(w.nhs_number_valid is False and w.nhs_number_index is None for w in Woman.objects.all())


def test_women_of_another_programme_are_never_matched(programme, other_programme, caseworker):
    outsider = f.member(other_programme, "trust_caseworker")
    run(other_programme, outsider, Ssd())
    run(programme, caseworker, with_mother(Ssd().set("ssd_person", 0, pers_common_child_id=OTHER_VALID_NHS),
                                           "M2", "Dee", "Jones", dob="1985-01-01", nhs=VALID_NHS))
    assert not DuplicateProposal.objects.exists()


def test_reimporting_does_not_propose_again(programme, caseworker):
    run(programme, caseworker, with_mother(Ssd(), "M2", "Annie", "Jones", dob="1985-01-01", nhs=VALID_NHS))
    again = with_mother(Ssd(), "M2", "Annie", "Jones", dob="1985-01-01", nhs=VALID_NHS)
    for table in again.rows.values():
        table.reverse()  # the same content, another file
    extract = run(programme, caseworker, again)
    assert extract.summary["duplicates_proposed"] == 0
    assert DuplicateProposal.objects.count() == 1


@pytest.mark.parametrize("decide", [confirm_duplicate, reject_duplicate])
def test_a_decided_pair_is_never_proposed_again(programme, caseworker, decide):
    proposal = an_open_proposal(programme, caseworker)
    decide(proposal=proposal, by=caseworker, reason="Checked the case system")
    # A newer extract in which the two now also share surname and date of birth.
    newer = with_mother(Ssd(), "M2", "Ann", "Smith", dob="1990-05-01", nhs=VALID_NHS)
    assert run(programme, caseworker, newer).summary["duplicates_proposed"] == 0
    assert DuplicateProposal.objects.count() == 1
    assert DuplicateProposal.objects.get().status != DuplicateStatus.OPEN


def test_a_newer_extract_proposes_a_woman_matching_one_of_an_earlier_extract(programme, caseworker):
    run(programme, caseworker, Ssd())
    later = with_mother(Ssd(), "M2", "Annie", "Jones", dob="1985-01-01", nhs=VALID_NHS)
    assert run(programme, caseworker, later).summary["duplicates_proposed"] == 1


def test_women_indexed_under_an_older_key_version_still_match(programme, caseworker):
    run(programme, caseworker, Ssd())
    keys.rotate(KeyScope(programme.pk, "trust", Purpose.BLIND_INDEX))
    later = with_mother(Ssd().set("ssd_person", 0, pers_forename="Anne"),  # M1 updated, NHS number unchanged
                        "M2", "Annie", "Jones", dob="1985-01-01", nhs=VALID_NHS)
    extract = run(programme, caseworker, later)
    m1, m2 = woman("M1"), woman("M2")
    assert m1.nhs_number_index.split(":")[0] == "v1" and m2.nhs_number_index.split(":")[0] == "v2"
    assert extract.summary["duplicates_proposed"] == 1
    assert DuplicateProposal.objects.get().reason == DuplicateReason.NHS_NUMBER


# --- set-based: the queries do not grow with the number of women ----------------------------------
def valid_nhs_numbers(start: int):
    n = start
    while True:
        n += 1
        digits = str(n).zfill(9)
        check = 11 - sum(int(d) * w for d, w in zip(digits, range(10, 1, -1))) % 11
        check = 0 if check == 11 else check
        if check != 10:
            yield digits + str(check)


def make_women(programme, count: int) -> list[Woman]:
    """`count` women in pairs: odd pairs share an NHS number, even pairs a surname and date of birth."""
    extract = f.ExtractFactory(programme=programme)
    numbers = valid_nhs_numbers(100_000_000 + count * 1000)
    born = date(1900, 1, 1) + timedelta(days=count * 200)  # each call's people apart from the others
    women, shared = [], None
    for i in range(count):
        if i % 2 == 0:
            shared = next(numbers)
        by_nhs = (i // 2) % 2
        women.append(f.WomanFactory(
            programme=programme, first_extract=extract, nhs_number_valid=True, trust_person_id=f"P{count}-{i}",
            forename="Ann", surname="Smith" if by_nhs else "Jones", nhs_number=shared if by_nhs else next(numbers),
            date_of_birth=born + timedelta(days=i if by_nhs else i // 2)))
    return women


@pytest.mark.parametrize("rotated", [False, True], ids=["one key version", "during a key rotation"])
def test_proposing_takes_the_same_number_of_queries_for_10_or_100_women(programme, rotated):
    counts = {}
    for n in (10, 100):
        protector = Protector.load(programme.pk, "trust")
        women = make_women(programme, n)
        if rotated:
            keys.rotate(KeyScope(programme.pk, "trust", Purpose.BLIND_INDEX))
            protector = Protector.load(programme.pk, "trust")
            for w in women[1::2]:  # the second of each pair re-indexed: its twin is on the old version
                w.protect(protector, nhs_number=w.reveal(protector, "nhs_number"), surname=w.reveal(protector, "surname"))
            Woman.objects.bulk_update(women[1::2], ["nhs_number", "surname", "nhs_number_index", "surname_dob_index"])
        queryset = Woman.objects.filter(pk__in=[w.pk for w in women])
        with CaptureQueriesContext(connection) as queries:
            made = propose_duplicates(programme, queryset, protector=protector)
        assert made == n // 2
        counts[n] = len(queries)
    assert counts[10] == counts[100], counts
    assert DuplicateProposal.objects.count() == 55


# --- deciding ----------------------------------------------------------------------------------
@pytest.mark.parametrize("decide, status", [(confirm_duplicate, DuplicateStatus.CONFIRMED),
                                            (reject_duplicate, DuplicateStatus.REJECTED)])
def test_a_decision_needs_a_reason_and_records_who_when_and_an_audit_entry(programme, caseworker, trust_lead,
                                                                           decide, status):
    proposal = an_open_proposal(programme, caseworker)
    for blank in ("", "   "):
        with pytest.raises(ValidationError, match="reason"):
            decide(proposal=proposal, by=trust_lead, reason=blank)
    proposal.refresh_from_db()
    assert proposal.status == DuplicateStatus.OPEN
    decided = decide(proposal=proposal, by=trust_lead, reason="  Same woman: checked the case system  ")
    proposal.refresh_from_db()
    assert proposal.status == status and proposal.decided_by == trust_lead and proposal.decided_at
    assert proposal.decision_reason == "Same woman: checked the case system"
    assert decided.pk == proposal.pk
    entry = AuditEntry.objects.get(event=Event.CHANGE, object_repr=f"eligibility.duplicateproposal:{proposal.pk}")
    assert entry.actor == trust_lead and entry.programme == programme and entry.role == "trust_lead"
    assert set(entry.subjects.values_list("subject", flat=True)) == {
        f"eligibility.woman:{proposal.woman_a_id}", f"eligibility.woman:{proposal.woman_b_id}"}
    assert "checked the case system" not in entry.reason  # the free text stays out of the trail
    assert Woman.objects.count() == 2  # confirming merges nothing
    with pytest.raises(ValidationError, match="already been decided"):
        decide(proposal=proposal, by=caseworker, reason="Again")


def test_only_the_programmes_trust_caseworkers_and_leads_decide(programme, caseworker, dpo, practitioner,
                                                                 other_programme_person):
    proposal = an_open_proposal(programme, caseworker)
    for person in (dpo, practitioner, other_programme_person):
        with pytest.raises(PermissionDenied):
            confirm_duplicate(proposal=proposal, by=person, reason="Same woman")
    proposal.refresh_from_db()
    assert proposal.status == DuplicateStatus.OPEN


def test_the_database_keeps_pairs_ordered_once_and_decisions_complete(programme, caseworker):
    proposal = an_open_proposal(programme, caseworker)
    a, b = proposal.woman_a, proposal.woman_b
    now = timezone.now()
    refused = [
        {"woman_a": a, "woman_b": a},  # the same woman twice
        {"woman_a": b, "woman_b": a},  # out of order
        {"woman_a": a, "woman_b": b},  # proposed already
    ]
    for values in refused:
        with pytest.raises(IntegrityError), transaction.atomic():
            DuplicateProposal.objects.create(programme=programme, reason=DuplicateReason.NHS_NUMBER, **values)
    half_decided = [
        {"status": DuplicateStatus.CONFIRMED, "decided_by": caseworker, "decision_reason": "Same"},  # no when
        {"status": DuplicateStatus.REJECTED, "decided_at": now, "decision_reason": "Different"},  # no who
        {"status": DuplicateStatus.CONFIRMED, "decided_by": caseworker, "decided_at": now},  # no why
        {"status": DuplicateStatus.OPEN, "decided_by": caseworker, "decided_at": now, "decision_reason": "x"},
    ]
    for values in half_decided:
        with pytest.raises(IntegrityError), transaction.atomic():
            DuplicateProposal.objects.filter(pk=proposal.pk).update(**values)


# --- the pages ---------------------------------------------------------------------------------
def test_the_list_shows_open_proposals_and_no_personal_data(client, programme, caseworker):
    proposal = an_open_proposal(programme, caseworker)
    sign_in_verified(client, caseworker)
    response = client.get(reverse("eligibility:duplicates"))
    assert response.status_code == 200
    assert reverse("eligibility:duplicate", args=[proposal.pk]).encode() in response.content
    assert b"Same NHS number" in response.content and b"Smith" not in response.content
    assert b"never merges" in response.content
    assert reverse("eligibility:duplicates").encode() in client.get(reverse("dashboard")).content


def test_the_proposal_page_shows_both_women_and_records_the_access(client, programme, trust_lead, caseworker):
    proposal = an_open_proposal(programme, caseworker)
    sign_in_verified(client, trust_lead)
    url = reverse("eligibility:duplicate", args=[proposal.pk])
    response = client.get(url)
    assert response.status_code == 200
    text = response.content.decode()
    for value in ("M1", "M2", "Ann", "Annie", "Smith", "Jones", "1 May 1990", "1 January 1985", "943 476 5919"):
        assert value in text, value
    assert "does not merge" in text and "same NHS number" in text
    entry = AuditEntry.objects.get(event=Event.DISCLOSURE, actor=trust_lead, page=url)
    assert entry.subject_count == 2 and entry.programme == programme
    assert set(AuditSubject.objects.filter(entry=entry).values_list("subject", flat=True)) == {
        f"eligibility.woman:{proposal.woman_a_id}", f"eligibility.woman:{proposal.woman_b_id}"}


def test_the_form_needs_a_decision_and_a_reason(client, programme, caseworker):
    proposal = an_open_proposal(programme, caseworker)
    sign_in_verified(client, caseworker)
    url = reverse("eligibility:duplicate", args=[proposal.pk])
    response = client.post(url, {"decision": "", "reason": " "})
    assert response.status_code == 400
    text = response.content.decode()
    assert "There is a problem" in text and 'href="#id_decision_0"' in text and 'href="#id_reason"' in text
    assert 'id="id_decision_0"' in text and 'id="id_reason"' in text
    assert "Select whether these two records are the same woman" in text
    assert "Enter the reason for your decision" in text
    proposal.refresh_from_db()
    assert proposal.status == DuplicateStatus.OPEN
    # The page was shown again, so the access was recorded again.
    assert AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=caseworker, page=url).count() == 1


@pytest.mark.parametrize("decision, status", [("confirm", DuplicateStatus.CONFIRMED),
                                              ("reject", DuplicateStatus.REJECTED)])
def test_deciding_on_the_page(client, programme, caseworker, decision, status):
    proposal = an_open_proposal(programme, caseworker)
    sign_in_verified(client, caseworker)
    url = reverse("eligibility:duplicate", args=[proposal.pk])
    response = client.post(url, {"decision": decision, "reason": "Checked in the case system"})
    assert response.status_code == 302 and response["Location"] == url
    proposal.refresh_from_db()
    assert proposal.status == status and proposal.decided_by == caseworker
    page = client.get(url).content.decode()
    assert "Checked in the case system" in page and caseworker.full_name in page
    assert ("Nothing has been merged" in page) == (decision == "confirm")
    assert 'name="decision"' not in page  # decided: no form any more
    assert client.post(url, {"decision": "reject", "reason": "Changed my mind"}).status_code == 400
    proposal.refresh_from_db()
    assert proposal.status == status
    listing = client.get(reverse("eligibility:duplicates")).content.decode()
    assert url not in listing and "1 possible duplicate already decided" in listing


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_programmes_proposal_is_404(client, programme, other_programme, caseworker, method):
    proposal = an_open_proposal(programme, caseworker)
    outsider = f.member(other_programme, "trust_caseworker")
    sign_in_verified(client, outsider)
    response = getattr(client, method)(reverse("eligibility:duplicate", args=[proposal.pk]),
                                       {"decision": "confirm", "reason": "Same woman"})
    assert response.status_code == 404
    proposal.refresh_from_db()
    assert proposal.status == DuplicateStatus.OPEN
    assert not AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=outsider).exists()
    listing = client.get(reverse("eligibility:duplicates")).content.decode()
    assert reverse("eligibility:duplicate", args=[proposal.pk]) not in listing


def test_the_list_is_paginated(client, programme, caseworker):
    make_women(programme, 2 * (PER_PAGE + 1))
    propose_duplicates(programme, Woman.objects.all())
    sign_in_verified(client, caseworker)
    first = client.get(reverse("eligibility:duplicates")).content.decode()
    assert "Page 1 of 2" in first and "?page=2" in first
    assert client.get(reverse("eligibility:duplicates") + "?page=2").status_code == 200
