"""Retention of the Trust's copy (issue 22, point 1; ADR 38): untouched women and women decided not
eligible leave the portal after the agreement's periods, each rule run twice in frozen time (the
second run deletes nothing); what holds a woman back; what is kept (a minimal decision record with
no personal data, the erasure tombstones); the dry run; refusals; the certificate; the command, the
beat task and what the retention page is told falls due."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from audit.core.certificates import digest_holds
from audit.core.log import record_event
from audit.core.models import AuditEntry, AuditSubject, Event
from audit.core.models_certificates import PurgeCertificate, PurgeKind
from eligibility.corrections import erase_tombstone
from eligibility.decisions import decide
from eligibility.models import (
    CareEpisode,
    Child,
    Correction,
    Decision,
    DecisionOutcome,
    ErasedPerson,
    Evaluation,
    KeptDecision,
    LegalStatus,
    ReReview,
    Woman,
)
from eligibility.recompute import recompute
from eligibility.restrictions import open_restriction
from eligibility.trust_copy_retention import NOT_ELIGIBLE, UNTOUCHED, PurgeStopped
from pause_portal.classification import DataClass
from pseudonymisation.models import DataKey
from sharing.agreements import RETENTION_STORES
from sharing.models_scoping import Agreement
from sharing.retention import RetentionScheduleError
from sharing.tasks_retention import apply_trust_copy_schedules
from sharing.trust_copy_schedule import apply_trust_copy_retention, preview, trust_copy_due
from tests import factories as f
from tests.eligibility.casebook import Casebook

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
T0 = datetime(2026, 1, 5, 10, tzinfo=TZ)
REF = date(2025, 12, 1)
PERIODS = {UNTOUCHED: "6 months", NOT_ELIGIBLE: "1 year"}
TABLES = (Woman, Child, LegalStatus, CareEpisode, Correction, Evaluation, Decision, ReReview, KeptDecision)


def at(moment):
    return time_machine.travel(moment, tick=False)


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in TABLES} | {
        "certificates": PurgeCertificate.objects.count()}


class World:
    """Invented women of one programme, imported and run through the rules on 5 January 2026:
    untouched (no children: the rules propose nothing), eligible (two children removed: proposed),
    shown (untouched, but someone was shown her record), snapshot (untouched, in the scoping
    snapshot), not_eligible (decided not eligible on 6 January, one child with a care episode),
    objected (decided not eligible, then restricted for an objection)."""

    def __init__(self, programme, caseworker, trust_lead):
        self.programme, self.caseworker = programme, caseworker
        f.AgreementFactory(programme=programme, retention={"scoping": "3 months"} | PERIODS)
        with at(T0):
            book = Casebook(programme, caseworker)
            self.untouched, self.shown, self.snapshot = book.woman(), book.woman(), book.woman()
            self.eligible = book.woman()
            book.removed(self.eligible, date(2019, 1, 1), date(2020, 1, 1))
            self.not_eligible, self.objected = book.woman(), book.woman()
            child = book.child(self.not_eligible)
            book.legal(child, "C2", date(2018, 1, 1))
            book.episode(child, "E11", date(2019, 1, 1))
            book.removed(self.objected, date(2019, 1, 1))
            recompute(programme, by=caseworker, reference_date=REF)
        with at(T0 + timedelta(days=1)):
            for woman in (self.not_eligible, self.objected):
                decide(woman=woman, by=caseworker, outcome=DecisionOutcome.NOT_ELIGIBLE,
                       reason="Checked the case system: the orders were discharged.")
            record_event(Event.DISCLOSURE, actor=caseworker, subjects=[self.shown], programme=programme,
                         reason="her record shown")
            f.ScopingWomanRowFactory(release=f.ScopingReleaseFactory(programme=programme), woman=self.snapshot)
            open_restriction(woman=self.objected, reason="objection", by=trust_lead)


@pytest.fixture
def world(programme, caseworker, trust_lead):
    return World(programme, caseworker, trust_lead)


def present(*women) -> list[bool]:
    return [Woman.objects.filter(pk=w.pk).exists() for w in women]


# --- untouched women ----------------------------------------------------------------------------
def test_an_untouched_woman_goes_after_the_period_and_a_second_run_deletes_nothing(world):
    w = world
    with at(T0 + timedelta(days=180)):  # 6 months have not yet run (5 July)
        run = apply_trust_copy_retention(w.programme, dry_run=False, trigger="test")
    assert run.done[UNTOUCHED]["count"] == 0 and run.certificate_id is None
    with at(T0 + timedelta(days=183)):
        run = apply_trust_copy_retention(w.programme, dry_run=False, trigger="test")
        assert run.women == [w.untouched.pk] and run.done[UNTOUCHED]["count"] == 1
        assert present(w.untouched, w.shown, w.snapshot, w.eligible) == [False, True, True, True]
        before = counts()
        again = apply_trust_copy_retention(w.programme, dry_run=False, trigger="test")
    assert again.deleted == 0 and again.women == [] and again.certificate_id is None and counts() == before


def test_the_untouched_clock_starts_again_when_the_rules_stop_proposing_her(world):
    w = world
    with at(T0 + timedelta(days=100)):  # her children's statuses are no longer in the extract
        LegalStatus.objects.filter(child__mother=w.eligible).delete()
        recompute(w.programme, by=w.caseworker, reference_date=REF)
    assert Evaluation.objects.filter(woman=w.eligible).latest("run__run_at").proposal == "not_proposed"
    with at(T0 + timedelta(days=250)):  # 6 months from 5 January, not from 15 April
        apply_trust_copy_retention(w.programme, dry_run=False, trigger="test")
    assert present(w.eligible) == [True]
    with at(T0 + timedelta(days=100 + 184)):
        run = apply_trust_copy_retention(w.programme, dry_run=False, trigger="test")
        assert w.eligible.pk in run.women
        again = apply_trust_copy_retention(w.programme, dry_run=False, trigger="test")
    assert again.deleted == 0


def test_a_purged_womans_id_is_never_given_to_another_so_the_audit_trail_never_names_someone_else(world):
    w = world
    with at(T0):
        last = Casebook(w.programme, w.caseworker).woman()
        recompute(w.programme, by=w.caseworker, reference_date=REF)
    assert last.pk == Woman.objects.order_by("-pk").values_list("pk", flat=True).first()
    with at(T0 + timedelta(days=200)):
        assert last.pk in apply_trust_copy_retention(w.programme, dry_run=False, trigger="test").women
    assert Casebook(w.programme, w.caseworker).woman().pk > last.pk


# --- women decided not eligible ------------------------------------------------------------------
def test_a_not_eligible_woman_goes_a_period_after_the_decision_leaving_a_minimal_record(world, caseworker):
    w = world
    decision = Decision.objects.get(woman=w.not_eligible)
    with at(T0 + timedelta(days=365)):  # 5 January 2027: a year from 6 January has not run
        run = apply_trust_copy_retention(w.programme, dry_run=False, trigger="test")
    assert run.done[NOT_ELIGIBLE]["count"] == 0 and present(w.not_eligible) == [True]
    children = list(Child.objects.filter(mother=w.not_eligible).values_list("pk", flat=True))
    index = w.not_eligible.person_id_index
    with at(T0 + timedelta(days=367)):
        run = apply_trust_copy_retention(w.programme, dry_run=False, trigger="test")
        assert run.done[NOT_ELIGIBLE]["count"] == 1 and w.not_eligible.pk in run.women
        before = counts()
        again = apply_trust_copy_retention(w.programme, dry_run=False, trigger="test")
    assert again.deleted == 0 and again.kept_decisions == 0 and counts() == before
    # Her record, her encrypted identifiers and her children's rows are gone from the tables themselves.
    with connection.cursor() as cursor:
        for sql, args in [("SELECT COUNT(*) FROM eligibility_woman WHERE id = %s OR person_id_index = %s",
                           [w.not_eligible.pk, index]),
                          ("SELECT COUNT(*) FROM eligibility_child WHERE mother_id = %s", [w.not_eligible.pk]),
                          ("SELECT COUNT(*) FROM eligibility_legalstatus WHERE child_id IN (%s)", [children[0]]),
                          ("SELECT COUNT(*) FROM eligibility_careepisode WHERE child_id IN (%s)", [children[0]]),
                          ("SELECT COUNT(*) FROM eligibility_evaluation WHERE woman_id = %s", [w.not_eligible.pk]),
                          ("SELECT COUNT(*) FROM eligibility_decision WHERE woman_id = %s", [w.not_eligible.pk])]:
            cursor.execute(sql, args)
            assert cursor.fetchone()[0] == 0, sql
    kept = KeptDecision.objects.get()
    assert (kept.outcome, kept.decided_by, kept.decided_at, kept.rule_set_version, kept.programme) == (
        DecisionOutcome.NOT_ELIGIBLE, caseworker, decision.decided_at, decision.rule_set.version, w.programme)
    # The objecting woman (a restriction: it stays open for good when upheld) is never purged.
    assert present(w.objected) == [True]


def test_the_minimal_decision_record_holds_no_personal_data():
    assert set(KeptDecision.data_classification) == {f.name for f in KeptDecision._meta.concrete_fields}
    assert set(KeptDecision.data_classification.values()) == {DataClass.SAFE}
    linked = {f.related_model for f in KeptDecision._meta.concrete_fields if f.is_relation}
    assert not linked & {Woman, Child, Decision, Evaluation, Correction}


# --- what holds a woman back, and what stays -------------------------------------------------------
def test_erasure_tombstones_stay_and_are_named_on_the_certificate(world, dpo):
    tombstone = erase_tombstone(world.programme, "SYN-ERASED-1", by=dpo, reason="art17 DPO-2026-001")
    keys = DataKey.objects.count()
    with at(T0 + timedelta(days=400)):
        run = apply_trust_copy_retention(world.programme, dry_run=False, trigger="test")
    assert ErasedPerson.objects.filter(pk=tombstone.pk, person_id_index=tombstone.person_id_index).exists()
    certificate = PurgeCertificate.objects.get(pk=run.certificate_id)
    assert certificate.kind == PurgeKind.TRUST_COPY and digest_holds(certificate)
    assert certificate.keys_destroyed == [] and DataKey.objects.count() == keys  # the keys that match them stay
    kept = {k["table"]: k["rows"] for k in certificate.kept}
    assert kept["eligibility_erasedperson"] == 1 and kept["eligibility_keptdecision"] == 1
    stores = {s["table"]: s["rows"] for s in certificate.stores}
    assert stores["eligibility_woman"] == 2 and stores["eligibility_child"] == 1
    assert stores["eligibility_legalstatus"] == 1 and stores["eligibility_careepisode"] == 1
    assert stores["eligibility_decision"] == 1 and stores["eligibility_evaluation"] == 2
    assert {"eligibility_rereview", "eligibility_correction", "eligibility_duplicateproposal"} <= set(stores)
    certificate.stores[0]["rows"] += 1
    assert not digest_holds(certificate)


def test_shown_snapshot_restricted_and_proposed_women_are_kept(world):
    with at(T0 + timedelta(days=800)):
        run = apply_trust_copy_retention(world.programme, dry_run=False, trigger="test")
    assert sorted(run.women) == sorted([world.untouched.pk, world.not_eligible.pk])
    assert present(world.shown, world.snapshot, world.objected, world.eligible) == [True] * 4


def test_a_rights_request_or_an_open_duplicate_proposal_keeps_her(world, dpo):
    from audit.oversight import rights
    from eligibility.models import DuplicateProposal

    w = world
    with at(T0):
        book = Casebook(w.programme, w.caseworker)
        asked, pair = book.woman(), book.woman()
        recompute(w.programme, by=w.caseworker, reference_date=REF)
        request = rights.open_request(programme=w.programme, kind="access", woman=asked, received_on=T0.date(),
                                      received_via="email", identity_method="in_person",
                                      identity_document="passport", identity_checked_by=dpo, by=dpo)
        DuplicateProposal.objects.create(programme=w.programme, woman_a=w.not_eligible, woman_b=pair,
                                         reason="surname_dob")
    closed = {"status": "completed", "closed_by": dpo, "closed_at": T0}
    type(request).objects.filter(pk=request.pk).update(**closed)  # closed, and still linked to her
    with at(T0 + timedelta(days=800)):
        run = apply_trust_copy_retention(w.programme, dry_run=False, trigger="test")
    assert present(asked, w.not_eligible, pair) == [True, True, True]
    assert run.women == [w.untouched.pk]


def test_the_audit_entry_names_the_women_removed_by_reference(world):
    with at(T0 + timedelta(days=400)):
        run = apply_trust_copy_retention(world.programme, dry_run=False, trigger="test")
    entry = AuditEntry.objects.filter(reason__startswith="Trust's copy retention").get()
    assert sorted(AuditSubject.objects.filter(entry=entry).values_list("subject", flat=True)) == sorted(
        f"eligibility.woman:{pk}" for pk in run.women)
    assert f"purge certificate #{run.certificate_id}" in entry.reason and "Synthetic" not in entry.reason


def test_the_walk_itself_stops_at_rows_it_must_never_delete_and_nothing_goes(world):
    """The hold check leaves her out; were she reached anyway (a restriction written between the
    check and the delete), the walk refuses and the transaction takes nothing with it."""
    from collections import Counter

    from django.db import transaction

    from eligibility.trust_copy_retention import _never_purged
    from pause_portal.append_only import delete_tree

    before = counts()
    with pytest.raises(PurgeStopped, match="restrictions refer to her records"), transaction.atomic():
        delete_tree(Woman, [world.objected.pk], Counter(), refuse=_never_purged)
    assert counts() == before and present(world.objected) == [True]


# --- dry runs, refusals, older agreements ------------------------------------------------------------
def test_a_dry_run_changes_nothing_and_counts_what_a_real_run_deletes(world):
    with at(T0 + timedelta(days=400)):
        before = counts()
        dry = preview(world.programme)
        assert counts() == before and dry.certificate_id is None
        real = apply_trust_copy_retention(world.programme, dry_run=False, trigger="test")
    assert dry.done == real.done and dry.kept_decisions == real.kept_decisions == 1
    assert sorted(dry.women) == sorted(real.women)
    entry = AuditEntry.objects.filter(reason__contains="dry run: nothing deleted").get()
    assert not AuditSubject.objects.filter(entry=entry).exists()


def test_a_period_that_cannot_be_applied_refuses_with_a_clear_error_and_deletes_nothing(world):
    Agreement.objects.filter(programme=world.programme).update(
        retention={UNTOUCHED: "until the programme closes", NOT_ELIGIBLE: "1 year"})
    before = counts()
    with at(T0 + timedelta(days=400)):
        with pytest.raises(RetentionScheduleError) as refused:
            apply_trust_copy_retention(world.programme, dry_run=False, trigger="test")
        assert apply_trust_copy_schedules() == 0
    assert "untouched_women" in str(refused.value) and "not a period the portal can apply" in str(refused.value)
    assert counts() == before
    assert AuditEntry.objects.filter(reason__startswith="Trust's copy retention refused, nothing deleted").exists()


def test_an_agreement_without_the_periods_keeps_those_women_and_says_so(world):
    Agreement.objects.filter(programme=world.programme).update(retention={"scoping": "3 months"})
    with at(T0 + timedelta(days=800)):
        run = apply_trust_copy_retention(world.programme, dry_run=False, trigger="test")
    assert run.women == [] and run.done[UNTOUCHED]["kept"] == "no period in the agreement"
    assert "kept, no period in the agreement: untouched_women, not_eligible_women" in AuditEntry.objects.filter(
        reason__startswith="Trust's copy retention").get().reason


def test_the_agreement_refuses_a_period_for_the_trusts_copy_it_cannot_apply():
    from django.core.exceptions import ValidationError

    from sharing.agreements import validate_agreement
    from tests.sharing.test_governance_agreements import valid_values

    retention = {store: "2 years" for store in RETENTION_STORES} | {NOT_ELIGIBLE: "once decided"}
    with pytest.raises(ValidationError) as refused:
        validate_agreement(valid_values(retention=retention), based_on=None, change_reason="")
    assert refused.value.message_dict[f"retention_{NOT_ELIGIBLE}"][0].startswith(
        "The not-eligible women's period: \u201conce decided\u201d is not a period the portal can apply")
    assert set(refused.value.message_dict) == {f"retention_{NOT_ELIGIBLE}"}


# --- the command, the beat task, and what falls due --------------------------------------------------
def test_the_command_dry_run_and_real_run(world):
    out = StringIO()
    with at(T0 + timedelta(days=400)):
        call_command("apply_trust_copy_retention", "--dry-run", f"--programme={world.programme.pk}", stdout=out)
        assert present(world.untouched, world.not_eligible) == [True, True]
        call_command("apply_trust_copy_retention", f"--programme={world.programme.pk}", stdout=out)
    text = out.getvalue()
    assert "dry run: nothing deleted" in text and "untouched_women: would remove 1 women" in text
    assert "not_eligible_women: removed 1 women" in text and "purge certificate #" in text
    assert present(world.untouched, world.not_eligible) == [False, False]
    with pytest.raises(CommandError, match="no programme"):
        call_command("apply_trust_copy_retention", "--programme=999999", stdout=StringIO())


def test_the_beat_task_runs_every_programme(world, other_programme):
    with at(T0 + timedelta(days=400)):
        assert apply_trust_copy_schedules() == 2
    assert present(world.untouched, world.not_eligible) == [False, False]


def test_what_falls_due_in_the_next_90_days(world):
    with at(T0 + timedelta(days=120)):
        due = {d["key"]: d for d in trust_copy_due(world.programme, timezone.now())}
    assert due[UNTOUCHED]["count"] == 1 and due[UNTOUCHED]["earliest"] == date(2026, 7, 5)
    assert due[UNTOUCHED]["period"] == "6 months" and due[NOT_ELIGIBLE]["count"] == 0
    with at(T0 + timedelta(days=300)):
        due = {d["key"]: d for d in trust_copy_due(world.programme, timezone.now(), days=90)}
    assert due[NOT_ELIGIBLE]["count"] == 1 and due[NOT_ELIGIBLE]["earliest"] == date(2027, 1, 6)
    assert present(world.untouched) == [True]  # telling what falls due deletes nothing
