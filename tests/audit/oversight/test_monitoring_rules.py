"""Each monitoring rule fires on synthetic events and stays quiet otherwise; the rules read new
entries once (a cursor over the seal chain), from Celery beat or the management command."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from audit.core.log import record_event
from audit.core.models import AuditEntry, Event
from audit.core.models_review import (
    ConflictKind,
    FlagRule,
    MonitoringCursor,
    MonitoringFlag,
    Relationship,
)
from audit.oversight.monitoring import Thresholds, is_out_of_hours, run_monitoring
from audit.oversight.review_actions import declare_conflict, withdraw_conflict
from eligibility.disclosure import disclose
from eligibility.models import Woman
from pause_portal.tenancy.roles import Role
from pseudonymisation.fields import Protector
from tests.conftest import sign_in_verified
from tests.sharing.test_scoping_world import Cohort

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TUESDAY = datetime(2026, 3, 10, tzinfo=LONDON)  # a Tuesday in GMT
SUMMER_TUESDAY = datetime(2026, 7, 14, tzinfo=LONDON)  # a Tuesday in BST


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def view(actor, programme, n: int = 1, page: str = "/records/eligibility/", event=Event.DISCLOSURE, **kw):
    return record_event(event, actor=actor, programme=programme, role=Role.TRUST_CASEWORKER, page=page,
                        subject_model=Woman, subject_ids=range(1, n + 1) if event == Event.DISCLOSURE else (), **kw)


def refused(actor, programme, page="/delivery/women/41/", status=404):
    return record_event(Event.REFUSED, actor=actor, programme=programme, page=page, status_code=status,
                        reason="GET refused")


def flags(rule: FlagRule | None = None) -> list[MonitoringFlag]:
    qs = MonitoringFlag.objects.order_by("pk")
    return list(qs.filter(rule=rule) if rule else qs)


@pytest.fixture
def thresholds(settings):
    settings.PORTAL_MONITORING = {**settings.PORTAL_MONITORING, "bulk_records": 10, "bulk_minutes": 10,
                                  "refusals": 3, "refusal_minutes": 10}
    return Thresholds.from_settings()


# --- out of hours ------------------------------------------------------------------------------
def test_out_of_hours_uses_london_time_and_working_days():
    t = Thresholds()
    assert not is_out_of_hours(TUESDAY.replace(hour=7), t) and is_out_of_hours(TUESDAY.replace(hour=6, minute=59), t)
    assert not is_out_of_hours(TUESDAY.replace(hour=18, minute=59), t) and is_out_of_hours(TUESDAY.replace(hour=19), t)
    assert is_out_of_hours(TUESDAY.replace(day=14, hour=11), t)  # a Saturday
    summer_morning = datetime(2026, 7, 14, 6, 30, tzinfo=ZoneInfo("UTC"))  # 07:30 in London (BST)
    assert not is_out_of_hours(summer_morning, t)


def test_out_of_hours_access_is_flagged_once_an_hour_and_working_hours_stay_quiet(caseworker, programme):
    with at(TUESDAY.replace(hour=10)):
        view(caseworker, programme)
    with at(SUMMER_TUESDAY.replace(hour=7, minute=30)):
        view(caseworker, programme)  # 06:30 UTC, but within London's working day
    with at(TUESDAY.replace(hour=10)):
        record_event(Event.SIGN_IN, actor=caseworker, target=caseworker)
    run_monitoring()
    assert flags() == []
    with at(TUESDAY.replace(hour=22, minute=5)):
        late = view(caseworker, programme)
    with at(TUESDAY.replace(hour=22, minute=40)):
        view(caseworker, programme)  # the same evening session: no second flag
    with at(TUESDAY.replace(day=14, hour=11)):
        weekend = view(caseworker, programme)
    run_monitoring()
    raised = flags(FlagRule.OUT_OF_HOURS)
    assert [f.entry_id for f in raised] == [late.pk, weekend.pk]
    assert raised[0].actor_id == caseworker.pk and raised[0].programme_id == programme.pk
    assert "22:05 on Tuesday 10 March 2026" in raised[0].detail and "07:00 to 19:00" in raised[0].detail


def test_working_hours_are_configurable(caseworker, programme, settings):
    settings.PORTAL_MONITORING = {**settings.PORTAL_MONITORING, "day_ends": 23}
    with at(TUESDAY.replace(hour=22)):
        view(caseworker, programme)
    run_monitoring()
    assert flags() == []


# --- bulk access -------------------------------------------------------------------------------
def test_bulk_access_fires_when_the_window_passes_the_threshold(caseworker, trust_lead, programme, thresholds):
    with at(TUESDAY.replace(hour=10)):
        view(caseworker, programme, 6)
    with at(TUESDAY.replace(hour=10, minute=5)):
        crossing = view(caseworker, programme, 6)  # 12 in 5 minutes > 10
    with at(TUESDAY.replace(hour=10, minute=8)):
        view(caseworker, programme, 6)  # still the same window: not again
    run_monitoring()
    [flag] = flags(FlagRule.BULK_ACCESS)
    assert flag.entry_id == crossing.pk and flag.actor_id == caseworker.pk
    assert "12 records shown within 10 minutes" in flag.detail


def test_bulk_access_stays_quiet_below_the_threshold_or_spread_out(caseworker, trust_lead, programme, thresholds):
    with at(TUESDAY.replace(hour=10)):
        view(caseworker, programme, 6)
        view(trust_lead, programme, 6)  # someone else: counted apart
    with at(TUESDAY.replace(hour=10, minute=11)):
        view(caseworker, programme, 6)  # the first has left the window
    with at(TUESDAY.replace(hour=10, minute=12)):
        view(caseworker, programme, 4)  # 10: not more than 10
    run_monitoring()
    assert flags() == []


def test_bulk_access_counts_entries_read_by_an_earlier_run(caseworker, programme, thresholds):
    with at(TUESDAY.replace(hour=10)):
        view(caseworker, programme, 8)
    run_monitoring()
    with at(TUESDAY.replace(hour=10, minute=3)):
        crossing = view(caseworker, programme, 3)
    run_monitoring()
    assert [f.entry_id for f in flags(FlagRule.BULK_ACCESS)] == [crossing.pk]


# --- outside a caseload or programme ------------------------------------------------------------
def test_a_refused_case_page_is_flagged_and_other_refusals_are_not(practitioner, programme, thresholds):
    with at(TUESDAY.replace(hour=10)):
        attempt = refused(practitioner, programme)
        refused(practitioner, programme, page="/dpo/")  # not a case page
        record_event(Event.REFUSED, actor=None, page="/records/women/3/", status_code=404)  # nobody signed in
    run_monitoring()
    [flag] = flags(FlagRule.OUTSIDE_CASELOAD)
    assert flag.entry_id == attempt.pk and "/delivery/women/41/" in flag.detail and "(404)" in flag.detail


def test_a_real_refused_request_for_a_record_page_raises_the_flag(practitioner, programme):
    client = sign_in_verified(Client(), practitioner)
    assert client.get("/records/women/12/").status_code == 404
    run_monitoring()
    [flag] = flags(FlagRule.OUTSIDE_CASELOAD)
    assert flag.actor_id == practitioner.pk and flag.entry.page == "/records/women/12/"


# --- repeated refusals ---------------------------------------------------------------------------
def test_repeated_refusals_fire_at_the_kth_within_the_window(practitioner, programme, thresholds):
    with at(TUESDAY.replace(hour=10)):
        refused(practitioner, programme, page="/dpo/")
    with at(TUESDAY.replace(hour=10, minute=2)):
        record_event(Event.MFA_FAILED, actor=practitioner, target=practitioner, reason="wrong code")
    with at(TUESDAY.replace(hour=10, minute=4)):
        third = refused(practitioner, programme, page="/dpo/flags/")
    run_monitoring()
    [flag] = flags(FlagRule.REPEATED_REFUSALS)
    assert flag.entry_id == third.pk and "3 refused requests" in flag.detail


def test_repeated_refusals_stay_quiet_when_spread_out_or_fewer(practitioner, other_practitioner, programme,
                                                               thresholds):
    for minute in (0, 11, 22, 33):
        with at(TUESDAY.replace(hour=10, minute=minute)):
            refused(practitioner, programme, page="/dpo/")
    with at(TUESDAY.replace(hour=11)):
        refused(other_practitioner, programme, page="/dpo/")
        refused(other_practitioner, programme, page="/dpo/")
    run_monitoring()
    assert flags(FlagRule.REPEATED_REFUSALS) == []


# --- declared conflicts --------------------------------------------------------------------------
@pytest.fixture
def women(programme, trust_lead):
    cohort = Cohort(programme, trust_lead)
    from datetime import date

    return [cohort.woman(born=date(1990, 1, 1 + i), ethnicity="WBRI", removals=[date(2025, 1, 1)]) for i in range(2)]


def nhs_number(woman: Woman) -> str:
    return woman.reveal(Protector.load(woman.programme_id, Woman.key_phase, create=False), "nhs_number")


def test_access_to_a_declared_person_is_flagged(caseworker, trust_lead, programme, women):
    her, other = women
    declaration = declare_conflict(by=caseworker, programme=programme, kind=ConflictKind.NHS_NUMBER,
                                   value=nhs_number(her), relationship=Relationship.RELATIVE)
    assert nhs_number(her) not in str(declaration.index_terms)
    with at(TUESDAY.replace(hour=10)):
        seen = disclose(caseworker, [other, her], page="/records/eligibility/").entry
        disclose(caseworker, [other], page="/records/eligibility/")  # someone else
        disclose(trust_lead, [her], page=f"/records/women/{her.pk}/")  # not the person who declared
    run_monitoring()
    [flag] = flags(FlagRule.DECLARED_CONFLICT)
    assert flag.entry_id == seen.pk and flag.actor_id == caseworker.pk
    assert f"declaration #{declaration.pk}" in flag.detail and nhs_number(her) not in flag.detail


def test_a_declared_trust_id_matches_her_delivery_records_too(programme, women, caseworker):
    her = women[0]
    protector = Protector.load(programme.pk, Woman.key_phase, create=False)
    declare_conflict(by=caseworker, programme=programme, kind=ConflictKind.PERSON_ID,
                     value=her.reveal(protector, "trust_person_id").lower(), relationship=Relationship.OTHER)
    child = her.children.first()
    with at(TUESDAY.replace(hour=10)):
        entry = record_event(Event.CHANGE, actor=caseworker, target=child, programme=programme, reason="corrected")
    run_monitoring()
    assert [f.entry_id for f in flags(FlagRule.DECLARED_CONFLICT)] == [entry.pk]


def test_a_withdrawn_declaration_raises_nothing(caseworker, programme, women):
    her = women[0]
    declaration = declare_conflict(by=caseworker, programme=programme, kind=ConflictKind.NHS_NUMBER,
                                   value=nhs_number(her), relationship=Relationship.KNOWN_PERSONALLY)
    withdraw_conflict(declaration, by=caseworker)
    with at(TUESDAY.replace(hour=10)):
        disclose(caseworker, [her], page="/records/eligibility/")
    run_monitoring()
    assert flags() == []


# --- the run -------------------------------------------------------------------------------------
def test_each_entry_is_read_once_and_the_cursor_follows_the_seal_chain(caseworker, programme):
    with at(TUESDAY.replace(hour=22)):
        view(caseworker, programme)
    assert run_monitoring() == 1
    assert run_monitoring() == 0 and len(flags()) == 1  # nothing read twice
    cursor = MonitoringCursor.objects.get()
    from audit.core.models import AuditSeal

    assert cursor.last_seq == AuditSeal.objects.order_by("-seq").values_list("seq", flat=True).first()
    with at(TUESDAY.replace(day=11, hour=23)):
        view(caseworker, programme)
    assert run_monitoring() == 1 and len(flags()) == 2


def test_the_command_and_the_beat_task_run_the_rules(caseworker, programme, capsys):
    from audit.oversight.tasks import run_monitoring as task

    with at(TUESDAY.replace(hour=22)):
        view(caseworker, programme)
    call_command("run_monitoring")
    assert "Raised 1 flag(s)" in capsys.readouterr().out
    with at(TUESDAY.replace(day=12, hour=22)):
        view(caseworker, programme)
    assert task.delay().get() == 1
    beat = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "audit.run_monitoring" in beat


def test_no_identifier_reaches_a_flag(caseworker, programme, women):
    her = women[0]
    declare_conflict(by=caseworker, programme=programme, kind=ConflictKind.NHS_NUMBER, value=nhs_number(her),
                     relationship=Relationship.RELATIVE)
    with at(TUESDAY.replace(day=14, hour=23)):
        disclose(caseworker, [her], page=f"/records/women/{her.pk}/")
    run_monitoring()
    protector = Protector.load(programme.pk, Woman.key_phase, create=False)
    values = [her.reveal(protector, k) for k in ("trust_person_id", "nhs_number", "surname", "forename")]
    assert len(flags()) == 2
    for flag in flags():
        assert not any(v in flag.detail for v in values)
    assert AuditEntry.objects.filter(event=Event.DISCLOSURE).exists()
