"""Retention of the Trust's copy (issue 22, point 1; ADR 38): the mechanics, given a programme and a
cutoff per rule. The periods come from the data-sharing agreement, which lives above this layer:
`sharing.trust_copy_schedule` reads them, and runs this daily (Celery beat) and on demand.

Two rules, each dropping a woman's whole record — her children, their legal statuses and care
episodes, her corrections, evaluations, decisions (with their reasons), re-reviews and decided
duplicate proposals — by the one path past the history guard (`pause_portal.append_only.delete_tree`,
which erasure uses too):

- "untouched_women": the rules do not propose her (her latest evaluation is "not proposed") and
  nothing else ever happened to her: no decision, correction, duplicate proposal, restriction,
  rights request, release or scoping row, and no audit entry naming her beyond her imports. Her
  clock runs from when the rules stopped proposing her (her first "not proposed" evaluation since
  the last one that proposed her).
- "not_eligible_women": her current decision (the latest) is "not eligible". Her clock runs from
  that decision. Each of her decisions leaves a `KeptDecision`: outcome, who, when, rule-set
  version, and nothing about her.

Never purged, under either rule: a woman any row outside this app points at (a scoping or delivery
release, a rights request open or closed, and whatever later features add), a woman with a
restriction (open or ended: an upheld objection keeps one open for good) or with an open duplicate
proposal. Erasure tombstones (`ErasedPerson`) and the blind-index keys that match them are never
touched here. A purged woman who is in a later extract is imported afresh, as a new record.

A dry run does the same work in a savepoint that is rolled back, so its counts are a real run's.
Every run writes an audit entry (naming, for a real run, the women removed by reference); a real
run that deleted anything issues a purge certificate (`audit.core.certificates.issue`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models, transaction
from django.db.models import CharField, Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from audit.core import certificates
from audit.core.log import record_event
from audit.core.models import AuditSubject, Event
from audit.core.models_certificates import PurgeKind
from eligibility.models import (
    CareEpisode,
    Child,
    Correction,
    Decision,
    DecisionOutcome,
    DuplicateProposal,
    DuplicateStatus,
    ErasedPerson,
    Evaluation,
    KeptDecision,
    LegalStatus,
    Proposal,
    ReReview,
    Restriction,
    Woman,
)
from pause_portal.append_only import delete_tree, reverse_links
from pause_portal.tenancy.models import Person, Programme

UNTOUCHED = "untouched_women"
NOT_ELIGIBLE = "not_eligible_women"
RULES = {
    UNTOUCHED: ("Women the rules do not propose and no one has acted on", "from when the rules stopped proposing her"),
    NOT_ELIGIBLE: ("Women decided not eligible", "from the decision"),
}
# What a purge may delete, in the order a certificate lists them: her record and what hangs off it.
STORES = (
    (Woman, "Women's records (names, dates of birth, NHS numbers, postcodes: encrypted)"),
    (Child, "Their children's records"),
    (LegalStatus, "The children's legal statuses"),
    (CareEpisode, "The children's care episodes"),
    (Correction, "Corrections of their records"),
    (Evaluation, "What the rules proposed for them, with the evidence"),
    (Decision, "Decisions about them, with their reasons and evidence"),
    (ReReview, "Re-reviews of those decisions"),
    (DuplicateProposal, "Decided duplicate proposals naming them"),
)
_PURGED = {model for model, _words in STORES}
# How each purged kind of row leads back to her, for finding what outside this app points at it.
_TO_HER = {Woman: "", Child: "mother", Evaluation: "woman", Decision: "woman", ReReview: "woman"}


class PurgeStopped(Exception):
    """The purge met rows it must never delete; nothing was deleted."""


@dataclass
class TrustCopyPurge:
    """One run: per rule its count and rows per table (or why it kept everything), the women
    removed, the kept decision records written, and the certificate (a real run that deleted)."""

    programme_id: int
    dry_run: bool
    at: datetime
    done: dict = field(default_factory=dict)
    women: list[int] = field(default_factory=list)
    kept_decisions: int = 0
    certificate_id: int | None = None

    @property
    def deleted(self) -> int:
        return sum(d["count"] for d in self.done.values())


# --- who falls due ------------------------------------------------------------------------------
def _held(women: models.QuerySet) -> models.QuerySet:
    """Leave out every woman something stops the purge for (see the module docstring)."""
    for model, path in _TO_HER.items():
        for rel in reverse_links(model):
            related = rel.related_model
            if related._meta.app_label == "eligibility" or rel.on_delete is models.SET_NULL:
                continue
            lookup = f"{rel.field.name}__{path}" if path else rel.field.name
            women = women.exclude(Exists(models.QuerySet(model=related).filter(**{lookup: OuterRef("pk")})))
    return (women.exclude(Exists(Restriction.objects.filter(woman=OuterRef("pk"))))
            .exclude(Exists(DuplicateProposal.objects.filter(Q(woman_a=OuterRef("pk")) | Q(woman_b=OuterRef("pk")),
                                                              status=DuplicateStatus.OPEN))))


def _named_beyond_imports():
    """An audit entry names her other than an import's ("extract #N imported", no single target)."""
    reference = Concat(Value(f"{Woman._meta.label_lower}:"), Cast(OuterRef("pk"), CharField()))
    return Exists(AuditSubject.objects.filter(subject=reference)
                  .exclude(entry__event=Event.CHANGE, entry__object_pk="", entry__reason__startswith="extract #"))


def untouched_since(programme: Programme) -> dict[int, datetime]:
    """Untouched women: id -> when the rules stopped proposing her."""
    women = _held(Woman.objects.filter(programme=programme))
    women = (women.exclude(Exists(Decision.objects.filter(woman=OuterRef("pk"))))
             .exclude(Exists(Correction.objects.filter(Q(woman=OuterRef("pk")) | Q(child__mother=OuterRef("pk")))))
             .exclude(Exists(DuplicateProposal.objects.filter(Q(woman_a=OuterRef("pk")) | Q(woman_b=OuterRef("pk")))))
             .exclude(_named_beyond_imports()))
    since: dict[int, datetime | None] = {}
    rows = (Evaluation.objects.filter(woman__in=women.values("pk")).order_by("woman_id", "run__run_at", "run_id")
            .values_list("woman_id", "run__run_at", "proposal"))
    for woman_id, run_at, proposal in rows.iterator():
        if proposal != Proposal.NOT_PROPOSED:
            since[woman_id] = None  # proposed: the clock starts again at the next "not proposed"
        elif since.get(woman_id) is None:
            since[woman_id] = run_at
    return {woman_id: at for woman_id, at in since.items() if at is not None}


def not_eligible_since(programme: Programme) -> dict[int, datetime]:
    """Women whose current decision is "not eligible": id -> when it was decided."""
    latest = Decision.objects.filter(woman=OuterRef("pk")).order_by("-pk")
    women = (_held(Woman.objects.filter(programme=programme))
             .annotate(outcome=Subquery(latest.values("outcome")[:1]), decided=Subquery(latest.values("decided_at")[:1]))
             .filter(outcome=DecisionOutcome.NOT_ELIGIBLE))
    return dict(women.values_list("pk", "decided"))


CLOCKS = {UNTOUCHED: untouched_since, NOT_ELIGIBLE: not_eligible_since}


def women_due(programme: Programme, rule: str, cutoff: datetime) -> dict[int, datetime]:
    """The women the rule removes at this cutoff: id -> when her clock started (before the cutoff)."""
    return {pk: at for pk, at in CLOCKS[rule](programme).items() if at < cutoff}


# --- purging --------------------------------------------------------------------------------------
def _never_purged(model: type[models.Model]) -> PurgeStopped | None:
    if model in _PURGED:
        return None
    return PurgeStopped(f"The purge stopped, deleting nothing: {model._meta.verbose_name_plural} refer to her records.")


def _keep_decisions(women: list[int], now: datetime) -> int:
    kept = [KeptDecision(programme_id=d.programme_id, outcome=d.outcome, decided_by_id=d.decided_by_id,
                         decided_at=d.decided_at, rule_set_id=d.rule_set_id, rule_set_version=d.rule_set.version,
                         purged_at=now)
            for d in Decision.objects.filter(woman_id__in=women).select_related("rule_set").order_by("pk")]
    KeptDecision.objects.bulk_create(kept)
    return len(kept)


def _purge(programme: Programme, cutoffs: dict[str, datetime | None], run: TrustCopyPurge) -> Counter:
    everything = Counter()
    for rule in (UNTOUCHED, NOT_ELIGIBLE):
        cutoff = cutoffs.get(rule)
        if cutoff is None:
            run.done[rule] = {"count": 0, "rows": {}, "kept": "no period in the agreement"}
            continue
        women = sorted(women_due(programme, rule, cutoff))
        if rule == NOT_ELIGIBLE:
            run.kept_decisions += _keep_decisions(women, run.at)
        rows = Counter()
        if women:
            delete_tree(Woman, women, rows, refuse=_never_purged)
        run.done[rule] = {"count": rows.get(Woman._meta.label, 0), "rows": dict(sorted(rows.items()))}
        run.women += women
        everything.update(rows)
    return everything


def _certificate(programme: Programme, run: TrustCopyPurge, rows: Counter, *, by, schedule: str, trigger: str):
    stores = [certificates.store(words, model._meta.db_table, rows.get(model._meta.label, 0)) for model, words in STORES]
    kept = [
        {"what": "Minimal records of the decisions about them (outcome, who decided, when, rule-set version; "
                 "nothing about her)", "table": KeptDecision._meta.db_table, "rows": run.kept_decisions},
        {"what": "Erasure tombstones (blind indexes only), with the blind-index keys that match them",
         "table": ErasedPerson._meta.db_table, "rows": ErasedPerson.objects.filter(programme=programme).count()},
        {"what": "The audit trail: its entries name them by reference only", "table": "audit_auditentry",
         "rows": None},
    ]
    return certificates.issue(PurgeKind.TRUST_COPY, programme=programme, by=by, schedule=schedule,
                              trigger=trigger, stores=stores, kept=kept, now=run.at)


def purge_trust_copy(programme: Programme, cutoffs: dict[str, datetime | None], *, dry_run: bool, trigger: str,
                     schedule: str, by: Person | None = None) -> TrustCopyPurge:
    """Remove the women each rule's cutoff has passed (a rule with no cutoff keeps its women, and the
    run says so); on a dry run, count them and change nothing. Records the audit entry, and for a
    real run that deleted anything the purge certificate, in the same transaction. Raises
    PurgeStopped, deleting nothing, if a woman's rows reach anything it must never delete."""
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme.pk)  # one run at a time
        run = TrustCopyPurge(programme_id=programme.pk, dry_run=dry_run, at=timezone.now())
        with transaction.atomic():  # a savepoint: a dry run rolls it back
            rows = _purge(programme, cutoffs, run)
            if dry_run:
                transaction.set_rollback(True)
        if not dry_run and run.women:
            run.certificate_id = _certificate(programme, run, rows, by=by, schedule=schedule, trigger=trigger).pk
        counts = ", ".join(f"{rule} {d['count']}" for rule, d in run.done.items() if "kept" not in d) or "nothing"
        kept = [rule for rule, d in run.done.items() if "kept" in d]
        record_event(
            Event.CHANGE, actor=by, target=programme, programme=programme, action=0 if dry_run else 2,
            subject_model=Woman, subject_ids=[] if dry_run else run.women,
            reason=(f"Trust's copy retention ({trigger}{', dry run: nothing deleted' if dry_run else ''}): "
                    f"{'would remove' if dry_run else 'removed'} {counts}"
                    + (f"; kept, no period in the agreement: {', '.join(kept)}" if kept else "")
                    + (f"; {run.kept_decisions} minimal decision records kept" if run.kept_decisions else "")
                    + (f"; purge certificate #{run.certificate_id}" if run.certificate_id else "")),
        )
    return run
