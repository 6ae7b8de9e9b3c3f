"""Quarterly progress reports: the figures, draft -> send (immutable, digest, audit), recipients
from the agreement, the commentary check, and the role x phase x page matrix."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.models import AuditEntry
from pause_portal.tenancy.models import Programme
from pause_portal.tenancy.roles import Role
from sharing.models_delivery import ContactAttempt, ContactMethod, Participation, QuarterlyReport
from sharing.models_scoping import Agreement
from sharing.progress_reports import (
    FiguresMoved,
    QuarterOf,
    commentary_problem,
    digest,
    recipients,
    reportable_quarters,
    save_draft,
    send,
)
from sharing.progress_suppression import Quarter
from tests.conftest import sign_in_verified
from tests.sharing.delivery.test_report_differencing import determined_cells
from tests.sharing.delivery.world import delivery_world
from tests.sharing.test_scoping_pages import person_in

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
IN_Q1 = datetime(2026, 2, 10, 10, tzinfo=TZ)
AFTER_Q1 = datetime(2026, 4, 8, 10, tzinfo=TZ)
AFTER_Q2 = datetime(2026, 7, 6, 10, tzinfo=TZ)
Q1, Q2 = QuarterOf(2026, 1), QuarterOf(2026, 2)


def contact(world, released, day: date, outcome: str) -> ContactAttempt:
    return ContactAttempt.objects.create(programme=world.programme, released_woman=released,
                                         recorded_by=world.practitioners[0], contacted_on=day,
                                         method=ContactMethod.PHONE, outcome=outcome)


def world_in_q1(women: int = 8):
    with time_machine.travel(IN_Q1, tick=False):
        world = delivery_world(women=women)
    rw = world.released
    for i in range(7):  # seven contacted in Q1: five agreed, two declined
        contact(world, rw[i], date(2026, 2, 12 + i), Participation.AGREED if i < 5 else Participation.DECLINED)
    contact(world, rw[7], date(2026, 3, 1), Participation.NOT_REACHED)
    return world


def columns(report: QuarterlyReport) -> list[Quarter]:
    return [Quarter(q["key"], q["released"], {m: report.figures["cells"][m][q["key"]] for m in report.figures["cells"]})
            for q in report.figures["quarters"]]


def test_figures_count_distinct_women_by_quarter_and_suppress_small_numbers():
    world = world_in_q1()
    contact(world, world.released[0], date(2026, 3, 20), Participation.AGREED)  # the same woman again
    with time_machine.travel(AFTER_Q1, tick=False):
        report = save_draft(world.programme, by=world.pause_lead, quarter=Q1)
    cells = report.figures["cells"]
    assert [q["key"] for q in report.figures["quarters"]] == ["2026Q1"]
    assert report.figures["quarters"][0]["released"] == 8
    assert cells["contacted"]["2026Q1"] == "8" and cells["engaged"]["2026Q1"] == "5"
    assert cells["declined"]["2026Q1"] == "<5" and cells["withdrawn"]["2026Q1"] == "0"
    assert report.suppressed == [{"measure": "declined", "quarter": "2026Q1", "shown": "<5"}]
    assert report.status == "draft" and report.sha256 == "" and report.recipients == [world.programme.trust.name]


def test_send_freezes_the_quarter_and_the_next_report_restates_it_exactly():
    world = world_in_q1()
    with time_machine.travel(AFTER_Q1, tick=False):
        first = send(save_draft(world.programme, by=world.pause_lead, quarter=Q1), by=world.pause_lead)
    assert first.status == "sent" and first.sent_at and first.sha256 == digest(first)
    entry = AuditEntry.objects.filter(object_pk=str(first.pk), reason__startswith="progress report for 2026Q1 sent")
    assert entry.count() == 1 and first.sha256[:16] in entry.get().reason
    # a late entry into Q1 (a third decline) and new contact in Q2 (two of the women withdraw)
    contact(world, world.released[7], date(2026, 3, 30), Participation.DECLINED)
    for i in (0, 1):
        contact(world, world.released[i], date(2026, 5, 4), Participation.WITHDREW)
    with time_machine.travel(AFTER_Q2, tick=False):
        second = send(save_draft(world.programme, by=world.pause_lead, quarter=Q2), by=world.pause_lead)
    assert second.figures["cells"]["declined"]["2026Q1"] == first.figures["cells"]["declined"]["2026Q1"] == "<5"
    assert columns(second)[0] == columns(first)[0]
    assert second.figures["cells"]["withdrawn"]["2026Q2"] == "<5"
    for pair in ([columns(first)], [columns(second)], [columns(first), columns(second)]):
        assert determined_cells(pair) == []


def test_figures_that_moved_since_the_draft_are_not_sent():
    world = world_in_q1()
    with time_machine.travel(AFTER_Q1, tick=False):
        draft = save_draft(world.programme, by=world.pause_lead, quarter=Q1)
        contact(world, world.released[5], date(2026, 3, 2), Participation.AGREED)
        with pytest.raises(FiguresMoved):
            send(draft, by=world.pause_lead)
        draft.refresh_from_db()
        assert draft.status == "draft" and draft.figures["cells"]["engaged"]["2026Q1"] == "6"
        assert send(draft, by=world.pause_lead).status == "sent"


def test_a_sent_report_never_changes():
    world = world_in_q1()
    with time_machine.travel(AFTER_Q1, tick=False):
        sent = send(save_draft(world.programme, by=world.pause_lead, quarter=Q1), by=world.pause_lead)
        with pytest.raises(ValidationError, match="never changes"):
            send(sent, by=world.pause_lead)
        with pytest.raises(ValidationError):
            save_draft(world.programme, by=world.pause_lead, quarter=Q1)
        assert reportable_quarters(world.programme) == []
    fresh = QuarterlyReport.objects.get(pk=sent.pk)
    assert (fresh.figures, fresh.sha256, fresh.sent_at) == (sent.figures, sent.sha256, sent.sent_at)


def test_only_the_pause_lead_in_delivery_writes_and_only_ended_quarters():
    world = world_in_q1()
    with time_machine.travel(AFTER_Q1, tick=False):
        for person in (world.trust_lead, world.practitioners[0], world.caldicott):
            with pytest.raises(PermissionDenied):
                save_draft(world.programme, by=person, quarter=Q1)
        with pytest.raises(ValidationError):
            save_draft(world.programme, by=world.pause_lead, quarter=Q2)  # not ended yet
        draft = save_draft(world.programme, by=world.pause_lead, quarter=Q1)
        Programme.objects.filter(pk=world.programme.pk).update(phase="closed")
        world.programme.refresh_from_db()
        with pytest.raises(PermissionDenied):
            send(draft, by=world.pause_lead)
    assert QuarterlyReport.objects.filter(status="sent").count() == 0


def test_recipients_are_the_trust_and_any_council_the_agreement_names():
    world = delivery_world(women=0)
    assert recipients(world.programme) == [world.programme.trust.name]
    Agreement.objects.filter(programme=world.programme).update(
        parties="Synthetic Trust (controller);\nNorthby City Council (controller)\nPause Northby (processor)")
    assert recipients(world.programme) == [world.programme.trust.name, "Northby City Council"]


@pytest.mark.parametrize("text", ["Three women withdrew", "Only 2 declined", "Contact at B12 3XQ",
                                  "Born 01/02/1990", "A couple agreed"])
def test_the_commentary_refuses_figures_and_identifiers(text):
    assert commentary_problem(text)
    world = world_in_q1()
    with time_machine.travel(AFTER_Q1, tick=False), pytest.raises(ValidationError):
        save_draft(world.programme, by=world.pause_lead, quarter=Q1, commentary=text)
    assert not QuarterlyReport.objects.exists()


def test_the_commentary_may_name_years_and_quarters():
    assert commentary_problem("Engagement rose in Q2 2026 and no one was left without a practitioner.") is None


# --- the role x phase x page matrix --------------------------------------------------------------------
ROLES = [Role.TRUST_CASEWORKER, Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN, Role.DPO, Role.PAUSE_LEAD,
         Role.PAUSE_PRACTITIONER, Role.SYSTEM_ADMIN]
TRUST_READERS = {Role.TRUST_CASEWORKER, Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN}


def pages(sent, draft):
    return [("list GET", reverse("progress:reports"), None), ("draft GET", reverse("progress:draft"), None),
            ("draft POST", reverse("progress:draft"), {"quarter": "2026Q2", "commentary": ""}),
            ("sent GET", reverse("progress:report", args=[sent.pk]), None),
            ("draft report GET", reverse("progress:report", args=[draft.pk]), None),
            ("send POST", reverse("progress:send", args=[draft.pk]), {})]


def expected(role, phase, page) -> int:
    lead_page = page in ("draft GET", "draft POST", "draft report GET", "send POST")
    if role == Role.PAUSE_LEAD:
        return 404 if phase != "delivery" else {"draft POST": 302, "send POST": 302}.get(page, 200)
    if role in TRUST_READERS and phase in ("delivery", "closed") and not lead_page:
        return 200
    return 404


@pytest.mark.parametrize("phase", ["delivery", "closed", "scoping"])
@pytest.mark.parametrize("role", ROLES)
def test_every_role_in_every_phase_on_every_page(role, phase):
    world = world_in_q1()
    with time_machine.travel(AFTER_Q1, tick=False):
        sent = send(save_draft(world.programme, by=world.pause_lead, quarter=Q1), by=world.pause_lead)
    with time_machine.travel(AFTER_Q2, tick=False):
        draft = save_draft(world.programme, by=world.pause_lead, quarter=Q2)
        person = world.pause_lead if role == Role.PAUSE_LEAD else person_in(world.programme, role)
        if phase != "delivery":
            Programme.objects.filter(pk=world.programme.pk).update(phase=phase)
        client = sign_in_verified(Client(), person)
        for page, url, data in pages(sent, draft):
            before = list(QuarterlyReport.objects.order_by("pk").values_list("status", "written_at"))
            response = client.get(url) if data is None else client.post(url, data)
            cell = (role.value, phase, page)
            assert response.status_code == expected(role, phase, page), cell
            if response.status_code == 404:
                assert list(QuarterlyReport.objects.order_by("pk").values_list("status", "written_at")) == before, cell
                continue
            body = response.content.decode()
            if page == "list GET":
                assert f"{sent.year} Q{sent.quarter}" in body, cell
                # the draft is listed for the Pause lead only (its link text, not any "Q2": a random
                # token or nonce in the page may contain those two characters)
                draft_link = f">{draft.year} Q{draft.quarter}<span class=\"govuk-visually-hidden\"> progress report"
                assert (draft_link in body) == (role == Role.PAUSE_LEAD), cell
            if page == "sent GET":
                assert 'id="progress-table"' in body and sent.sha256 in body and "Matches" in body, cell
                assert not any(i in body for i in world.cohort.identifiers), cell
    if role == Role.PAUSE_LEAD and phase == "delivery":
        assert QuarterlyReport.objects.get(pk=draft.pk).status == "sent"


def test_another_programmes_report_is_not_found():
    world = world_in_q1()
    other = delivery_world(women=0)
    with time_machine.travel(AFTER_Q1, tick=False):
        sent = send(save_draft(world.programme, by=world.pause_lead, quarter=Q1), by=world.pause_lead)
        for person in (other.pause_lead, other.trust_lead):
            client = sign_in_verified(Client(), person)
            assert client.get(reverse("progress:report", args=[sent.pk])).status_code == 404
            assert client.post(reverse("progress:send", args=[sent.pk])).status_code == 404


def test_the_draft_page_shows_errors_and_changes_nothing():
    world = world_in_q1()
    with time_machine.travel(AFTER_Q1, tick=False):
        client = sign_in_verified(Client(), world.pause_lead)
        response = client.post(reverse("progress:draft"), {"quarter": "2026Q1", "commentary": "Only 2 declined"})
        assert response.status_code == 400 and "There is a problem" in response.content.decode()
        response = client.post(reverse("progress:draft"), {"quarter": "2030Q1"})
        assert response.status_code == 400 and "Choose a quarter from the list" in response.content.decode()
    assert not QuarterlyReport.objects.exists()


def test_the_dashboards_link_to_the_reports():
    world = world_in_q1()
    for person in (world.pause_lead, world.trust_lead, world.practitioners[0]):
        body = sign_in_verified(Client(), person).get(reverse("dashboard")).content.decode()
        assert (reverse("progress:reports") in body) == (person != world.practitioners[0])


def test_a_quarter_with_fewer_than_five_women_released_is_withheld_and_stays_withheld():
    with time_machine.travel(IN_Q1, tick=False):
        world = delivery_world(women=3)
    contact(world, world.released[0], date(2026, 2, 20), Participation.AGREED)
    with time_machine.travel(datetime(2026, 5, 2, 10, tzinfo=TZ), tick=False):
        world.release(world.women(4))
    with time_machine.travel(AFTER_Q1, tick=False):
        first = send(save_draft(world.programme, by=world.pause_lead, quarter=Q1), by=world.pause_lead)
    with time_machine.travel(AFTER_Q2, tick=False):
        second = save_draft(world.programme, by=world.pause_lead, quarter=Q2)
    for report in (first, second):
        assert {report.figures["cells"][m]["2026Q1"] for m in report.figures["cells"]} == {"withheld"}
    assert second.figures["quarters"][1]["released"] == 7 and second.figures["cells"]["contacted"]["2026Q2"] == "0"


def test_reading_a_report_is_recorded():
    world = world_in_q1()
    with time_machine.travel(AFTER_Q1, tick=False):
        sent = send(save_draft(world.programme, by=world.pause_lead, quarter=Q1), by=world.pause_lead)
    sign_in_verified(Client(), world.trust_lead).get(reverse("progress:report", args=[sent.pk]))
    entry = AuditEntry.objects.get(actor=world.trust_lead, event="disclosure", object_pk=str(sent.pk))
    assert entry.reason == "progress report 2026 Q1 viewed (aggregates only)" and entry.role == Role.TRUST_LEAD
