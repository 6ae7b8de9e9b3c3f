"""The DPIA register (issue 23, point 2; ADR 48): the overall risk is the ICO's matrix, computed and
held by a database check; risks and reviews are changed only by the register's editors, each change
audited, bad input refused with nothing written; the pages and who reaches them; releases, scoping
and delivery, refused with nothing written once the review date has passed (or with no review) and
allowed again after a review; reminders 30 and 7 days before the date, and once it has passed,
each sent once, cleared by a new review."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core import reminders
from audit.core.models import AuditEntry, Event
from audit.core.models_reminders import Reminder
from audit.oversight.reminder_providers import PROVIDERS
from pause_portal.tenancy.roles import Role
from sharing import dpia_register
from sharing.delivery_release import DeliveryReleaseRefused
from sharing.dpia_register import (
    DpiaRefused,
    RiskValues,
    add_risk,
    edit_risk,
    record_review,
    release_blocker,
)
from sharing.dpia_reminders import dpia_review_due
from sharing.models_delivery import DeliveryRelease, ReleasedWoman
from sharing.models_dpia import MATRIX, DpiaReview, DpiaRisk, overall_risk
from sharing.models_scoping import ScopingRelease, ScopingWomanRow
from sharing.scoping_release import ScopingReleaseRefused, release_for_scoping
from tests import factories as f
from tests.conftest import sign_in_verified
from tests.root.test_urlconf_metatest import ROLE_OF
from tests.sharing.delivery.world import delivery_world
from tests.sharing.test_scoping_world import Cohort, agreement

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def values(owner, **changes) -> RiskValues:
    base = {"description": "People could be identified from the rows shared for scoping", "likelihood": "possible",
            "severity": "severe", "mitigations": "Rows are k-anonymous and tables suppress small cells",
            "residual_risk": "low", "owner": owner, "status": "open"}
    return RiskValues(**{**base, **changes})


def review(programme, by, *, reviewed_on=None, next_review_on=None) -> DpiaReview:
    today = timezone.localdate()
    return record_review(programme=programme, by=by, reviewed_on=reviewed_on or today,
                         next_review_on=next_review_on or today + timedelta(days=200))


def at(day: date):
    return time_machine.travel(datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=10), tick=False)


def dpia_entries():
    return AuditEntry.objects.filter(event=Event.CHANGE, reason__startswith="DPIA")


# --- the matrix --------------------------------------------------------------------------------
@pytest.mark.parametrize(("likelihood", "severity", "expected"), [
    ("remote", "minimal", "low"), ("remote", "significant", "low"), ("remote", "severe", "low"),
    ("possible", "minimal", "low"), ("possible", "significant", "medium"), ("possible", "severe", "high"),
    ("probable", "minimal", "low"), ("probable", "significant", "high"), ("probable", "severe", "high"),
])
def test_the_overall_risk_is_the_icos_matrix_computed_never_entered(likelihood, severity, expected, programme,
                                                                     trust_lead):
    assert overall_risk(likelihood, severity) == expected
    residual = "low"
    risk = add_risk(programme=programme, by=trust_lead,
                    values=values(trust_lead, likelihood=likelihood, severity=severity, residual_risk=residual))
    assert DpiaRisk.objects.get(pk=risk.pk).overall_risk == expected
    assert len(MATRIX) == 9


def test_the_database_refuses_an_overall_risk_the_matrix_does_not_give(programme, trust_lead):
    with pytest.raises(IntegrityError), transaction.atomic():
        DpiaRisk.objects.create(programme=programme, description="A risk", likelihood="remote", severity="minimal",
                                overall_risk="high", residual_risk="low", owner=trust_lead, recorded_by=trust_lead,
                                changed_by=trust_lead)


# --- the actions -------------------------------------------------------------------------------
def test_adding_and_changing_a_risk_each_write_one_audit_entry_naming_no_text(programme, trust_lead, dpo):
    risk = add_risk(programme=programme, by=trust_lead, values=values(trust_lead))
    assert (risk.overall_risk, risk.residual_risk, risk.status) == ("high", "low", "open")
    added = dpia_entries().get()
    assert added.actor == trust_lead and added.object_pk == str(risk.pk) and "overall risk high" in added.reason
    assert "identified" not in added.reason  # the description stays on the register, not in the trail

    edit_risk(risk=risk, by=dpo, values=values(dpo, likelihood="remote", residual_risk="low", status="accepted"))
    risk.refresh_from_db()
    assert (risk.likelihood, risk.overall_risk, risk.owner, risk.status, risk.changed_by) == (
        "remote", "low", dpo, "accepted", dpo)
    changed = dpia_entries().exclude(pk=added.pk).get()
    assert changed.actor == dpo and "(likelihood, owner, status)" in changed.reason


@pytest.mark.parametrize(("changes", "problem"), [
    ({"description": "   "}, "Describe the risk to people"),
    ({"likelihood": "certain"}, "Select how likely the harm is"),
    ({"severity": ""}, "Select how severe the harm would be"),
    ({"residual_risk": "high", "severity": "minimal"}, "cannot be higher than the overall risk (low)"),
    ({"mitigations": " "}, "Enter the mitigations that lower the risk"),
    ({"status": "forgotten"}, "Select the risk's status"),
    ({"description": "x" * 2001}, "2000 characters or fewer"),
])
def test_bad_values_are_refused_with_nothing_written(changes, problem, programme, trust_lead):
    with pytest.raises(DpiaRefused) as refused:
        add_risk(programme=programme, by=trust_lead, values=values(trust_lead, **changes))
    assert any(problem in p for p in refused.value.problems), refused.value.problems
    assert not DpiaRisk.objects.exists() and not dpia_entries().exists()


def test_the_owner_is_a_member_of_the_programme(programme, trust_lead, other_programme_person):
    with pytest.raises(DpiaRefused) as refused:
        add_risk(programme=programme, by=trust_lead, values=values(other_programme_person))
    assert refused.value.problems == ["Choose the risk's owner: a member of this programme"]
    assert not DpiaRisk.objects.exists()


@pytest.mark.parametrize("who", ["caldicott", "caseworker", "pause_lead", "other_programme_person"])
def test_only_trust_leads_and_the_dpo_change_the_register(who, actors, programme, trust_lead):
    person = actors[who]
    risk = add_risk(programme=programme, by=trust_lead, values=values(trust_lead))
    before = dpia_entries().count()
    with pytest.raises(DpiaRefused, match="Only the programme's Trust leads and DPO"):
        add_risk(programme=programme, by=person, values=values(trust_lead))
    with pytest.raises(DpiaRefused):
        edit_risk(risk=risk, by=person, values=values(trust_lead, status="closed"))
    with pytest.raises(DpiaRefused):
        review(programme, person)
    assert DpiaRisk.objects.count() == 1 and DpiaRisk.objects.get().status == "open"
    assert not DpiaReview.objects.exists() and dpia_entries().count() == before


def test_a_change_with_nothing_changed_is_refused(programme, trust_lead):
    risk = add_risk(programme=programme, by=trust_lead, values=values(trust_lead))
    with pytest.raises(DpiaRefused, match="nothing was changed"):
        edit_risk(risk=risk, by=trust_lead, values=values(trust_lead))


def test_a_change_rolls_back_whole_when_its_audit_entry_cannot_be_written(programme, trust_lead, monkeypatch):
    def failing(*args, **kwargs):
        raise RuntimeError("the audit trail is unavailable")

    risk = add_risk(programme=programme, by=trust_lead, values=values(trust_lead))
    monkeypatch.setattr(dpia_register, "record_event", failing)
    with pytest.raises(RuntimeError):
        edit_risk(risk=risk, by=trust_lead, values=values(trust_lead, status="closed"))
    with pytest.raises(RuntimeError):
        review(programme, trust_lead)
    assert DpiaRisk.objects.get().status == "open" and not DpiaReview.objects.exists()


@time_machine.travel(NOON, tick=False)
@pytest.mark.parametrize(("reviewed_on", "next_review_on", "problem"), [
    (date(2026, 12, 8), date(2027, 6, 1), "must be today or in the past"),
    (date(2026, 12, 1), date(2026, 12, 7), "must be in the future"),
    (date(2026, 12, 1), date(2027, 12, 3), "within a year of this review"),
    (None, date(2027, 6, 1), "Enter the date the DPIA was reviewed"),
    (date(2026, 12, 1), None, "Enter the date the next review is due"),
])
def test_a_review_needs_its_date_and_a_next_date_in_the_next_year(reviewed_on, next_review_on, problem, programme,
                                                                   dpo):
    with pytest.raises(DpiaRefused) as refused:
        record_review(programme=programme, by=dpo, reviewed_on=reviewed_on, next_review_on=next_review_on)
    assert any(problem in p for p in refused.value.problems), refused.value.problems
    assert not DpiaReview.objects.exists() and not dpia_entries().exists()


@time_machine.travel(NOON, tick=False)
def test_a_review_is_audited_and_cannot_go_back_before_the_last(programme, dpo):
    first = record_review(programme=programme, by=dpo, reviewed_on=date(2026, 12, 1), next_review_on=date(2027, 6, 1))
    entry = dpia_entries().get()
    assert entry.actor == dpo and entry.reason == ("DPIA review recorded: reviewed on 2026-12-01, next review due "
                                                   "2027-06-01")
    with pytest.raises(DpiaRefused, match="the review is not complete") as refused:
        record_review(programme=programme, by=dpo, reviewed_on=date(2026, 11, 1), next_review_on=date(2027, 6, 1))
    assert "cannot be before its last review (1 December 2026)" in refused.value.problems[0]
    assert dpia_register.latest_review(programme) == first


# --- the release gate --------------------------------------------------------------------------
@pytest.fixture
def scoping_world(programme, trust_lead, caldicott):
    agreement(programme, proposed_by=trust_lead, decided_by=caldicott, dpia_review=False)
    return Cohort(programme, trust_lead)


def six_women(world):
    today = timezone.localdate()
    return [world.woman(born=date(1990, 3, 1) + timedelta(days=i), ethnicity="WBRI",
                        removals=[today - timedelta(days=100), today - timedelta(days=200)]) for i in range(6)]


def test_a_scoping_release_is_refused_with_no_review_then_after_its_date_and_allowed_after_a_review(
        scoping_world, programme, trust_lead, dpo):
    women = six_women(scoping_world)
    with pytest.raises(ScopingReleaseRefused) as refused:
        release_for_scoping(programme, women, by=trust_lead)
    assert refused.value.problems == [dpia_register.NO_REVIEW]

    today = timezone.localdate()
    review(programme, dpo, reviewed_on=today - timedelta(days=100), next_review_on=today + timedelta(days=10))
    assert release_blocker(programme) is None
    with at(today + timedelta(days=10)):
        assert release_blocker(programme) is None  # the date itself is still in time
    with at(today + timedelta(days=11)):
        due = today + timedelta(days=10)
        with pytest.raises(ScopingReleaseRefused) as refused:
            release_for_scoping(programme, women, by=trust_lead)
        assert refused.value.message == "Nothing was released: what a release needs is not on record."
        assert refused.value.problems == [f"The DPIA's review date has passed (on {due.day} {due:%B %Y}): record a "
                                          "review before releasing"]
        assert not ScopingRelease.objects.exists() and not ScopingWomanRow.objects.exists()

        review(programme, dpo)  # a new review moves the date on
        release = release_for_scoping(programme, women, by=trust_lead)
    assert ScopingWomanRow.objects.filter(release=release).count() == 6


def test_a_delivery_release_is_refused_once_the_date_has_passed_with_nothing_written_then_allowed(db):
    world = delivery_world(women=0, name="Delivery gate")
    dpo = f.person(world.programme.trust)
    f.membership(dpo, world.programme, Role.DPO)
    women = world.women(2)
    today = timezone.localdate()
    due = today + timedelta(days=10)
    review(world.programme, dpo, reviewed_on=today, next_review_on=due)
    with at(due + timedelta(days=1)):
        with pytest.raises(DeliveryReleaseRefused) as refused:
            world.release(women)
        assert refused.value.problems == [dpia_register.review_passed(due)]
        assert not DeliveryRelease.objects.exists() and not ReleasedWoman.objects.exists()
        review(world.programme, dpo)
        assert len(world.release(women)) == 2


# --- the pages ---------------------------------------------------------------------------------
ALLOWED = {
    "governance:dpia": {Role.TRUST_LEAD, Role.DPO, Role.CALDICOTT_GUARDIAN},
    "governance:dpia-risk-add": {Role.TRUST_LEAD, Role.DPO},
    "governance:dpia-risk-edit": {Role.TRUST_LEAD, Role.DPO},
    "governance:dpia-review": {Role.TRUST_LEAD, Role.DPO},
}


@pytest.mark.parametrize("name", sorted(ALLOWED))
@pytest.mark.parametrize("method", ["get", "post"])
def test_each_register_page_refuses_every_other_role(name, method, actors):
    url = reverse(name)
    assert getattr(Client(), method)(url)["Location"].startswith(reverse("accounts:sign-in"))
    for actor, role in ROLE_OF.items():
        response = getattr(sign_in_verified(Client(), actors[actor]), method)(url)
        if role not in ALLOWED[name]:
            assert response.status_code == 404, (name, actor, response.status_code)
        elif method == "get" and actor != "other_programme_person":
            assert response.status_code in (200, 302, 405), (name, actor, response.status_code)


def test_the_register_in_words_for_each_reader_and_the_forms_only_for_its_editors(programme, trust_lead, dpo,
                                                                                   caldicott):
    add_risk(programme=programme, by=trust_lead, values=values(dpo))
    review(programme, trust_lead)
    for person, edits in ((trust_lead, True), (dpo, True), (caldicott, False)):
        body = sign_in_verified(Client(), person).get(reverse("governance:dpia")).content.decode()
        assert "People could be identified from the rows shared for scoping" in body
        assert f"{dpo.full_name}, Data protection officer" in body  # the owner, as name and role
        assert "Possible, severe" in body and ">High<" in body
        assert re.search(r"Open high risks</dt><dd[^>]*>1<", body)
        assert f"by {trust_lead.full_name}" in body
        assert ("Record the review" in body) is edits and ("Add a risk" in body) is edits
    # The page records whose names it showed.
    assert AuditEntry.objects.filter(event=Event.DISCLOSURE, actor=caldicott, reason="staff details").exists()


def test_adding_and_changing_a_risk_and_recording_a_review_through_the_pages(programme, trust_lead, dpo):
    client = sign_in_verified(Client(), dpo)
    form = {"description": "A woman is approached again after declining", "likelihood": "probable",
            "severity": "significant", "mitigations": "A marker blocks her release", "residual_risk": "medium",
            "owner": str(trust_lead.pk), "status": "open"}
    assert client.post(reverse("governance:dpia-risk-add"), form).status_code == 302
    risk = DpiaRisk.objects.get()
    assert (risk.overall_risk, risk.owner, risk.recorded_by) == ("high", trust_lead, dpo)
    page = client.get(reverse("governance:dpia-risk-edit"), {"risk": risk.pk}).content.decode()
    assert "A woman is approached again after declining" in page and "do not name or describe" in page.lower()
    assert client.post(reverse("governance:dpia-risk-edit"), {**form, "risk": risk.pk, "status": "accepted"}
                       ).status_code == 302
    assert DpiaRisk.objects.get().status == "accepted"

    today = timezone.localdate()
    next_on = today + timedelta(days=180)
    response = client.post(reverse("governance:dpia-review"), {
        "reviewed_on": today.strftime("%d/%m/%Y"), "next_review_on": next_on.strftime("%d/%m/%Y")})
    assert response.status_code == 302
    assert dpia_register.latest_review(programme).next_review_on == next_on
    assert dpia_entries().count() == 3


def test_bad_input_on_the_pages_is_shown_against_its_field_and_changes_nothing(programme, trust_lead):
    client = sign_in_verified(Client(), trust_lead)
    response = client.post(reverse("governance:dpia-risk-add"), {
        "description": "", "likelihood": "possible", "severity": "minimal", "residual_risk": "high",
        "owner": "999999", "status": "open"})
    body = response.content.decode()
    assert response.status_code == 400 and "Describe the risk to people" in body
    assert "Choose the risk&#x27;s owner: a member of this programme" in body
    response = client.post(reverse("governance:dpia-review"), {"reviewed_on": "31/2/2026", "next_review_on": ""})
    body = response.content.decode()
    assert response.status_code == 400 and "must be a real date" in body and "Enter the date the next review" in body
    assert not DpiaRisk.objects.exists() and not DpiaReview.objects.exists()


def test_another_programmes_risk_answers_404_and_stays_as_it_is(programme, trust_lead, other_programme,
                                                                 other_programme_person):
    risk = add_risk(programme=programme, by=trust_lead, values=values(trust_lead))
    client = sign_in_verified(Client(), other_programme_person)
    assert client.get(reverse("governance:dpia-risk-edit"), {"risk": risk.pk}).status_code == 404
    assert client.post(reverse("governance:dpia-risk-edit"), {"risk": risk.pk, "status": "closed"}).status_code == 404
    assert DpiaRisk.objects.get().status == "open"
    assert "People could be identified" not in client.get(reverse("governance:dpia")).content.decode()


def test_the_dashboards_link_the_register_for_its_readers_only(actors):
    for actor in ("trust_lead", "dpo", "caldicott", "pause_lead", "caseworker"):
        body = sign_in_verified(Client(), actors[actor]).get(reverse("dashboard")).content.decode()
        assert (reverse("governance:dpia") in body) is (actor in ("trust_lead", "dpo", "caldicott")), actor


# --- reminders ---------------------------------------------------------------------------------
@pytest.fixture
def reviewed(programme, trust_lead, dpo, caldicott, pause_lead):
    """A review due on 1 March 2027, recorded on 1 December 2026."""
    with at(date(2026, 12, 1)):
        return record_review(programme=programme, by=dpo, reviewed_on=date(2026, 12, 1),
                             next_review_on=date(2027, 3, 1))


def sweep(day: date) -> int:
    with at(day):
        return reminders.run(PROVIDERS)["dpia_review"]


def test_reminders_at_30_and_7_days_and_once_passed_each_sent_once_to_the_editors(reviewed, programme, trust_lead,
                                                                                   dpo):
    assert sweep(date(2027, 1, 29)) == 0 and mail.outbox == []  # 31 days before: nothing yet
    assert sweep(date(2027, 1, 30)) == 1  # 30 days before
    assert sorted(m.to[0] for m in mail.outbox) == sorted([trust_lead.email, dpo.email])  # not the Guardian
    first = mail.outbox[0]
    assert first.subject == "The DPIA review of Test programme is due within 30 days"
    assert "1 March 2027" in first.body and "DPIA register" in first.body
    for day in (date(2027, 1, 30), date(2027, 2, 1), date(2027, 2, 21)):
        assert sweep(day) == 0
    assert sweep(date(2027, 2, 22)) == 1  # 7 days before
    assert mail.outbox[-1].subject == "The DPIA review of Test programme is due within 7 days"
    assert sweep(date(2027, 3, 1)) == 0  # the date itself: still in time
    assert sweep(date(2027, 3, 2)) == 1 and "overdue" in mail.outbox[-1].subject
    assert sweep(date(2027, 3, 9)) == 0
    assert len(mail.outbox) == 6
    assert sorted(Reminder.objects.values_list("stage", flat=True)) == ["30d", "7d", "overdue"]


def test_a_sweep_that_first_runs_within_7_days_sends_only_the_7_day_reminder(reviewed):
    assert sweep(date(2027, 2, 25)) == 1
    assert list(Reminder.objects.values_list("stage", flat=True)) == ["7d"]


def test_a_new_review_clears_the_reminders_and_the_new_date_gets_its_own(reviewed, programme, dpo, trust_lead):
    assert sweep(date(2027, 2, 22)) == 1
    with at(date(2027, 2, 23)):
        record_review(programme=programme, by=dpo, reviewed_on=date(2027, 2, 23), next_review_on=date(2027, 8, 1))
    assert sweep(date(2027, 2, 23)) == 0
    assert not Reminder.objects.filter(cleared_at__isnull=True).exists()
    dashboard = sign_in_verified(Client(), trust_lead).get(reverse("dashboard")).content.decode()
    assert "DPIA review" not in dashboard
    assert sweep(date(2027, 7, 2)) == 1  # 30 days before the new date
    assert Reminder.objects.filter(cleared_at__isnull=True).get().stage == "30d"


def test_the_reminder_waits_on_the_dashboard_of_its_recipients_until_reviewed(reviewed, trust_lead, caldicott):
    sweep(date(2027, 2, 1))
    with at(date(2027, 2, 1)):
        lead = sign_in_verified(Client(), trust_lead).get(reverse("dashboard")).content.decode()
        guardian = sign_in_verified(Client(), caldicott).get(reverse("dashboard")).content.decode()
    assert "The DPIA review is due on 1 March 2027" in lead and reverse("governance:dpia") in lead
    assert "The DPIA review is due on 1 March 2027" not in guardian


def test_no_reminder_of_a_closed_programme_nor_without_a_review(reviewed, programme, other_programme):
    with at(date(2027, 2, 22)):
        assert [d.item for d in dpia_review_due(timezone.now())] == [f"sharing.dpiareview:{reviewed.pk}"]
        programme.phase = "closed"
        programme.save(update_fields=["phase"])
        assert dpia_review_due(timezone.now()) == []


def test_the_reminder_names_no_reference_and_a_programme_name_with_a_number_is_left_out(reviewed, programme):
    programme.name = "Cohort 2026"
    programme.save(update_fields=["name"])
    with at(date(2027, 2, 22)):
        (due,) = dpia_review_due(timezone.now())
    assert "2026" not in due.subject + due.body + due.headline
    assert "one of your programmes" in due.subject
    text = due.subject + due.body + due.headline
    assert f"dpiareview:{reviewed.pk}" not in text and f"#{reviewed.pk}" not in text
    assert reminders.looks_identifying(text) is None
