"""Suspected breaches (issue 23, point 4; ADR 49): every role of a programme can report one, on a
form that warns against names; the Trust's DPO (and Pause's, for Pause's side) is told with no
identifier; the reporter sees a confirmation, never the register; the DPO records it as a breach or
dismisses it; a monitoring flag is escalated into a breach; after 72 hours the ICO decision needs the
reason for the delay; the women affected are linked by reference only, of the breach's programme;
and each woman's Art. 34 outcome is recorded. Every new page refuses every other role. All data is
synthetic."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.core.log import record_event
from audit.core.models import AuditEntry, Event
from audit.core.models_review import FlagRule, MonitoringFlag
from audit.core.models_rights import AffectedWoman, Breach, ReportStatus, SuspectedBreach
from audit.oversight import breach_reports, breaches
from pause_portal.tenancy.roles import OrganisationKind, Role
from sharing.models_scoping import Agreement
from tests import factories as f
from tests.audit.oversight.test_rights_world import rights_world
from tests.conftest import sign_in_verified
from tests.sharing.test_scoping_world import member

pytestmark = pytest.mark.django_db
PROGRAMME_ROLES = [Role.TRUST_CASEWORKER, Role.TRUST_LEAD, Role.CALDICOTT_GUARDIAN, Role.DPO, Role.PAUSE_LEAD,
                   Role.PAUSE_PRACTITIONER]
PAUSE_DPO = "dpo@pause.example.org"
ACCOUNT = "An export of the caseload was emailed to the wrong team"


def _report_form(**overrides) -> dict:
    now = timezone.localtime()
    data = {"what_happened": ACCOUNT, "noticed_day": now.day, "noticed_month": now.month, "noticed_year": now.year,
            "noticed_time": "00:00", "pause_side": "no", "systems": "trust"}
    data.update(overrides)
    return data


def _report(w, by=None, **overrides):
    values = dict(programme=w.programme, by=by or w.caseworker, what_happened=ACCOUNT,
                  noticed_at=timezone.now() - timedelta(hours=2), pause_side=False, systems="trust")
    values.update(overrides)
    return breach_reports.report_suspected_breach(**values)


def test_every_role_can_report_on_a_form_that_warns_against_names_and_never_sees_the_register(
        django_capture_on_commit_callbacks):
    w = rights_world(women=0)
    Agreement.objects.filter(programme=w.programme).update(pause_dpo_email=PAUSE_DPO)
    people = {Role.DPO: w.dpo, Role.TRUST_CASEWORKER: w.caseworker}
    for role in PROGRAMME_ROLES:
        person = people.get(role) or member(w.programme, role)
        client = sign_in_verified(Client(), person)
        dashboard = client.get(reverse("dashboard")).content.decode()
        assert reverse("breach:report") in dashboard, role
        page = client.get(reverse("breach:report"))
        assert page.status_code == 200 and "Do not write anyone&#x27;s name" in page.content.decode()
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("breach:report"), _report_form())
        assert response.status_code == 302 and response["Location"] == reverse("breach:reported"), role
        confirmation = client.get(response["Location"]).content.decode()
        assert "Suspected breach reported" in confirmation and ACCOUNT not in confirmation
        report = SuspectedBreach.objects.order_by("-pk").first()
        assert report.reported_by == person and report.status == ReportStatus.WAITING
        assert bytes(report.what_happened).find(ACCOUNT.encode()) == -1  # encrypted at rest
        pause = role in (Role.PAUSE_LEAD, Role.PAUSE_PRACTITIONER)
        assert report.pause_side is pause, role  # a Pause role's report always involves Pause's side
        assert AuditEntry.objects.filter(object_repr=f"audit.suspectedbreach:{report.pk}",
                                         reason__startswith=f"suspected breach #{report.pk} reported").exists()
        to = sorted(m.to[0] for m in mail.outbox)
        assert to == sorted([w.dpo.email, *([PAUSE_DPO] if pause else [])]), role
        for message in mail.outbox:
            text = message.subject + message.body
            assert w.programme.name in text and ACCOUNT not in text and f"#{report.pk}" not in text
            assert person.full_name not in text
        if role != Role.DPO:
            for name in ("rights:breaches", "breach:reports"):
                assert client.get(reverse(name)).status_code == 404, (role, name)
            assert client.get(reverse("breach:triage", args=[report.pk])).status_code == 404
    assert Breach.objects.count() == 0  # filing changes nothing else


def test_a_system_administrator_and_bad_input_are_refused_and_nothing_is_written():
    w = rights_world(women=0)
    admin = f.person(f.organisation(OrganisationKind.TRUST), system_admin=True)
    assert sign_in_verified(Client(), admin).get(reverse("breach:report")).status_code == 404
    client = sign_in_verified(Client(), w.caseworker)
    assert client.post(reverse("breach:report"), _report_form(what_happened=" ")).status_code == 400
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.post(reverse("breach:report"), _report_form(noticed_year=tomorrow.year,
                                                                  noticed_month=tomorrow.month,
                                                                  noticed_day=tomorrow.day))
    assert response.status_code == 400 and "now or in the past" in response.content.decode()
    with pytest.raises(breach_reports.ReportRefused, match="role in the programme"):
        _report(w, by=rights_world(women=0, name="Another programme").caseworker)
    assert not SuspectedBreach.objects.exists()


def test_the_dpo_records_a_report_as_a_breach_from_the_filing_moment_or_earlier_with_a_reason():
    w = rights_world(women=0)
    report = _report(w)
    with pytest.raises(breaches.BreachRefused, match="now or in the past"):
        breach_reports.record_from_report(report, by=w.dpo, risk="risk", people_affected="Two women",
                                          aware_at=timezone.now() + timedelta(hours=1), aware_reason="why")
    with pytest.raises(breaches.BreachRefused, match="why the controller became aware at another moment"):
        breach_reports.record_from_report(report, by=w.dpo, risk="risk", people_affected="Two women",
                                          aware_at=report.reported_at - timedelta(hours=1))
    with pytest.raises(breaches.BreachRefused, match="data protection officer"):
        breach_reports.record_from_report(report, by=w.caseworker, risk="risk", people_affected="Two women")
    assert not Breach.objects.exists() and SuspectedBreach.objects.get().status == ReportStatus.WAITING
    client = sign_in_verified(Client(), w.dpo)
    page = client.get(reverse("breach:triage", args=[report.pk])).content.decode()
    assert ACCOUNT in page
    response = client.post(reverse("breach:triage", args=[report.pk]), {
        "action": "breach", "breach-people_affected": "Two released women", "breach-risk": "risk"})
    breach = Breach.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("rights:breach", args=[breach.pk])
    report.refresh_from_db()
    assert report.status == ReportStatus.BREACH and report.breach == breach and breach.aware_at == report.reported_at
    [view] = breaches.views_of([breach], by=w.dpo, page="/t")
    assert view.what_happened == ACCOUNT
    with pytest.raises(breach_reports.ReportRefused, match="already been triaged"):
        breach_reports.dismiss_report(report, by=w.dpo, reason="Not personal data")


def test_the_dpo_dismisses_a_report_with_a_reason():
    w = rights_world(women=0)
    report = _report(w)
    client = sign_in_verified(Client(), w.dpo)
    assert client.post(reverse("breach:triage", args=[report.pk]),
                       {"action": "dismiss", "dismiss-reason": ""}).status_code == 400
    response = client.post(reverse("breach:triage", args=[report.pk]),
                           {"action": "dismiss", "dismiss-reason": "The list held no personal data"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.DISMISSED and report.triaged_by == w.dpo and not Breach.objects.exists()


def test_a_monitoring_flag_is_escalated_into_a_breach_carrying_its_reference_once():
    w = rights_world(women=0)
    entry = record_event(Event.REFUSED, actor=w.caseworker, programme=w.programme, status_code=404)
    flag = MonitoringFlag.objects.create(rule=FlagRule.OUTSIDE_CASELOAD, entry=entry, occurred_at=entry.timestamp,
                                         actor_id=entry.actor_id, programme=w.programme, detail="Synthetic")
    client = sign_in_verified(Client(), w.dpo)
    assert reverse("dpo:flag-escalate", args=[flag.pk]) in client.get(reverse("dpo:flag", args=[flag.pk])).content.decode()
    data = {"what_happened": "Records opened outside the caseload", "pause_side": "no",
            "people_affected": "One woman's record", "risk": "risk"}
    response = client.post(reverse("dpo:flag-escalate", args=[flag.pk]), data)
    breach = Breach.objects.get()
    assert response.status_code == 302 and breach.flag_reference == f"audit.monitoringflag:{flag.pk}"
    assert f"audit.monitoringflag:{flag.pk}" in client.get(reverse("rights:breach", args=[breach.pk])).content.decode()
    again = client.post(reverse("dpo:flag-escalate", args=[flag.pk]), data)
    assert again.status_code == 400 and Breach.objects.count() == 1


def test_after_72_hours_the_ico_decision_needs_the_reason_for_the_delay():
    w = rights_world(women=0)
    found = timezone.now() - timedelta(hours=80)
    breach = breaches.record_breach(programme=w.programme, what_happened="Lost phone", found_at=found,
                                    people_affected="Women on the caseload", risk="risk", by=w.dpo)
    with pytest.raises(breaches.BreachRefused, match="reason for the delay"):
        breaches.record_ico(breach, told_at=timezone.now(), by=w.dpo)
    with pytest.raises(breaches.BreachRefused, match="reason for the delay"):
        breaches.record_ico(breach, told_at=None, not_told_reason="Unlikely to result in a risk", by=w.dpo)
    breach.refresh_from_db()
    assert breach.ico_told_at is None and breach.ico_not_told_reason == "" and breach.late_reason == ""
    breaches.record_ico(breach, told_at=found + timedelta(hours=70), by=w.dpo)  # told within: no reason needed
    breach.refresh_from_db()
    assert breach.late_reason == ""
    breaches.record_ico(breach, told_at=timezone.now(), late_reason="The phone's loss was reported late", by=w.dpo)
    breach.refresh_from_db()
    assert breach.late_reason == "The phone's loss was reported late"


def test_women_are_linked_by_reference_only_of_the_programme_and_told_or_excepted_one_by_one():
    w = rights_world(women=2)
    other = rights_world(women=1, name="Another programme")
    breach = breaches.record_breach(programme=w.programme, what_happened="Letter to the wrong address",
                                    found_at=timezone.now() - timedelta(hours=1), people_affected="Two women",
                                    risk="high", by=w.dpo)
    ours = [f"eligibility.woman:{r.woman_id}" for r in w.delivery.released]
    theirs = f"eligibility.woman:{other.delivery.released[0].woman_id}"
    with pytest.raises(breaches.BreachRefused, match="No woman of this programme"):
        breaches.add_affected_women(breach, references=[ours[0], theirs], by=w.dpo)
    with pytest.raises(breaches.BreachRefused, match="not a woman's reference"):
        breaches.add_affected_women(breach, references="Jane Synthetic", by=w.dpo)
    with pytest.raises(breaches.BreachRefused, match="data protection officer"):
        breaches.add_affected_women(breach, references=ours, by=w.caseworker)
    assert not AffectedWoman.objects.exists()
    client = sign_in_verified(Client(), w.dpo)
    response = client.post(reverse("rights:breach", args=[breach.pk]),
                           {"action": "women", "women-references": ", ".join(ours)})
    assert response.status_code == 302
    assert sorted(AffectedWoman.objects.values_list("woman_reference", flat=True)) == sorted(ours)
    first, second = AffectedWoman.objects.order_by("pk")
    with pytest.raises(breaches.BreachRefused, match="one of the two"):
        breaches.record_woman_told(first, told_on=timezone.localdate(), exception="a", by=w.dpo)
    with pytest.raises(breaches.BreachRefused, match="exceptions"):
        breaches.record_woman_told(first, exception="z", by=w.dpo)
    today = timezone.localdate()
    response = client.post(reverse("rights:breach", args=[breach.pk]), {
        "action": "woman", "woman-affected": first.pk, "woman-outcome": "told",
        "woman-told_on_day": today.day, "woman-told_on_month": today.month, "woman-told_on_year": today.year})
    assert response.status_code == 302
    breaches.record_ico(breach, told_at=timezone.now(), by=w.dpo)
    breaches.record_people_told(breach, told_at=timezone.now(), by=w.dpo)
    with pytest.raises(breaches.BreachRefused, match="for each woman affected"):
        breaches.close_breach(breach, by=w.dpo)
    breaches.record_woman_told(second, exception="c", by=w.dpo)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.told_on == today and first.exception == "" and second.exception == "c" and second.told_on is None
    breaches.close_breach(breach, by=w.dpo)
    page = client.get(reverse("rights:breach", args=[breach.pk])).content.decode()
    assert "disproportionate effort" in page
    for r in w.delivery.released:  # the register names no woman: her reference only
        assert r.woman.pk and "Synthetic Row" not in page


@pytest.mark.parametrize("role", [r for r in PROGRAMME_ROLES if r != Role.DPO] + [Role.SYSTEM_ADMIN])
def test_the_triage_and_escalation_pages_refuse_every_other_role(role):
    w = rights_world(women=0)
    report = _report(w)
    entry = record_event(Event.REFUSED, actor=w.caseworker, programme=w.programme, status_code=404)
    flag = MonitoringFlag.objects.create(rule=FlagRule.OUTSIDE_CASELOAD, entry=entry, occurred_at=entry.timestamp,
                                         actor_id=entry.actor_id, programme=w.programme, detail="Synthetic")
    person = (f.person(f.organisation(OrganisationKind.TRUST), system_admin=True) if role == Role.SYSTEM_ADMIN
              else member(w.programme, role))
    client = sign_in_verified(Client(), person)
    urls = [reverse("breach:reports"), reverse("breach:triage", args=[report.pk]),
            reverse("dpo:flag-escalate", args=[flag.pk])]
    if role == Role.SYSTEM_ADMIN:
        urls += [reverse("breach:report"), reverse("breach:reported")]
    for url in urls:
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"action": "dismiss", "dismiss-reason": "x"})
            assert response.status_code == 404, (role, url, method)
    report.refresh_from_db()
    assert report.status == ReportStatus.WAITING and not Breach.objects.exists()


def test_pauses_systems_make_it_pauses_side_and_a_dpo_cannot_escalate_a_flag_about_themselves():
    w = rights_world(women=0)
    assert _report(w, systems="pause").pause_side and _report(w, systems="both").pause_side
    assert not _report(w, systems="portal").pause_side
    entry = record_event(Event.REFUSED, actor=w.dpo, programme=w.programme, status_code=404)
    own = MonitoringFlag.objects.create(rule=FlagRule.OUTSIDE_CASELOAD, entry=entry, occurred_at=entry.timestamp,
                                        actor_id=w.dpo.pk, programme=w.programme, detail="Synthetic")
    with pytest.raises(breach_reports.ReportRefused, match="your own access"):
        breach_reports.escalate_flag(own, programme=w.programme, by=w.dpo, what_happened="x", people_affected="y",
                                     risk="risk")
    assert not Breach.objects.exists()


def test_pauses_dpo_address_is_part_of_the_agreement_and_checked():
    from django.core.exceptions import ValidationError

    from sharing.agreements import FIELD_LABELS, validate_agreement, values_of
    from sharing.scoping_term import current_agreement

    w = rights_world(women=0)
    current = current_agreement(w.programme)
    assert "pause_dpo_email" in FIELD_LABELS and values_of(current)["pause_dpo_email"] == ""
    def errors_with(address: str) -> dict:
        try:
            validate_agreement({**values_of(current), "pause_dpo_email": address}, based_on=current,
                               change_reason="Pause's DPO", programme_id=w.programme.pk)
        except ValidationError as refused:
            return refused.message_dict
        return {}

    assert "Enter Pause's DPO's email address" in errors_with("not an address")["pause_dpo_email"][0]
    assert "pause_dpo_email" not in errors_with(f" {PAUSE_DPO} ")
