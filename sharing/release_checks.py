"""What must be on record before anything is released to Pause: a confirmed data-sharing
agreement with both controllers' lawful bases (`sharing.lawful_bases`), the appropriate policy
document (a DPA 2018 Sch. 1 Part 2 condition needs one), the DPIA sign-off, UK-only processing,
and a review of the DPIA whose next review date has not passed (`sharing.dpia_register`, ADR 48).
Both scoping and delivery releases refuse, with nothing written, while any of these is missing."""

from __future__ import annotations

from pause_portal.tenancy.models import Programme
from sharing import dpia_register, lawful_bases
from sharing.scoping_term import current_agreement


def release_blockers(programme: Programme) -> list[str]:
    """Why a release would be refused now, in words for the page; empty when it may go ahead."""
    agreement = current_agreement(programme)
    if agreement is None:
        return ["No data-sharing agreement has been confirmed by the Caldicott Guardian"]
    blockers = []
    recorded = lawful_bases.normalised(agreement.lawful_bases)
    for controller, whose in lawful_bases.WHOSE.items():
        if not all((recorded.get(controller) or {}).get(f) for f in ("article_6", "article_9")):
            blockers.append(f"The agreement does not record {whose} lawful bases (its Article 6 basis and its "
                            "Article 9 condition)")
    if not agreement.policy_document_reference.strip():
        blockers.append("The agreement does not record the appropriate policy document")
    if not (agreement.dpia_signed_off_by.strip() and agreement.dpia_signed_off_on):
        blockers.append("The agreement does not record the DPIA sign-off (who and when)")
    if not agreement.uk_only_processing:
        blockers.append("The agreement does not confirm processing in the UK only")
    if dpia := dpia_register.release_blocker(programme):
        blockers.append(dpia)
    return blockers
