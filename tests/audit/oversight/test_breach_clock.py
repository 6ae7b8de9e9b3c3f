"""The breach clock (issue 23, point 4; ADR 49), with frozen time: each of the 24, 48 and 66-hour
reminders is sent exactly once however many sweeps run, to the Trust's DPO (and Pause's DPO when
Pause's side is involved), with no identifier in subject or body; none once the ICO decision is
recorded; and the hours count from when the controller became aware, not from when the form was
filed. All data is synthetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from audit.core.models_reminders import Reminder
from audit.oversight import breach_reports, breaches
from audit.oversight.breach_reminders import KIND, breach_clock
from audit.oversight.reminder_providers import PROVIDERS, run_all
from sharing.models_scoping import Agreement
from tests.audit.oversight.test_rights_world import rights_world

pytestmark = pytest.mark.django_db
AWARE = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PAUSE_DPO = "dpo@pause.example.org"


def _breach(w, *, pause_side=False):
    return breaches.record_breach(programme=w.programme, what_happened="A caseload list went to the wrong office",
                                  found_at=AWARE, people_affected="Two released women: names", risk="risk",
                                  by=w.dpo, pause_side=pause_side)


def _sweep_at(moment: datetime, times: int = 1) -> None:
    with time_machine.travel(moment, tick=False):
        for _ in range(times):
            run_all()


def _identifiers(w, breach) -> list[str]:
    """Everything that must never be in a reminder: the breach's reference and key, the women's
    references, the DPO's name."""
    women = [f"eligibility.woman:{r.woman_id}" for r in w.delivery.released]
    return [breach.reference, f"audit.breach:{breach.pk}", *women, w.dpo.full_name, w.dpo.email.split("@")[0]]


def test_the_provider_is_registered():
    assert PROVIDERS[KIND] is breach_clock


def test_each_reminder_is_sent_exactly_once_to_the_dpo_with_no_identifier():
    with time_machine.travel(AWARE, tick=False):
        w = rights_world(women=2)
        breach = _breach(w)
        breaches.add_affected_women(breach, references=[f"eligibility.woman:{r.woman_id}" for r in w.delivery.released],
                                    by=w.dpo)
    sent_by_step = {}
    for hours in (23, 24, 24, 25, 47, 48, 48, 66, 70):
        before = len(mail.outbox)
        _sweep_at(AWARE + timedelta(hours=hours), times=2)  # two sweeps at the same moment
        sent_by_step.setdefault(hours, []).extend(m.subject for m in mail.outbox[before:])
    assert sent_by_step[23] == []
    assert len(sent_by_step[24]) == 1 and "24 hours of 72" in sent_by_step[24][0]
    assert sent_by_step[25] == [] and sent_by_step[47] == []
    assert len(sent_by_step[48]) == 1 and "48 hours of 72" in sent_by_step[48][0]
    assert len(sent_by_step[66]) == 1 and "66 hours of 72" in sent_by_step[66][0]
    assert sent_by_step[70] == []
    assert len(mail.outbox) == 3
    assert {tuple(m.to) for m in mail.outbox} == {(w.dpo.email,)}
    assert sorted(Reminder.objects.filter(kind=KIND).values_list("stage", flat=True)) == ["24h", "48h", "66h"]
    for message in mail.outbox:
        text = f"{message.subject}\n{message.body}"
        assert w.programme.name in text
        for identifier in _identifiers(w, breach):
            assert identifier not in text, identifier


def test_none_after_the_ico_decision_and_the_reminder_clears():
    with time_machine.travel(AWARE, tick=False):
        w = rights_world(women=0)
        breach = _breach(w)
    _sweep_at(AWARE + timedelta(hours=30))
    assert len(mail.outbox) == 1
    with time_machine.travel(AWARE + timedelta(hours=31), tick=False):
        breaches.record_ico(breach, told_at=AWARE + timedelta(hours=31), reference="ICO-1", by=w.dpo)
    for hours in (48, 66, 70):
        _sweep_at(AWARE + timedelta(hours=hours), times=2)
    assert len(mail.outbox) == 1
    assert not Reminder.objects.filter(kind=KIND, cleared_at__isnull=True).exists()


def test_a_not_told_decision_stops_it_too():
    with time_machine.travel(AWARE, tick=False):
        w = rights_world(women=0)
        breach = _breach(w)
    with time_machine.travel(AWARE + timedelta(hours=10), tick=False):
        breaches.record_ico(breach, told_at=None, not_told_reason="Unlikely to result in a risk", by=w.dpo)
    for hours in (24, 48, 66):
        _sweep_at(AWARE + timedelta(hours=hours))
    assert mail.outbox == []


def test_pause_side_reminders_go_to_pauses_dpo_too():
    with time_machine.travel(AWARE, tick=False):
        w = rights_world(women=0)
        Agreement.objects.filter(programme=w.programme).update(pause_dpo_email=PAUSE_DPO)
        _breach(w, pause_side=True)
    _sweep_at(AWARE + timedelta(hours=24), times=3)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([w.dpo.email, PAUSE_DPO])
    assert all("the Trust and Pause became aware" in m.body for m in mail.outbox)


def test_the_clock_counts_from_when_the_controller_became_aware_not_from_the_form():
    """A report filed at t, the controller aware at t-30h: the 24-hour reminder is due at once."""
    with time_machine.travel(AWARE, tick=False):
        w = rights_world(women=0)
        report = breach_reports.report_suspected_breach(
            programme=w.programme, by=w.caseworker, what_happened="A laptop was left on a train",
            noticed_at=AWARE - timedelta(hours=31), pause_side=False, systems="trust")
        mail.outbox.clear()  # the report's notice
        breach = breach_reports.record_from_report(
            report, by=w.dpo, risk="risk", people_affected="Unknown number of women",
            aware_at=AWARE - timedelta(hours=30), aware_reason="The caseworker told her manager the day before")
        assert breach.aware_at == AWARE - timedelta(hours=30)
        run_all()
    assert len(mail.outbox) == 1 and "24 hours of 72" in mail.outbox[0].subject
    _sweep_at(AWARE + timedelta(hours=18))  # 48 hours since aware, 18 since the form
    assert len(mail.outbox) == 2 and "48 hours of 72" in mail.outbox[1].subject


def test_a_report_left_at_its_default_counts_from_its_filing():
    with time_machine.travel(AWARE, tick=False):
        w = rights_world(women=0)
        report = breach_reports.report_suspected_breach(
            programme=w.programme, by=w.caseworker, what_happened="A letter went to an old address",
            noticed_at=AWARE - timedelta(hours=40), pause_side=False, systems="trust")
    with time_machine.travel(AWARE + timedelta(hours=2), tick=False):
        breach = breach_reports.record_from_report(report, by=w.dpo, risk="risk", people_affected="One woman")
    assert breach.aware_at == AWARE
    mail.outbox.clear()
    _sweep_at(AWARE + timedelta(hours=23, minutes=59))
    assert mail.outbox == []
    _sweep_at(AWARE + timedelta(hours=24))
    assert len(mail.outbox) == 1
