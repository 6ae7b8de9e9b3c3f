"""The reminders of issue 23, point 6 that the DPO's and the second persons' work needs (ADR 47):
a rights request 7 days and 1 day before it is due (and once overdue), and whatever has waited 3
days for a second person's confirmation (a phase change, an agreement version, a privacy notice, a
statutory power, a role grant, the DPO's erasure or upheld objection). Each at its time and not
before, exactly once over repeated sweeps, to those who may act and nobody else, with no
reference, name or id in the email or the headline; on their dashboards until the thing is done.
All data is synthetic."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from audit.core import reminders
from audit.core.models_reminders import Reminder
from audit.core.models_rights import RequestStatus
from audit.oversight import confirmation_reminders, proposals, rights, rights_reminders
from audit.oversight.reminder_providers import PROVIDERS, run_all
from eligibility.models import Woman
from pause_portal.tenancy.models import Person
from pause_portal.tenancy.roles import Role
from pseudonymisation.fields import Protector
from sharing import actions
from sharing.agreements import propose_agreement, reject_agreement
from sharing.demo_delivery import agreement_values
from sharing.phases import propose_phase_change, withdraw_phase_change
from sharing.privacy_notices import confirm_notice, publish_notice
from sharing.statutory_powers import decide_power, propose_power
from tests import factories as f
from tests.audit.oversight.test_rights_world import NO_EXEMPTION, rights_world
from tests.conftest import sign_in_verified
from tests.sharing.notices import PAUSE_TEXT
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def sweep(kind: str, provider, moment: datetime) -> list[Reminder]:
    with time_machine.travel(moment, tick=False):
        return reminders.send_due(kind, provider(moment), now=moment)


def dashboard_of(person) -> str:
    return sign_in_verified(Client(), person).get(reverse("dashboard")).content.decode()


def woman_secrets(w, request) -> list[str]:
    woman = request.woman
    protector = Protector.load(w.programme.pk, Woman.key_phase)
    values = [woman.reveal(protector, name) for name in ("forename", "surname", "trust_person_id", "nhs_number",
                                                       "postcode")]
    return [v for v in values if v]


def assert_nothing_identifies(texts: list[str], forbidden: list[str]) -> None:
    assert texts
    for text in texts:
        for secret in forbidden:
            assert secret and secret.lower() not in text.lower(), (secret, text)
        assert reminders.looks_identifying(text) is None, text


def test_the_three_providers_are_registered():
    assert PROVIDERS[rights_reminders.KIND] is rights_reminders.rights_due
    assert PROVIDERS[confirmation_reminders.KIND] is confirmation_reminders.confirmations_waiting
    assert "concern_unacknowledged" in PROVIDERS


# --- rights requests -----------------------------------------------------------------------------------
@pytest.fixture
def rw():
    w = rights_world(women=1)
    w.second_dpo = member(w.programme, Role.DPO)
    w.other = rights_world(women=0)  # another programme, with its own DPO
    return w


def open_request(w, kind="access", on=london(2027, 1, 4, 9, 0)):
    with time_machine.travel(on, tick=False):
        return w.request(kind)


def rights_sweep(moment):
    return sweep(rights_reminders.KIND, rights_reminders.rights_due, moment)


@pytest.mark.parametrize(("today", "stage"), [
    (date(2027, 1, 27), ""), (date(2027, 1, 28), "7d"), (date(2027, 2, 2), "7d"), (date(2027, 2, 3), "1d"),
    (date(2027, 2, 4), "1d"), (date(2027, 2, 5), "overdue"), (date(2027, 3, 5), "overdue"),
])
def test_the_stage_of_a_request_due_on_4_february(today, stage):
    assert rights_reminders.stage_on(date(2027, 2, 4), today) == stage


def test_a_request_is_reminded_7_days_and_1_day_before_it_is_due_once_each_to_the_dpos(rw):
    rr = open_request(rw)
    assert rr.due_on == date(2027, 2, 4)
    mail.outbox.clear()
    assert rights_sweep(london(2027, 1, 27, 23, 59)) == []
    sent = rights_sweep(london(2027, 1, 28, 0, 0))
    assert [(r.item, r.stage) for r in sent] == [(f"audit.rightsrequest:{rr.pk}:due:2027-02-04", "7d")]
    for moment in (london(2027, 1, 28, 0, 15), london(2027, 1, 30, 12, 0), london(2027, 2, 2, 23, 59)):
        assert rights_sweep(moment) == []
    assert [r.stage for r in rights_sweep(london(2027, 2, 3, 0, 0))] == ["1d"]
    assert rights_sweep(london(2027, 2, 4, 10, 0)) == []
    assert [r.stage for r in rights_sweep(london(2027, 2, 5, 0, 0))] == ["overdue"]
    assert rights_sweep(london(2027, 2, 6, 0, 0)) == []
    assert len(mail.outbox) == 6  # three reminders, two DPOs each
    assert {m.to[0] for m in mail.outbox} == {rw.dpo.email, rw.second_dpo.email}
    assert [m.subject for m in mail.outbox[::2]] == [
        f"Reminder: a rights request in {rw.programme.name} is due in 7 days, on 4 February 2027",
        f"Reminder: a rights request in {rw.programme.name} is due tomorrow, on 4 February 2027",
        f"Reminder: a rights request in {rw.programme.name} was due on 4 February 2027 and is overdue"]
    assert reverse("rights:requests") in mail.outbox[0].body


def test_a_request_opened_late_gets_only_the_latest_stage(rw):
    rr = open_request(rw, on=london(2027, 1, 4, 9, 0))
    mail.outbox.clear()
    assert [r.stage for r in rights_sweep(london(2027, 2, 3, 12, 0))] == ["1d"]
    assert Reminder.objects.filter(item__startswith=f"audit.rightsrequest:{rr.pk}:").count() == 1


def test_no_reference_name_or_kind_in_the_email_or_the_headline(rw):
    rr = open_request(rw, kind="erasure")
    mail.outbox.clear()
    rights_sweep(london(2027, 1, 28, 0, 0))
    reminder = Reminder.objects.get(kind=rights_reminders.KIND)
    texts = [reminder.headline, reminder.subject, *(m.subject for m in mail.outbox), *(m.body for m in mail.outbox)]
    assert_nothing_identifies(texts, [rr.reference, *woman_secrets(rw, rr), rw.dpo.full_name, rw.second_dpo.full_name,
                                      "erasure", "erase", f"#{rr.pk}", "synthetic request"])


def test_shown_to_the_dpos_only_and_cleared_once_answered(rw):
    rr = open_request(rw)
    rights_sweep(london(2027, 1, 28, 0, 0))
    headline = "A rights request is due in 7 days: on 4 February 2027"
    assert headline in dashboard_of(rw.dpo) and headline in dashboard_of(rw.second_dpo)
    for someone in (rw.caldicott, rw.delivery.trust_lead, rw.caseworker, rw.delivery.pause_lead, rw.other.dpo):
        assert headline not in dashboard_of(someone)
    with time_machine.travel(london(2027, 1, 29, 10, 0), tick=False):
        rights.close(rr, status=RequestStatus.COMPLETED, note="Synthetic: the copy was sent", by=rw.dpo)
    assert rights_sweep(london(2027, 1, 29, 10, 15)) == []
    assert Reminder.objects.get(kind=rights_reminders.KIND).cleared_at is not None
    assert headline not in dashboard_of(rw.dpo)
    mail.outbox.clear()
    assert rights_sweep(london(2027, 2, 3, 0, 0)) == [] and mail.outbox == []


def test_an_extension_clears_the_old_dates_reminders_and_reminds_again_before_the_new_date(rw):
    rr = open_request(rw)
    rights_sweep(london(2027, 2, 3, 0, 0))  # "1d" for 4 February
    with time_machine.travel(london(2027, 2, 3, 9, 0), tick=False):
        rights.extend(rr, months=1, reason="Complex: several systems to search", by=rw.dpo)
    rr.refresh_from_db()
    assert rr.due_on == date(2027, 3, 4)
    assert rights_sweep(london(2027, 2, 3, 9, 15)) == []
    old = Reminder.objects.get(item=f"audit.rightsrequest:{rr.pk}:due:2027-02-04")
    assert old.cleared_at is not None
    assert "due tomorrow" not in dashboard_of(rw.dpo)
    assert rights_sweep(london(2027, 2, 24, 23, 0)) == []
    sent = rights_sweep(london(2027, 2, 25, 0, 0))
    assert [(r.item, r.stage) for r in sent] == [(f"audit.rightsrequest:{rr.pk}:due:2027-03-04", "7d")]
    assert "A rights request is due in 7 days: on 4 March 2027" in dashboard_of(rw.dpo)


# --- confirmations waiting --------------------------------------------------------------------------
T0 = london(2027, 1, 4, 10, 0)


@pytest.fixture
def waiting():
    """One of each thing proposed at T0, each waiting for a second person."""
    w = rights_world(women=1)
    d = w.delivery
    w.second_lead = member(w.programme, Role.TRUST_LEAD)
    w.second_pause_lead = member(w.programme, Role.PAUSE_LEAD)
    w.admin = f.person(w.programme.trust, system_admin=True)
    w.second_admin = f.person(w.programme.trust, system_admin=True)
    w.newcomer = f.person(w.programme.trust)
    w.other = rights_world(women=0)
    with time_machine.travel(T0, tick=False):
        w.change = propose_phase_change(programme=w.programme, by=d.trust_lead, reason="Synthetic: the programme ends",
                                        to_phase="closed")
        w.version = propose_agreement(programme=w.programme, by=d.trust_lead,
                                      values=agreement_values(w.programme, today=date(2027, 1, 4)),
                                      change_reason="Synthetic")
        w.notice = publish_notice(programme=w.programme, by=d.pause_lead, text=PAUSE_TEXT + " Synthetic revision.")
        w.power = propose_power(programme=w.programme, by=d.trust_lead,
                                label="Synthetic Act 1999, section 99: a synthetic duty",
                                justification="Synthetic legal advice")
        w.grant = actions.request_role(person=w.newcomer, programme=w.programme, role=Role.DPO, by=w.admin)
        w.rr = w.request("erasure")
        w.proposal = proposals.propose_erasure(w.rr, ground="art17_1_a", exemptions=NO_EXEMPTION, by=w.dpo)
    mail.outbox.clear()
    return w


def confirmation_sweep(moment):
    return sweep(confirmation_reminders.KIND, confirmation_reminders.confirmations_waiting, moment)


def recipients_of(item: str) -> set[int]:
    return set(Reminder.objects.get(kind=confirmation_reminders.KIND, item=item).recipients
               .values_list("person_id", flat=True))


def test_each_waiting_thing_is_reminded_after_3_days_once_to_those_who_may_decide_it(waiting):
    w = waiting
    assert confirmation_sweep(T0 + timedelta(days=3, minutes=-1)) == []
    sent = confirmation_sweep(T0 + timedelta(days=3))
    assert sorted(r.item for r in sent) == sorted([
        f"sharing.phasechange:{w.change.pk}", f"sharing.agreement:{w.version.pk}",
        f"sharing.privacynotice:{w.notice.pk}", f"sharing.statutorypower:{w.power.pk}",
        f"sharing.membership:{w.grant.pk}", f"audit.rightsproposal:{w.proposal.pk}"])
    assert {r.stage for r in sent} == {"3d"}
    for later in (timedelta(days=3, minutes=15), timedelta(days=4), timedelta(days=10)):
        assert confirmation_sweep(T0 + later) == []  # exactly once
    d = w.delivery
    assert recipients_of(f"sharing.phasechange:{w.change.pk}") == {d.caldicott.pk, w.second_lead.pk}
    assert recipients_of(f"sharing.agreement:{w.version.pk}") == {d.caldicott.pk}
    assert recipients_of(f"sharing.privacynotice:{w.notice.pk}") == {d.caldicott.pk, w.second_pause_lead.pk}
    assert recipients_of(f"sharing.statutorypower:{w.power.pk}") == {d.caldicott.pk}
    # Any system administrator but the one who asked (the worlds' set-ups made some), and the Guardian.
    admins = set(Person.objects.filter(is_system_admin=True, is_active=True).exclude(pk=w.admin.pk)
                 .values_list("pk", flat=True))
    assert w.second_admin.pk in admins and w.admin.pk not in admins
    assert recipients_of(f"sharing.membership:{w.grant.pk}") == {d.caldicott.pk, *admins}
    assert recipients_of(f"audit.rightsproposal:{w.proposal.pk}") == {d.caldicott.pk}
    # The emails went to those people, one per reminder each.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [d.caldicott.email] * 6 + [w.second_lead.email, w.second_pause_lead.email]
        + [p.email for p in Person.objects.filter(pk__in=admins)])
    assert w.admin.email not in {m.to[0] for m in mail.outbox}


def test_no_name_reference_or_id_in_the_emails_or_the_headlines(waiting):
    w = waiting
    confirmation_sweep(T0 + timedelta(days=3))
    rows = Reminder.objects.filter(kind=confirmation_reminders.KIND)
    texts = [*rows.values_list("headline", flat=True), *rows.values_list("subject", flat=True),
             *(m.subject for m in mail.outbox), *(m.body for m in mail.outbox)]
    d = w.delivery
    assert_nothing_identifies(texts, [
        w.rr.reference, *woman_secrets(w, w.rr), w.newcomer.full_name, w.newcomer.email, d.trust_lead.full_name,
        d.pause_lead.full_name, w.dpo.full_name, w.admin.full_name, d.caldicott.full_name, "Synthetic Act",
        "synthetic duty", "erasure", "erase", "objection", "Data protection officer role"])


def test_shown_on_the_deciders_dashboards_not_on_the_proposers_and_cleared_once_decided(waiting):
    w = waiting
    d = w.delivery
    confirmation_sweep(T0 + timedelta(days=3))
    phase = "A phase change has waited 3 days for confirmation"
    rights_decision = "A decision of the data protection officer on a rights request has waited 3 days"
    grant = "A role grant has waited 3 days for confirmation"
    page = dashboard_of(d.caldicott)
    assert phase in page and rights_decision in page and grant in page
    assert phase in dashboard_of(w.second_lead) and grant in dashboard_of(w.second_admin)
    for proposer, headline in ((d.trust_lead, phase), (w.dpo, rights_decision), (w.admin, grant)):
        assert headline not in dashboard_of(proposer)
    assert phase not in dashboard_of(w.other.caldicott) and phase not in dashboard_of(d.pause_lead)
    # Decided, rejected, withdrawn: cleared at the next sweep.
    with time_machine.travel(T0 + timedelta(days=3, hours=1), tick=False):
        withdraw_phase_change(change=w.change, by=d.trust_lead)
        reject_agreement(agreement=w.version, by=d.caldicott, justification="Synthetic: not needed")
        confirm_notice(notice=w.notice, by=w.second_pause_lead, justification="Synthetic: the notice is right")
        decide_power(power=w.power, by=d.caldicott, confirm=True, justification="Synthetic: the advice holds")
        actions.confirm_role(membership=w.grant, by=w.second_admin, justification="Synthetic: the grant is needed")
        proposals.withdraw(w.proposal, reason="Synthetic: asked again", by=w.dpo)
    confirmation_sweep(T0 + timedelta(days=3, hours=1, minutes=15))
    assert not Reminder.objects.filter(kind=confirmation_reminders.KIND, cleared_at__isnull=True).exists()
    page = dashboard_of(d.caldicott)
    assert phase not in page and rights_decision not in page and grant not in page


def test_a_thing_decided_within_3_days_is_never_reminded(waiting):
    w = waiting
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        withdraw_phase_change(change=w.change, by=w.delivery.trust_lead)
    confirmation_sweep(T0 + timedelta(days=3))
    assert not Reminder.objects.filter(item=f"sharing.phasechange:{w.change.pk}").exists()


def test_the_sweep_runs_all_three_kinds(waiting):
    w = waiting
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        counts = run_all(now=T0 + timedelta(days=3))
    assert counts[confirmation_reminders.KIND] == 6
    assert counts[rights_reminders.KIND] == 0 and counts["concern_unacknowledged"] == 0
    assert w.rr.status == RequestStatus.OPEN
