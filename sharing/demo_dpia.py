"""The demo's DPIA register (demo mode and the browser journeys; ADR 48): a review recorded a month
ago with the next one due in eleven months, and a few realistic risks, made through the real
actions. Every value is synthetic; no risk names or describes anyone."""

from __future__ import annotations

from datetime import date, timedelta

from pause_portal.tenancy.models import Person, Programme
from sharing.dpia_register import RiskValues, add_risk, latest_review, record_review
from sharing.models_dpia import Likelihood, RiskLevel, RiskStatus, Severity

DEMO_RISKS = (
    ("A woman is identified from the scoping release by someone at Pause who knows her, from her age, ethnicity "
     "and the years her children were removed.", Likelihood.POSSIBLE, Severity.SEVERE,
     "Pseudonymised rows only; every combination shared by at least k women; tables with small cells suppressed; "
     "Pause staff declare anyone they know.", RiskLevel.LOW, RiskStatus.ACCEPTED),
    ("A woman who declined is approached again, causing distress.", Likelihood.POSSIBLE, Severity.SIGNIFICANT,
     "A do-not-approach marker blocks her release unless the Trust records why it approaches her again.",
     RiskLevel.LOW, RiskStatus.ACCEPTED),
    ("Released contact details are seen by a practitioner who is not working with the woman.", Likelihood.PROBABLE,
     Severity.SIGNIFICANT, "Practitioners see only their own caseload; every view is audited and reviewed by the DPO.",
     RiskLevel.MEDIUM, RiskStatus.OPEN),
    ("Records are kept longer than the agreement allows.", Likelihood.REMOTE, Severity.SIGNIFICANT,
     "Retention runs daily and issues purge certificates.", RiskLevel.LOW, RiskStatus.CLOSED),
)


def seed_dpia(programme: Programme, *, lead: Person, today: date) -> None:
    """Once per programme: the demo's review and its risks, owned by the programme's Trust lead."""
    if latest_review(programme) is not None:
        return
    record_review(programme=programme, by=lead, reviewed_on=today - timedelta(days=30),
                  next_review_on=today + timedelta(days=335),
                  notes="Demonstration review: the risks were checked against the agreement in force.")
    for description, likelihood, severity, mitigations, residual, status in DEMO_RISKS:
        add_risk(programme=programme, by=lead, values=RiskValues(
            description=description, likelihood=likelihood, severity=severity, mitigations=mitigations,
            residual_risk=residual, owner=lead, status=status))
