"""Closing a programme (issue 22, point 2; ADR 39): every row of its case data purged, its data
keys destroyed, a purge certificate left.

`close_programme` runs when a move to closed is confirmed (`sharing.phases.confirm_phase_change`,
after the scoping purge when closing straight from scoping), in the confirmation's transaction. It
deletes the programme's Pause-side rows (`CASE_RECORDS`, children first) and then the Trust's case
records (`eligibility.programme_purge`, past the history models' append-only guard), unlinks the
DPO's kept rights requests from the women deleted, destroys every data key of the programme but
the blind-index key its tombstones still need, and issues a `PurgeCertificate` (kind CLOSURE)
naming each store with its table and row count, the keys destroyed, what was kept and where, and
what remains in backups. Once it commits, the uploaded extract files are deleted from disk and the
destroyed scopes' secrets from the key store, and the key table is vacuumed
(`sharing.scoping_purge.finish_key_destruction`, the machinery scoping's end uses).

What is kept is `KEPT`, one line a model: a new kept store is one line there. A model holding
personal data (a field classified other than safe, or a foreign key to such a model) must be in
`CASE_RECORDS`, `eligibility.programme_purge.CASE_RECORDS` or `KEPT`: a metatest fails otherwise.

`closing_blockers` says why a programme cannot close now: a safeguarding concern still open
(unacknowledged or acknowledged) or closed but not yet handed to the Trust, a rights request
still open, an extract still importing. Proposing and confirming the move both refuse while any
holds, and the phase page shows them. Closing from scoping adds no blocker of its own: leaving
scoping already needs an approved final report or the proposer's recorded choice to keep none
(`sharing.leaving_scoping`), checked at both steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from django.apps import apps
from django.db import models, transaction

from audit.core import certificates
from audit.core.models_certificates import PurgeCertificate, PurgeKind
from audit.core.models_rights import RequestStatus, RightsRequest
from eligibility import programme_purge, uploads
from eligibility.models import ErasedPerson, Extract, ExtractStatus, Woman
from pause_portal.refused import Refused
from pause_portal.tenancy.models import Person, Phase, Programme
from pseudonymisation import keys
from pseudonymisation.models import DataKey, Purpose
from sharing.models_delivery import (
    OPEN_CONCERN_STATUSES,
    AbsenceConfirmation,
    CaseloadAssignment,
    CaseloadGroupObjectPermission,
    CaseloadUserObjectPermission,
    ConcernStatus,
    ContactAttempt,
    DeliveryRelease,
    QuarterlyReport,
    QuarterlyReportStatus,
    ReleasedChild,
    ReleasedWoman,
    ReleaseReinstatement,
    SafeguardingConcern,
)
from sharing.models_markers import DoNotApproachMarker
from sharing.models_scoping import SCOPING_PURGED_MODELS, FinalReport, ReportStatus
from sharing.scoping_purge import VACUUM_PENDING, finish_key_destruction, key_destruction_entry

SCHEDULE = "Closing the programme: a Trust lead proposes, the Caldicott Guardian or a second Trust lead confirms"


@dataclass(frozen=True)
class Store:
    """One purged store of the programme: the model, the lookup to its programme, and which rows."""

    model: type[models.Model]
    lookup: str = "programme"
    keep: dict = field(default_factory=dict)  # rows of this model that are kept (exclude filter)

    def rows(self, programme: Programme) -> models.QuerySet:
        rows = models.QuerySet(model=self.model).filter(**{self.lookup: programme})
        return rows.exclude(**self.keep) if self.keep else rows

    @property
    def words(self) -> str:
        words = str(self.model._meta.verbose_name_plural)
        return words[:1].upper() + words[1:] + (" (those not kept)" if self.keep else "")


# Pause's side and the sharing records, in the order they are deleted (children first).
CASE_RECORDS: tuple[Store, ...] = (
    Store(CaseloadUserObjectPermission, "content_object__programme"),
    Store(CaseloadGroupObjectPermission, "content_object__programme"),
    Store(CaseloadAssignment),
    Store(AbsenceConfirmation),
    Store(ReleaseReinstatement),
    Store(ReleasedChild),
    Store(ContactAttempt),
    Store(SafeguardingConcern),  # all closed and filed by the Trust: `closing_blockers`
    Store(ReleasedWoman),
    Store(DeliveryRelease),
    *(Store(m) for m in SCOPING_PURGED_MODELS),  # empty once scoping has ended; listed all the same
    Store(FinalReport, keep={"status": ReportStatus.APPROVED}),
    Store(QuarterlyReport, keep={"status": QuarterlyReportStatus.SENT}),
)


@dataclass(frozen=True)
class Kept:
    """A store closing keeps: the model's label, what it is, and how its rows name the programme
    (None: not per programme; `only`: which of its rows are the kept ones)."""

    label: str
    what: str
    lookup: str | None = "programme"
    only: dict = field(default_factory=dict)

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.label)

    def rows(self, programme: Programme) -> int | None:
        if self.lookup is None:
            return None
        return self.model.objects.filter(**{self.lookup: programme}, **self.only).count()


DPO_RECORD = ("the DPO's record, kept with the audit trail until its own retention; details encrypted under the "
              "programme's destroyed key can no longer be read")
KEPT: tuple[Kept, ...] = (
    Kept("sharing.FinalReport", "The approved final report (aggregates only)", only={"status": ReportStatus.APPROVED}),
    Kept("sharing.QuarterlyReport", "Quarterly progress reports sent to the Trust (anonymised)",
         only={"status": QuarterlyReportStatus.SENT}),
    Kept("sharing.DeletionCertificate", "The scoping deletion certificate"),
    Kept("audit.PurgeCertificate", "Purge certificates, this one included"),
    Kept("audit.AuditEntry", "The audit trail (references only), until its own retention"),
    Kept("audit.AuditSubject", "The audit trail's subjects (references only)", lookup="entry__programme"),
    Kept("audit.AuditSeal", "The audit trail's seals", lookup=None),
    Kept("audit.AuditChainAnchor", "The audit trail's chain anchors", lookup=None),
    Kept("eligibility.KeptDecision", "Minimal decision records (outcome, who, when, rule-set version): no personal data"),
    Kept("eligibility.ErasedPerson", "Erasure tombstones: the blind index of a Trust person id, nothing else"),
    Kept("sharing.DoNotApproachMarker", "Do-not-approach markers, each until its own date: a blind index only"),
    Kept("sharing.Agreement", "The data-sharing agreements"),
    Kept("audit.RightsRequest", f"Rights requests: {DPO_RECORD}"),
    Kept("audit.RightsProposal", f"The DPO's proposals on rights requests: {DPO_RECORD}"),
    Kept("audit.RequestExtension", f"Extensions of rights requests: {DPO_RECORD}", lookup="request__programme"),
    Kept("audit.RedactionDecision", f"Redaction decisions: {DPO_RECORD}", lookup="request__programme"),
    Kept("audit.PackRedactedSpan", f"Words withheld from access packs (positions only): {DPO_RECORD}",
         lookup="request__programme"),
    Kept("audit.ErasureRecord", "Erasure records (counts and references): the DPO's record"),
    Kept("audit.Breach", f"Breach records: {DPO_RECORD}"),
    Kept("audit.AffectedWoman", f"The women a breach affects, by reference, and whether each was told: {DPO_RECORD}",
         lookup="breach__programme"),
    Kept("audit.SuspectedBreach", f"Suspected breaches reported, and the DPO's triage: {DPO_RECORD}"),
    Kept("audit.MonitoringFlag", f"Access-monitoring flags: {DPO_RECORD}"),
    Kept("audit.ConflictDeclaration", "Declared conflicts of interest: the DPO's record"),
    Kept("audit.ReviewSearch", "Access-review searches (references only): the DPO's record"),
    Kept("sharing.ScopingIncident", "Scoping disclosure incidents (references and counts)"),
)
NOTHING_HELD = (
    ("Import staging tables", "temporary tables private to one import's database session, dropped when it ends"),
    ("Cached pages", "every page is served no-store; no page is kept in the server's cache"),
    ("Queued jobs", "tasks carry ids only and re-check the programme when they run"),
)


def purged_labels() -> set[str]:
    """Every model whose rows of the programme closing deletes (some or all of them)."""
    return ({s.model._meta.label for s in CASE_RECORDS}
            | {m._meta.label for m, _ in programme_purge.CASE_RECORDS})


# --- why a programme cannot close now -----------------------------------------------------------
def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def closing_blockers(programme: Programme) -> list[str]:
    """Why the programme cannot close now, one sentence each ([] when nothing stands in the way)."""
    out = []
    concerns = SafeguardingConcern.objects.filter(programme=programme)
    unacknowledged = concerns.filter(status=ConcernStatus.OPEN).count()
    acknowledged = concerns.filter(status__in=OPEN_CONCERN_STATUSES).exclude(status=ConcernStatus.OPEN).count()
    unfiled = concerns.filter(status=ConcernStatus.CLOSED, filed_at__isnull=True).count()
    if unacknowledged:
        out.append(f"{_count(unacknowledged, 'safeguarding concern is', 'safeguarding concerns are')} not yet "
                   "acknowledged by the Trust: a Trust lead acknowledges and closes each one first.")
    if acknowledged:
        out.append(f"{_count(acknowledged, 'safeguarding concern is', 'safeguarding concerns are')} acknowledged but "
                   "still open: a Trust lead closes each one first.")
    if unfiled:
        out.append(f"{_count(unfiled, 'closed safeguarding concern is', 'closed safeguarding concerns are')} not yet "
                   "handed to the Trust: a Trust lead downloads each one and marks it filed in the Trust's case "
                   "record first.")
    requests = list(RightsRequest.objects.filter(programme=programme).exclude(
        status__in=[RequestStatus.COMPLETED, RequestStatus.REFUSED]).order_by("pk"))
    if requests:
        out.append(f"{_count(len(requests), 'rights request is', 'rights requests are')} still open "
                   f"({', '.join(r.reference for r in requests)}): the DPO answers and closes each one first.")
    importing = Extract.objects.filter(programme=programme,
                                       status__in=[ExtractStatus.RECEIVED, ExtractStatus.RUNNING]).count()
    if importing:
        out.append(f"{_count(importing, 'extract is', 'extracts are')} still being imported: wait until "
                   f"{'it finishes' if importing == 1 else 'they finish'}.")
    return out


def closure_certificate(programme: Programme) -> PurgeCertificate | None:
    return PurgeCertificate.objects.filter(programme=programme, kind=PurgeKind.CLOSURE).first()


# --- the purge ----------------------------------------------------------------------------------
def tombstones_remain(programme: Programme) -> bool:
    """Whether any tombstone of the programme still needs its blind-index key: an erasure
    tombstone, or a do-not-approach marker (until its date; retention deletes it then)."""
    return (ErasedPerson.objects.filter(programme=programme).exists()
            or DoNotApproachMarker.objects.filter(programme=programme).exists())


def kept_key_scope(programme: Programme) -> keys.KeyScope:
    """The one key scope closing may keep: the blind index the tombstones are matched with."""
    return keys.KeyScope(programme.pk, Woman.key_phase, Purpose.BLIND_INDEX)


def _destroy_keys(programme: Programme) -> tuple[list[dict], list[str]]:
    """Destroy every live key scope of the programme but the tombstones' blind index (when any
    tombstone remains). Returns the certificate's entries and the labels of the scopes kept."""
    keep = kept_key_scope(programme) if tombstones_remain(programme) else None
    live = (DataKey.objects.filter(programme_id=programme.pk, destroyed_at__isnull=True)
            .values_list("phase", "purpose").distinct().order_by("phase", "purpose"))
    destroyed, kept = [], []
    for phase, purpose in live:
        scope = keys.KeyScope(programme.pk, phase, Purpose(purpose))
        if scope == keep:
            kept.append(scope.label())
        elif keys.destroy(scope):  # its secret leaves the key store once this commits
            destroyed.append(key_destruction_entry(scope, dead_rows=VACUUM_PENDING))
    return destroyed, kept


def close_programme(programme: Programme, *, by: Person | None, trigger: str) -> PurgeCertificate:
    """Purge the programme's case data, destroy its keys and issue the closure certificate, once
    (the existing certificate if it has closed already). Runs inside the caller's transaction
    (the confirmation); raises, changing nothing, when a blocker holds."""
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme.pk)
        existing = closure_certificate(programme)
        if existing is not None:
            return existing
        blockers = closing_blockers(programme)
        if blockers:
            raise ClosingRefused(blockers)
        folders = programme_purge.upload_folders(programme)
        stores = []
        for store in CASE_RECORDS:
            rows = store.rows(programme)
            _total, per_label = models.QuerySet(model=store.model).filter(
                pk__in=list(rows.values_list("pk", flat=True))).delete()
            stores.append(certificates.store(store.words, store.model._meta.db_table,
                                             per_label.get(store.model._meta.label, 0)))
        RightsRequest.objects.filter(programme=programme, woman__isnull=False).update(woman=None)
        for model, count in programme_purge.delete_case_records(programme):
            words = str(model._meta.verbose_name_plural)
            stores.append(certificates.store(words[:1].upper() + words[1:], model._meta.db_table, count))
        stores.append(certificates.store("Uploaded extract files (encrypted, on disk)", "", len(folders)))
        stores += [dict(certificates.store(what, "", 0), note=why) for what, why in NOTHING_HELD]
        destroyed, kept_scopes = _destroy_keys(programme)
        kept = [{"what": k.what, "table": k.model._meta.db_table, "rows": k.rows(programme)} for k in KEPT]
        kept.append({"what": "The Trust's own case system: outside the portal", "table": "", "rows": None})
        remains = [{"what": f"The blind-index key {label}, for the tombstones above", "where": "the key table",
                    "until": None} for label in kept_scopes]
        certificate = certificates.issue(PurgeKind.CLOSURE, programme=programme, by=by, schedule=SCHEDULE,
                                         trigger=trigger, stores=stores, keys_destroyed=destroyed, kept=kept,
                                         remains=remains)
        for upload_id in folders:
            transaction.on_commit(partial(uploads.discard, upload_id), robust=True)
        if destroyed:
            transaction.on_commit(partial(finish_key_destruction, certificate.pk, vacuum=True,
                                          model=PurgeCertificate), robust=True)
    return certificate


def destroy_key_of_last_tombstone(programme: Programme, *, by: Person | None, trigger: str) -> PurgeCertificate | None:
    """Once a closed programme's last tombstone is gone (retention deletes the last do-not-approach
    marker on its date, and there is no erasure tombstone), the blind-index key closing kept for
    them is destroyed too, with a closure certificate of its own. Nothing when the programme is
    open, a tombstone remains, or the key is gone already. Runs inside the caller's transaction."""
    if programme.phase != Phase.CLOSED or tombstones_remain(programme):
        return None
    scope = kept_key_scope(programme)
    if not keys.destroy(scope):  # no live version left: destroyed already
        return None
    certificate = certificates.issue(
        PurgeKind.CLOSURE, programme=programme, by=by, schedule="the retention run that deleted the last tombstone",
        trigger=f"last tombstone gone ({trigger})"[:80], stores=[],
        keys_destroyed=[key_destruction_entry(scope, dead_rows=VACUUM_PENDING)],
    )
    transaction.on_commit(partial(finish_key_destruction, certificate.pk, vacuum=True, model=PurgeCertificate),
                          robust=True)
    return certificate


class ClosingRefused(Refused):
    """The programme cannot close now; nothing was changed. `blockers` (its `problems`) say why."""

    def __init__(self, blockers: list[str]):
        super().__init__("The programme cannot close yet: " + " ".join(blockers), blockers)
        self.blockers = blockers
