"""What falls due in the next 90 days (issue 22, point 7; ADR 41), in frozen time: the forecast's
counts are what a run at the window's end would delete, and each "earliest" moment is exactly
when the first row goes (a dry run a second before deletes none of that category, a second after
deletes one). In scoping, the scoping purge falls due at its deadline."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from pause_portal.tenancy.roles import Role
from sharing.models_scoping import Agreement
from sharing.retention import SHORT_LABELS, RetentionScheduleError, apply_retention
from sharing.retention_due import falls_due, scoping_due
from sharing.scoping_term import scoping_deadline
from tests import factories as f
from tests.sharing.delivery.test_retention import SCHEDULE, TZ, history
from tests.sharing.test_scoping_world import agreement, member

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 1, 10, tzinfo=TZ)
WORDS = {v: k for k, v in SHORT_LABELS.items()}


def forecast(world, now=None) -> dict[str, dict]:
    with time_machine.travel(now or NOW, tick=False):
        return {WORDS[i["what"]]: i for i in falls_due(world.programme, timezone.now())}


def would_delete(world, at: datetime) -> dict[str, int]:
    with time_machine.travel(at, tick=False):
        run = apply_retention(world.programme, dry_run=True, trigger="preview")
    return {k: v["count"] for k, v in run.deleted.items()}


def test_the_forecast_names_each_category_with_its_count_and_first_date():
    world = history()
    due = forecast(world)
    # d left Pause's view on 20 January and a on 3 March (60 days each); a's concern, closed on
    # 25 January, is already past its 30 days (it goes at the next run, before she does) and c's,
    # closed on 1 February, goes on 3 March; c's first assignment ended on 20 January (90 days); the
    # draft report was written on 5 April (30 days). c's old contact runs out in July: outside.
    assert {k: v["count"] for k, v in due.items()} == {
        "released_women": 2, "contact_attempts": 0, "closed_concerns": 2, "ended_assignments": 1,
        "report_drafts": 1, "do_not_approach": 0}
    assert timezone.localtime(due["released_women"]["earliest"]).date().isoformat() == "2025-03-21"
    assert due["closed_concerns"]["earliest"] == NOW  # at the next run
    assert timezone.localtime(due["ended_assignments"]["earliest"]).date().isoformat() == "2025-04-20"
    assert timezone.localtime(due["report_drafts"]["earliest"]).date().isoformat() == "2025-05-05"
    assert due["contact_attempts"]["earliest"] is None


def test_the_forecast_is_what_the_daily_runs_of_the_next_90_days_delete():
    world = history()
    due = forecast(world)
    deleted = dict.fromkeys(due, 0)
    moments = [NOW] + [datetime.combine(NOW.date() + timedelta(days=i), time(2, 30), tzinfo=TZ)
                       for i in range(1, 91)]
    for moment in moments:
        with time_machine.travel(moment, tick=False):
            run = apply_retention(world.programme, dry_run=False, trigger="beat")
        for key, done in run.deleted.items():
            deleted[key] += done["count"]
    assert {k: v["count"] for k, v in due.items()} == deleted


def test_each_earliest_moment_is_when_the_first_row_goes():
    world = history()
    with time_machine.travel(NOW, tick=False):
        apply_retention(world.programme, dry_run=False, trigger="beat")  # what is due now has gone
    due = forecast(world)
    assert timezone.localtime(due["closed_concerns"]["earliest"]).date().isoformat() == "2025-03-03"
    for key in ("released_women", "closed_concerns", "ended_assignments", "report_drafts"):
        moment = due[key]["earliest"]
        assert moment > NOW
        assert would_delete(world, moment - timedelta(seconds=1))[key] == 0, key
        assert would_delete(world, moment + timedelta(seconds=1))[key] >= 1, key


def test_a_contact_day_goes_once_the_day_after_its_period_began():
    world = history()
    due = forecast(world, NOW + timedelta(days=120))  # 29 June: c's contact of 15 January is in the window
    moment = due["contact_attempts"]["earliest"]
    assert due["contact_attempts"]["count"] == 1
    # the run takes six months from the moment in UTC, then the day in London: 1 a.m. in summer
    assert timezone.localtime(moment).isoformat().startswith("2025-07-16T01:00")
    assert would_delete(world, moment - timedelta(seconds=1))["contact_attempts"] == 0
    assert would_delete(world, moment + timedelta(seconds=1))["contact_attempts"] == 1


def test_a_window_of_a_day_holds_only_what_is_due_by_then_and_a_category_without_a_period_is_kept():
    world = history()
    with time_machine.travel(NOW, tick=False):
        tomorrow = {WORDS[i["what"]]: i["count"] for i in falls_due(world.programme, timezone.now(), days=1)}
    assert tomorrow == {"released_women": 0, "contact_attempts": 0, "closed_concerns": 1,  # a's, due now
                        "ended_assignments": 0, "report_drafts": 0, "do_not_approach": 0}
    Agreement.objects.filter(programme=world.programme).update(retention={"report_drafts": "30 days"})
    due = forecast(world)
    assert due["released_women"]["count"] == 0 and "no period" in due["released_women"]["note"]
    assert due["report_drafts"]["count"] == 1


def test_a_period_that_cannot_be_applied_refuses_the_forecast():
    world = history()
    Agreement.objects.filter(programme=world.programme).update(retention={**SCHEDULE, "closed_concerns": "soon"})
    with pytest.raises(RetentionScheduleError, match="soon"):
        forecast(world)


def test_in_scoping_the_purge_falls_due_at_the_deadline_within_the_window():
    programme = f.programme(phase="scoping")
    agreement(programme, proposed_by=member(programme, Role.TRUST_LEAD),
              decided_by=member(programme, Role.CALDICOTT_GUARDIAN))
    deadline = scoping_deadline(programme)
    assert deadline is not None
    assert scoping_due(programme, deadline - timedelta(days=91)) == []
    [due] = scoping_due(programme, deadline - timedelta(days=89))
    assert due["earliest"] == deadline and due["count"] == 0 and "scoping keys" in due["what"]
    assert falls_due(programme, deadline - timedelta(days=89))[0]["count"] == 0  # no delivery records yet
