"""Recompute: run the current rules over a programme's women after an import or a new rule-set
version, store every proposal (an `EvaluationRun` of `Evaluation`s; a woman's evaluation is
written again only when it changed, ADR 42) and say what changed since the run before — newly
proposed, no longer proposed, proposal changed, evidence changed.

Decisions are never touched: a woman whose latest decision was made on evidence that has changed
since gets a `ReReview` row, and cannot be released until someone decides again. The import
pipeline calls `recompute` once its extract is in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from eligibility import evaluation_store as store
from eligibility.engine import CompiledRules, evaluate, split_women
from eligibility.evaluation_store import content_digest
from eligibility.evaluations import standing
from eligibility.models import Decision, EvaluationRun, ReReview, Woman
from eligibility.recompute_forked import write_on_both_cores
from eligibility.rules import current_rule_set
from eligibility.run_changes import Tally
from pause_portal.tenancy.models import Person, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in
from pseudonymisation.fields import Protector

BATCH = 2000


@dataclass
class RecomputeResult:
    run: EvaluationRun
    newly_proposed: list[int] = field(default_factory=list)  # woman pks
    no_longer_proposed: list[int] = field(default_factory=list)
    proposal_changed: list[int] = field(default_factory=list)  # proposed before and now, differently
    evidence_changed: list[int] = field(default_factory=list)  # same proposal, other evidence
    marked_for_re_review: list[int] = field(default_factory=list)  # their latest decision's evidence changed



def may_recompute(person: Person, programme_id: int) -> str | None:
    """Trust staff who see the programme's records (those who import, decide or edit the rules)."""
    membership = membership_in(person, programme_id)
    if membership is None or not role_has(membership.role, Perm.VIEW_OWN_TRUST_RECORDS):
        return None
    return membership.role


def recompute(programme: Programme, *, by: Person, reference_date: date | None = None,
              copy: bool | None = None, processes: int | None = None) -> RecomputeResult:
    """Run the rules and store the run: an evaluation written for each woman whose evaluation
    changed, the others' standing ones re-used as they are (ADR 42). `copy`: how rows are written
    (`eligibility.evaluation_store.write`; by default COPY on PostgreSQL). `processes`: as
    `engine.split_women`'s; by default a big programme on PostgreSQL, outside a transaction, is
    evaluated and written on both cores (ADR 51). The stored run is the same either way."""
    role = may_recompute(by, programme.pk)
    if role is None:
        raise PermissionDenied("Only the programme's Trust staff run the eligibility rules.")
    reference_date = reference_date or timezone.localdate()
    rule_set = current_rule_set(programme)
    # the parts are ranges of pks covering every value: a woman added meanwhile still falls in one
    parts = split_women(programme.pk, 1 if copy is False else processes)
    forked = len(parts) > 1
    results = [] if forked else evaluate(programme, rule_set, reference_date, processes=processes)
    with transaction.atomic():
        # one run at a time per programme: each names the run before it (no-op on SQLite, where
        # writers queue anyway)
        Programme.objects.select_for_update().filter(pk=programme.pk).first()
        previous = EvaluationRun.objects.filter(programme=programme).order_by("-pk").first()
        before = {} if previous is None else _standing_digests(previous)
        if forked:
            # the run's pk, taken under the programme's lock so that runs stay in order: its rows
            # are written before the run itself (the foreign key is checked at commit)
            run_id = _next_run_pk()
            rules, protector = CompiledRules.of(rule_set), Protector.load(programme.pk, Woman.key_phase)
            tally, digests = write_on_both_cores(programme.pk, rules, reference_date, protector, before, run_id,
                                                 parts)
        else:
            run_id, tally, digests = None, Tally(), {r.woman_id: r.digest for r in results}
            contents = [content_digest(r) for r in results]
            written = [i for i, (r, content) in enumerate(zip(results, contents, strict=True))
                       if tally.count(r.woman_id, r.proposal.value, r.digest, content, before)]
        changes = tally.changes
        stale = _decisions_on_other_evidence(programme, digests)
        changes["marked_for_re_review"] = sorted(woman for _, woman in stale)
        women = sum(tally.counts.values())
        run = EvaluationRun.objects.create(
            pk=run_id, programme=programme, rule_set=rule_set, reference_date=reference_date, previous=previous,
            run_by=by, carries_from_id=tally.carried_from,
            summary={"women": women, "proposals": tally.counts} | {k: len(v) for k, v in changes.items()}
            | {"written": tally.written, "re_used": women - tally.written},
        )
        if not forked:
            store.write(run, [results[i] for i in written], [contents[i] for i in written], copy=copy)
        ReReview.objects.bulk_create(
            (ReReview(woman_id=woman, decision_id=decision, run=run) for decision, woman in stale), batch_size=BATCH)
        record_event(
            Event.CHANGE, actor=by, target=run, programme=programme, role=role, action=0,
            reason=(f"eligibility rules (version {rule_set.version}) run on {reference_date.isoformat()}: "
                    f"{women} women; " + ", ".join(f"{k.replace('_', ' ')} {len(v)}" for k, v in changes.items())),
        )
    return RecomputeResult(run=run, **changes)


def _standing_digests(run: EvaluationRun) -> dict[int, tuple]:
    """Woman -> (proposal, evidence digest, content digest, run) of each evaluation standing in
    `run`: the standing query's own SQL, its rows read as plain tuples in one go (a woman's five
    short values; the ORM's row-by-row iterator cost more than the rules' comparison itself)."""
    sql, params = standing(run).order_by().values_list(
        "woman_id", "proposal", "evidence_digest", "content_digest", "run_id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _next_run_pk() -> int:
    table = EvaluationRun._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
        return cursor.fetchone()[0]


def _decisions_on_other_evidence(programme: Programme, digests: dict[int, str]) -> list[tuple[int, int]]:
    """(decision, woman) for each woman whose latest decision was made on evidence other than
    hers now, and not already marked for re-review."""
    latest = Decision.objects.filter(woman=OuterRef("woman_id")).order_by("-pk").values("pk")[:1]
    current = (
        Decision.objects.filter(programme=programme, pk=Subquery(latest))
        .exclude(re_reviews__isnull=False)
        .values_list("pk", "woman_id", "evidence_digest")
    )
    return [(decision, woman) for decision, woman, digest in current if woman in digests and digests[woman] != digest]
