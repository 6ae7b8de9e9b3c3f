"""The rules engine: every code in its position, children counted once, the window's and the
age's edges, the at-risk signals, review — and a constant number of queries."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from eligibility.engine import EXTRACT, POSITION, age_on, evaluate, window_start
from eligibility.extract import codes
from eligibility.extract.codes import CodeList, Position
from eligibility.importing import import_extract
from eligibility.models import Proposal, Woman
from eligibility.rules import current_rule_set, edit_rule_set, values_of
from tests.eligibility.casebook import Casebook
from tests.eligibility.extracts import TODAY, Ssd

pytestmark = pytest.mark.django_db

REF = date(2024, 6, 1)


@pytest.fixture
def book(programme, caseworker):
    return Casebook(programme, caseworker)


def one(programme, woman, ref=REF, rule_set=None):
    rule_set = rule_set or current_rule_set(programme)
    [result] = evaluate(programme, rule_set, ref, women=Woman.objects.filter(pk=woman.pk))
    return result


# --- every code of the specification in its position -------------------------------------
SPEC_COUNTED = {CodeList.LEGAL_STATUS: {"C1", "C2", "E1", "D1"},
                CodeList.EPISODE_CEASED: {"E11", "E12", "E41", "E43", "E44", "E45", "E46", "E47", "E48"}}
SPEC_REVIEW = {CodeList.LEGAL_STATUS: {"V2"}, CodeList.EPISODE_CEASED: {"E13"}}
SPEC_NOT_COUNTED = {CodeList.LEGAL_STATUS: {"V3", "V4", "L1", "L2", "L3", "J1", "J2", "J3"},
                    CodeList.EPISODE_CEASED: {"X1", "E2", "E3", "E4A", "E4B", "E5", "E6", "E7", "E8", "E15", "E16",
                                              "E17", "E9", "E14"}}
ALL_CODES = [(cl, c) for cl in (CodeList.LEGAL_STATUS, CodeList.EPISODE_CEASED) for c in codes.CODE_LISTS[cl]]


def test_the_three_lists_of_the_specification_cover_every_code_once():
    for cl in (CodeList.LEGAL_STATUS, CodeList.EPISODE_CEASED):
        lists = [SPEC_COUNTED[cl], SPEC_REVIEW[cl], SPEC_NOT_COUNTED[cl]]
        assert set().union(*lists) == set(codes.CODE_LISTS[cl])
        assert sum(len(x) for x in lists) == len(codes.CODE_LISTS[cl])


@pytest.mark.parametrize(("code_list", "code"), ALL_CODES)
def test_every_code_has_its_specified_position_in_the_first_rule_set(programme, book, code_list, code):
    expected = (Position.COUNTED if code in SPEC_COUNTED[code_list] else
                Position.REVIEW if code in SPEC_REVIEW[code_list] else Position.NOT_COUNTED)
    assert current_rule_set(programme).positions[code_list][code] == expected
    # ...and the engine treats one event of that code so: two such children, dated in the window
    w = book.woman()
    for _ in range(2):
        child = book.child(w)
        if code_list == CodeList.LEGAL_STATUS:
            book.legal(child, code, date(2020, 1, 1))
        else:
            book.episode(child, code, date(2020, 1, 1))
    result = one(programme, w)
    assert {e[POSITION] for e in result.events} == {expected}
    assert result.proposal == {Position.COUNTED: Proposal.ELIGIBLE, Position.REVIEW: Proposal.NEEDS_REVIEW,
                               Position.NOT_COUNTED: Proposal.NOT_PROPOSED}[expected]
    assert len(result.children_removed) == (2 if expected == Position.COUNTED else 0)


def test_an_unrecognised_code_is_for_review(programme, book):
    w = book.woman()
    book.removed(w, date(2019, 1, 1))
    odd = book.child(w)
    book.legal(odd, "ZZ", date(2020, 2, 2))
    result = one(programme, w)
    assert result.proposal == Proposal.NEEDS_REVIEW
    assert result.children_for_review == [odd.pk]
    assert "For review: unrecognised code 2020-02-02 (ZZ)" in result.explanation


# --- counting children -----------------------------------------------------------------------
def test_several_events_of_one_child_count_once(programme, book):
    w = book.woman()
    c = book.child(w)
    book.legal(c, "L2", date(2016, 1, 1), date(2016, 1, 9))  # an EPO that became a care order
    book.legal(c, "C1", date(2016, 1, 9), date(2017, 1, 1))
    book.legal(c, "C2", date(2017, 1, 1))
    book.legal(c, "E1", date(2017, 3, 4))
    book.episode(c, "E11", date(2018, 5, 5))
    result = one(programme, w)
    assert result.children_removed == [c.pk]
    assert result.proposal == Proposal.NOT_PROPOSED  # one child, no signal
    assert result.last_removal == "2018-05-05"
    assert len(result.events) == 5


def test_the_explanation_names_each_removed_child_once(programme, book):
    w = book.woman()
    a, b = book.child(w), book.child(w)
    book.legal(a, "C2", date(2016, 1, 1))
    book.legal(a, "E1", date(2017, 3, 4))
    book.episode(b, "E45", date(2020, 5, 1))
    result = one(programme, w)
    assert result.proposal == Proposal.ELIGIBLE
    assert result.explanation == ("2 children removed: placement order 2017-03-04 (E1); "
                                  "special guardianship 2020-05-01 (E45)")
    evidence = result.evidence
    assert evidence["children_removed"] == sorted([a.pk, b.pk]) and evidence["last_removal"] == "2020-05-01"
    assert {e[EXTRACT] for e in evidence["events"]} == {book.extract.pk}
    assert "surname" not in str(evidence).lower() and "W" + str(w.pk) not in str(evidence)


# --- dates ---------------------------------------------------------------------------------
def test_window_start_is_n_years_back_and_29_february_becomes_28():
    assert window_start(date(2024, 6, 1), 10) == date(2014, 6, 1)
    assert window_start(date(2024, 2, 29), 10) == date(2014, 2, 28)
    assert window_start(date(2024, 2, 29), 4) == date(2020, 2, 29)


@pytest.mark.parametrize(("second_removal", "proposal"), [
    (date(2014, 5, 31), Proposal.NOT_PROPOSED),  # the day before the window starts
    (date(2014, 6, 1), Proposal.ELIGIBLE),  # the first day of the window
    (date(2014, 6, 2), Proposal.ELIGIBLE),
    (date(2024, 6, 1), Proposal.ELIGIBLE),  # the reference date itself
    (date(2024, 6, 2), Proposal.NOT_PROPOSED),  # after the reference date
])
def test_window_edges(programme, book, second_removal, proposal):
    w = book.woman()
    book.removed(w, date(2020, 1, 1), second_removal)
    assert one(programme, w).proposal == proposal


@pytest.mark.parametrize(("removal", "proposal"), [
    (date(2014, 2, 27), Proposal.NOT_PROPOSED),
    (date(2014, 2, 28), Proposal.ELIGIBLE),
])
def test_window_from_29_february(programme, book, removal, proposal):
    w = book.woman()
    book.removed(w, date(2020, 1, 1), removal)
    assert one(programme, w, ref=date(2024, 2, 29)).proposal == proposal


def test_an_episode_is_dated_by_its_ceased_date_and_a_legal_status_by_its_start(programme, book):
    w = book.woman()
    a, b = book.child(w), book.child(w)
    book.legal(a, "C2", date(2013, 1, 1), date(2020, 1, 1))  # started before the window: ends inside it
    book.episode(b, "E11", date(2015, 1, 1))
    result = one(programme, w)
    assert result.children_removed == [b.pk]


@pytest.mark.parametrize(("born", "proposal"), [
    (date(2008, 6, 1), Proposal.ELIGIBLE),  # 16 on the reference date
    (date(2008, 6, 2), Proposal.NOT_PROPOSED),  # 16 the day after
])
def test_she_qualifies_from_her_16th_birthday_inclusive(programme, book, born, proposal):
    w = book.woman(born=born)
    book.removed(w, date(2022, 1, 1), date(2023, 1, 1))
    result = one(programme, w)
    assert result.proposal == proposal
    if proposal == Proposal.NOT_PROPOSED:
        assert "Aged 15 on 2024-06-01: under 16" in result.explanation


def test_a_29_february_birthday_is_reached_on_1_march():
    assert age_on(date(2008, 2, 29), date(2024, 2, 28)) == 15
    assert age_on(date(2008, 2, 29), date(2024, 2, 29)) == 16
    assert age_on(date(2007, 2, 29 - 1), date(2023, 2, 28)) == 16
    assert age_on(date(2004, 2, 29), date(2021, 2, 28)) == 16 and age_on(date(2004, 2, 29), date(2021, 3, 1)) == 17


def test_an_unknown_date_of_birth_sends_a_proposal_to_review(programme, book):
    w = book.woman(born=None)
    book.removed(w, date(2022, 1, 1), date(2023, 1, 1))
    result = one(programme, w)
    assert result.proposal == Proposal.NEEDS_REVIEW and "Date of birth not known" in result.explanation


def test_a_woman_who_died_is_not_proposed(programme, book):
    w = book.woman(died=date(2024, 1, 1))
    book.removed(w, date(2022, 1, 1), date(2023, 1, 1))
    assert one(programme, w).proposal == Proposal.NOT_PROPOSED


# --- at risk -------------------------------------------------------------------------------
def test_one_removal_and_a_current_pregnancy_is_at_risk(programme, book):
    w = book.woman(due=date(2024, 6, 2))
    book.removed(w, date(2020, 1, 1))
    result = one(programme, w)
    assert result.proposal == Proposal.AT_RISK
    assert result.explanation == "1 child removed: care order 2020-01-01 (C2). Pregnant: due 2024-06-02"


def test_a_due_date_on_or_before_the_reference_date_is_no_current_pregnancy(programme, book):
    w = book.woman(due=date(2024, 6, 1))
    book.removed(w, date(2020, 1, 1))
    assert one(programme, w).proposal == Proposal.NOT_PROPOSED


@pytest.mark.parametrize("code", ["C1", "L2"])
def test_one_removal_and_open_proceedings_is_at_risk(programme, book, code):
    w = book.woman()
    [removed] = book.removed(w, date(2019, 1, 1))
    # An open interim care order counts its child too: here it is the removed child's own
    book.legal(removed if code == "C1" else book.child(w), code, date(2024, 3, 1))  # no end date
    result = one(programme, w)
    assert result.proposal == Proposal.AT_RISK and result.children_removed == [removed.pk]
    assert f"Open proceedings: {'interim care order' if code == 'C1' else 'emergency protection order'} " \
           f"since 2024-03-01 ({code})" in result.explanation


def test_ended_proceedings_are_not_open(programme, book):
    w = book.woman()
    book.removed(w, date(2019, 1, 1))
    book.legal(book.child(w), "L2", date(2024, 3, 1), date(2024, 3, 8))
    assert one(programme, w).proposal == Proposal.NOT_PROPOSED


def test_two_removals_with_a_pregnancy_are_eligible_and_none_is_not_at_risk(programme, book):
    w = book.woman(due=date(2024, 9, 1))
    book.removed(w, date(2019, 1, 1), date(2020, 1, 1))
    assert one(programme, w).proposal == Proposal.ELIGIBLE
    w2 = book.woman(due=date(2024, 9, 1))
    assert one(programme, w2).proposal == Proposal.NOT_PROPOSED


def test_review_events_that_would_make_her_at_risk_need_review(programme, book):
    w = book.woman(due=date(2024, 9, 1))
    book.legal(book.child(w), "V2", date(2021, 1, 1))
    assert one(programme, w).proposal == Proposal.NEEDS_REVIEW
    w2 = book.woman()
    book.episode(book.child(w2), "E13", date(2021, 1, 1))  # one review child alone: neither
    assert one(programme, w2).proposal == Proposal.NOT_PROPOSED


def test_a_review_event_of_a_child_already_removed_adds_nothing(programme, book):
    w = book.woman()
    [c] = book.removed(w, date(2019, 1, 1))
    book.legal(c, "V2", date(2018, 1, 1))
    result = one(programme, w)
    assert result.proposal == Proposal.NOT_PROPOSED and result.children_for_review == []


def test_a_signal_the_trust_lead_turned_off_does_not_count(programme, book, trust_lead):
    values = values_of(current_rule_set(programme)) | {"at_risk_signals": ["open_proceedings"]}
    rules = edit_rule_set(programme=programme, by=trust_lead, values=values)
    w = book.woman(due=date(2024, 9, 1))
    book.removed(w, date(2020, 1, 1))
    assert one(programme, w, rule_set=rules).proposal == Proposal.NOT_PROPOSED


def test_a_changed_position_changes_the_proposal(programme, book, trust_lead):
    values = values_of(current_rule_set(programme))
    values["positions"]["legal_status"]["V2"] = "counted"
    rules = edit_rule_set(programme=programme, by=trust_lead, values=values)
    w = book.woman()
    book.removed(w, date(2019, 1, 1), code="V2")
    book.removed(w, date(2020, 1, 1), code="V2")
    assert one(programme, w, rule_set=rules).proposal == Proposal.ELIGIBLE
    assert one(programme, w, rule_set=rules.based_on).proposal == Proposal.NEEDS_REVIEW


# --- from an imported extract, and the number of queries -------------------------------------
def test_an_imported_extract_is_evaluated(programme, caseworker):
    import_extract(programme=programme, files=Ssd().files(), by=caseworker, today=TODAY)
    [result] = evaluate(programme, current_rule_set(programme), TODAY)
    # Ssd(): C1 with C2 from 2013 and adopted 2015; C2 with a placement order from 2016
    assert result.proposal == Proposal.ELIGIBLE
    assert result.explanation == "2 children removed: adopted 2015-01-01 (E11); placement order 2016-01-01 (E1)"
    assert result.age == 34


def _women(book, n):
    for i in range(n):
        w = book.woman(due=date(2024, 9, 1) if i % 3 == 0 else None)
        book.removed(w, date(2019, 1, 1), date(2020 + i % 3, 1, 1))
        book.legal(book.child(w), "V2", date(2021, 1, 1))


def test_the_number_of_queries_does_not_grow_with_the_number_of_women(programme, book):
    rules = current_rule_set(programme)
    _women(book, 1)
    with CaptureQueriesContext(connection) as few:
        assert len(evaluate(programme, rules, REF)) == 1
    _women(book, 19)
    with CaptureQueriesContext(connection) as many:
        assert len(evaluate(programme, rules, REF)) == 20
    assert len(many) == len(few) <= 6  # two reads, and the keys loaded once
