"""The data-sharing agreement, the programme's phase, its privacy notices, statutory powers, the
Caldicott log and the DPIA register (mounted at /governance/). No URL carries
an object id: each page acts on the current programme's agreement or phase, and a form names the
proposal it decides only so that a stale or foreign one answers 404."""

from django.urls import path

from sharing.views import (
    caldicott_log,
    governance,
    governance_dpia,
    governance_notices,
    governance_powers,
)

app_name = "governance"

urlpatterns = [
    path("agreement/", governance.agreement, name="agreement"),
    path("agreement/propose/", governance.agreement_propose, name="agreement-propose"),
    path("agreement/decide/", governance.agreement_decide, name="agreement-decide"),
    path("agreement/withdraw/", governance.agreement_withdraw, name="agreement-withdraw"),
    path("phase/", governance.phase, name="phase"),
    path("phase/propose/", governance.phase_propose, name="phase-propose"),
    path("phase/decide/", governance.phase_decide, name="phase-decide"),
    path("phase/withdraw/", governance.phase_withdraw, name="phase-withdraw"),
    path("notices/", governance_notices.notices, name="notices"),
    path("notices/publish/", governance_notices.publish, name="notice-publish"),
    path("notices/decide/", governance_notices.decide, name="notice-decide"),
    path("notices/withdraw/", governance_notices.withdraw, name="notice-withdraw"),
    path("powers/", governance_powers.powers, name="powers"),
    path("powers/propose/", governance_powers.propose, name="power-propose"),
    path("powers/decide/", governance_powers.decide, name="power-decide"),
    path("dpia/", governance_dpia.register, name="dpia"),
    path("dpia/risk/add/", governance_dpia.add_risk, name="dpia-risk-add"),
    path("dpia/risk/edit/", governance_dpia.edit_risk, name="dpia-risk-edit"),
    path("dpia/review/", governance_dpia.record_review, name="dpia-review"),
    path("caldicott-log/", caldicott_log.caldicott_log, name="caldicott-log"),
    path("caldicott-log/export/", caldicott_log.caldicott_log_export, name="caldicott-log-export"),
]
