"""Leaving scoping honestly (issue 16, point 7). The finding: the Caldicott Guardian confirmed a move
from scoping to delivery with no final report written; the page still said "leaving the approved
final report", the proposer's reason said the report was approved, the purge kept nothing, and
nobody was shown or told that the change waited.

Now: leaving scoping needs an approved final report or the proposer's recorded choice to end
scoping with no final report kept (checked again at confirmation); the phase page states the
report's real state and what the purge keeps; waiting phase changes and agreement versions are on
the deciders' dashboards and emailed to them (with no identifier); reminders say whether a report
is approved."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from audit.core.models import AuditEntry
from pause_portal.tenancy.models import Phase, Programme
from pause_portal.tenancy.roles import Role
from pseudonymisation import keys
from pseudonymisation.models import Purpose
from pseudonymisation.tokens import TokenKind, TokenMaker
from sharing import final_report
from sharing.agreements import propose_agreement
from sharing.leaving_scoping import leaving_scoping
from sharing.models_scoping import (
    ChangeStatus,
    DeletionCertificate,
    FinalReport,
    PhaseChange,
    ReportStatus,
    ScopingChildRow,
    ScopingWomanRow,
)
from sharing.phases import confirm_phase_change, propose_phase_change, send_scoping_reminder
from sharing.scoping_purge import end_scoping
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.test_governance_agreements import valid_values
from tests.sharing.test_scoping_world import Cohort, member

pytestmark = pytest.mark.django_db

PHASE = reverse("governance:phase")
PROPOSE = reverse("governance:phase-propose")
DECIDE = reverse("governance:phase-decide")
APPROVED_ON = datetime(2027, 1, 15, 10, tzinfo=UTC)
TITLE = "Scoping findings for the test programme"


@pytest.fixture
def second_trust_lead(programme):
    return member(programme, Role.TRUST_LEAD)


def report(programme, pause_lead, status, *, decided_by=None) -> FinalReport:
    approved = status == ReportStatus.APPROVED
    return FinalReport.objects.create(
        programme=programme, title=TITLE, body="Findings in words.", written_by=pause_lead, status=status,
        decided_by=decided_by if approved else None, decided_at=APPROVED_ON if approved else None)


def snapshot(programme, trust_lead, caldicott) -> tuple[list[str], list[str]]:
    """Two released women with invented names (and a child each) in the scoping snapshot: their
    identifiers, and every scoping token."""
    cohort = Cohort(programme, trust_lead)
    agreement = f.AgreementFactory(programme=programme, proposed_by=trust_lead, decided_by=caldicott)
    release = f.ScopingReleaseFactory(programme=programme, agreement=agreement, women=2)
    maker = TokenMaker(keys.Keyring.load(keys.KeyScope(programme.pk, "scoping", Purpose.TOKEN)))
    for n in range(2):
        woman = cohort.woman(born=date(1991, 3, n + 1), ethnicity="WBRI", removals=[date(2016, 5, 1)])
        row = f.ScopingWomanRowFactory(release=release, woman=woman, token=maker.make(TokenKind.WOMAN, f"TP{n}"),
                                       children_removed_fine=1, children_removed="1")
        f.ScopingChildRowFactory(mother_row=row, token=maker.make(TokenKind.CHILD, f"TC{n}"))
    tokens = [*ScopingWomanRow.objects.values_list("token", flat=True),
              *ScopingChildRow.objects.values_list("token", flat=True)]
    return cohort.identifiers, tokens


def page_text(client) -> str:
    """The phase page's words, without markup (so a sentence split by a tag still reads whole)."""
    body = client.get(PHASE).content.decode()
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


# --- the refusal, and the two honest ways out ------------------------------------------------
@pytest.mark.parametrize("state", ["none", ReportStatus.DRAFT, ReportStatus.SUBMITTED, ReportStatus.RETURNED])
def test_leaving_scoping_with_no_approved_report_is_refused_and_nothing_changes(state, programme, trust_lead,
                                                                               pause_lead, caldicott):
    if state != "none":
        report(programme, pause_lead, state)
    entries = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as refused:
        propose_phase_change(programme=programme, by=trust_lead, reason="The final report is approved")
    assert refused.value.message_dict == {"no_final_report_kept": [
        "No final report is approved, so ending scoping now keeps no report of it. Wait until a Trust lead "
        "approves the final report, or choose “End scoping with no final report kept”"]}
    assert not PhaseChange.objects.exists() and AuditEntry.objects.count() == entries and mail.outbox == []
    programme.refresh_from_db()
    assert programme.phase == Phase.SCOPING


def test_the_finding_no_report_then_the_explicit_choice_and_the_confirmers_page_says_nothing_is_kept(
        programme, trust_lead, caldicott, pause_lead):
    lead = sign_in_verified(Client(), trust_lead)
    form = lead.get(PHASE).content.decode()
    assert "End scoping with no final report kept" in form and 'type="checkbox"' in form
    response = lead.post(PROPOSE, {"reason": "The final report is approved"})
    assert response.status_code == 400 and not PhaseChange.objects.exists()
    assert "No final report is approved, so ending scoping now keeps no report of it" in response.content.decode()

    assert lead.post(PROPOSE, {"reason": "Scoping is done", "no_final_report_kept": "on"}).status_code == 302
    change = PhaseChange.objects.get()
    assert change.no_final_report_kept and change.status == ChangeStatus.PROPOSED
    assert AuditEntry.objects.filter(reason__contains="proposed (end scoping with no final report kept)").exists()

    guardian = sign_in_verified(Client(), caldicott)
    text = page_text(guardian)
    assert "leaving the approved final report" not in text and "approved final report" not in text.lower()
    assert "End scoping with no final report kept Yes: the proposer chose to end scoping with no final report kept" \
        in text
    assert "Final report now No final report has been written" in text
    assert "The purge will keep The Trust's own records A deletion certificate No final report will be kept." in text
    assert ("Confirming ends scoping: Pause's scoping data is deleted and the scoping key destroyed, keeping "
            "the Trust's own records and a deletion certificate, and no final report.") in text
    assert guardian.post(DECIDE, {"proposal": change.pk, "decision": "confirm", "reason": "Synthetic justification"}).status_code == 302
    programme.refresh_from_db()
    certificate = DeletionCertificate.objects.get(programme=programme)
    assert programme.phase == Phase.DELIVERY
    assert [k["what"] for k in certificate.kept] == ["The Trust's own records"]
    assert "ending scoping with no final report kept" in page_text(guardian)  # the history shows the choice


def test_a_draft_is_named_as_a_draft_that_the_purge_deletes(programme, trust_lead, caldicott, pause_lead):
    report(programme, pause_lead, ReportStatus.SUBMITTED)
    propose_phase_change(programme=programme, by=trust_lead, reason="Out of time", no_final_report_kept=True)
    text = page_text(sign_in_verified(Client(), caldicott))
    assert (f"Final report now Submitted, waiting for a Trust lead's approval: “{TITLE}”. It is not approved, "
            "so the purge deletes it") in text
    assert "No final report will be kept." in text


def test_with_an_approved_report_the_move_is_allowed_and_the_page_names_it(programme, trust_lead, caldicott,
                                                                          pause_lead):
    approved = report(programme, pause_lead, ReportStatus.APPROVED, decided_by=trust_lead)
    lead = sign_in_verified(Client(), trust_lead)
    assert "End scoping with no final report kept" not in lead.get(PHASE).content.decode()  # nothing to choose
    assert lead.post(PROPOSE, {"reason": "Scoping is done"}).status_code == 302
    change = PhaseChange.objects.get()
    assert not change.no_final_report_kept

    guardian = sign_in_verified(Client(), caldicott)
    text = page_text(guardian)
    assert f"Final report now Approved: “{TITLE}”, approved on 15 January 2027" in text
    assert "The purge will keep Approved final report The Trust's own records A deletion certificate" in text
    assert "keeping the approved final report and the Trust's own records and a deletion certificate." in text
    assert "No final report will be kept" not in text
    guardian.post(DECIDE, {"proposal": change.pk, "decision": "confirm", "reason": "Synthetic justification"})
    certificate = DeletionCertificate.objects.get(programme=programme)
    assert {"what": "Approved final report", "id": approved.pk} in certificate.kept
    assert list(FinalReport.objects.all()) == [approved]


def test_choosing_no_report_while_one_is_approved_is_refused(programme, trust_lead, pause_lead):
    report(programme, pause_lead, ReportStatus.APPROVED, decided_by=trust_lead)
    with pytest.raises(ValidationError, match="A final report is approved, and ending scoping keeps it"):
        propose_phase_change(programme=programme, by=trust_lead, reason="Done", no_final_report_kept=True)
    assert not PhaseChange.objects.exists()


def test_the_choice_belongs_to_leaving_scoping_only(programme, trust_lead, caldicott):
    Programme.objects.filter(pk=programme.pk).update(phase=Phase.DELIVERY)
    with pytest.raises(ValidationError, match="Only a move out of scoping ends scoping"):
        propose_phase_change(programme=programme, by=trust_lead, reason="Over", no_final_report_kept=True)
    closing = propose_phase_change(programme=programme, by=trust_lead, reason="Over")
    assert "End scoping with no final report kept" not in page_text(sign_in_verified(Client(), caldicott))
    confirm_phase_change(change=closing, by=caldicott, justification="Synthetic justification")


# --- confirmation checks again, and the page tells the truth then ----------------------------
def test_a_report_approved_after_a_no_report_proposal_is_said_and_kept(programme, trust_lead, second_trust_lead,
                                                                       caldicott, pause_lead):
    submitted = report(programme, pause_lead, ReportStatus.SUBMITTED)
    change = propose_phase_change(programme=programme, by=trust_lead, reason="Out of time", no_final_report_kept=True)
    with time_machine.travel(APPROVED_ON, tick=False):
        final_report.approve(submitted, by=second_trust_lead)
    text = page_text(sign_in_verified(Client(), caldicott))
    assert ("The proposer chose to end scoping with no final report kept, but a final report has been approved "
            "since then: the purge keeps it.") in text
    assert f"Final report now Approved: “{TITLE}”, approved on 15 January 2027" in text
    assert "No final report will be kept" not in text
    confirm_phase_change(change=change, by=caldicott, justification="Synthetic justification")
    assert {"what": "Approved final report", "id": submitted.pk} in DeletionCertificate.objects.get().kept


def test_a_waiting_change_with_neither_a_report_nor_the_choice_cannot_be_confirmed(programme, trust_lead, caldicott):
    # e.g. proposed before the rule existed (the migration left such rows without the choice)
    change = PhaseChange.objects.create(programme=programme, from_phase=Phase.SCOPING, to_phase=Phase.DELIVERY,
                                        reason="The report is approved", proposed_by=trust_lead)
    guardian = sign_in_verified(Client(), caldicott)
    assert "This change cannot be confirmed: no final report is approved" in page_text(guardian)
    response = guardian.post(DECIDE, {"proposal": change.pk, "decision": "confirm", "reason": "Synthetic justification"})
    assert response.status_code == 400
    assert "the proposer did not choose to end scoping with no final report kept" in response.content.decode()
    with pytest.raises(ValidationError, match="No final report is approved"):
        confirm_phase_change(change=change, by=caldicott, justification="Synthetic justification")
    programme.refresh_from_db()
    assert programme.phase == Phase.SCOPING and not DeletionCertificate.objects.exists()
    assert PhaseChange.objects.get().status == ChangeStatus.PROPOSED
    assert guardian.post(DECIDE, {"proposal": change.pk, "decision": "reject",
                                  "reason": "No report"}).status_code == 302  # rejecting it still works


def test_after_the_deadlines_purge_the_page_says_what_was_kept(programme, trust_lead, caldicott):
    end_scoping(programme, by=None, trigger="deadline")
    propose_phase_change(programme=programme, by=trust_lead, reason="Deadline passed", no_final_report_kept=True)
    text = page_text(sign_in_verified(Client(), caldicott))
    assert "The purge kept The Trust's own records A deletion certificate No final report was kept." in text
    assert "Scoping already ended on" in text and "Confirming ends scoping" not in text


@pytest.mark.parametrize("approved", [True, False])
def test_what_the_page_says_the_purge_keeps_is_what_it_keeps(approved, programme, trust_lead, caldicott, pause_lead):
    if approved:
        report(programme, pause_lead, ReportStatus.APPROVED, decided_by=trust_lead)
    report(programme, pause_lead, ReportStatus.DRAFT)
    change = propose_phase_change(programme=programme, by=trust_lead, reason="Done", no_final_report_kept=not approved)
    said = leaving_scoping(programme, change).keeps
    confirm_phase_change(change=change, by=caldicott, justification="Synthetic justification")
    assert said == [k["what"] for k in DeletionCertificate.objects.get().kept]


# --- dashboards -------------------------------------------------------------------------------
def test_waiting_proposals_are_on_the_deciders_dashboards_with_a_link_and_not_on_the_proposers(
        programme, trust_lead, second_trust_lead, caldicott, dpo, pause_lead):
    propose_phase_change(programme=programme, by=trust_lead, reason="Done", no_final_report_kept=True)
    propose_agreement(programme=programme, by=trust_lead, values=valid_values())

    def dashboard(person) -> str:
        return sign_in_verified(Client(), person).get(reverse("dashboard")).content.decode()

    guardian = dashboard(caldicott)
    assert "Waiting for your decision" in guardian
    assert "Moving from scoping to delivery, ending scoping with no final report kept" in guardian
    assert f'href="{PHASE}">Decide the phase change' in guardian
    assert "Version 1 of the data-sharing agreement" in guardian
    assert f'href="{reverse("governance:agreement-decide")}">Decide the agreement version' in guardian

    second = dashboard(second_trust_lead)  # may confirm the phase change, not the agreement
    assert "Decide the phase change" in second and "Decide the agreement version" not in second

    proposer = dashboard(trust_lead)
    assert "Waiting for your decision" not in proposer and "Decide the" not in proposer
    assert "Your proposals waiting for a decision" in proposer
    assert "waits for the Caldicott Guardian or another Trust lead" in proposer

    for person in (dpo, pause_lead):
        body = dashboard(person)
        assert "Waiting for your decision" not in body and "Decide the" not in body


def test_nothing_waits_on_the_dashboard_once_decided(programme, trust_lead, caldicott):
    change = propose_phase_change(programme=programme, by=trust_lead, reason="Done", no_final_report_kept=True)
    confirm_phase_change(change=change, by=caldicott, justification="Synthetic justification")
    body = sign_in_verified(Client(), caldicott).get(reverse("dashboard")).content.decode()
    assert "Waiting for your decision" not in body


# --- emails -----------------------------------------------------------------------------------
def assert_nothing_identifies_anyone(message, forbidden: list[str]) -> str:
    text = f"{message.subject}\n{message.body}\n" + "\n".join(str(v) for v in message.extra_headers.values())
    leaked = [s for s in forbidden if s and s.lower() in text.lower()]
    assert leaked == [], leaked
    assert not getattr(message, "alternatives", None) and not message.attachments
    return text


def test_a_proposed_phase_change_is_emailed_to_those_who_may_confirm_it_and_names_no_one(
        programme, trust_lead, second_trust_lead, caldicott, dpo, pause_lead, caseworker,
        django_capture_on_commit_callbacks):
    identifiers, tokens = snapshot(programme, trust_lead, caldicott)
    assert identifiers and tokens
    lead = sign_in_verified(Client(), trust_lead)
    with django_capture_on_commit_callbacks(execute=True):
        assert lead.post(PROPOSE, {"reason": f"Scoping done; see {tokens[0]}",
                                   "no_final_report_kept": "on"}).status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == sorted([caldicott.email, second_trust_lead.email])
    people = [p.full_name for p in (trust_lead, second_trust_lead, caldicott, dpo, pause_lead, caseworker)]
    for message in mail.outbox:
        text = assert_nothing_identifies_anyone(message, [*identifiers, *tokens, *people, "Scoping done"])
        assert re.findall(r"https?://\S+", text) == ["http://testserver" + PHASE]
        assert programme.name in message.body and "A Trust lead has proposed moving" in message.body
        assert "from scoping to delivery" in message.body and "awaits your decision" in message.subject
        assert "No final report is approved" in message.body
        assert 'The proposer chose "End scoping with no final report kept"' in message.body
    assert AuditEntry.objects.filter(reason__contains="2 people who may decide it told by email").exists()


def test_a_proposed_agreement_version_is_emailed_to_the_caldicott_guardian_only(
        programme, trust_lead, second_trust_lead, caldicott, dpo, django_capture_on_commit_callbacks):
    from tests.sharing.test_governance_pages import agreement_form

    lead = sign_in_verified(Client(), trust_lead)
    with django_capture_on_commit_callbacks(execute=True):
        assert lead.post(reverse("governance:agreement-propose"), agreement_form()).status_code == 302
    assert [m.to[0] for m in mail.outbox] == [caldicott.email]
    text = assert_nothing_identifies_anyone(mail.outbox[0], [trust_lead.full_name, caldicott.full_name])
    assert re.findall(r"https?://\S+", text) == ["http://testserver" + reverse("governance:agreement-decide")]
    assert "version 1 of the data-sharing agreement" in text and programme.name in text


def test_the_email_waits_for_the_commit_and_carries_only_the_id_and_the_address(
        programme, trust_lead, caldicott, django_capture_on_commit_callbacks, monkeypatch):
    from sharing.tasks_governance import tell_deciders_of_phase_change

    sent = []
    real = tell_deciders_of_phase_change.apply_async

    def spy(args=None, kwargs=None, **options):
        sent.append((args, kwargs))
        return real(args=args, kwargs=kwargs, **options)

    monkeypatch.setattr(tell_deciders_of_phase_change, "apply_async", spy)
    with django_capture_on_commit_callbacks(execute=False) as pending:
        change = propose_phase_change(programme=programme, by=trust_lead, reason="Done", no_final_report_kept=True,
                                      portal_url="https://portal.example/governance/phase/")
    assert len(pending) == 1 and mail.outbox == [] and sent == []  # not inside the transaction
    pending[0]()
    assert sent == [((change.pk, "https://portal.example/governance/phase/"), {})]
    assert [m.to[0] for m in mail.outbox] == [caldicott.email]


def test_no_email_once_the_change_no_longer_waits(programme, trust_lead, caldicott, django_capture_on_commit_callbacks):
    from sharing.governance_emails import tell_phase_change_deciders

    with django_capture_on_commit_callbacks(execute=False):
        change = propose_phase_change(programme=programme, by=trust_lead, reason="Done", no_final_report_kept=True)
    confirm_phase_change(change=change, by=caldicott, justification="Synthetic justification")
    assert tell_phase_change_deciders(change_id=change.pk) == 0 and mail.outbox == []


# --- reminders --------------------------------------------------------------------------------
DEADLINE = datetime(2027, 2, 28, 10, tzinfo=UTC)


@pytest.mark.parametrize("approved", [False, True])
def test_the_reminders_say_whether_a_report_is_approved_and_what_the_purge_keeps(approved, programme, trust_lead,
                                                                                 pause_lead, caldicott, mailoutbox):
    identifiers, tokens = snapshot(programme, trust_lead, caldicott)
    Programme.objects.filter(pk=programme.pk).update(phase_started_at=datetime(2026, 11, 30, 10, tzinfo=UTC))
    programme.refresh_from_db()
    report(programme, pause_lead, ReportStatus.APPROVED if approved else ReportStatus.DRAFT, decided_by=trust_lead)
    with time_machine.travel(DEADLINE - timedelta(days=7), tick=False):
        assert send_scoping_reminder(programme=programme) == 2
    for message in mailoutbox:
        body = " ".join(message.body.split())
        assert "28 February 2027 at 10:00" in body and message.subject == "Scoping ends in 7 days"
        if approved:
            assert "A final report was approved on 15 January 2027. The purge at the deadline keeps it" in body
            assert "No final report has been approved" not in body
        else:
            assert "No final report has been approved. A draft, not submitted for approval." in body
            assert "the purge keeps no final report: only the Trust's own records and a deletion certificate" in body
            assert "only the approved final report is kept" not in body
        assert_nothing_identifies_anyone(message, [*identifiers, *tokens, TITLE, trust_lead.full_name])


def test_a_reminder_with_no_report_written_says_so(programme, trust_lead, mailoutbox):
    Programme.objects.filter(pk=programme.pk).update(phase_started_at=datetime(2026, 11, 30, 10, tzinfo=UTC))
    programme.refresh_from_db()
    with time_machine.travel(DEADLINE - timedelta(days=1), tick=False):
        send_scoping_reminder(programme=programme)
    body = " ".join(mailoutbox[0].body.split())
    assert "No final report has been approved. None has been written yet." in body
