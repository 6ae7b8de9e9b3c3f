"""Decisions in batches, the action (issue 24, point 2): which women may be decided together, one
decision record and one audit entry per woman through `decide`, and all or nothing when any woman
changed after the person checked her."""

import threading
from datetime import date, timedelta
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from eligibility.batch_decisions import BATCH_MAX, BatchRefused, check_selection, decide_batch
from eligibility.decisions import decide
from eligibility.evaluations import standing
from eligibility.models import Decision, Proposal, RestrictionReason, Woman
from eligibility.recompute import recompute
from eligibility.restrictions import restrict
from pseudonymisation.fields import Protector
from tests.eligibility.casebook import Casebook

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
RECENT = (TODAY - timedelta(days=800), TODAY - timedelta(days=400))
REASON = "Checked the case management system for each: both orders confirmed."


@pytest.fixture
def book(programme, caseworker):
    return Casebook(programme, caseworker)


def proposed(book, n: int, *, born=date(1990, 5, 1)):
    """`n` women the rules propose as eligible (or, with no date of birth, for review)."""
    women = []
    for _ in range(n):
        w = book.woman(born=born)
        book.removed(w, *RECENT)
        women.append(w)
    return women


@pytest.fixture
def three(book, programme, caseworker):
    women = proposed(book, 3)
    recompute(programme, by=caseworker)
    return women


def checked(programme, women) -> dict[int, list]:
    """What the person checked of each woman, as the check page keeps it."""
    selection = check_selection(programme, [w.pk for w in women])
    assert selection.problems == []
    return {pk: s.as_checked() for pk, s in selection.states.items()}


def reason_of(decision) -> str:
    return decision.reveal(Protector.load(decision.programme_id, decision.key_phase, create=False), "reason") or ""


# --- which women go together -------------------------------------------------------------------
def test_up_to_25_women_proposed_alike_go_together(book, programme, caseworker):
    women = proposed(book, BATCH_MAX)
    recompute(programme, by=caseworker)
    selection = check_selection(programme, [w.pk for w in women])
    assert selection.problems == [] and selection.proposal == Proposal.ELIGIBLE and len(selection.states) == 25


def test_more_than_25_women_are_refused(book, programme, caseworker):
    women = proposed(book, BATCH_MAX + 1)
    recompute(programme, by=caseworker)
    selection = check_selection(programme, [w.pk for w in women])
    assert selection.problems == ["Choose 25 women or fewer to decide about together: you chose 26"]


def test_mixed_proposals_are_refused_and_counted(book, programme, caseworker):
    women = proposed(book, 2) + proposed(book, 1, born=None)  # no date of birth: needs review
    recompute(programme, by=caseworker)
    selection = check_selection(programme, [w.pk for w in women])
    assert selection.problems == ["Choose women with the same proposal: you chose 2 eligible and 1 needs review"]
    assert selection.proposal is None


def test_women_not_proposed_restricted_or_of_another_programme_are_refused(book, programme, caseworker, trust_lead,
                                                                          other_programme):
    ok, restricted = proposed(book, 2)
    not_proposed = book.woman()
    book.removed(not_proposed, RECENT[0])  # one removal, no signal
    other_book = Casebook(other_programme, caseworker)
    outsider = other_book.woman()
    recompute(programme, by=caseworker)
    restrict(woman=restricted, reason=RestrictionReason.OBJECTION, by=trust_lead)
    selection = check_selection(programme, [ok.pk, restricted.pk, not_proposed.pk, outsider.pk])
    assert selection.by_woman == {restricted.pk: "Her records are restricted",
                                  not_proposed.pk: "Not proposed by the rules",
                                  outsider.pk: "Not in the latest run of the rules"}
    assert len(selection.problems) == 3


def test_choosing_nobody_is_refused(programme):
    assert check_selection(programme, []).problems == ["Choose the women to decide about"]


# --- deciding ------------------------------------------------------------------------------------
def test_each_woman_gets_her_own_decision_and_audit_entry(programme, caseworker, three):
    decisions = decide_batch(programme=programme, checked=checked(programme, three), by=caseworker,
                             outcome="eligible", reason=REASON)
    assert sorted(d.woman_id for d in decisions) == sorted(w.pk for w in three)
    for d in decisions:
        assert d.decided_by == caseworker and d.outcome == "eligible" and reason_of(d) == REASON
        assert d.evaluation is not None and d.evaluation.woman_id == d.woman_id
        entry = AuditEntry.objects.get(event=Event.CHANGE, object_repr=f"eligibility.decision:{d.pk}")
        assert [s.subject for s in entry.subjects.all()] == [f"eligibility.woman:{d.woman_id}"]
        assert "one of 3 decided together, each woman checked" in entry.reason and "orders" not in entry.reason


@pytest.mark.parametrize("who", ["caldicott", "dpo", "pause_lead", "practitioner", "system_admin",
                                 "other_programme_person"])
def test_nobody_but_trust_caseworkers_and_leads_decides_in_a_batch(actors, programme, three, who):
    with pytest.raises(PermissionDenied):
        decide_batch(programme=programme, checked=checked(programme, three), by=actors[who], outcome="eligible",
                     reason=REASON)
    assert not Decision.objects.exists()


def test_more_than_25_are_refused_by_the_action_too(book, programme, caseworker):
    women = proposed(book, BATCH_MAX + 1)
    recompute(programme, by=caseworker)
    fake = {w.pk: [None, None, None, None, False] for w in women}
    with pytest.raises(BatchRefused):
        decide_batch(programme=programme, checked=fake, by=caseworker, outcome="eligible", reason=REASON)
    assert not Decision.objects.exists()


def test_a_woman_decided_by_someone_else_after_the_check_stops_the_whole_batch(programme, caseworker, trust_lead,
                                                                                three):
    seen = checked(programme, three)
    decide(woman=three[1], by=trust_lead, outcome="not_eligible", reason="Seen in person")
    with pytest.raises(BatchRefused) as refused:
        decide_batch(programme=programme, checked=seen, by=caseworker, outcome="eligible", reason=REASON)
    assert refused.value.by_woman == {three[1].pk: "a decision about her was recorded after your check"}
    assert Decision.objects.count() == 1  # only the trust lead's


def test_a_woman_restricted_after_the_check_stops_the_whole_batch(programme, caseworker, trust_lead, three):
    seen = checked(programme, three)
    restrict(woman=three[2], reason=RestrictionReason.SAFEGUARDING, by=trust_lead)
    with pytest.raises(BatchRefused) as refused:
        decide_batch(programme=programme, checked=seen, by=caseworker, outcome="eligible", reason=REASON)
    assert refused.value.by_woman == {three[2].pk: "her records were restricted after your check"}
    assert not Decision.objects.exists()


def test_a_proposal_or_evidence_changed_after_the_check_stops_the_whole_batch(book, programme, caseworker, three):
    seen = checked(programme, three)
    book.removed(three[0], TODAY - timedelta(days=30))  # a third removal: same proposal, new evidence
    recompute(programme, by=caseworker)
    with pytest.raises(BatchRefused) as refused:
        decide_batch(programme=programme, checked=seen, by=caseworker, outcome="eligible", reason=REASON)
    assert refused.value.by_woman == {three[0].pk: "her evidence changed after your check"}
    assert not Decision.objects.exists()


def test_a_new_run_that_changed_nothing_about_them_does_not_stop_the_batch(programme, caseworker, three):
    seen = checked(programme, three)
    run = recompute(programme, by=caseworker).run
    decisions = decide_batch(programme=programme, checked=seen, by=caseworker, outcome="eligible", reason=REASON)
    # on the evidence standing in the new run, which re-used their unchanged evaluations (ADR 42)
    assert {d.evaluation_id for d in decisions} == set(standing(run).filter(woman__in=three).values_list("pk", flat=True))
    assert run.summary["re_used"] == len(three) and run.carries_from_id is not None


def test_a_proposal_changed_after_the_check_names_both(programme, caseworker, three):
    seen = checked(programme, three)
    seen[three[0].pk][1] = str(Proposal.AT_RISK)  # as if she had been at risk when checked
    with pytest.raises(BatchRefused) as refused:
        decide_batch(programme=programme, checked=seen, by=caseworker, outcome="eligible", reason=REASON)
    assert refused.value.by_woman == {three[0].pk: "the rules now propose eligible for her (at your check: at risk)"}


def test_nothing_is_kept_when_one_womans_audit_entry_fails(programme, caseworker, three):
    from audit.core import log

    real, calls = log.record_event, []

    def fail_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("audit down")
        return real(*args, **kwargs)

    with mock.patch("eligibility.decisions.record_event", side_effect=fail_on_the_third), \
            pytest.raises(RuntimeError):
        decide_batch(programme=programme, checked=checked(programme, three), by=caseworker, outcome="eligible",
                     reason=REASON)
    assert len(calls) == 3 and not Decision.objects.exists()
    assert not AuditEntry.objects.filter(object_repr__startswith="eligibility.decision:").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_single_decision_waits_while_a_batch_holds_her(book, programme, caseworker, trust_lead, monkeypatch):
    """Between a batch's fresh check of her and its writes, no other decision about her can land:
    it waits for the batch to commit, and comes after it — as her current decision (without the lock
    in `decide` it would wait on the foreign key, but holding a lower pk taken before it waited)."""
    from eligibility import batch_decisions

    women = proposed(book, 2)
    recompute(programme, by=caseworker)
    seen = checked(programme, women)
    holding, release, done = threading.Event(), threading.Event(), []
    real_check = batch_decisions.check_selection

    def check_then_wait(*args, **kwargs):
        selection = real_check(*args, **kwargs)
        holding.set()
        release.wait(timeout=10)
        return selection

    monkeypatch.setattr(batch_decisions, "check_selection", check_then_wait)

    def in_thread(work):
        def run():
            try:
                done.append(work())
            finally:
                connection.close()
        thread = threading.Thread(target=run)
        thread.start()
        return thread

    batch = in_thread(lambda: decide_batch(programme=programme, checked=seen, by=caseworker, outcome="eligible",
                                           reason=REASON))
    assert holding.wait(timeout=10)
    single = in_thread(lambda: decide(woman=Woman.objects.get(pk=women[0].pk), by=trust_lead,
                                      outcome="not_eligible", reason="Elsewhere"))
    single.join(timeout=1.5)
    assert single.is_alive() and not done  # waiting for the batch
    release.set()
    batch.join(timeout=10)
    single.join(timeout=10)
    assert len(done) == 2 and Decision.objects.count() == 3
    assert Decision.objects.filter(woman=women[0]).order_by("pk").last().decided_by == trust_lead  # after it
