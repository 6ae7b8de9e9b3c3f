"""The breach register: what happened, when it was found, who is affected, the 72-hour clock to
the ICO (frozen time), whether the people were told; the DPO only; descriptions encrypted.
All data is synthetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from audit.core.models import AuditEntry, Event
from audit.core.models_rights import Breach, BreachStatus
from audit.oversight import breaches
from audit.oversight.due_dates import ico_clock
from tests.audit.oversight.test_rights_world import rights_world

pytestmark = pytest.mark.django_db
FOUND = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_the_72_hour_clock():
    assert ico_clock(FOUND, now=FOUND + timedelta(hours=10)).describe() == "62 hours 0 minutes left"
    assert ico_clock(FOUND, now=FOUND + timedelta(hours=71, minutes=59)).describe() == "0 hours 1 minute left"
    late = ico_clock(FOUND, now=FOUND + timedelta(hours=73, minutes=5))
    assert late.overdue and late.describe() == "1 hour 5 minutes overdue"
    assert ico_clock(FOUND, told_at=FOUND + timedelta(hours=50)).describe() == "ICO told within 72 hours"
    told_late = ico_clock(FOUND, told_at=FOUND + timedelta(hours=80))
    assert told_late.overdue and not told_late.told_within
    assert ico_clock(FOUND).deadline == datetime(2026, 3, 5, 9, 30, tzinfo=UTC)


def _record(w, **overrides):
    values = dict(programme=w.programme, what_happened="A caseload list was emailed to the wrong Pause practice",
                  found_at=FOUND, happened_at=FOUND - timedelta(hours=3),
                  people_affected="12 released women: names and addresses", affected_count=12, risk="risk",
                  actions_taken="Recipient confirmed deletion", by=w.dpo)
    values.update(overrides)
    return breaches.record_breach(**values)


@time_machine.travel(FOUND + timedelta(hours=30), tick=False)
def test_recording_a_breach_and_its_clock_with_frozen_time():
    w = rights_world(women=0)
    breach = _record(w)
    assert breach.reference == "BR-2026-001" and breach.status == BreachStatus.OPEN
    stored = Breach.objects.get(pk=breach.pk)
    assert b"wrong Pause practice" not in bytes(stored.what_happened)  # encrypted at rest
    [view] = breaches.views_of([stored], by=w.dpo, page="/t")
    assert view.what_happened.startswith("A caseload list") and view.people_affected.startswith("12 released")
    assert view.clock.describe() == "42 hours 0 minutes left" and view.ico_needed
    entry = AuditEntry.objects.filter(object_repr=f"audit.breach:{breach.pk}").get()
    assert entry.reason == f"breach {breach.reference} recorded"
    with time_machine.travel(FOUND + timedelta(hours=75), tick=False):
        [view] = breaches.views_of([stored], by=w.dpo, page="/t")
        assert view.clock.describe() == "3 hours 0 minutes overdue"


@time_machine.travel(FOUND + timedelta(hours=100), tick=False)
def test_telling_the_ico_and_the_people_then_closing():
    w = rights_world(women=0)
    breach = _record(w)
    with pytest.raises(breaches.BreachRefused, match="whether the ICO was told"):
        breaches.close_breach(breach, by=w.dpo)
    with pytest.raises(breaches.BreachRefused, match="before the breach was found"):
        breaches.record_ico(breach, told_at=FOUND - timedelta(hours=1), by=w.dpo)
    with pytest.raises(breaches.BreachRefused, match="why the ICO was not told"):
        breaches.record_ico(breach, told_at=None, by=w.dpo)
    breaches.record_ico(breach, told_at=FOUND + timedelta(hours=70), reference="ICO-00001", by=w.dpo)
    [view] = breaches.views_of([Breach.objects.get(pk=breach.pk)], by=w.dpo, page="/t")
    assert view.clock.told_within and view.breach.ico_reference == "ICO-00001"
    with pytest.raises(breaches.BreachRefused, match="people affected were told"):
        breaches.close_breach(breach, by=w.dpo)
    breaches.record_people_told(breach, told_at=None, not_told_reason="Not a high risk", by=w.dpo)
    breaches.close_breach(breach, by=w.dpo)
    closed = Breach.objects.get(pk=breach.pk)
    assert closed.status == BreachStatus.CLOSED and closed.closed_by == w.dpo
    with pytest.raises(breaches.BreachRefused, match="closed"):
        breaches.record_people_told(closed, told_at=FOUND + timedelta(hours=90), by=w.dpo)


@time_machine.travel(FOUND + timedelta(hours=1), tick=False)
def test_bad_input_and_other_roles_are_refused_and_nothing_is_recorded():
    w = rights_world(women=0)
    for person in (w.caseworker, w.delivery.trust_lead, w.delivery.caldicott, w.delivery.pause_lead):
        with pytest.raises(breaches.BreachRefused, match="data protection officer"):
            _record(w, by=person)
    with pytest.raises(breaches.BreachRefused, match="Enter what happened"):
        _record(w, what_happened=" ")
    with pytest.raises(breaches.BreachRefused, match="now or in the past"):
        _record(w, found_at=FOUND + timedelta(hours=2), happened_at=None)
    with pytest.raises(breaches.BreachRefused, match="after it was found"):
        _record(w, happened_at=FOUND + timedelta(minutes=1))
    with pytest.raises(breaches.BreachRefused, match="risk"):
        _record(w, risk="tiny")
    assert not Breach.objects.exists()


def test_the_breach_register_is_served_only_to_its_keeper_and_its_reading_is_recorded():
    """The register's descriptions reach a page only through the disclosure policy (ADR 26): the
    DPO is served them with one entry naming the breaches; nobody else is served anything."""
    w = rights_world(women=0)
    breach = _record(w)
    before = AuditEntry.objects.filter(event=Event.DISCLOSURE).count()
    [view] = breaches.views_of([breach], by=w.dpo, page="/rights/breaches/")
    assert view.what_happened.startswith("A caseload list")
    entry = AuditEntry.objects.filter(event=Event.DISCLOSURE).order_by("-pk").first()
    assert AuditEntry.objects.filter(event=Event.DISCLOSURE).count() == before + 1
    assert list(entry.subjects.values_list("subject", flat=True)) == [f"audit.breach:{breach.pk}"]
    for other in (w.delivery.trust_lead, w.delivery.caldicott, w.delivery.pause_lead):
        assert breaches.views_of([breach], by=other, page="/t") == []
