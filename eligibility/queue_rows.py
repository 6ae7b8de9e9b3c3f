"""The decision queue's rows, filters and order: one definition for the queue page, its CSV export,
the batch decision and the next and previous links on a woman's page, so that all four follow the
same women in the same order.

Rows are the evaluations standing in the latest run (`eligibility.evaluations.standing`), each with the woman's current decision and whether it waits
for a re-review, worked out in SQL. Nothing here decrypts: names and dates of birth reach a page
only through `eligibility.disclosure.disclose`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Lag, Lead

from eligibility.evaluations import standing
from eligibility.forms_queue import ANY, PROPOSED, RE_REVIEW, UNDECIDED, FilterForm
from eligibility.models import (
    Decision,
    DecisionOutcome,
    EvaluationRun,
    Proposal,
    ReReview,
)

PROPOSAL_RANK = Case(*[When(proposal=p, then=Value(i)) for i, p in enumerate(Proposal.values)],
                     output_field=IntegerField())
# Sortable columns: query-string name -> (label, ordering expression names). Anything else is ignored.
SORTS = {
    "proposal": ("Proposal", ["proposal_rank"]),
    "removed": ("Children removed", ["children_removed"]),
    "last_removal": ("Last removal", ["last_removal_on"]),
    "decision": ("Current decision", ["decision_rank"]),
    "re_review": ("Re-review", ["re_review"]),
}
DEFAULT_SORT = "proposal"
DEFAULT_FILTERS = {"proposal": PROPOSED, "decision": ANY}
# The query-string names that say which rows, in which order: kept from the queue to a woman's page,
# the export and the batch decision, and back.
QUEUE_PARAMS = ("proposal", "decision", "sort", "order")


def latest_run(programme) -> EvaluationRun | None:
    return (EvaluationRun.objects.filter(programme=programme).select_related("rule_set", "run_by")
            .order_by("-pk").first())


def queue_rows(run: EvaluationRun):
    """The run's evaluations with each woman's current decision and re-review flag, in SQL."""
    latest = Decision.objects.filter(woman=OuterRef("woman_id")).order_by("-pk")
    decision_rank = Case(*[When(current_outcome=o, then=Value(i)) for i, o in enumerate(DecisionOutcome.values)],
                         default=Value(len(DecisionOutcome.values)), output_field=IntegerField())
    return (
        standing(run)
        .select_related("woman")
        .defer("evidence", "explanation")
        .annotate(
            current_decision_id=Subquery(latest.values("pk")[:1]),
            current_outcome=Subquery(latest.values("outcome")[:1]),
            last_removal_on=KeyTextTransform("last_removal", "evidence"),
            proposal_rank=PROPOSAL_RANK,
        )
        .annotate(
            re_review=Exists(ReReview.objects.filter(decision_id=OuterRef("current_decision_id"))),
            decision_rank=decision_rank,
        )
    )


def filter_condition(data: dict) -> Q:
    """The filters as one condition on `queue_rows` (an empty Q: every row)."""
    proposal, decision = data["proposal"], data["decision"]
    condition = Q()
    if proposal == PROPOSED:
        condition &= ~Q(proposal=Proposal.NOT_PROPOSED)
    elif proposal != ANY:
        condition &= Q(proposal=proposal)
    if decision == UNDECIDED:
        condition &= Q(current_decision_id__isnull=True)
    elif decision == RE_REVIEW:
        condition &= Q(re_review=True)
    elif decision != ANY:
        condition &= Q(current_outcome=decision)
    return condition


def filtered(rows, data: dict):
    return rows.filter(filter_condition(data))


def filters_of(params) -> dict:
    """The queue's filters from a query string (invalid ones give the defaults)."""
    form = FilterForm(params or None)
    return form.cleaned_data if form.is_valid() else dict(DEFAULT_FILTERS)


def sort_of(params) -> tuple[str, bool]:
    sort = params.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    return sort, params.get("order") == "desc"


def ordering(sort: str, descending: bool) -> list[str]:
    return [*(f"-{n}" if descending else n for n in SORTS[sort][1]), "woman_id"]


def ordered(rows, sort: str, descending: bool):
    return rows.order_by(*ordering(sort, descending))


def queue_query(params) -> str:
    """The query string that says which rows in which order (no page, no search), for links."""
    return urlencode({k: params[k] for k in QUEUE_PARAMS if params.get(k)})


def neighbours(run: EvaluationRun, woman_id: int, params) -> tuple[int | None, int | None]:
    """The women before and after her in the queue as `params` filter and sort it: one query.

    She is placed where the order puts her even when the filters leave her out (a decision just
    recorded can take her out of "No decision yet"), so that "next" still goes on from her."""
    sort, descending = sort_of(params)
    order = [F(n[1:]).desc() if n.startswith("-") else F(n).asc() for n in ordering(sort, descending)]
    rows, condition = queue_rows(run), filter_condition(filters_of(params))
    if condition:  # (an empty Q or'ed with hers would be hers alone)
        rows = rows.filter(condition | Q(woman_id=woman_id))
    # Her row is picked out after the window functions have run over every row: Django applies a
    # filter on a window annotation in an outer query (a plain filter on woman_id would leave the
    # windows only her row), hence her id read back as a window of its own.
    found = (rows.annotate(previous_id=Window(Lag("woman_id"), order_by=order),
                           next_id=Window(Lead("woman_id"), order_by=order),
                           this_woman=Window(Max("woman_id"), partition_by=[F("woman_id")]))
             .filter(this_woman=woman_id).values_list("previous_id", "next_id").first())
    return found if found is not None else (None, None)
