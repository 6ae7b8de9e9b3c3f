"""The permission vocabulary and the roles that hold it: the one place that says who may do what.

Views gate on a permission (`pause_portal.access.for_perm`) and actions check one (`role_has`),
never a list of roles; every permission here is checked somewhere, or it is deleted
(`tests/root/test_view_permissions.py`). `docs/roles.md` explains it for people. Roles are held
per programme (a membership), except the system administrator, who runs the service and never sees
case data.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class OrganisationKind(models.TextChoices):
    TRUST = "trust", "Children's trust"
    PAUSE = "pause", "Pause practice"


class Role(models.TextChoices):
    TRUST_CASEWORKER = "trust_caseworker", "Trust caseworker"
    TRUST_LEAD = "trust_lead", "Trust lead"
    CALDICOTT_GUARDIAN = "caldicott_guardian", "Caldicott Guardian"
    DPO = "dpo", "Data protection officer"
    PAUSE_LEAD = "pause_lead", "Pause lead"
    PAUSE_PRACTITIONER = "pause_practitioner", "Pause practitioner"
    SYSTEM_ADMIN = "system_admin", "System administrator"


class Perm(models.TextChoices):
    # The Trust's case records and eligibility
    VIEW_OWN_TRUST_RECORDS = "view_own_trust_records", "See the programme's case records"
    UPLOAD_EXTRACTS = "upload_extracts", "Upload case extracts"
    DECIDE_ELIGIBILITY = "decide_eligibility", ("Flag or rule out women proposed by the rules, one at a time or in "
                                                 "checked batches, and download the decision queue")
    EDIT_RULE_SET = "edit_rule_set", "Edit the eligibility rule set (as a new version)"
    RELEASE_TO_PAUSE = "release_to_pause", "Release flagged women to Pause"
    RESTRICT_PROCESSING = "restrict_processing", "Restrict a woman's records, and end a restriction"
    RECTIFY_RECORDS = "rectify_records", "Correct a woman's records from the DPO's rectification request"
    # Governance: the agreement, the phase, the programme's people
    VIEW_GOVERNANCE = "view_governance", "See the data-sharing agreement, its versions and the programme's phase"
    PROPOSE_AGREEMENT_CHANGE = "propose_agreement_change", "Propose a new version of the data-sharing agreement"
    CONFIRM_AGREEMENT_CHANGE = "confirm_agreement_change", "Confirm or reject a new version of the data-sharing agreement"
    PROPOSE_PHASE_CHANGE = "propose_phase_change", "Propose a phase change"
    CONFIRM_PHASE_CHANGE = "confirm_phase_change", "Confirm a phase change proposed by someone else"
    PUBLISH_PRIVACY_NOTICE = "publish_privacy_notice", "Publish a version of your organisation's privacy notice"
    CONFIRM_PRIVACY_NOTICE = "confirm_privacy_notice", "Confirm or reject a privacy notice version published by someone else"
    CONFIRM_ROLE_GRANT = "confirm_role_grant", "Confirm a grant of a lead, DPO or Caldicott role"
    VIEW_PROGRAMME_MEMBERS = "view_programme_members", "See who holds which role in the programme"
    # Pause's reports
    WRITE_PAUSE_REPORTS = "write_pause_reports", "Write the final scoping report and quarterly reports"
    VIEW_FINAL_REPORT = "view_final_report", "See Pause's final scoping report"
    APPROVE_FINAL_REPORT = "approve_final_report", "Approve Pause's final scoping report"
    VIEW_DELETION_CERTIFICATE = "view_deletion_certificate", "See the certificate that the scoping release was deleted"
    VIEW_PROGRESS_REPORTS = "view_progress_reports", "Read Pause's quarterly progress reports"
    # What Pause sees and does
    VIEW_RELEASED_DATA = "view_released_data", "See what the Trust released to Pause, as the phase allows"
    ASSIGN_CASELOAD = "assign_caseload", "Assign released women to practitioners"
    VIEW_OWN_CASELOAD = "view_own_caseload", "See the women assigned to you"
    VIEW_RELEASED_WOMAN = "view_released_woman", "See a released woman's page in delivery while she is in your view"
    RECORD_CONTACT = "record_contact", "Record contact and participation"
    RAISE_SAFEGUARDING = "raise_safeguarding", "Raise safeguarding concerns and serious incidents"
    VIEW_CONCERNS = "view_concerns", "See safeguarding concerns and serious incidents (Pause: about women in its view)"
    ANSWER_CONCERNS = "answer_concerns", "Acknowledge and close safeguarding concerns and serious incidents"
    # Oversight: the conflicts everyone declares, the DPO's work, the Caldicott Guardian's of the DPO
    DECLARE_CONFLICTS = "declare_conflicts", "Declare that you know someone in the data (a conflict of interest)"
    REVIEW_AUDIT_TRAIL = "review_audit_trail", "Review the audit trail"
    ANSWER_RIGHTS_REQUESTS = "answer_rights_requests", "Answer subject access and other rights requests"
    KEEP_BREACH_REGISTER = "keep_breach_register", "Keep the breach register"
    REPORT_SUSPECTED_BREACH = "report_suspected_breach", ("Report a suspected personal data breach to the "
                                                          "data protection officer")
    CONFIRM_RIGHTS_DECISIONS = "confirm_rights_decisions", "Confirm or reject the DPO's erasures and upheld objections"
    REVIEW_DPO_ACTIVITY = "review_dpo_activity", "See the report of the DPO's own activity"
    VIEW_RETENTION = "view_retention", ("See the retention runs, every purge certificate and what falls due for "
                                        "deletion, and preview the next run (a dry run: nothing deleted)")
    VIEW_RECORD_OF_PROCESSING = "view_record_of_processing", "See and download the record of processing (Article 30)"
    VIEW_PROMISES = "view_promises", ("See each promise of the privacy notice, the control that enforces it and the "
                                      "latest evidence that it works")
    VIEW_CALDICOTT_LOG = "view_caldicott_log", ("See and download the Caldicott log: every confirmation or rejection "
                                                "by the Caldicott Guardian, with their justification")
    VIEW_DPIA_REGISTER = "view_dpia_register", "See the DPIA's risk register and when the DPIA is next reviewed"
    KEEP_DPIA_REGISTER = "keep_dpia_register", "Add and change the DPIA's risks, and record its reviews"
    # Running the service
    MANAGE_PEOPLE = "manage_people", "Add and deactivate people, issue sign-in links"
    MANAGE_PROGRAMMES = "manage_programmes", "Set up organisations and programmes"


@dataclass(frozen=True)
class RoleSpec:
    role: Role
    organisation_kind: OrganisationKind | None
    description: str
    permissions: frozenset[Perm]
    needs_second_person: bool = False
    per_programme: bool = True


P = Perm
ROLE_SPECS: dict[Role, RoleSpec] = {
    spec.role: spec
    for spec in (
        RoleSpec(
            Role.TRUST_CASEWORKER,
            OrganisationKind.TRUST,
            "Uploads case extracts, reviews the women the rules propose, and flags or rules out each "
            "one with a reason.",
            frozenset(
                {
                    P.VIEW_OWN_TRUST_RECORDS,
                    P.UPLOAD_EXTRACTS,
                    P.DECIDE_ELIGIBILITY,
                    P.VIEW_PROGRESS_REPORTS,
                    P.RECTIFY_RECORDS,
                    P.DECLARE_CONFLICTS,
                    P.REPORT_SUSPECTED_BREACH,
                }
            ),
        ),
        RoleSpec(
            Role.TRUST_LEAD,
            OrganisationKind.TRUST,
            "Owns the programme: edits the rule set, proposes phase changes, releases flagged women "
            "to Pause, answers safeguarding alerts and approves the final scoping report.",
            frozenset(
                {
                    P.VIEW_OWN_TRUST_RECORDS,
                    P.UPLOAD_EXTRACTS,
                    P.DECIDE_ELIGIBILITY,
                    P.EDIT_RULE_SET,
                    P.PROPOSE_PHASE_CHANGE,
                    P.CONFIRM_PHASE_CHANGE,
                    P.RELEASE_TO_PAUSE,
                    P.APPROVE_FINAL_REPORT,
                    P.VIEW_PROGRAMME_MEMBERS,
                    P.VIEW_GOVERNANCE,
                    P.PROPOSE_AGREEMENT_CHANGE,
                    P.PUBLISH_PRIVACY_NOTICE,
                    P.VIEW_FINAL_REPORT,
                    P.VIEW_PROGRESS_REPORTS,
                    P.VIEW_CONCERNS,
                    P.ANSWER_CONCERNS,
                    P.RESTRICT_PROCESSING,
                    P.VIEW_DPIA_REGISTER,
                    P.KEEP_DPIA_REGISTER,
                    P.DECLARE_CONFLICTS,
                    P.REPORT_SUSPECTED_BREACH,
                }
            ),
            needs_second_person=True,
        ),
        RoleSpec(
            Role.CALDICOTT_GUARDIAN,
            OrganisationKind.TRUST,
            "The second signature on phase changes, on lead, DPO and Caldicott role grants, on "
            "agreement changes and on the DPO's erasures and upheld objections; sees the report of the "
            "DPO's own activity. Sees no case records.",
            frozenset(
                {
                    P.CONFIRM_PHASE_CHANGE,
                    P.CONFIRM_ROLE_GRANT,
                    P.VIEW_PROGRAMME_MEMBERS,
                    P.REVIEW_DPO_ACTIVITY,
                    P.VIEW_GOVERNANCE,
                    P.CONFIRM_AGREEMENT_CHANGE,
                    P.CONFIRM_PRIVACY_NOTICE,
                    P.VIEW_DELETION_CERTIFICATE,
                    P.VIEW_RETENTION,
                    P.VIEW_PROMISES,
                    P.VIEW_PROGRESS_REPORTS,
                    P.CONFIRM_RIGHTS_DECISIONS,
                    P.VIEW_CALDICOTT_LOG,
                    P.VIEW_DPIA_REGISTER,
                    P.DECLARE_CONFLICTS,
                    P.REPORT_SUSPECTED_BREACH,
                }
            ),
            needs_second_person=True,
        ),
        RoleSpec(
            Role.DPO,
            OrganisationKind.TRUST,
            "Reviews every access in the audit trail, answers subject access and rights requests and "
            "keeps the breach register. Sees a person's records only through an open request whose "
            "requester's identity check is recorded; proposes erasures and upheld objections, which the "
            "Caldicott Guardian confirms.",
            frozenset(
                {
                    P.REVIEW_AUDIT_TRAIL,
                    P.ANSWER_RIGHTS_REQUESTS,
                    P.KEEP_BREACH_REGISTER,
                    P.VIEW_RECORD_OF_PROCESSING,
                    P.VIEW_CALDICOTT_LOG,
                    P.VIEW_PROGRAMME_MEMBERS,
                    P.VIEW_GOVERNANCE,
                    P.VIEW_DELETION_CERTIFICATE,
                    P.VIEW_RETENTION,
                    P.VIEW_PROMISES,
                    P.RESTRICT_PROCESSING,
                    P.VIEW_DPIA_REGISTER,
                    P.KEEP_DPIA_REGISTER,
                    P.DECLARE_CONFLICTS,
                    P.REPORT_SUSPECTED_BREACH,
                }
            ),
            needs_second_person=True,
        ),
        RoleSpec(
            Role.PAUSE_LEAD,
            OrganisationKind.PAUSE,
            "Scoping: analyses the pseudonymised release and writes the final report. Delivery: sees "
            "every released woman, orders the target group, assigns women to practitioners and writes "
            "quarterly progress reports.",
            frozenset(
                {
                    P.VIEW_RELEASED_DATA,
                    P.ASSIGN_CASELOAD,
                    P.WRITE_PAUSE_REPORTS,
                    P.VIEW_GOVERNANCE,
                    P.PUBLISH_PRIVACY_NOTICE,
                    P.CONFIRM_PRIVACY_NOTICE,
                    P.VIEW_FINAL_REPORT,
                    P.VIEW_PROGRESS_REPORTS,
                    P.VIEW_RELEASED_WOMAN,
                    P.VIEW_CONCERNS,
                    P.RAISE_SAFEGUARDING,
                    P.DECLARE_CONFLICTS,
                    P.REPORT_SUSPECTED_BREACH,
                }
            ),
        ),
        RoleSpec(
            Role.PAUSE_PRACTITIONER,
            OrganisationKind.PAUSE,
            "Delivery only: sees only the women assigned to them; records contact, participation, "
            "safeguarding concerns and serious incidents.",
            frozenset(
                {
                    P.VIEW_OWN_CASELOAD,
                    P.RECORD_CONTACT,
                    P.RAISE_SAFEGUARDING,
                    P.VIEW_RELEASED_WOMAN,
                    P.VIEW_CONCERNS,
                    P.DECLARE_CONFLICTS,
                    P.REPORT_SUSPECTED_BREACH,
                }
            ),
        ),
        RoleSpec(
            Role.SYSTEM_ADMIN,
            None,
            "Runs the service: people, organisations and programmes. Never sees case data.",
            frozenset({P.MANAGE_PEOPLE, P.MANAGE_PROGRAMMES, P.CONFIRM_ROLE_GRANT}),
            per_programme=False,
        ),
    )
}

TRUST_ROLES = frozenset(r for r, s in ROLE_SPECS.items() if s.organisation_kind == OrganisationKind.TRUST)
SECOND_PERSON_ROLES = frozenset(r for r, s in ROLE_SPECS.items() if s.needs_second_person)


def role_has(role: Role | str | None, perm: Perm) -> bool:
    if role is None:
        return False
    return perm in ROLE_SPECS[Role(role)].permissions


def roles_with(perm: Perm) -> frozenset[Role]:
    return frozenset(r for r, s in ROLE_SPECS.items() if perm in s.permissions)
