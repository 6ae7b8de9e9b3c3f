"""What must be on record before anything is released to Pause: a confirmed data-sharing
agreement, the appropriate policy document (UK GDPR Art. 9(2)(g) with DPA 2018 Sch. 1 Part 2
para 18 needs one), the DPIA sign-off, and UK-only processing."""

from __future__ import annotations

from pause_portal.tenancy.models import Programme
from sharing.scoping_term import current_agreement


def release_blockers(programme: Programme) -> list[str]:
    """Why a release would be refused now, in words for the page; empty when it may go ahead."""
    agreement = current_agreement(programme)
    if agreement is None:
        return ["No data-sharing agreement has been confirmed by the Caldicott Guardian"]
    blockers = []
    if not agreement.policy_document_reference.strip():
        blockers.append("The agreement does not record the appropriate policy document")
    if not (agreement.dpia_signed_off_by.strip() and agreement.dpia_signed_off_on):
        blockers.append("The agreement does not record the DPIA sign-off (who and when)")
    if not agreement.uk_only_processing:
        blockers.append("The agreement does not confirm processing in the UK only")
    return blockers
