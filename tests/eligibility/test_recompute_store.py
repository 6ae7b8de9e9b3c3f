"""Recompute stores fast (ADR 42): rows written by COPY (PostgreSQL) are the rows the ORM writes,
and a woman's evaluation is written again only when something in it changed; the evaluations
standing in a run are what every page reads, whichever run wrote them."""

import io
import json
from datetime import date

import pytest
from django.db import transaction
from django.urls import reverse

from audit.core.models import AuditEntry
from eligibility.engine import evaluate
from eligibility.evaluation_store import content_digest
from eligibility.evaluations import standing, stands_in
from eligibility.importing import import_extract
from eligibility.models import Evaluation, EvaluationRun, ExtractStatus, Woman
from eligibility.queue_rows import queue_rows
from eligibility.recompute import recompute
from eligibility.rules import current_rule_set, edit_rule_set, values_of
from eligibility.synthetic import TABLES, write_ssd
from tests.conftest import sign_in_verified
from tests.eligibility.casebook import Casebook

pytestmark = pytest.mark.django_db

REF = date(2024, 6, 1)
STORED = ("woman_id", "proposal", "explanation", "evidence", "evidence_digest", "children_removed",
          "children_for_review", "content_digest")


@pytest.fixture
def book(programme, caseworker):
    return Casebook(programme, caseworker)


@pytest.fixture
def women(book):
    """Five women: eligible, one removal, at risk (pregnant), nothing, undated review event."""
    eligible, one, pregnant, nothing, undated = (book.woman(), book.woman(), book.woman(due=date(2024, 9, 1)),
                                                 book.woman(), book.woman(born=None))
    book.removed(eligible, date(2019, 1, 1), date(2020, 1, 1))
    book.removed(one, date(2021, 1, 1))
    book.removed(pregnant, date(2022, 1, 1))
    book.episode(book.child(undated), "E13", None)
    book.removed(undated, date(2023, 2, 2))
    return [eligible, one, pregnant, nothing, undated]


def stored_rows(run) -> list[tuple]:
    return list(standing(run).order_by("woman_id").values_list(*STORED))


def engine_rows(programme) -> list[tuple]:
    """What a run writing every evaluation would store, from the engine's results (JSON as stored)."""
    results = evaluate(programme, current_rule_set(programme), REF)
    return [(r.woman_id, r.proposal.value, r.explanation, json.loads(json.dumps(r.evidence)), r.digest,
             len(r.children_removed), len(r.children_for_review), content_digest(r))
            for r in sorted(results, key=lambda r: r.woman_id)]


def queue_values(run) -> list[tuple]:
    return list(queue_rows(run).order_by("woman_id").values_list(
        "woman_id", "proposal", "children_removed", "children_for_review", "last_removal_on", "current_decision_id"))


def test_a_second_recompute_with_nothing_changed_writes_no_evaluation_rows(programme, caseworker, women):
    first = recompute(programme, by=caseworker, reference_date=REF)
    assert Evaluation.objects.count() == len(women) and first.run.carries_from is None
    assert first.run.summary["written"] == len(women) and first.run.summary["re_used"] == 0

    second = recompute(programme, by=caseworker, reference_date=REF)
    assert Evaluation.objects.count() == len(women)  # not one row written
    assert not Evaluation.objects.filter(run=second.run).exists()
    assert second.run.summary["written"] == 0 and second.run.summary["re_used"] == len(women)
    assert second.run.carries_from == first.run and second.run.previous == first.run
    assert stored_rows(second.run) == stored_rows(first.run) and queue_values(second.run) == queue_values(first.run)
    assert second.run.summary["proposals"] == first.run.summary["proposals"]
    assert not any((second.newly_proposed, second.no_longer_proposed, second.proposal_changed,
                    second.evidence_changed, second.marked_for_re_review))
    # the audit trail records the run as it always has
    entry = AuditEntry.objects.get(object_repr=f"eligibility.evaluationrun:{second.run.pk}")
    assert entry.actor_id == caseworker.pk and entry.reason == (
        f"eligibility rules (version 1) run on {REF.isoformat()}: {len(women)} women; newly proposed 0, "
        "no longer proposed 0, proposal changed 0, evidence changed 0, marked for re review 0")


def test_a_change_to_one_womans_data_rewrites_only_hers(programme, caseworker, book, women):
    first = recompute(programme, by=caseworker, reference_date=REF)
    before = {row[0]: row for row in stored_rows(first.run)}
    one = women[1]
    book.removed(one, date(2023, 3, 3))  # a newer extract shows a second child removed

    second = recompute(programme, by=caseworker, reference_date=REF)
    written = list(Evaluation.objects.filter(run=second.run).values_list("woman_id", flat=True))
    assert written == [one.pk] and second.run.summary["written"] == 1
    assert second.newly_proposed == [one.pk] and second.run.carries_from == first.run
    now = {row[0]: row for row in stored_rows(second.run)}
    assert set(now) == set(before) and now[one.pk] != before[one.pk] and now[one.pk][1] == "eligible"
    assert {w: r for w, r in now.items() if w != one.pk} == {w: r for w, r in before.items() if w != one.pk}
    # what stands is, woman by woman, what the engine makes of her records now (an oracle)
    assert stored_rows(second.run) == engine_rows(programme)


def test_runs_that_each_change_someone_leave_each_woman_her_latest(programme, caseworker, book, women):
    eligible, one, pregnant, nothing, undated = women
    first = recompute(programme, by=caseworker, reference_date=REF).run
    book.removed(one, date(2023, 3, 3))
    second = recompute(programme, by=caseworker, reference_date=REF).run
    book.removed(nothing, date(2023, 4, 4))
    third = recompute(programme, by=caseworker, reference_date=REF).run
    assert third.carries_from == first  # the eligible woman's evaluation still stands from the first run
    by_woman = dict(standing(third).values_list("woman_id", "run_id"))
    assert by_woman == {eligible.pk: first.pk, one.pk: second.pk, pregnant.pk: first.pk, nothing.pk: third.pk,
                        undated.pk: first.pk}
    assert dict(standing(second).values_list("woman_id", "run_id"))[nothing.pk] == first.pk  # history kept
    assert [stands_in(third, by_woman[w.pk]) for w in women] == [True] * len(women)
    assert not stands_in(third, None)


def test_another_programmes_runs_stay_out_of_a_carried_run(programme, caseworker, women, other_programme,
                                                          other_programme_person):
    other = Casebook(other_programme, other_programme_person)
    other.removed(other.woman(), date(2019, 1, 1), date(2020, 1, 1))
    recompute(programme, by=caseworker, reference_date=REF)
    recompute(other_programme, by=other_programme_person, reference_date=REF)  # its run falls between ours
    again = recompute(programme, by=caseworker, reference_date=REF).run
    assert again.carries_from is not None
    assert sorted(standing(again).values_list("woman_id", flat=True)) == sorted(w.pk for w in women)


def test_a_new_rule_set_version_writes_every_evaluation_again(programme, caseworker, trust_lead, women):
    recompute(programme, by=caseworker, reference_date=REF)
    edit_rule_set(programme=programme, by=trust_lead,
                  values=values_of(current_rule_set(programme)) | {"look_back_years": 4})
    run = recompute(programme, by=caseworker, reference_date=REF).run
    assert run.summary["written"] == len(women) and run.carries_from is None  # the evidence names the version


def test_pages_show_the_same_after_a_run_that_re_used_everything(client, programme, caseworker, women):
    sign_in_verified(client, caseworker)
    recompute(programme, by=caseworker, reference_date=date(2024, 5, 31))
    written = recompute(programme, by=caseworker, reference_date=REF).run  # a new day: every row written
    assert written.summary["written"] == len(women)
    pages = [reverse("eligibility:queue") + "?proposal=any", reverse("eligibility:woman", args=[women[0].pk])]
    before = [client.get(url) for url in pages]
    again = recompute(programme, by=caseworker, reference_date=REF).run
    after = [client.get(url) for url in pages]
    assert again.summary["written"] == 0
    for b, a in zip(before, after, strict=True):
        assert b.status_code == a.status_code == 200
        assert _without_run_line(b.content.decode()) == _without_run_line(a.content.decode())
    changes = client.get(reverse("eligibility:changes"))
    assert changes.status_code == 200 and [s["count"] for s in changes.context["sections"]] == [0] * 5


def _without_run_line(html: str) -> str:
    """The page less what names the run itself (its time, and CSRF tokens)."""
    import re

    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r"Run on [^<]*", "", html)


# --- the independent oracle: COPY against the ORM ------------------------------------------------
def _import_synthetic(programme, caseworker, tmp_path):
    write_ssd(tmp_path, children=300, seed=7, today=REF)
    files = [(f"{t}.csv", io.BytesIO((tmp_path / f"{t}.csv").read_bytes())) for t in TABLES]
    extract = import_extract(programme=programme, files=files, by=caseworker, today=REF)
    assert extract.status == ExtractStatus.SUCCEEDED


class _RolledBack(Exception):
    pass


def _rows_written_by(programme, caseworker, *, copy: bool) -> list[tuple]:
    """The rows one recompute writes, read back through the ORM; then rolled back."""
    rows: list[tuple] = []
    try:
        with transaction.atomic():
            run = recompute(programme, by=caseworker, reference_date=REF, copy=copy).run
            rows.extend(Evaluation.objects.filter(run=run).order_by("woman_id").values_list(*STORED))
            raise _RolledBack
    except _RolledBack:
        pass
    return rows


def test_rows_stored_by_the_bulk_loader_are_those_the_orm_stores(programme, caseworker, tmp_path):
    _import_synthetic(programme, caseworker, tmp_path)
    loaded = _rows_written_by(programme, caseworker, copy=True)  # COPY on PostgreSQL
    by_orm = _rows_written_by(programme, caseworker, copy=False)  # bulk_create
    assert not EvaluationRun.objects.exists()
    assert len(loaded) > 50 and loaded == by_orm
    proposals = {row[1] for row in loaded}
    assert proposals >= {"eligible", "not_proposed"}  # a real mix, not one shape of row
    assert all(len(row[7]) == 64 for row in loaded)


def test_the_content_digest_covers_every_stored_value(programme, women):
    [r] = evaluate(programme, current_rule_set(programme), REF,
                   women=Woman.objects.filter(programme=programme, pk=women[0].pk))
    digest = content_digest(r)
    variants = [
        ("explanation", r.explanation + "."), ("digest", "0" * 64), ("children_for_review", [*r.children_for_review, 1]),
        ("evidence", r.evidence | {"reference_date": "2024-06-02"}), ("evidence", r.evidence | {"age": 99}),
    ]
    for name, value in variants:
        original = getattr(r, name)
        setattr(r, name, value)
        assert content_digest(r) != digest, name
        setattr(r, name, original)
    assert content_digest(r) == digest
