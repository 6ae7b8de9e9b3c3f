"""Phases: a Trust lead proposes the next phase, the Caldicott Guardian or a second Trust lead
confirms (never the proposer, never the DPO); the scoping deadline (start + 3 calendar months +
the agreement's extension) with frozen time; reminders once each at 30, 7 and 1 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.core.models import AuditEntry, Event
from pause_portal.tenancy.models import Phase, Programme
from pause_portal.tenancy.roles import Role
from sharing import phases
from sharing.agreements import confirm_agreement, propose_agreement
from sharing.models_scoping import ChangeStatus, DeletionCertificate, PhaseChange, ScopingReminder
from sharing.phases import (
    confirm_phase_change,
    due_reminder,
    propose_phase_change,
    reject_phase_change,
    scoping_countdown,
    send_scoping_reminder,
    withdraw_phase_change,
)
from sharing.scoping_term import add_months, scoping_deadline, scoping_is_open
from sharing.tasks_governance import send_scoping_reminders
from tests import factories as f
from tests.sharing.notices import trust_notice
from tests.sharing.test_governance_agreements import valid_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_trust_lead(programme):
    person = f.person(programme.trust)
    f.membership(person, programme, Role.TRUST_LEAD)
    return person


def started(programme: Programme, moment: datetime) -> Programme:
    Programme.objects.filter(pk=programme.pk).update(phase_started_at=moment)
    programme.refresh_from_db()
    return programme


# --- two different people --------------------------------------------------------------------
@pytest.mark.parametrize("confirmer", ["caldicott", "second_trust_lead"])
def test_the_caldicott_guardian_or_a_second_trust_lead_confirms(confirmer, programme, trust_lead, caldicott,
                                                              second_trust_lead):
    person = {"caldicott": caldicott, "second_trust_lead": second_trust_lead}[confirmer]
    change = propose_phase_change(programme=programme, by=trust_lead, reason="Scoping showed the need", no_final_report_kept=True)
    assert change.from_phase == Phase.SCOPING and change.to_phase == Phase.DELIVERY
    with time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False):
        confirm_phase_change(change=change, by=person, justification="Synthetic justification")
    programme.refresh_from_db()
    change.refresh_from_db()
    assert programme.phase == Phase.DELIVERY
    assert programme.phase_started_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC) == change.decided_at
    assert change.status == ChangeStatus.CONFIRMED and change.decided_by == person
    entry = AuditEntry.objects.get(event=Event.CHANGE, reason="phase change scoping -> delivery confirmed")
    assert entry.actor_id == person.pk and entry.programme_id == programme.pk


@pytest.mark.parametrize("confirmer", ["proposer", "dpo", "caseworker", "pause_lead", "other_programme_person"])
def test_the_proposer_the_dpo_and_others_cannot_confirm(confirmer, programme, trust_lead, dpo, caseworker, pause_lead,
                                                        other_programme_person):
    person = {"proposer": trust_lead, "dpo": dpo, "caseworker": caseworker, "pause_lead": pause_lead,
              "other_programme_person": other_programme_person}[confirmer]
    change = propose_phase_change(programme=programme, by=trust_lead, reason="Ready", no_final_report_kept=True)
    with pytest.raises(PermissionDenied):
        confirm_phase_change(change=change, by=person, justification="Synthetic justification")
    with pytest.raises(PermissionDenied):
        reject_phase_change(change=change, by=person, justification="Synthetic justification")
    programme.refresh_from_db()
    assert programme.phase == Phase.SCOPING
    assert PhaseChange.objects.get(pk=change.pk).status == ChangeStatus.PROPOSED


@pytest.mark.parametrize("proposer", ["caldicott", "dpo", "caseworker", "pause_lead"])
def test_only_a_trust_lead_proposes(proposer, programme, caldicott, dpo, caseworker, pause_lead):
    person = {"caldicott": caldicott, "dpo": dpo, "caseworker": caseworker, "pause_lead": pause_lead}[proposer]
    with pytest.raises(PermissionDenied):
        propose_phase_change(programme=programme, by=person, reason="Ready", no_final_report_kept=True)
    assert not PhaseChange.objects.exists()


def test_the_database_refuses_a_change_decided_by_its_proposer(programme, trust_lead):
    with pytest.raises(IntegrityError), transaction.atomic():
        PhaseChange.objects.create(programme=programme, from_phase="scoping", to_phase="delivery", reason="x",
                                   proposed_by=trust_lead, status=ChangeStatus.CONFIRMED, decided_by=trust_lead)


def test_forward_only_one_at_a_time_with_a_reason(programme, trust_lead, caldicott, second_trust_lead):
    with pytest.raises(ValidationError, match="Enter why"):
        propose_phase_change(programme=programme, by=trust_lead, reason="  ")
    with pytest.raises(ValidationError, match="moves forward only"):
        propose_phase_change(programme=programme, by=trust_lead, reason="Back", to_phase=Phase.SCOPING)
    change = propose_phase_change(programme=programme, by=trust_lead, reason="Ready", no_final_report_kept=True)
    with pytest.raises(ValidationError, match="already waiting"):
        propose_phase_change(programme=programme, by=second_trust_lead, reason="Me too", no_final_report_kept=True)
    confirm_phase_change(change=change, by=caldicott, justification="Synthetic justification")
    closing = propose_phase_change(programme=programme, by=second_trust_lead, reason="Programme over")
    assert (closing.from_phase, closing.to_phase) == (Phase.DELIVERY, Phase.CLOSED)
    with pytest.raises(ValidationError, match="already waiting"):
        propose_phase_change(programme=programme, by=trust_lead, reason="Back", to_phase=Phase.CLOSED)
    confirm_phase_change(change=closing, by=trust_lead, justification="Synthetic justification")  # the first lead is the second person now
    programme.refresh_from_db()
    assert programme.phase == Phase.CLOSED
    with pytest.raises(ValidationError, match="closed"):
        propose_phase_change(programme=programme, by=trust_lead, reason="Again")


def test_rejected_and_withdrawn_changes_leave_the_phase(programme, trust_lead, caldicott, second_trust_lead):
    change = propose_phase_change(programme=programme, by=trust_lead, reason="Ready", no_final_report_kept=True)
    reject_phase_change(change=change, by=caldicott, justification="Not yet: the report is not approved")
    assert AuditEntry.objects.filter(reason__endswith="rejected: Not yet: the report is not approved").exists()
    again = propose_phase_change(programme=programme, by=trust_lead, reason="Ready now", no_final_report_kept=True)
    with pytest.raises(PermissionDenied):
        withdraw_phase_change(change=again, by=second_trust_lead)  # only its proposer
    withdraw_phase_change(change=again, by=trust_lead)
    with pytest.raises(ValidationError, match="not waiting"):
        confirm_phase_change(change=again, by=caldicott, justification="Synthetic justification")
    programme.refresh_from_db()
    assert programme.phase == Phase.SCOPING and not DeletionCertificate.objects.exists()


def test_leaving_scoping_ends_it_with_a_deletion_certificate(programme, trust_lead, caldicott):
    change = propose_phase_change(programme=programme, by=trust_lead, reason="Ready", no_final_report_kept=True)
    confirm_phase_change(change=change, by=caldicott, justification="Synthetic justification")
    certificate = DeletionCertificate.objects.get(programme=programme)
    assert certificate.purged_by == caldicott and certificate.trigger == f"phase change #{change.pk}"


def test_the_phase_change_rolls_back_when_its_audit_entry_cannot_be_written(programme, trust_lead, caldicott,
                                                                           monkeypatch):
    change = propose_phase_change(programme=programme, by=trust_lead, reason="Ready", no_final_report_kept=True)

    def failing(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(phases, "record_event", failing)
    with pytest.raises(RuntimeError):
        confirm_phase_change(change=change, by=caldicott, justification="Synthetic justification")
    programme.refresh_from_db()
    assert programme.phase == Phase.SCOPING
    assert PhaseChange.objects.get(pk=change.pk).status == ChangeStatus.PROPOSED
    assert not DeletionCertificate.objects.exists()  # the purge went back with it


# --- the deadline ----------------------------------------------------------------------------
def test_30_november_plus_three_months_is_the_end_of_february():
    assert add_months(datetime(2026, 11, 30, 10, tzinfo=UTC), 3) == datetime(2027, 2, 28, 10, tzinfo=UTC)
    assert add_months(datetime(2027, 11, 30, 10, tzinfo=UTC), 3) == datetime(2028, 2, 29, 10, tzinfo=UTC)
    assert add_months(datetime(2026, 10, 31, tzinfo=UTC), 3) == datetime(2027, 1, 31, tzinfo=UTC)


def test_the_deadline_and_its_extension_through_a_confirmed_agreement(programme, trust_lead, caldicott):
    started(programme, datetime(2026, 11, 30, 10, tzinfo=UTC))
    assert scoping_deadline(programme) == datetime(2027, 2, 28, 10, tzinfo=UTC)
    trust_notice(programme, by=trust_lead, confirmed_by=caldicott, extension_days=14)  # an extension needs one
    v1 = propose_agreement(programme=programme, by=trust_lead, change_reason="Christmas closure",
                           values=valid_values(scoping_extension_days=14))
    assert scoping_deadline(programme) == datetime(2027, 2, 28, 10, tzinfo=UTC)  # not until confirmed
    confirm_agreement(agreement=v1, by=caldicott, justification="Within the agreed purpose")
    assert scoping_deadline(programme) == datetime(2027, 3, 14, 10, tzinfo=UTC)
    with time_machine.travel(datetime(2027, 3, 14, 9, 59, tzinfo=UTC), tick=False):
        assert scoping_is_open(programme)
        countdown = scoping_countdown(programme)
        assert countdown.days_left == 0 and not countdown.ended
    with time_machine.travel(datetime(2027, 3, 14, 10, 0, tzinfo=UTC), tick=False):
        assert not scoping_is_open(programme)  # no worker ran
        assert scoping_countdown(programme).ended
    with time_machine.travel(datetime(2027, 2, 12, 8, 0, tzinfo=UTC), tick=False):
        assert scoping_countdown(programme).days_left == 30


def test_no_countdown_outside_scoping(programme, trust_lead, caldicott):
    confirm_phase_change(change=propose_phase_change(programme=programme, by=trust_lead, reason="Ready",
                                                     no_final_report_kept=True), by=caldicott, justification="Synthetic justification")
    programme.refresh_from_db()
    assert scoping_countdown(programme) is None and due_reminder(programme) is None


# --- reminders -------------------------------------------------------------------------------
DEADLINE = datetime(2027, 2, 28, 10, tzinfo=UTC)


@pytest.mark.parametrize(("at", "due"), [
    (DEADLINE - timedelta(days=31), None),
    (DEADLINE - timedelta(days=30), 30),
    (DEADLINE - timedelta(days=8), 30),
    (DEADLINE - timedelta(days=7), 7),
    (DEADLINE - timedelta(days=2), 7),
    (DEADLINE - timedelta(days=1), 1),
    (DEADLINE - timedelta(minutes=1), 1),
    (DEADLINE, None),
])
def test_which_reminder_is_due(at, due, programme):
    started(programme, datetime(2026, 11, 30, 10, tzinfo=UTC))
    assert due_reminder(programme, at) == due


def test_reminders_go_once_each_at_30_7_and_1_days_to_the_trust_leads_and_pause_lead(
        programme, trust_lead, second_trust_lead, pause_lead, caldicott, dpo, caseworker, practitioner, mailoutbox):
    started(programme, datetime(2026, 11, 30, 10, tzinfo=UTC))
    sent = []
    day = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    while day < DEADLINE + timedelta(days=2):
        for _ in range(2):  # beat twice on the same day (a restart): still once
            with time_machine.travel(day, tick=False):
                if send_scoping_reminders():
                    sent.append(((DEADLINE - day).days, len(mailoutbox)))
        day += timedelta(days=1)
    assert [days for days, _ in sent] == [29, 6, 0]  # the first daily run inside each window
    assert list(ScopingReminder.objects.order_by("sent_at").values_list("days_before", flat=True)) == [30, 7, 1]
    assert len(mailoutbox) == 9
    recipients = {m.to[0] for m in mailoutbox}
    assert recipients == {trust_lead.email, second_trust_lead.email, pause_lead.email}
    subjects = [m.subject for m in mailoutbox[::3]]
    assert subjects == ["Scoping ends in 30 days", "Scoping ends in 7 days", "Scoping ends in 1 day"]
    for message in mailoutbox:
        assert "28 February 2027" in message.body
        for person in (trust_lead, second_trust_lead, pause_lead):
            assert person.full_name not in message.body and person.email not in message.body


def test_a_new_deadline_gets_its_own_reminders(programme, trust_lead, caldicott, mailoutbox):
    started(programme, datetime(2026, 11, 30, 10, tzinfo=UTC))
    with time_machine.travel(DEADLINE - timedelta(days=3), tick=False):
        assert send_scoping_reminder(programme=programme) == 1  # the 7-day one (the 30-day one is stale)
        assert send_scoping_reminder(programme=programme) == 0
        trust_notice(programme, by=trust_lead, confirmed_by=caldicott, extension_days=30)
        v1 = propose_agreement(programme=programme, by=trust_lead, change_reason="More time",
                               values=valid_values(scoping_extension_days=30))
        confirm_agreement(agreement=v1, by=caldicott, justification="Within the agreed purpose")
        assert send_scoping_reminder(programme=programme) == 0  # 33 days left: nothing due yet
    with time_machine.travel(DEADLINE, tick=False):
        assert send_scoping_reminder(programme=programme) == 1  # 30 days before the new deadline
    assert [m.subject for m in mailoutbox] == ["Scoping ends in 7 days", "Scoping ends in 30 days"]
    assert ScopingReminder.objects.filter(deadline=DEADLINE + timedelta(days=30), days_before=30).exists()


@pytest.mark.django_db(transaction=True)  # the scheduler closes "old" connections: not inside a test transaction
def test_the_reminder_task_is_on_the_daily_beat_schedule_of_a_fresh_database():
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from pause_portal.celery import app

    assert not PeriodicTask.objects.filter(task="sharing.send_scoping_reminders").exists()
    DatabaseScheduler(app=app, lazy=True).setup_schedule()
    task = PeriodicTask.objects.get(task="sharing.send_scoping_reminders")
    assert task.enabled and (task.crontab.hour, task.crontab.minute) == ("7", "0")
    assert "sharing.send_scoping_reminders" in app.tasks
    for name in ("sharing.end_scoping_at_deadlines", "audit.seal_pending", "audit.write_checkpoint",
                 "sharing.apply_retention_schedules"):
        assert PeriodicTask.objects.get(task=name).enabled, name


def test_the_reminder_is_recorded_in_the_audit_trail(programme, trust_lead, mailoutbox):
    started(programme, datetime(2026, 11, 30, 10, tzinfo=UTC))
    with time_machine.travel(DEADLINE - timedelta(days=1), tick=False):
        send_scoping_reminder(programme=programme)
    entry = AuditEntry.objects.get(reason="scoping deadline reminder (1 days before) sent to 1 people")
    assert entry.programme_id == programme.pk and entry.actor_id is None
    assert timezone.now()  # the clock is back
