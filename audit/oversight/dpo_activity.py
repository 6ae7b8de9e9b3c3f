"""What the Caldicott Guardian's report of the DPO's activity lists about rights requests (issue 17,
point 2): every request a DPO opened (when and how it was received, how the requester's identity
was checked), every view of records under a request, every access pack downloaded, and every
erasure and objection decision (proposed, confirmed, declined, withdrawn; objections not upheld;
erasures made before two people were needed). No name, no identifier: requests by reference,
records by count and page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from audit.core.models import AuditEntry, Event
from audit.core.models_rights import (
    ErasureRecord,
    ObjectionOutcome,
    RequestKind,
    RightsProposal,
    RightsRequest,
)
from pause_portal import presenting
from pause_portal.tenancy.models import Person
from pause_portal.tenancy.roles import Role

PACK_DOWNLOADED = "access pack downloaded"


@dataclass(frozen=True)
class Activity:
    at: datetime
    by_id: int | None
    what: str
    reference: str
    detail: str


def _opened(r: RightsRequest) -> Activity:
    received = f"Received {presenting.day(r.received_on)}, " + (presenting.in_sentence(r.get_received_via_display()) if r.received_via
                                                          else "how it was received not recorded")
    if r.identity_verified:
        identity = (f"identity: {presenting.in_sentence(r.get_identity_method_display())}; document: "
                    f"{presenting.in_sentence(r.get_identity_document_display())}; checked by person "
                    f"#{r.identity_checked_by_id}")
    else:
        identity = "identity check: free text only, no structured evidence"
    return Activity(r.opened_at, r.opened_by_id, "Rights request opened", r.reference, f"{received}; {identity}")


def rights_activity(programme_id: int) -> list[Activity]:
    """Every rights-request act of the programme's DPOs, newest first."""
    requests = list(RightsRequest.objects.filter(programme_id=programme_id))
    refs = {r.reference for r in requests}
    rows = [_opened(r) for r in requests]
    entries = AuditEntry.objects.filter(programme_id=programme_id, event=Event.DISCLOSURE, role=Role.DPO)
    for e in entries.filter(reason__in=refs).only("timestamp", "actor_id", "reason", "subject_count", "page"):
        rows.append(Activity(e.timestamp, e.actor_id, "Records viewed under a request", e.reason,
                             f"{e.subject_count} record{'s' if e.subject_count != 1 else ''} shown on {e.page or 'no page'}"))
    for e in entries.filter(reason__contains=PACK_DOWNLOADED, object_repr__startswith="audit.rightsrequest:"):
        reference = e.reason.split(":")[0]
        rows.append(Activity(e.timestamp, e.actor_id, "Access pack downloaded", reference,
                             f"{e.subject_count} record{'s' if e.subject_count != 1 else ''} in the pack"))
    for p in RightsProposal.objects.filter(programme_id=programme_id).select_related("request"):
        what = "Erasure" if p.kind == "erasure" else "Upheld objection"
        ground = f" on the ground {p.get_ground_display()}" if p.ground else ""
        rows.append(Activity(p.proposed_at, p.proposed_by_id, f"{what} proposed", p.request.reference,
                             f"Proposal #{p.pk}{ground}; for the Caldicott Guardian to confirm"))
        if p.decided_at:
            rows.append(Activity(p.decided_at, p.decided_by_id, f"{what} {p.get_status_display().split(' ')[0].lower()}",
                                 p.request.reference, f"Proposal #{p.pk}: {p.get_status_display()}"
                                 + (f" ({p.decision_note})" if p.decision_note else "")))
    for r in requests:
        if r.kind == RequestKind.OBJECTION and r.objection_outcome == ObjectionOutcome.NOT_UPHELD:
            rows.append(Activity(r.closed_at, r.closed_by_id, "Objection not upheld", r.reference,
                                 "Compelling legitimate grounds recorded; the restriction ended"))
    for record in ErasureRecord.objects.filter(programme_id=programme_id, proposal__isnull=True).select_related(
            "request"):
        rows.append(Activity(record.erased_at, record.erased_by_id, "Erasure by one person (before two were needed)",
                             record.request.reference, f"On the ground {record.ground}; "
                                                       f"{sum(record.erased.values())} rows erased"))
    rows.sort(key=lambda a: (a.at, a.what), reverse=True)
    return rows


def people_of(rows: list[Activity]) -> dict[int, Person]:
    return Person.objects.in_bulk({a.by_id for a in rows if a.by_id})
