"""The rules on both cores (ADR 51): a programme's women split between two processes give exactly
the evaluations one process gives, and a recompute that evaluates and writes on both cores stores
exactly the rows (every field) and the run the single-process paths store, COPY and ORM alike.

The split runs only outside a transaction (a forked process reads what is committed), so the
PostgreSQL tests here are transactional; the one-process runs they are compared with are rolled
back, so each comparison is of the same programme on the same day, every evaluation written.
"""

import io
import marshal
from datetime import date

import pytest
from django.db import connection, transaction

from eligibility.engine import WomanEvaluation, evaluate, split_women
from eligibility.forked import Forked, ForkedWorkFailed
from eligibility.importing import import_extract
from eligibility.models import Evaluation, EvaluationRun, ExtractStatus, Woman
from eligibility.recompute import recompute
from eligibility.rules import current_rule_set
from eligibility.synthetic import TABLES, write_ssd
from tests.eligibility.casebook import Casebook

REF = date(2024, 6, 1)
STORED = ("woman_id", "proposal", "explanation", "evidence", "evidence_digest", "children_removed",
          "children_for_review", "content_digest")
FIELDS = tuple(WomanEvaluation.__dataclass_fields__)


def _import_synthetic(programme, caseworker, tmp_path, children=300):
    write_ssd(tmp_path, children=children, seed=7, today=REF)
    files = [(f"{t}.csv", io.BytesIO((tmp_path / f"{t}.csv").read_bytes())) for t in TABLES]
    extract = import_extract(programme=programme, files=files, by=caseworker, today=REF)
    assert extract.status == ExtractStatus.SUCCEEDED


def _as_values(results: list[WomanEvaluation]) -> list[tuple]:
    """Every field, and the evidence as marshal's by-value bytes (so a tuple turned list shows)."""
    return [(*(getattr(r, f) for f in FIELDS), marshal.dumps(r.evidence, 2), marshal.dumps(r.events, 2))
            for r in results]


class _RolledBack(Exception):
    pass


def _stored(run) -> list[tuple]:
    return list(Evaluation.objects.filter(run=run).order_by("woman_id").values_list(*STORED))


def _rolled_back_run(programme, caseworker, **kwargs) -> tuple[list[tuple], dict]:
    """The rows and summary one recompute stores, read back, then rolled back (one process: it
    runs inside a transaction)."""
    out: list = []
    try:
        with transaction.atomic():
            run = recompute(programme, by=caseworker, reference_date=REF, **kwargs).run
            out.extend([_stored(run), run.summary])
            raise _RolledBack
    except _RolledBack:
        pass
    return out[0], out[1]


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_processes_make_exactly_the_evaluations_one_makes(programme, caseworker, tmp_path):
    _import_synthetic(programme, caseworker, tmp_path)
    rule_set = current_rule_set(programme)
    one = evaluate(programme, rule_set, REF, processes=1)
    two = evaluate(programme, rule_set, REF, processes=2)
    assert len(one) > 50 and [r.woman_id for r in one] == sorted(r.woman_id for r in one)
    assert _as_values(two) == _as_values(one)
    assert {r.proposal for r in one} >= {"eligible", "not_proposed"}  # a real mix
    parts = split_women(programme.pk, 2)
    in_first = Woman.objects.filter(programme=programme, pk__gte=parts[0][0], pk__lt=parts[0][1]).count()
    assert 0 < in_first < len(one)  # both processes had women to evaluate
    assert split_women(programme.pk, None) == [None]  # too few women to fork by default


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_recompute_on_both_cores_stores_what_one_process_stores(programme, caseworker, tmp_path):
    _import_synthetic(programme, caseworker, tmp_path)
    single_copy, single_summary = _rolled_back_run(programme, caseworker, processes=1)
    by_orm, orm_summary = _rolled_back_run(programme, caseworker, copy=False)
    assert not EvaluationRun.objects.exists()

    both = recompute(programme, by=caseworker, reference_date=REF, processes=2).run
    stored = _stored(both)
    assert len(stored) > 50 and stored == single_copy == by_orm
    assert both.summary == single_summary == orm_summary and both.carries_from is None
    assert Evaluation.objects.count() == len(stored)

    # nothing changed: the split run re-uses every evaluation, as one process does
    unchanged_single, unchanged_summary = _rolled_back_run(programme, caseworker, processes=1)
    again = recompute(programme, by=caseworker, reference_date=REF, processes=2).run
    assert unchanged_single == _stored(again) == []
    assert again.summary == unchanged_summary and again.summary["re_used"] == len(stored)
    assert again.carries_from == both and again.previous == both and again.pk > both.pk

    # a change to one woman (in the second process's part): hers alone is written, as by one process
    woman = Woman.objects.filter(programme=programme).order_by("-pk").first()
    Casebook(programme, caseworker).removed(woman, date(2023, 3, 3))
    single, single_summary = _rolled_back_run(programme, caseworker, processes=1)
    third = recompute(programme, by=caseworker, reference_date=REF, processes=2).run
    assert [row[0] for row in _stored(third)] == [woman.pk] and _stored(third) == single
    assert third.summary == single_summary and third.carries_from == both


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_failure_in_a_forked_process_stores_nothing(programme, caseworker, tmp_path):
    _import_synthetic(programme, caseworker, tmp_path)
    woman = Woman.objects.filter(programme=programme, date_of_birth__isnull=False).order_by("-pk").first()
    with connection.cursor() as cursor:  # her date of birth no longer decrypts: the process evaluating her fails
        cursor.execute(f"UPDATE {Woman._meta.db_table} SET date_of_birth = set_byte(date_of_birth, 20, "  # noqa: S608
                       "get_byte(date_of_birth, 20) # 1) WHERE id = %s", [woman.pk])
    with pytest.raises(ForkedWorkFailed, match="DecryptionFailed"):
        recompute(programme, by=caseworker, reference_date=REF, processes=2)
    assert not EvaluationRun.objects.exists() and not Evaluation.objects.exists()


@pytest.mark.django_db
def test_the_split_is_refused_where_a_forked_process_could_not_read_what_we_see(programme):
    # inside a transaction (every test without transaction=True), and on SQLite, one process only
    assert split_women(programme.pk, None) == [None]
    with pytest.raises(ValueError, match="outside a transaction"):
        split_women(programme.pk, 2)
    with pytest.raises(ValueError, match="At least one"):
        split_women(programme.pk, 0)


def _fails(part):
    yield part
    raise LookupError(f"part {part} failed")


def test_a_forked_child_reports_its_error_and_is_reaped():
    with Forked(_fails, [7]) as forked, pytest.raises(ForkedWorkFailed, match="LookupError: part 7 failed"):
        list(forked.results())
    assert not forked.children


def test_forked_children_send_their_values_in_order_of_each_part():
    with Forked(lambda part: iter(range(part, part + 3)), [10, 20]) as forked:
        got = list(forked.results())
    assert sorted(got) == [(0, 10), (0, 11), (0, 12), (1, 20), (1, 21), (1, 22)]
    assert [v for i, v in got if i == 0] == [10, 11, 12] and not forked.children


@pytest.mark.django_db
def test_evaluations_carry_only_the_composite_indexes():
    """Each stored evaluation updates three indexes, not five: the (run, woman) and (woman, run)
    indexes serve lookups by run and by woman alone (eligibility 0012)."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Evaluation._meta.db_table)
    indexed = sorted(tuple(c["columns"]) for c in constraints.values()
                     if (c["index"] or c["unique"]) and not c["primary_key"])
    assert indexed == [("run_id", "woman_id"), ("woman_id", "run_id")]
