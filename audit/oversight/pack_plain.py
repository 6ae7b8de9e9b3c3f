"""An access pack's history in plain words (issue 23, point 5): the pack is written to her, so the
access log says what was done to which of her records, by role and organisation, and under which
of her requests — never a page's address, a record's reference ("eligibility.decision:3",
"person #13") or the internal reason an action wrote for the audit trail. Codes of the extract
(legal statuses, why a care episode ended, sex) become their meanings."""

from __future__ import annotations

from datetime import date

from audit.core.models import AuditEntry, Event
from eligibility.extract import codes
from pause_portal import presenting
from pause_portal.tenancy.models import Phase

RECORD_WORDS = {
    "eligibility.woman": "Her record",
    "eligibility.child": "Her children's records",
    "eligibility.decision": "A decision about her",
    "eligibility.rereview": "A second look at a decision about her",
    "eligibility.restriction": "A restriction of her records",
    "eligibility.correction": "A correction of her record",
    "eligibility.duplicateproposal": "A check for a duplicate of her record",
    "sharing.scopingwomanrow": "Her row in the scoping release",
    "sharing.scopingchildrow": "Her children's rows in the scoping release",
    "sharing.scopingrelease": "The release to Pause for scoping",
    "sharing.deliveryrelease": "The release to Pause for delivery",
    "sharing.releasedwoman": "Her delivery release",
    "sharing.releasedchild": "Her children's delivery tokens",
    "sharing.contactattempt": "Contact with her",
    "sharing.safeguardingconcern": "A safeguarding concern",
    "sharing.caseloadassignment": "Her Pause practitioner",
    "sharing.absenceconfirmation": "A check that she is still in the Trust's records",
    "sharing.releasereinstatement": "Her delivery release, restored",
    "audit.rightsrequest": "Her request to the data protection officer",
    "audit.redactiondecision": "A decision about information on other people in her access pack",
    "audit.packredactedspan": "A passage withheld in part from her access pack",
}
DONE = {0: "Recorded", 1: "Changed", 2: "Removed"}


def phase(value: str) -> str:
    return Phase(value).label if value in Phase.values else ""


def what_was_done(entry: AuditEntry) -> str:
    if entry.event == Event.DISCLOSURE:
        return "Saw or received her records"
    if entry.event == Event.REFUSED:
        return "Was refused a page about her"
    if entry.event == Event.CHANGE:
        return DONE.get(entry.action, "Changed")
    return entry.get_event_display()


def which_record(entry: AuditEntry) -> str:
    model = (entry.object_repr or "").partition(":")[0]
    return RECORD_WORDS.get(model, "Her records")


def under_request(entry: AuditEntry, references: list[str]) -> str:
    return next((r for r in references if r in (entry.reason or "")), "")


def legal_statuses(child) -> str:
    return "; ".join(f"{codes.LEGAL_STATUS.get(s.code, 'A legal status not on the current list')} from "
                     f"{presenting.day(s.start_date)}" + (f" to {presenting.day(s.end_date)}" if s.end_date else "")
                     for s in child.legal_statuses.order_by("start_date", "pk"))


def care_episodes(child) -> str:
    def when(value: date | None, missing: str) -> str:
        return presenting.day(value) if value else missing

    return "; ".join(f"from {when(e.start_date, 'a date not known')} to {when(e.ceased_date, 'now')}"
                     + (f" ({codes.EPISODE_CEASED.get(e.ceased_reason, 'a reason not on the current list')})"
                        if e.ceased_reason else "")
                     for e in child.care_episodes.order_by("start_date", "pk"))


def sex(value: str) -> str:
    return codes.SEX.get(value, "") if value else ""
