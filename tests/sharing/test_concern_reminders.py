"""Reminders of safeguarding concerns nobody has acknowledged (issue 23, point 6; ADR 47): due the
same London clock time on the Nth working day after the day it was raised (N per programme, 1 by
default), counting England and Wales bank holidays from the `holidays` package; sent once however
many sweeps, to the Trust leads and nobody else, with nothing that identifies the woman, the
concern or anyone involved; shown on the leads' dashboards and cleared once acknowledged. All data
is synthetic."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from audit.core import reminders
from audit.core.models_reminders import Reminder
from audit.oversight.reminder_providers import PROVIDERS
from pause_portal.tenancy.models import Programme
from pause_portal.tenancy.roles import Role
from sharing import concern_reminders
from sharing.concerns import acknowledge_concern, raise_concern
from sharing.working_days import after_working_days, is_working_day, working_days_after
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.sharing.delivery.test_concern_emails import secrets_of
from tests.sharing.delivery.world import one_each_world
from tests.sharing.test_scoping_world import member

LONDON = ZoneInfo("Europe/London")
SUMMARY = "Synthetic: she said her partner has returned and she is frightened"


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


# --- working days: pure, no database -----------------------------------------------------------
@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 12, 24), True),  # Thursday
    (date(2026, 12, 25), False),  # Christmas Day, a Friday
    (date(2026, 12, 26), False),  # Boxing Day, a Saturday
    (date(2026, 12, 28), False),  # Boxing Day observed on the Monday
    (date(2026, 12, 29), True),
    (date(2027, 3, 26), False),  # Good Friday
    (date(2027, 3, 29), False),  # Easter Monday
    (date(2027, 5, 31), False),  # Spring bank holiday
    (date(2027, 6, 5), False),  # a Saturday
])
def test_working_days_are_weekdays_that_are_not_england_and_wales_bank_holidays(day, working):
    assert is_working_day(day) is working


@pytest.mark.parametrize(("raised", "n", "due"), [
    # Thursday before Christmas: Friday 25, the weekend and Monday 28 (Boxing Day observed) skipped.
    (london(2026, 12, 24, 16, 0), 1, london(2026, 12, 29, 16, 0)),
    (london(2026, 12, 24, 16, 0), 2, london(2026, 12, 30, 16, 0)),
    (london(2026, 12, 23, 16, 0), 1, london(2026, 12, 24, 16, 0)),
    # Friday before the spring bank holiday Monday: Tuesday, not Wednesday.
    (london(2027, 5, 28, 16, 0), 1, london(2027, 6, 1, 16, 0)),
    # An ordinary weekend: Friday to Monday; raised on a Saturday, Monday at the same time.
    (london(2027, 6, 4, 9, 30), 1, london(2027, 6, 7, 9, 30)),
    (london(2027, 6, 5, 10, 0), 1, london(2027, 6, 7, 10, 0)),
    # Easter 2027, across the change to summer time: the same London clock time.
    (london(2027, 3, 25, 16, 0), 1, london(2027, 3, 30, 16, 0)),
])
def test_n_working_days_later_is_the_same_london_time_on_the_nth_working_day_after(raised, n, due):
    assert after_working_days(raised, n) == due
    assert after_working_days(raised.astimezone(ZoneInfo("UTC")), n) == due


def test_across_the_change_to_summer_time_the_utc_hour_moves():
    due = after_working_days(london(2027, 3, 25, 16, 0), 1)
    assert due.astimezone(ZoneInfo("UTC")).hour == 15  # 16:00 BST


def test_zero_working_days_is_refused():
    with pytest.raises(ValueError, match="at least one working day"):
        working_days_after(date(2026, 12, 24), 0)


# --- the reminders ----------------------------------------------------------------------------------
@pytest.fixture
def world(db):
    world = one_each_world()
    world.second_lead = member(world.programme, Role.TRUST_LEAD)
    world.dpo = member(world.programme, Role.DPO)
    world.caseworker = member(world.programme, Role.TRUST_CASEWORKER)
    world.other = one_each_world()  # another programme, with its own Trust lead
    return world


def raise_at(world, moment: datetime, released=None):
    with time_machine.travel(moment, tick=False):
        return raise_concern(released or world.released[0], by=world.practitioners[0], kind="safeguarding",
                             summary=SUMMARY)


def sweep(moment: datetime) -> list[Reminder]:
    with time_machine.travel(moment, tick=False):
        return reminders.send_due(concern_reminders.KIND, concern_reminders.unacknowledged(moment), now=moment)


def dashboard_of(person) -> str:
    return sign_in_verified(Client(), person).get(reverse("dashboard")).content.decode()


def test_it_is_registered_with_the_sweep():
    assert PROVIDERS[concern_reminders.KIND] is concern_reminders.unacknowledged


@pytest.mark.django_db
def test_raised_before_christmas_the_reminder_comes_on_tuesday_29_december_once_to_the_trust_leads(world):
    concern = raise_at(world, london(2026, 12, 24, 16, 0))
    mail.outbox.clear()
    # Not on Christmas Day, not over the weekend, not on Boxing Day observed, not a minute early.
    for moment in (london(2026, 12, 25, 16, 0), london(2026, 12, 28, 16, 0), london(2026, 12, 29, 15, 59)):
        assert sweep(moment) == []
    assert not Reminder.objects.filter(stage__endswith="wd").exists()
    sent = sweep(london(2026, 12, 29, 16, 0))
    assert [(r.kind, r.item, r.stage) for r in sent] == [
        ("concern_unacknowledged", f"sharing.safeguardingconcern:{concern.pk}", "1wd")]
    for moment in (london(2026, 12, 29, 16, 15), london(2026, 12, 30, 9, 0), london(2027, 1, 4, 9, 0)):
        assert sweep(moment) == []  # exactly once
    assert sorted(m.to[0] for m in mail.outbox) == sorted([world.trust_lead.email, world.second_lead.email])
    message = mail.outbox[0]
    assert message.subject == ("Reminder: a safeguarding matter in " + world.programme.name
                               + " is not acknowledged after 1 working day")
    assert "29 December 2026 at 16:00" in message.body and reverse("casework:concerns") in message.body


@pytest.mark.django_db
def test_nothing_in_the_email_or_the_headline_identifies_her_the_concern_or_the_staff(world):
    concern = raise_at(world, london(2026, 12, 24, 16, 0))
    mail.outbox.clear()
    sweep(london(2026, 12, 29, 16, 0))
    reminder = Reminder.objects.get(kind=concern_reminders.KIND)
    texts = [reminder.headline, reminder.subject, *(m.subject for m in mail.outbox), *(m.body for m in mail.outbox)]
    forbidden = [*secrets_of(world), SUMMARY, "frightened", f"#{concern.pk}", f"concern {concern.pk}",
                 world.practitioners[0].full_name, world.trust_lead.full_name, world.second_lead.full_name]
    for text in texts:
        for secret in forbidden:
            assert secret.lower() not in text.lower(), (secret, text)
        # The programme's own name is not an identifier (the core takes it out the same way).
        assert reminders.looks_identifying(text.replace(world.programme.name, " ")) is None
    # Nor which kind of matter it is (special category): the subject and headline say "a safeguarding matter".
    for text in (reminder.headline, reminder.subject):
        assert "concern" not in text.lower() and "incident" not in text.lower()


@pytest.mark.django_db
def test_shown_on_the_trust_leads_dashboards_and_cleared_once_acknowledged(world):
    concern = raise_at(world, london(2026, 12, 24, 16, 0))
    sweep(london(2026, 12, 29, 16, 0))
    headline = "A safeguarding matter raised by Pause is not acknowledged after 1 working day"
    assert headline in dashboard_of(world.trust_lead)
    for someone in (world.caldicott, world.dpo, world.caseworker, world.pause_lead, world.practitioners[0],
                    world.other.trust_lead):
        assert headline not in dashboard_of(someone)
    acknowledge_concern(concern, by=world.second_lead)
    sweep(london(2026, 12, 29, 16, 15))
    assert Reminder.objects.get(kind=concern_reminders.KIND).cleared_at is not None
    assert headline not in dashboard_of(world.trust_lead)


@pytest.mark.django_db
def test_a_concern_acknowledged_in_time_is_never_reminded(world):
    concern = raise_at(world, london(2026, 12, 24, 16, 0))
    sweep(london(2026, 12, 28, 12, 0))
    with time_machine.travel(london(2026, 12, 29, 9, 0), tick=False):
        acknowledge_concern(concern, by=world.trust_lead)
    mail.outbox.clear()
    assert sweep(london(2026, 12, 29, 16, 0)) == [] and mail.outbox == []


@pytest.mark.django_db
def test_the_programmes_setting_moves_the_reminder(world):
    Programme.objects.filter(pk=world.programme.pk).update(concern_acknowledge_working_days=3)
    concern = raise_at(world, london(2026, 12, 24, 16, 0))
    # 3 working days after Thursday 24 December: Tuesday 29, Wednesday 30, Thursday 31.
    assert sweep(london(2026, 12, 30, 16, 0)) == []
    assert sweep(london(2026, 12, 31, 15, 59)) == []
    sent = sweep(london(2026, 12, 31, 16, 0))
    assert [r.stage for r in sent] == ["3wd"] and "after 3 working days" in sent[0].headline
    assert concern_reminders.acknowledge_by(concern) == london(2026, 12, 31, 16, 0)


@pytest.mark.django_db
def test_each_programme_counts_its_own_days(world):
    Programme.objects.filter(pk=world.other.programme.pk).update(concern_acknowledge_working_days=2)
    raise_at(world, london(2026, 12, 24, 16, 0))
    with time_machine.travel(london(2026, 12, 24, 16, 0), tick=False):
        raise_concern(world.other.released[0], by=world.other.practitioners[0], kind="safeguarding",
                      summary=SUMMARY)
    mail.outbox.clear()
    sweep(london(2026, 12, 29, 16, 0))
    assert {m.to[0] for m in mail.outbox} == {world.trust_lead.email, world.second_lead.email}
    mail.outbox.clear()
    sweep(london(2026, 12, 30, 16, 0))
    assert [m.to[0] for m in mail.outbox] == [world.other.trust_lead.email]


@pytest.mark.django_db
@pytest.mark.parametrize("value", [0, 11])
def test_the_database_refuses_a_setting_outside_1_to_10(world, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        Programme.objects.filter(pk=world.programme.pk).update(concern_acknowledge_working_days=value)


@pytest.mark.django_db
def test_the_system_administrator_sets_it_with_the_programmes_settings_and_bad_values_are_refused(world):
    admin = f.person(world.programme.trust, system_admin=True)
    client = sign_in_verified(Client(), admin)
    programme = world.programme
    url = reverse("admin:sharing_programme_change", args=[programme.pk])
    form = {"name": programme.name, "trust": programme.trust_id, "pause_practice": programme.pause_practice_id}
    for bad in ("0", "11", "one"):
        response = client.post(url, {**form, "concern_acknowledge_working_days": bad})
        assert response.status_code == 200  # the form again, with its error
        programme.refresh_from_db()
        assert programme.concern_acknowledge_working_days == 1
    response = client.post(url, {**form, "concern_acknowledge_working_days": "4"})
    assert response.status_code == 302
    programme.refresh_from_db()
    assert programme.concern_acknowledge_working_days == 4
    # Nobody else may.
    assert sign_in_verified(Client(), world.trust_lead).post(
        url, {**form, "concern_acknowledge_working_days": "2"}).status_code in (302, 403, 404)  # the admin is hidden from them
    programme.refresh_from_db()
    assert programme.concern_acknowledge_working_days == 4
