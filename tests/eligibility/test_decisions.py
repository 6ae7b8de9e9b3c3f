"""Decisions by named Trust staff, kept as history; recompute marking decisions for re-review;
and the one release predicate, for each case."""

from datetime import date, timedelta
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from eligibility.decisions import (
    current_decision,
    decide,
    decision_history,
    re_review_pending,
)
from eligibility.models import (
    Decision,
    DecisionOutcome,
    Evaluation,
    EvaluationRun,
    Proposal,
    ReReview,
    Restriction,
    RestrictionReason,
    Woman,
)
from eligibility.recompute import recompute
from eligibility.release import can_be_released, releasable
from eligibility.rules import current_rule_set, edit_rule_set, values_of
from pseudonymisation.fields import Protector
from tests.eligibility.casebook import Casebook


def reason_of(decision) -> str:
    """The stored reason, decrypted here with the programme's key (pages get it served)."""
    return decision.reveal(Protector.load(decision.programme_id, decision.key_phase, create=False), "reason") or ""

pytestmark = pytest.mark.django_db

REF = date(2024, 6, 1)
REASON = "Checked Mosaic: both orders confirmed with the allocated social worker, Ms Example."


@pytest.fixture
def book(programme, caseworker):
    return Casebook(programme, caseworker)


@pytest.fixture
def eligible(book):
    w = book.woman()
    book.removed(w, date(2019, 1, 1), date(2020, 1, 1))
    return w


# --- deciding --------------------------------------------------------------------------------
def test_a_decision_records_who_when_the_rules_and_the_evidence(programme, caseworker, eligible):
    result = recompute(programme, by=caseworker, reference_date=REF)
    decision = decide(woman=eligible, by=caseworker, outcome=DecisionOutcome.ELIGIBLE, reason=REASON)
    evaluation = Evaluation.objects.get(woman=eligible, run=result.run)
    assert decision.decided_by == caseworker and decision.decided_at <= timezone.now()
    assert decision.rule_set == current_rule_set(programme) and decision.reference_date == REF
    assert decision.evaluation == evaluation and decision.proposal == Proposal.ELIGIBLE
    assert decision.evidence == evaluation.evidence and decision.evidence_digest == evaluation.evidence_digest
    assert reason_of(decision) == REASON


def test_the_reason_is_encrypted_and_not_in_the_audit(programme, caseworker, eligible):
    decision = decide(woman=eligible, by=caseworker, outcome="not_eligible", reason=REASON)
    assert REASON.encode() not in bytes(decision.reason)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Decision._meta.db_table}")  # noqa: S608 - a fixed table name
        assert "Ms Example" not in repr(cursor.fetchall())
    entry = AuditEntry.objects.get(object_repr=f"eligibility.decision:{decision.pk}")
    assert entry.event == Event.CHANGE and entry.actor_id == caseworker.pk and entry.programme == programme
    assert "Not eligible" in entry.reason and "Ms Example" not in entry.reason and "Mosaic" not in entry.reason
    assert [s.subject for s in entry.subjects.all()] == [f"eligibility.woman:{eligible.pk}"]


def test_without_an_evaluation_the_decision_rests_on_one_made_now(programme, caseworker, eligible):
    decision = decide(woman=eligible, by=caseworker, outcome="eligible", reason=REASON)
    assert decision.evaluation is None and decision.proposal == Proposal.ELIGIBLE
    assert decision.reference_date == timezone.localdate() and decision.evidence["children_removed"]


@pytest.mark.parametrize("who", ["caseworker", "trust_lead"])
def test_trust_caseworkers_and_leads_decide(actors, eligible, who):
    assert decide(woman=eligible, by=actors[who], outcome="at_risk", reason=REASON).decided_by == actors[who]


@pytest.mark.parametrize("who", ["caldicott", "dpo", "pause_lead", "practitioner", "other_programme_person",
                                 "system_admin"])
def test_nobody_else_decides(actors, eligible, who):
    with pytest.raises(PermissionDenied):
        decide(woman=eligible, by=actors[who], outcome="eligible", reason=REASON)
    assert not Decision.objects.exists()
    assert not AuditEntry.objects.filter(object_repr__startswith="eligibility.decision:").exists()


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(caseworker, eligible, reason):
    with pytest.raises(ValidationError, match="Enter the reason for your decision"):
        decide(woman=eligible, by=caseworker, outcome="eligible", reason=reason)


def test_a_revision_is_a_new_decision_and_the_history_stays(caseworker, trust_lead, eligible):
    first = decide(woman=eligible, by=caseworker, outcome="more_information", reason="Ask about the second child")
    second = decide(woman=eligible, by=trust_lead, outcome="eligible", reason=REASON)
    assert list(decision_history(eligible)) == [first, second] and current_decision(eligible) == second
    first.refresh_from_db()
    assert first.outcome == "more_information" and reason_of(first) == "Ask about the second child"
    with pytest.raises(PermissionError):
        first.save()
    with pytest.raises(PermissionError):
        Decision.objects.filter(pk=first.pk).update(outcome="eligible")
    with pytest.raises(PermissionError):
        Decision.objects.all().delete()


def test_no_decision_is_kept_when_its_audit_entry_fails(caseworker, eligible):
    with mock.patch("eligibility.decisions.record_event", side_effect=RuntimeError("audit down")), \
            pytest.raises(RuntimeError):
        decide(woman=eligible, by=caseworker, outcome="eligible", reason=REASON)
    assert not Decision.objects.exists()


def test_an_old_decision_still_names_its_rule_set_version(programme, caseworker, trust_lead, eligible):
    recompute(programme, by=caseworker, reference_date=REF)
    decision = decide(woman=eligible, by=caseworker, outcome="eligible", reason=REASON)
    edit_rule_set(programme=programme, by=trust_lead,
                  values=values_of(current_rule_set(programme)) | {"look_back_years": 4})
    recompute(programme, by=caseworker, reference_date=REF)
    decision.refresh_from_db()
    assert decision.rule_set.version == 1 and current_rule_set(programme).version == 2


# --- release ---------------------------------------------------------------------------------
def _released(woman) -> tuple[bool, bool]:
    return can_be_released(woman), releasable(Woman.objects.filter(pk=woman.pk)).exists()


def test_no_decision_no_release_whatever_the_rules_propose(programme, caseworker, eligible):
    recompute(programme, by=caseworker, reference_date=REF)
    assert _released(eligible) == (False, False)


@pytest.mark.parametrize(("outcome", "released"), [
    ("eligible", True), ("at_risk", True), ("not_eligible", False), ("more_information", False),
])
def test_only_a_decision_of_eligible_or_at_risk_releases(caseworker, eligible, outcome, released):
    decide(woman=eligible, by=caseworker, outcome=outcome, reason=REASON)
    assert _released(eligible) == (released, released)


def test_the_latest_decision_counts(caseworker, eligible):
    decide(woman=eligible, by=caseworker, outcome="eligible", reason=REASON)
    decide(woman=eligible, by=caseworker, outcome="not_eligible", reason="The second order was overturned")
    assert _released(eligible) == (False, False)


def test_an_open_restriction_blocks_release_and_an_ended_one_does_not(programme, caseworker, dpo, eligible):
    decide(woman=eligible, by=caseworker, outcome="eligible", reason=REASON)
    now = timezone.now()
    ended = Restriction.objects.create(programme=programme, woman=eligible, reason=RestrictionReason.OBJECTION,
                                       started_at=now - timedelta(days=9), ended_at=now - timedelta(days=2),
                                       recorded_by=dpo)
    assert _released(eligible) == (True, True) and ended.pk
    Restriction.objects.create(programme=programme, woman=eligible, reason=RestrictionReason.RESTRICTION_REQUEST,
                               recorded_by=dpo)
    assert _released(eligible) == (False, False)


def test_releasable_picks_the_right_women_in_one_query(programme, caseworker, dpo, book, django_assert_num_queries):
    women = []
    for _ in range(5):
        w = book.woman()
        book.removed(w, date(2019, 1, 1), date(2020, 1, 1))
        women.append(w)
    yes, at_risk, no, restricted, undecided = women
    decide(woman=yes, by=caseworker, outcome="eligible", reason=REASON)
    decide(woman=at_risk, by=caseworker, outcome="at_risk", reason=REASON)
    decide(woman=no, by=caseworker, outcome="not_eligible", reason=REASON)
    decide(woman=restricted, by=caseworker, outcome="eligible", reason=REASON)
    Restriction.objects.create(programme=programme, woman=restricted, reason=RestrictionReason.SAFEGUARDING,
                               recorded_by=dpo)
    with django_assert_num_queries(1):
        chosen = set(releasable(Woman.objects.filter(programme=programme)).values_list("pk", flat=True))
    assert chosen == {yes.pk, at_risk.pk} and undecided.pk not in chosen


# --- recompute and re-review ------------------------------------------------------------------
def test_recompute_stores_every_proposal_and_says_what_changed(programme, caseworker, book, eligible):
    one = book.woman()
    book.removed(one, date(2019, 1, 1))
    first = recompute(programme, by=caseworker, reference_date=REF)
    assert first.newly_proposed == [eligible.pk] and first.run.previous is None
    assert first.run.summary["proposals"] == {"eligible": 1, "at_risk": 0, "needs_review": 0, "not_proposed": 1}
    assert Evaluation.objects.filter(run=first.run).count() == 2

    book.removed(one, date(2021, 1, 1))  # a newer extract shows a second child removed
    book.legal(book.child(eligible), "V2", date(2022, 1, 1))  # and a review event for her
    second = recompute(programme, by=caseworker, reference_date=REF)
    assert second.run.previous == first.run
    assert second.newly_proposed == [one.pk] and second.evidence_changed == [eligible.pk]
    assert second.no_longer_proposed == [] and second.proposal_changed == []

    third = recompute(programme, by=caseworker, reference_date=date(2030, 6, 1))  # 2019 leaves the window
    assert third.no_longer_proposed == sorted([eligible.pk, one.pk]) and third.proposal_changed == []
    entry = AuditEntry.objects.filter(object_repr=f"eligibility.evaluationrun:{third.run.pk}").get()
    assert entry.actor_id == caseworker.pk and "no longer proposed 2" in entry.reason


def test_changed_evidence_marks_the_decision_for_re_review_without_touching_it(programme, caseworker, book,
                                                                             eligible):
    recompute(programme, by=caseworker, reference_date=REF)
    decision = decide(woman=eligible, by=caseworker, outcome="eligible", reason=REASON)
    assert _released(eligible) == (True, True)

    unchanged = recompute(programme, by=caseworker, reference_date=REF + timedelta(days=1))
    assert unchanged.marked_for_re_review == [] and not re_review_pending(eligible)

    book.episode(book.child(eligible), "E13", date(2023, 1, 1))  # new evidence from a newer extract
    changed = recompute(programme, by=caseworker, reference_date=REF)
    assert changed.marked_for_re_review == [eligible.pk] and changed.evidence_changed == [eligible.pk]
    assert ReReview.objects.get().decision == decision and re_review_pending(eligible)
    assert Decision.objects.get() == decision and Decision.objects.get().outcome == "eligible"  # untouched
    assert _released(eligible) == (False, False)

    again = recompute(programme, by=caseworker, reference_date=REF)  # marked once per decision
    assert again.marked_for_re_review == [] and ReReview.objects.count() == 1

    decide(woman=eligible, by=caseworker, outcome="eligible", reason="Re-reviewed: the E13 child changes nothing")
    assert not re_review_pending(eligible) and _released(eligible) == (True, True)


def test_a_new_rule_version_that_changes_her_evidence_marks_her_decision(programme, caseworker, trust_lead, book):
    w = book.woman()
    book.removed(w, date(2019, 1, 1), date(2020, 1, 1))
    book.legal(book.child(w), "V2", date(2021, 1, 1))
    recompute(programme, by=caseworker, reference_date=REF)
    decide(woman=w, by=caseworker, outcome="eligible", reason=REASON)
    values = values_of(current_rule_set(programme))
    values["positions"]["legal_status"]["V2"] = "counted"
    edit_rule_set(programme=programme, by=trust_lead, values=values)
    result = recompute(programme, by=caseworker, reference_date=REF)
    assert result.marked_for_re_review == [w.pk] and result.run.rule_set.version == 2
    assert not can_be_released(w)


def test_recompute_needs_a_trust_member_of_the_programme(programme, actors, eligible):
    for who in ("pause_lead", "practitioner", "caldicott", "dpo", "other_programme_person"):
        with pytest.raises(PermissionDenied):
            recompute(programme, by=actors[who], reference_date=REF)
    assert not EvaluationRun.objects.exists()


def test_no_decision_is_recorded_while_her_records_are_restricted(as_person, programme, caseworker, dpo, eligible):
    """UK GDPR Art. 18: while a restriction is open, deciding about her (processing) is refused,
    on her page and through `decide`; once it ends, deciding works again."""
    restriction = Restriction.objects.create(programme=programme, woman=eligible,
                                             reason=RestrictionReason.RESTRICTION_REQUEST, recorded_by=dpo)
    with pytest.raises(ValidationError, match="restricted"):
        decide(woman=eligible, by=caseworker, outcome="eligible", reason=REASON)
    client = as_person(caseworker)
    page = client.get(f"/records/women/{eligible.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="restricted"' in html and "Record the decision" not in html
    refused = client.post(f"/records/women/{eligible.pk}/", {"outcome": "eligible", "reason": REASON})
    assert refused.status_code == 400
    assert not Decision.objects.filter(woman=eligible).exists()
    restriction.ended_at = timezone.now()
    restriction.save()
    decide(woman=eligible, by=caseworker, outcome="eligible", reason=REASON)
    assert Decision.objects.filter(woman=eligible).count() == 1
