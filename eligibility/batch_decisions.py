"""Decisions in batches (issue 24, point 2): one decision and one reason for up to 25 women the
rules propose alike, each checked by the person deciding.

UK GDPR Art. 22: a named person still decides about each woman. The batch only saves typing: the
person chooses the women, gives the decision and the reason once, then sees every woman with her
evidence and ticks each one to confirm she checked her (`eligibility.views.batch`). Confirming
records one `Decision` per woman through `eligibility.decisions.decide` — her own record and her
own audit entry, which says it was part of a batch — all in one transaction.

What the person checked is kept as each woman's `HerState` (the proposal, the evidence digest and
her current decision) at the moment of the check. Confirming locks the programme (so the rules
cannot run meanwhile, `eligibility.recompute` takes the same lock) and the women, reads their
states again and writes nothing at all if any woman changed: decided by someone else, restricted,
proposal or evidence changed, or no longer in the latest run. The refusal says which woman and why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery

from eligibility.decisions import decide, may_decide_eligibility
from eligibility.evaluations import stands_in
from eligibility.models import (
    Decision,
    DecisionOutcome,
    Evaluation,
    EvaluationRun,
    Proposal,
    Restriction,
    Woman,
)
from pause_portal.refused import Refused
from pause_portal.tenancy.models import Person, Programme

BATCH_MAX = 25
CHANGED = "Nothing was recorded: some women changed after your check. Check them again."


@dataclass(frozen=True)
class HerState:
    """What a woman's batch decision rests on: her latest evaluation's run, proposal and evidence
    digest, her current decision (None: none yet) and whether her records are restricted."""

    woman_id: int
    run_id: int | None
    proposal: str | None
    evidence_digest: str | None
    decision_id: int | None
    restricted: bool

    def as_checked(self) -> list:
        """The part the person checked, as kept between the check and the confirmation."""
        return [self.run_id, self.proposal, self.evidence_digest, self.decision_id, self.restricted]


class BatchRefused(Refused):
    """A batch that cannot be decided as it stands; nothing was written. `by_woman` names each
    woman's problem (woman pk -> why), for the page to say which woman."""

    def __init__(self, message: str, problems: list[str] | None = None, by_woman: dict[int, str] | None = None):
        super().__init__(message, problems)
        self.by_woman = by_woman or {}


def states_of(programme: Programme, pks: list[int]) -> dict[int, HerState]:
    """Each chosen woman's state now, in one query (women of another programme are left out)."""
    latest = Evaluation.objects.filter(woman=OuterRef("pk")).order_by("-run_id")
    rows = (Woman.objects.filter(programme=programme, pk__in=pks)
            .annotate(run_now=Subquery(latest.values("run_id")[:1]),
                      proposal_now=Subquery(latest.values("proposal")[:1]),
                      digest_now=Subquery(latest.values("evidence_digest")[:1]),
                      decision_now=Subquery(Decision.objects.filter(woman=OuterRef("pk")).order_by("-pk")
                                            .values("pk")[:1]),
                      restricted=Exists(Restriction.objects.filter(woman=OuterRef("pk"), ended_at__isnull=True)))
            .values_list("pk", "run_now", "proposal_now", "digest_now", "decision_now", "restricted"))
    return {row[0]: HerState(*row) for row in rows}


@dataclass
class Selection:
    """The women chosen and whether they can be decided together: `problems` for the error
    summary, `by_woman` for each woman's row."""

    pks: list[int]
    states: dict[int, HerState]
    proposal: str | None
    problems: list[str]
    by_woman: dict[int, str]


def check_selection(programme: Programme, pks: list[int]) -> Selection:
    """Up to 25 women of the programme's latest run, all proposed alike, none restricted."""
    pks = list(dict.fromkeys(pks))
    problems, by_woman = [], {}
    if not pks:
        problems.append("Choose the women to decide about")
    elif len(pks) > BATCH_MAX:
        problems.append(f"Choose {BATCH_MAX} women or fewer to decide about together: you chose {len(pks)}")
    run = EvaluationRun.objects.filter(programme=programme).order_by("-pk").first()
    states = states_of(programme, pks) if 0 < len(pks) <= BATCH_MAX else {}
    if len(pks) > BATCH_MAX:
        return Selection(pks, states, None, problems, by_woman)
    for pk in pks:
        state = states.get(pk)
        if state is None or run is None or not stands_in(run, state.run_id):
            by_woman[pk] = "Not in the latest run of the rules"
        elif state.proposal == Proposal.NOT_PROPOSED:
            by_woman[pk] = "Not proposed by the rules"
        elif state.restricted:
            by_woman[pk] = "Her records are restricted"
    texts = set(by_woman.values())
    if "Not in the latest run of the rules" in texts:
        problems.append("Choose women from the latest run of the rules: go back to the queue and choose again")
    if "Not proposed by the rules" in texts:
        problems.append("Choose only women the rules propose (eligible, at risk or needs review)")
    if "Her records are restricted" in texts:
        problems.append("Leave out women whose records are restricted: decide about each of them on her own page")
    proposals = Counter(s.proposal for pk, s in states.items() if pk not in by_woman)
    if len(proposals) > 1:
        labels = dict(Proposal.choices)
        counts = " and ".join(f"{n} {labels[p].lower()}" for p, n in sorted(proposals.items()))
        problems.append(f"Choose women with the same proposal: you chose {counts}")
    proposal = next(iter(proposals)) if len(proposals) == 1 else None
    return Selection(pks, states, proposal, problems, by_woman)


def _changed(checked: list, now: HerState | None, labels: dict) -> str | None:
    """Why her state now differs from what was checked, in words; None if it does not."""
    _run_id, proposal, digest, decision_id, restricted = checked
    if now is None:
        return "she is no longer in the programme's records"
    if now.decision_id != decision_id:
        return "a decision about her was recorded after your check"
    if now.restricted and not restricted:
        return "her records were restricted after your check"
    if now.proposal != proposal:
        return (f"the rules now propose {labels.get(now.proposal, 'nothing').lower()} for her "
                f"(at your check: {labels.get(proposal, 'nothing').lower()})")
    if now.evidence_digest != digest:
        return "her evidence changed after your check"
    # A new run of the rules that changed neither her proposal nor her evidence changes nothing
    # she was checked on (the digest covers the evidence and its extract references).
    return None


def changes_since(checked: dict[int, list], states: dict[int, HerState]) -> dict[int, str]:
    """Each woman whose state now differs from what was checked of her: woman pk -> why, in words."""
    labels = dict(Proposal.choices)
    return {pk: why for pk, seen in checked.items() if (why := _changed(seen, states.get(pk), labels))}


def decide_batch(*, programme: Programme, checked: dict[int, list], by: Person, outcome: DecisionOutcome | str,
                 reason: str) -> list[Decision]:
    """Record `by`'s one decision and reason for each woman in `checked` (woman pk -> what they
    checked of her: `HerState.as_checked`), all or nothing. Refused (BatchRefused, nothing
    written) if the batch is not one `check_selection` accepts, or any woman changed since the check."""
    if may_decide_eligibility(by, programme.pk) is None:
        raise PermissionDenied("Only the programme's Trust caseworkers and leads decide about women.")
    outcome = DecisionOutcome(outcome)
    pks = sorted(checked)
    with transaction.atomic():
        # The rules cannot run meanwhile: recompute locks the programme for update. (No key update
        # here: rows that merely refer to the programme, such as audit entries, are not held up.)
        Programme.objects.select_for_update(no_key=True).filter(pk=programme.pk).first()
        # Nor can anyone else's decision or restriction about these women land between this check
        # and the writes: inserting a row that refers to her waits for this lock.
        list(Woman.objects.select_for_update().filter(programme=programme, pk__in=pks).order_by("pk")
             .values_list("pk", flat=True))
        selection = check_selection(programme, pks)
        by_woman = changes_since(checked, selection.states)
        if by_woman:
            raise BatchRefused(CHANGED, by_woman=by_woman)
        if selection.problems:
            raise BatchRefused("Nothing was recorded.", problems=selection.problems, by_woman=selection.by_woman)
        women = Woman.objects.filter(pk__in=pks).select_related("programme").order_by("pk")
        note = f"one of {len(pks)} decided together, each woman checked and confirmed by the decider"
        return [decide(woman=w, by=by, outcome=outcome, reason=reason, note=note) for w in women]
