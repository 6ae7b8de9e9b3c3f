"""Retention of delivery data: periods in words, the schedule from the agreement, a dry run that
changes nothing, a real run that deletes exactly the expired rows (children first, nothing about a
woman with an open concern), a second run that deletes nothing, refusals, the command and the
beat task."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.core.models import AuditEntry, AuditSubject
from eligibility.restrictions import open_restriction
from sharing.models_delivery import (
    CaseloadAssignment,
    CaseloadUserObjectPermission,
    ConcernStatus,
    ContactAttempt,
    Participation,
    QuarterlyReport,
    ReleasedChild,
    ReleasedWoman,
    RetentionRun,
    SafeguardingConcern,
)
from sharing.models_scoping import Agreement
from sharing.retention import RetentionScheduleError, apply_retention, parse_period, schedule_for
from sharing.tasks_retention import apply_retention_schedules
from tests import factories as f
from tests.sharing.delivery.world import delivery_world

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
T0 = datetime(2025, 1, 10, 10, tzinfo=TZ)
RUN_AT = datetime(2025, 9, 1, 3, tzinfo=TZ)
SCHEDULE = {"delivery_records": "2 years", "released_women": "60 days", "contact_attempts": "6 months",
            "closed_concerns": "30 days", "ended_assignments": "90 days", "report_drafts": "30 days"}
TABLES = (ReleasedWoman, ReleasedChild, ContactAttempt, SafeguardingConcern, CaseloadAssignment,
          CaseloadUserObjectPermission, QuarterlyReport)


# --- periods ------------------------------------------------------------------------------------
@pytest.mark.parametrize("words, months, days", [
    ("6 months", 6, 0), ("2 years", 24, 0), ("30 days", 0, 30), ("1 year and 6 months", 18, 0),
    ("two years", 24, 0), ("12 weeks", 0, 84), (" 1 Day ", 0, 1), ("a year, 2 weeks", 12, 14),
])
def test_periods_in_words(words, months, days):
    period = parse_period(words)
    assert (period.months, period.days) == (months, days)


@pytest.mark.parametrize("words", ["", "forever", "until the programme closes", "6", "months", "0 days",
                                   "6 monthly", "-3 days"])
def test_unparseable_periods_are_refused_with_what_is_accepted(words):
    with pytest.raises(ValueError) as refused:
        parse_period(words)
    assert refused.value.args[0]


def test_six_months_back_from_the_end_of_august_is_the_end_of_february():
    assert parse_period("6 months").cutoff(datetime(2025, 8, 31, tzinfo=TZ)).date() == date(2025, 2, 28)


# --- a programme with some of everything -------------------------------------------------------------
def set_retention(world, retention: dict):
    Agreement.objects.filter(programme=world.programme).update(retention=retention)


def contact(world, released, day: date, outcome=Participation.AGREED) -> ContactAttempt:
    return f.ContactAttemptFactory(released_woman=released, recorded_by=world.practitioners[0], contacted_on=day,
                                   outcome=outcome)


def concern(world, released, *, closed_at=None) -> SafeguardingConcern:
    return f.SafeguardingConcernFactory(
        released_woman=released, raised_by=world.practitioners[0], raised_at=T0 + timedelta(days=5),
        status=ConcernStatus.CLOSED if closed_at else ConcernStatus.OPEN, closed_at=closed_at,
        closed_by=world.trust_lead if closed_at else None,
        # Filed in the Trust's case record when closed, so Pause's clock alone governs it here
        # (what happens before it is filed: test_concern_hand_over.py).
        filed_by=world.trust_lead if closed_at else None, filed_at=closed_at)


def history():
    """Five women released on 10 January 2025: a declined (and left the view on 3 March); b declined
    too but a concern about her is open; c takes part (reassigned once, an old and a recent contact,
    a concern closed in February); d's release was withdrawn by the Trust; e is restricted."""
    with time_machine.travel(T0, tick=False):
        world = delivery_world(women=5)
    a, b, c, d, e = world.released
    set_retention(world, SCHEDULE)
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        for woman in (a, b, c):
            world.assign(woman, world.practitioners[0])
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        world.assign(c, world.practitioners[1])  # ends c's first assignment on 20 January
    for woman in (a, b):
        contact(world, woman, date(2025, 1, 20), Participation.DECLINED)
        ReleasedWoman.objects.filter(pk=woman.pk).update(participation=Participation.DECLINED,
                                                         participation_ended_at=datetime(2025, 2, 1, tzinfo=TZ))
    contact(world, c, date(2025, 1, 15))
    contact(world, c, date(2025, 8, 20))
    concern(world, a, closed_at=datetime(2025, 1, 25, tzinfo=TZ))
    concern(world, b)
    concern(world, c, closed_at=datetime(2025, 2, 1, tzinfo=TZ))
    ReleasedWoman.objects.filter(pk=d.pk).update(withdrawn_at=datetime(2025, 1, 20, tzinfo=TZ),
                                                 withdrawn_by=world.trust_lead)
    open_restriction(woman=e.woman, reason="restriction_request", by=world.trust_lead)
    QuarterlyReport.objects.create(programme=world.programme, year=2025, quarter=1, written_by=world.pause_lead,
                                   written_at=datetime(2025, 4, 5, tzinfo=TZ))
    return world


def snapshot():
    return {model.__name__: sorted(model.objects.values_list("pk", flat=True)) for model in TABLES}


def test_a_dry_run_changes_nothing_and_reports_what_would_go():
    world = history()
    before = snapshot()
    with time_machine.travel(RUN_AT, tick=False):
        run = apply_retention(world.programme, dry_run=True, trigger="command")
    assert snapshot() == before
    assert run.dry_run and run.finished_at and run.trigger == "command"
    counts = {k: v["count"] for k, v in run.deleted.items()}
    assert counts == {"released_women": 2, "contact_attempts": 1, "closed_concerns": 1, "ended_assignments": 1,
                      "report_drafts": 1, "do_not_approach": 0}
    assert run.deleted["released_women"]["rows"]["sharing.ContactAttempt"] == 1  # a's decline
    assert run.schedule["contact_attempts"]["period"] == "6 months"
    entry = AuditEntry.objects.get(object_pk=str(run.pk), reason__startswith=f"retention run #{run.pk}")
    assert "dry run: nothing deleted" in entry.reason and "would delete released_women 2" in entry.reason
    assert not AuditSubject.objects.filter(entry=entry).exists()


def test_a_real_run_deletes_exactly_what_has_run_out_and_a_second_run_nothing_more():
    world = history()
    a, b, c, d, e = world.released
    with time_machine.travel(RUN_AT, tick=False):
        dry = apply_retention(world.programme, dry_run=True, trigger="command")
        run = apply_retention(world.programme, dry_run=False, trigger="command")
    assert run.deleted == dry.deleted
    assert set(ReleasedWoman.objects.values_list("pk", flat=True)) == {b.pk, c.pk, e.pk}
    assert not ReleasedChild.objects.filter(released_woman_id__in=[a.pk, d.pk]).exists()
    assert ReleasedChild.objects.filter(released_woman=b).exists()  # b's open concern keeps everything of hers
    assert list(ContactAttempt.objects.filter(released_woman=c).values_list("contacted_on", flat=True)) == \
        [date(2025, 8, 20)]
    assert ContactAttempt.objects.filter(released_woman=b, contacted_on=date(2025, 1, 20)).exists()
    assert list(SafeguardingConcern.objects.values_list("released_woman_id", "status")) == [(b.pk, "open")]
    assert list(CaseloadAssignment.objects.filter(released_woman=c).values_list("practitioner_id", flat=True)) == \
        [world.practitioners[1].pk]
    assert CaseloadAssignment.objects.filter(released_woman=b).exists()
    assert not CaseloadUserObjectPermission.objects.filter(content_object_id=a.pk).exists()
    assert not QuarterlyReport.objects.exists()
    entry = AuditEntry.objects.get(object_pk=str(run.pk), reason__startswith=f"retention run #{run.pk}")
    assert set(AuditSubject.objects.filter(entry=entry).values_list("subject", flat=True)) == {
        f"sharing.releasedwoman:{a.pk}", f"sharing.releasedwoman:{d.pk}"}
    assert "Zelphine" not in entry.reason and "Quorrington" not in entry.reason
    with time_machine.travel(RUN_AT + timedelta(hours=1), tick=False):
        again = apply_retention(world.programme, dry_run=False, trigger="beat")
    assert all(v["count"] == 0 for v in again.deleted.values())


def test_nothing_about_a_woman_with_an_open_concern_goes_however_old():
    world = history()
    b = world.released[1]
    with time_machine.travel(datetime(2030, 1, 1, tzinfo=TZ), tick=False):
        apply_retention(world.programme, dry_run=False, trigger="command")
    assert ReleasedWoman.objects.filter(pk=b.pk).exists()
    assert ContactAttempt.objects.filter(released_woman=b).count() == 1
    assert CaseloadAssignment.objects.filter(released_woman=b).exists()


def test_the_delivery_records_period_covers_a_category_without_its_own():
    world = history()
    set_retention(world, {"delivery_records": "6 months"})
    with time_machine.travel(RUN_AT, tick=False):
        run = apply_retention(world.programme, dry_run=True, trigger="command")
    assert {k: v["from"] for k, v in run.schedule.items()} == dict.fromkeys(run.schedule, "delivery_records")
    # d left the view on 20 January; a on 3 March, less than six months before 1 September
    assert run.deleted["released_women"]["count"] == 1


def test_a_category_with_no_period_is_kept_and_said_to_be():
    world = history()
    set_retention(world, {"scoping_data": "3 months", "report_drafts": "30 days"})
    before = snapshot()
    with time_machine.travel(RUN_AT, tick=False):
        run = apply_retention(world.programme, dry_run=False, trigger="command")
    assert run.deleted["report_drafts"]["count"] == 1
    for key in ("released_women", "contact_attempts", "closed_concerns", "ended_assignments"):
        assert run.deleted[key]["kept"] == "no period in the agreement" and run.schedule[key] is None
    assert {k: v for k, v in snapshot().items() if k != "QuarterlyReport"} == \
        {k: v for k, v in before.items() if k != "QuarterlyReport"}
    entry = AuditEntry.objects.get(object_pk=str(run.pk), reason__startswith=f"retention run #{run.pk}")
    assert "kept, no period in the agreement: released_women" in entry.reason


def test_an_unparseable_period_is_refused_and_nothing_is_deleted():
    world = history()
    set_retention(world, {**SCHEDULE, "contact_attempts": "until the programme closes"})
    before = snapshot()
    with time_machine.travel(RUN_AT, tick=False), pytest.raises(RetentionScheduleError) as refused:
        apply_retention(world.programme, dry_run=False, trigger="command")
    message = str(refused.value)
    assert "Contact attempts" in message and "until the programme closes" in message and "6 months" in message
    assert snapshot() == before and not RetentionRun.objects.exists()
    with pytest.raises(RetentionScheduleError):
        schedule_for(world.programme)


def test_the_command_runs_a_dry_run_and_refuses_clearly(capsys):
    world = history()
    with time_machine.travel(RUN_AT, tick=False):
        call_command("apply_retention", "--programme", str(world.programme.pk), "--dry-run")
    out = capsys.readouterr().out
    assert "dry run: nothing deleted" in out and "released_women: would delete 2" in out
    assert ReleasedWoman.objects.count() == 5
    set_retention(world, {"delivery_records": "forever"})
    with pytest.raises(CommandError, match="refused"):
        call_command("apply_retention", "--programme", str(world.programme.pk))
    assert "forever" in capsys.readouterr().err
    with pytest.raises(CommandError, match="no programme"):
        call_command("apply_retention", "--programme", "999999")


def test_the_beat_task_applies_each_schedule_and_records_a_refusal():
    world = history()
    other = delivery_world(women=1)
    set_retention(other, {"delivery_records": "for ever"})
    with time_machine.travel(RUN_AT, tick=False):
        assert apply_retention_schedules() == 1
    run = RetentionRun.objects.get(programme=world.programme)
    assert run.trigger == "beat" and not run.dry_run and run.deleted["released_women"]["count"] == 2
    assert not RetentionRun.objects.filter(programme=other.programme).exists()
    assert AuditEntry.objects.filter(programme=other.programme, reason__startswith="retention run refused").exists()
