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
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import Event
from eligibility import evaluation_store as store
from eligibility.engine import evaluate
from eligibility.evaluation_store import content_digest
from eligibility.evaluations import standing
from eligibility.models import Decision, EvaluationRun, Proposal, ReReview
from eligibility.rules import current_rule_set
from pause_portal.tenancy.models import Person, Programme
from pause_portal.tenancy.roles import Perm, role_has
from pause_portal.tenancy.selectors import membership_in

BATCH = 2000
NOT_PROPOSED = str(Proposal.NOT_PROPOSED)
NOT_EVALUATED = (NOT_PROPOSED, None, None, None)  # (proposal, evidence digest, content digest, run)
CHANGES = ("newly_proposed", "no_longer_proposed", "proposal_changed", "evidence_changed", "marked_for_re_review")


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
              copy: bool | None = None) -> RecomputeResult:
    """Run the rules and store the run: an evaluation written for each woman whose evaluation
    changed, the others' standing ones re-used as they are (ADR 42). `copy`: how rows are written
    (`eligibility.evaluation_store.write`; by default COPY on PostgreSQL)."""
    role = may_recompute(by, programme.pk)
    if role is None:
        raise PermissionDenied("Only the programme's Trust staff run the eligibility rules.")
    reference_date = reference_date or timezone.localdate()
    rule_set = current_rule_set(programme)
    results = evaluate(programme, rule_set, reference_date)
    digests = [content_digest(r) for r in results]
    with transaction.atomic():
        # one run at a time per programme: each names the run before it (no-op on SQLite, where
        # writers queue anyway)
        Programme.objects.select_for_update().filter(pk=programme.pk).first()
        previous = EvaluationRun.objects.filter(programme=programme).order_by("-pk").first()
        before = {} if previous is None else {
            woman: row for woman, *row in standing(previous).values_list(
                "woman_id", "proposal", "evidence_digest", "content_digest", "run_id").iterator(chunk_size=10000)
        }
        changes: dict[str, list[int]] = {k: [] for k in CHANGES}
        counts = dict.fromkeys(Proposal.values, 0)
        written: list[int] = []  # indexes into results
        carried_from = None  # the earliest run whose evaluation is re-used
        for i, (r, content) in enumerate(zip(results, digests, strict=True)):
            counts[r.proposal] += 1
            was, was_digest, was_content, was_run = before.get(r.woman_id, NOT_EVALUATED)
            if was_content == content:
                carried_from = was_run if carried_from is None else min(carried_from, was_run)
                continue  # the same proposal, explanation and evidence: nothing changed
            written.append(i)
            now = str(r.proposal)
            if was == NOT_PROPOSED and now != NOT_PROPOSED:
                changes["newly_proposed"].append(r.woman_id)
            elif was != NOT_PROPOSED and now == NOT_PROPOSED:
                changes["no_longer_proposed"].append(r.woman_id)
            elif was != now:
                changes["proposal_changed"].append(r.woman_id)
            elif was_digest is not None and was_digest != r.digest:
                changes["evidence_changed"].append(r.woman_id)
        stale = _decisions_on_other_evidence(programme, {r.woman_id: r.digest for r in results})
        changes["marked_for_re_review"] = sorted(woman for _, woman in stale)
        run = EvaluationRun.objects.create(
            programme=programme, rule_set=rule_set, reference_date=reference_date, previous=previous, run_by=by,
            carries_from_id=carried_from,
            summary={"women": len(results), "proposals": counts} | {k: len(v) for k, v in changes.items()}
            | {"written": len(written), "re_used": len(results) - len(written)},
        )
        store.write(run, [results[i] for i in written], [digests[i] for i in written], copy=copy)
        ReReview.objects.bulk_create(
            (ReReview(woman_id=woman, decision_id=decision, run=run) for decision, woman in stale), batch_size=BATCH)
        record_event(
            Event.CHANGE, actor=by, target=run, programme=programme, role=role, action=0,
            reason=(f"eligibility rules (version {rule_set.version}) run on {reference_date.isoformat()}: "
                    f"{len(results)} women; " + ", ".join(f"{k.replace('_', ' ')} {len(v)}" for k, v in changes.items())),
        )
    return RecomputeResult(run=run, **changes)


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
