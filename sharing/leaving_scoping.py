"""What leaving scoping keeps, as it is now (issue 16, point 7): the real state of the final
report and what the purge keeps, read from the database whenever a page, an email or an action
asks — never the proposer's words, which may be out of date by the time anyone reads them.

Leaving scoping with no approved final report is allowed only when the proposer chose, on the
record, to end scoping with no final report kept (`PhaseChange.no_final_report_kept`);
`sharing.phases` enforces that when a change is proposed and again when it is confirmed.

`purge_keeps` says what `sharing.scoping_purge.end_scoping` keeps (its certificate's `kept`
list); a test holds the two together. Imports only models, so `phases`, `final_report`, the views
and the emails can all use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pause_portal.tenancy.models import Programme
from sharing.models_scoping import DeletionCertificate, FinalReport, PhaseChange, ReportStatus

NO_REPORT_CHOICE = "End scoping with no final report kept"
TRUSTS_RECORDS = "The Trust's own records"
APPROVED_REPORT = "Approved final report"


@dataclass(frozen=True)
class ReportState:
    """The programme's final report now: `status` is "none" or a `ReportStatus` value."""

    status: str
    title: str = ""
    approved_at: datetime | None = None

    @property
    def approved(self) -> bool:
        return self.status == ReportStatus.APPROVED

    @property
    def label(self) -> str:
        if self.status == "none":
            return "No final report has been written"
        return {
            ReportStatus.DRAFT: "A draft, not submitted for approval",
            ReportStatus.SUBMITTED: "Submitted, waiting for a Trust lead's approval",
            ReportStatus.RETURNED: "Returned to the Pause lead for changes, not approved",
            ReportStatus.APPROVED: "Approved",
        }[ReportStatus(self.status)]


def report_state(programme: Programme) -> ReportState:
    """The approved report if there is one, else the one being written, else none."""
    reports = FinalReport.objects.filter(programme=programme)
    approved = reports.filter(status=ReportStatus.APPROVED).only("title", "decided_at", "status").first()
    if approved is not None:
        return ReportState(ReportStatus.APPROVED, approved.title, approved.decided_at)
    latest = reports.only("title", "status").order_by("-pk").first()
    if latest is None:
        return ReportState("none")
    return ReportState(latest.status, latest.title)


def purge_keeps(programme: Programme, state: ReportState | None = None) -> list[str]:
    """What the end of scoping keeps (the `what` of each item of its certificate's `kept`)."""
    state = state or report_state(programme)
    return ([APPROVED_REPORT] if state.approved else []) + [TRUSTS_RECORDS]


@dataclass(frozen=True)
class LeavingScoping:
    """Everything a page or an email says about ending scoping, computed now."""

    report: ReportState
    keeps: list[str]
    certificate: DeletionCertificate | None  # scoping has already ended (the deadline's purge ran)
    change: PhaseChange | None = None

    @property
    def keeps_in_words(self) -> str:
        return keeps_in_words(self.keeps)

    @property
    def report_approved_since_choice(self) -> bool:
        """The proposer chose to keep no report, but one has been approved since: it is kept."""
        return self.change is not None and self.change.no_final_report_kept and self.report.approved

    @property
    def blocked(self) -> bool:
        """A change out of scoping that may not be confirmed: no approved report and no recorded
        choice to end scoping without one."""
        return self.change is not None and not self.change.no_final_report_kept and not self.report.approved


def leaving_scoping(programme: Programme, change: PhaseChange | None = None) -> LeavingScoping:
    certificate = DeletionCertificate.objects.filter(programme=programme).first()
    state = report_state(programme)
    keeps = ([k["what"] for k in certificate.kept] if certificate is not None else purge_keeps(programme, state))
    return LeavingScoping(report=state, keeps=keeps, certificate=certificate, change=change)


IN_WORDS = {APPROVED_REPORT: "the approved final report", TRUSTS_RECORDS: "the Trust's own records"}


def keeps_in_words(keeps: list[str]) -> str:
    """"the approved final report and the Trust's own records", for emails and sentences."""
    words = [IN_WORDS.get(k, k[:1].lower() + k[1:]) for k in keeps] or ["nothing"]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
