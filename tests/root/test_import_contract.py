"""The layers (ADR 23), proved: the import contract holds, every module of the kernel's and the audit
app's packages is named in a layer (so a new one is not silently unchecked), and no model changed
its label or table in the move (labels are sealed into audit entries and stored in redaction
decisions; the list below is the one taken before the redesign)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]

# Every model of ours, label and table, as they were before the redesign (commit 0bcd2dd).
SEALED_LABELS = [
    ("audit.AffectedWoman", "audit_affectedwoman"),  # since issue 23, point 4
    ("audit.AuditChainAnchor", "audit_auditchainanchor"),
    ("audit.AuditEntry", "audit_auditentry"),
    ("audit.AuditSeal", "audit_auditseal"),
    ("audit.AuditSubject", "audit_auditsubject"),
    ("audit.Breach", "audit_breach"),
    ("audit.ConflictDeclaration", "audit_conflictdeclaration"),
    ("audit.ErasureRecord", "audit_erasurerecord"),
    ("audit.MonitoringCursor", "audit_monitoringcursor"),
    ("audit.MonitoringFlag", "audit_monitoringflag"),
    ("audit.PackRedactedSpan", "audit_packredactedspan"),
    ("audit.PurgeCertificate", "audit_purgecertificate"),
    ("audit.RedactionDecision", "audit_redactiondecision"),
    ("audit.RefusalTally", "audit_refusaltally"),
    ("audit.Reminder", "audit_reminder"),  # since issue 23: reminders sent (ADR 47)
    ("audit.ReminderRecipient", "audit_reminderrecipient"),
    ("audit.RequestExtension", "audit_requestextension"),
    ("audit.ReviewSearch", "audit_reviewsearch"),
    ("audit.RightsProposal", "audit_rightsproposal"),
    ("audit.RightsRequest", "audit_rightsrequest"),
    ("audit.SuspectedBreach", "audit_suspectedbreach"),  # since issue 23, point 4
    ("eligibility.CareEpisode", "eligibility_careepisode"),
    ("eligibility.Child", "eligibility_child"),
    ("eligibility.ColumnMapping", "eligibility_columnmapping"),
    ("eligibility.Correction", "eligibility_correction"),
    ("eligibility.Decision", "eligibility_decision"),
    ("eligibility.DuplicateProposal", "eligibility_duplicateproposal"),
    ("eligibility.ErasedPerson", "eligibility_erasedperson"),
    ("eligibility.Evaluation", "eligibility_evaluation"),
    ("eligibility.EvaluationRun", "eligibility_evaluationrun"),
    ("eligibility.Extract", "eligibility_extract"),
    ("eligibility.KeptDecision", "eligibility_keptdecision"),  # since issue 22: a purged woman's decisions
    ("eligibility.LegalStatus", "eligibility_legalstatus"),
    ("eligibility.ReReview", "eligibility_rereview"),
    ("eligibility.RecomputeJob", "eligibility_recomputejob"),
    ("eligibility.Restriction", "eligibility_restriction"),
    ("eligibility.RuleSet", "eligibility_ruleset"),
    ("eligibility.Woman", "eligibility_woman"),
    ("pseudonymisation.DataKey", "pseudonymisation_datakey"),
    ("pseudonymisation.KeyCustodyRecord", "pseudonymisation_keycustodyrecord"),
    ("pseudonymisation.ReencryptionRun", "pseudonymisation_reencryptionrun"),
    ("sharing.AbsenceConfirmation", "sharing_absenceconfirmation"),
    ("sharing.AccountLink", "sharing_accountlink"),
    ("sharing.CaldicottDecision", "sharing_caldicottdecision"),
    ("sharing.Agreement", "sharing_agreement"),
    ("sharing.CaseloadAssignment", "sharing_caseloadassignment"),
    ("sharing.CaseloadGroupObjectPermission", "sharing_caseloadgroupobjectpermission"),
    ("sharing.CaseloadUserObjectPermission", "sharing_caseloaduserobjectpermission"),
    ("sharing.ContactAttempt", "sharing_contactattempt"),
    ("sharing.DeletionCertificate", "sharing_deletioncertificate"),
    ("sharing.DeliveryRelease", "sharing_deliveryrelease"),
    ("sharing.DoNotApproachMarker", "sharing_donotapproachmarker"),
    ("sharing.DpiaReview", "sharing_dpiareview"),
    ("sharing.DpiaRisk", "sharing_dpiarisk"),
    ("sharing.FinalReport", "sharing_finalreport"),
    ("sharing.Membership", "sharing_membership"),
    ("sharing.Organisation", "sharing_organisation"),
    ("sharing.Person", "sharing_person"),
    ("sharing.Person_groups", "sharing_person_groups"),
    ("sharing.Person_user_permissions", "sharing_person_user_permissions"),
    ("sharing.PhaseChange", "sharing_phasechange"),
    ("sharing.PrivacyNotice", "sharing_privacynotice"),
    ("sharing.Programme", "sharing_programme"),
    ("sharing.QuarterlyReport", "sharing_quarterlyreport"),
    ("sharing.ReleaseReinstatement", "sharing_releasereinstatement"),
    ("sharing.ReleasedChild", "sharing_releasedchild"),
    ("sharing.ReleasedWoman", "sharing_releasedwoman"),
    ("sharing.RetentionRun", "sharing_retentionrun"),
    ("sharing.SafeguardingConcern", "sharing_safeguardingconcern"),
    ("sharing.ScopingChildRow", "sharing_scopingchildrow"),
    ("sharing.ScopingExport", "sharing_scopingexport"),
    ("sharing.ScopingIncident", "sharing_scopingincident"),
    ("sharing.ScopingNote", "sharing_scopingnote"),
    ("sharing.ScopingRelease", "sharing_scopingrelease"),
    ("sharing.ScopingReminder", "sharing_scopingreminder"),
    ("sharing.ScopingTableVersion", "sharing_scopingtableversion"),
    ("sharing.ScopingWomanRow", "sharing_scopingwomanrow"),
    ("sharing.SignedInSession", "sharing_signedinsession"),
    ("sharing.StatutoryPower", "sharing_statutorypower"),
]


def _layer_names() -> list[list[str]]:
    """The modules each layer names, top layer first."""
    return [layer.replace("|", " ").replace(":", " ").split() for layer in CONTRACT["layers"]]


def _named_in_layers() -> set[str]:
    return {name for names in _layer_names() for name in names}


def test_the_layers_contract_is_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Each layer imports only those below it KEPT" in result.stdout


def test_the_layers_run_from_the_wiring_down_to_pseudonymisation():
    layers = CONTRACT["layers"]
    assert CONTRACT["type"] == "layers"
    assert "pause_portal.urls" in layers[0] and "pause_portal.settings" in layers[0]
    assert "pause_portal.celery" in layers[0] and "pause_portal.management" in layers[0]
    assert [layer for layer in layers[1:4]] == ["audit.oversight", "sharing", "eligibility"]
    assert layers[4].split(" : ")[0] == "audit.core"
    assert layers[5].split(" : ")[0] == "pause_portal.tenancy"
    assert layers[6] == "pseudonymisation"


def test_every_module_of_pause_portal_and_audit_is_in_a_layer():
    named = _named_in_layers()
    for package in ("pause_portal", "audit"):
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__):
            name = f"{package}.{info.name}"
            if name in {"audit.migrations"}:  # schema history: imports nothing of ours but fields
                continue
            assert name in named, f"{name} is in no layer of the import contract (pyproject.toml)"


def test_no_import_is_ignored():
    """Issue 19: no import runs up a layer, so the contract ignores none (a lower layer tells a
    higher one through a named hook, ADR 24)."""
    assert CONTRACT.get("ignore_imports", []) == []


def test_no_model_changed_its_label_or_table():
    ours = {"audit", "sharing", "eligibility", "pseudonymisation", "pause_portal"}
    now = sorted(
        (m._meta.label, m._meta.db_table)
        for m in apps.get_models(include_auto_created=True)
        if m._meta.app_label in ours
    )
    assert now == sorted(SEALED_LABELS)


def test_the_tenancy_models_live_in_the_kernel_under_the_sharing_label():
    from pause_portal.tenancy import models as tenancy
    from sharing import models as sharing_models

    for name in ("Organisation", "Programme", "Person", "Membership", "AccountLink", "SignedInSession"):
        model = getattr(tenancy, name)
        assert model.__module__ == "pause_portal.tenancy.models"
        assert model._meta.app_label == "sharing"
        assert getattr(sharing_models, name) is model  # re-exported for Django


def test_every_audit_model_is_defined_in_the_audit_core():
    for model in apps.get_app_config("audit").get_models():
        assert model.__module__.startswith("audit.core."), model


def test_the_queue_knows_every_task_by_its_name_from_before_the_move():
    """Task names are the queue's contract: a message enqueued before a deploy must still find its
    task after. The worker discovers the audit app's tasks in its two sub-packages."""
    from pause_portal.celery import app

    app.loader.import_default_modules()
    assert sorted(name for name in app.tasks if not name.startswith("celery.")) == [
        "audit.ensure_trail_partitions",  # since issue 25: the audit trail's month partitions (ADR 52)
        "audit.purge_expired_trail",  # since issue 22: the audit trail's retention, daily (ADR 40)
        "audit.run_monitoring",
        "audit.seal_pending",
        "audit.send_reminders",  # since issue 23: every reminder due (ADR 47)
        "audit.tell_of_rights_proposal",
        "audit.tell_of_suspected_breach",  # since issue 23, point 4: a suspected breach's notice (ADR 49)
        "audit.write_checkpoint",
        "eligibility.recompute",
        "eligibility.run_import",
        "eligibility.sweep_kept_uploads",
        "sharing.apply_retention_schedules",
        "sharing.apply_trust_copy_schedules",  # since issue 22: the Trust's copy's retention
        "sharing.email_set_up_link",  # since issue 24: a new person's one-time link, to them only
        "sharing.end_scoping_at_deadlines",
        "sharing.notify_grant_awaiting_confirmation",
        "sharing.send_scoping_reminders",
        "sharing.tell_deciders_of_agreement",
        "sharing.tell_deciders_of_phase_change",
        "sharing.tell_pause_leads_of_handover",  # since issue 22: a leaving practitioner's caseload
        "sharing.tell_person_of_enrolment",
        "sharing.tell_trust_leads_of_concern",
    ]


def _layer_of(module: str) -> str:
    """The index of the contract's layer that names the module (or a package above it); a module in
    no layer (a package's __init__, migrations) counts as its own top package."""
    for index, names in enumerate(_layer_names()):
        for name in names:
            if module == name or module.startswith(name + "."):
                return str(index)
    return module.split(".")[0]


def test_no_import_across_layers_hides_inside_a_function():
    """Issue 19: the imports inside functions that dodged cycles are gone. One that must stay says
    why, in a comment on its line."""
    import ast

    ours = ("pause_portal", "audit", "sharing", "eligibility", "pseudonymisation")
    hidden = []
    for package in ours:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            source = path.read_text()
            lines = source.splitlines()
            for function in ast.walk(ast.parse(source)):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if (isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ours
                            and _layer_of(node.module) != _layer_of(module)
                            and "#" not in lines[node.lineno - 1]):
                        hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {node.module}")
    assert hidden == []
